#include "kernel/console.hpp"

#include "arch/riscv/sbi.hpp"
#include "kernel/irqlock.hpp"
#include "kernel/wait.hpp"

namespace hb::console {
namespace {

// Interrupts off while a line is written: a timer interrupt that prints on
// this hart must not find the lock held by the code it interrupted.
constinit IrqSpinLockOf<LockClass::Console> g_lock;

void emit(const Line& line) {
    for (const char* p = line.c_str(); *p != '\0'; ++p) sbi::console_putchar(*p);
    if (line.truncated()) {
        for (const char* p = "..."; *p != '\0'; ++p) sbi::console_putchar(*p);
    }
    sbi::console_putchar('\n');
}

}  // namespace

void write_line(const Line& line) {
    lockcheck::assert_may_print();
    LockGuard guard(g_lock);
    emit(line);
}

void write_line_panic(const Line& line) {
    // A bounded wait for the lock (100 ms), so a line another hart is
    // writing is not cut in half; a lock this hart holds is never waited for.
    const bool mine = g_lock.held_by_this_cpu();
    bool locked = false;
    const std::uint64_t deadline = now_ticks() + us_to_ticks(100'000);
    while (!mine && !(locked = g_lock.try_lock_unchecked()) && now_ticks() < deadline) arch::cpu_relax();
    emit(line);
    if (locked) g_lock.unlock_unchecked();
}

}  // namespace hb::console
