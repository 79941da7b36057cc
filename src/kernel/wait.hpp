// Time-bounded waiting that lets the hart sleep.
//
// A wait that spins starves the other vCPUs under single-threaded TCG (the
// hart it waits for runs only when QEMU forcibly switches harts, every
// 100 ms) and burns a host core under MTTCG. So a wait
// arms the SBI timer for a short slice and executes WFI: the hart sleeps
// until the timer (or an IPI) is pending, then re-checks its condition. With
// sstatus.SIE clear no trap is taken; WFI still returns because the interrupt
// is enabled in `sie`. Every wait has a deadline and reports a timeout
// instead of hanging.
#pragma once

#include <cstdint>

namespace hb {

enum class WaitOutcome { Done, TimedOut };

/// Timer ticks per microsecond, from the device tree (set by init_wait).
void init_wait(std::uint64_t timebase_hz);
std::uint64_t now_ticks();
std::uint64_t ticks_to_us(std::uint64_t ticks);
std::uint64_t us_to_ticks(std::uint64_t us);
std::uint64_t ticks_to_ns(std::uint64_t ticks);

/// Sleeps in WFI until `ready()` is true or `timeout_us` has passed.
/// `slice_us` bounds how long one sleep lasts before re-checking.
template <typename Pred>
WaitOutcome wait_until(Pred&& ready, std::uint64_t timeout_us, std::uint64_t slice_us = 200);

namespace detail {
/// One bounded sleep: arm the timer at min(now + slice, deadline), WFI.
void sleep_slice(std::uint64_t deadline_ticks, std::uint64_t slice_ticks);
/// Disarm the timer after a wait.
void end_wait();
}  // namespace detail

// [hb:region wait_until]
template <typename Pred>
WaitOutcome wait_until(Pred&& ready, std::uint64_t timeout_us, std::uint64_t slice_us) {
    const std::uint64_t deadline = now_ticks() + us_to_ticks(timeout_us);
    const std::uint64_t slice = us_to_ticks(slice_us);
    for (;;) {
        if (ready()) {
            detail::end_wait();
            return WaitOutcome::Done;
        }
        if (now_ticks() >= deadline) {
            detail::end_wait();
            return ready() ? WaitOutcome::Done : WaitOutcome::TimedOut;
        }
        detail::sleep_slice(deadline, slice);
    }
}
// [hb:end wait_until]

}  // namespace hb
