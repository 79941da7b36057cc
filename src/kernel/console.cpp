#include "kernel/console.hpp"

#include "arch/riscv/csr.hpp"
#include "arch/riscv/sbi.hpp"
#include "lib/spinlock.hpp"

namespace hb::console {
namespace {

struct Pause {
    void operator()() const { arch::cpu_relax(); }
};
constinit BasicSpinLock<Pause> g_lock;

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
