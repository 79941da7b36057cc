#include "kernel/console.hpp"

#include "arch/riscv/sbi.hpp"
#include "kernel/irqlock.hpp"

namespace hb::console {
namespace {

// Interrupts off while a line is written: a timer interrupt that prints on
// this hart must not find the lock held by the code it interrupted.
constinit IrqSpinLock g_lock;

}  // namespace

void write_line(const Line& line) {
    LockGuard guard(g_lock);
    for (const char* p = line.c_str(); *p != '\0'; ++p) sbi::console_putchar(*p);
    if (line.truncated()) {
        for (const char* p = "..."; *p != '\0'; ++p) sbi::console_putchar(*p);
    }
    sbi::console_putchar('\n');
}

}  // namespace hb::console
