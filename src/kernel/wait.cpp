#include "kernel/wait.hpp"

#include "arch/riscv/csr.hpp"
#include "arch/riscv/sbi.hpp"

namespace hb {
namespace {
// QEMU virt's timebase is 10 MHz; the device tree value replaces this.
constinit std::uint64_t g_ticks_per_us = 10;
}

void init_wait(std::uint64_t timebase_hz) {
    if (timebase_hz >= 1'000'000) g_ticks_per_us = timebase_hz / 1'000'000;
}

std::uint64_t now_ticks() { return arch::read_time(); }
std::uint64_t ticks_to_us(std::uint64_t ticks) { return ticks / g_ticks_per_us; }
std::uint64_t us_to_ticks(std::uint64_t us) { return us * g_ticks_per_us; }
std::uint64_t ticks_to_ns(std::uint64_t ticks) { return ticks * 1000 / g_ticks_per_us; }

namespace detail {

void sleep_slice(std::uint64_t deadline_ticks, std::uint64_t slice_ticks) {
    const std::uint64_t now = arch::read_time();
    const std::uint64_t wake = now + slice_ticks < deadline_ticks ? now + slice_ticks : deadline_ticks;
    // Enable the timer interrupt in sie (not sstatus.SIE): WFI wakes on it,
    // no trap is taken. set_timer also clears a timer that is already pending.
    HB_CSR_SET(sie, arch::kSieStie);
    sbi::set_timer(wake);
    arch::wait_for_interrupt();
}

void end_wait() {
    sbi::set_timer(~std::uint64_t{0});
    HB_CSR_CLEAR(sie, arch::kSieStie);
}

}  // namespace detail
}  // namespace hb
