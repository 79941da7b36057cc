#include "kernel/console.hpp"

#include "arch/riscv/sbi.hpp"
#include "kernel/irqlock.hpp"
#include "kernel/wait.hpp"
#include "lib/bootargs.hpp"

namespace hb::console {
namespace {

// Interrupts off while a line is written: a timer interrupt that prints on
// this hart must not find the lock held by the code it interrupted.
constinit IrqSpinLockOf<LockClass::Console> g_lock;

constinit char g_nonce[kNonceMax + 1]{};

bool starts_with(const char* s, const char* prefix) {
    while (*prefix != '\0') {
        if (*s++ != *prefix++) return false;
    }
    return true;
}

void put(const char* s) {
    for (; *s != '\0'; ++s) sbi::console_putchar(*s);
}

void emit(const Line& line) {
    put(line.c_str());
    if (line.truncated()) put("...");
    if (g_nonce[0] != '\0' && (starts_with(line.c_str(), "KINIT:") || starts_with(line.c_str(), "KSELFTEST:"))) {
        put(" nonce=");
        put(g_nonce);
    }
    sbi::console_putchar('\n');
}

}  // namespace

void set_marker_nonce(const char* text, std::size_t len) {
    std::size_t i = 0;
    for (; i < len && i < kNonceMax; ++i) g_nonce[i] = text[i];
    g_nonce[i] = '\0';
}

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
