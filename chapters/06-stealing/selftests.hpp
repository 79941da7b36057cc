// Chapter 06 selftests: bounded work stealing. Run from the chapter's
// selftest task (kmain.cpp) after chapter 05's, in the seed's marker order.
#pragma once

#include "arch/riscv/csr.hpp"
#include "kernel/boot.hpp"
#include "kernel/wait.hpp"

namespace hb::ch06 {

void init_selftests(const BootInfo& boot);

/// Waits, busy and time-bounded, with interrupts off (the caller's): this
/// CPU keeps running the calling task and nothing else, so the tasks it
/// queued itself can only run elsewhere. (Chapter 07's trace test too.)
template <typename Pred>
bool busy_wait(Pred&& ready, std::uint64_t timeout_us) {
    const std::uint64_t deadline = now_ticks() + us_to_ticks(timeout_us);
    while (!ready()) {
        if (now_ticks() >= deadline) return ready();
        arch::cpu_relax();
    }
    return true;
}

/// `work stealing ok` (SMP only): free tasks queued on a CPU that is busy
/// running a task are taken by idle CPUs and run there, each exactly once.
void selftest_work_stealing();
/// `test_reject_steal_above_bound ok`: a steal for more than kStealMax tasks
/// is refused with its own outcome and the victim is unchanged.
void selftest_reject_steal_above_bound();
/// `test_reject_steal_higher_qos ok`: a steal for class q takes nothing more
/// urgent than q, and the most urgent eligible class first.
void selftest_reject_steal_higher_qos();
/// `test_reject_steal_pinned ok`: pinned tasks are never stolen, on a probe
/// queue and (SMP) on the real path beside a free task that is.
void selftest_reject_steal_pinned();
/// `steal conservation ok` (SMP only): thousands of free tasks spawned
/// unevenly; none lost, none run twice, every queue's counters balance.
void selftest_steal_conservation();

}  // namespace hb::ch06

namespace hb::ch06 {

/// `user mappings ok`: a process's program maps a page of its window through
/// SYS_MAP and uses it; a page outside the window, a second map of the same
/// page and an unmap of a hole are refused with their own errors; it unmaps
/// the page, and its next read faults, reported to the process.
void selftest_user_mappings();
/// `tlb shootdown ok` (SMP only): threads of one process on other CPUs read
/// a page; the boot CPU unmaps it; when the unmap returns every reader's
/// next read faults, and none ever saw what was written into the freed frame.
void selftest_tlb_shootdown();
/// `tlb shootdown counterfactual ok` (SMP only): the same, with one remote
/// flush suppressed in this boot: the reader goes on reading the freed frame
/// through its stale translation, so the test above can see the bug.
void selftest_tlb_shootdown_counterfactual();
/// Prints the shootdown round trip (unmap to the last ack): a benchmark.
void measure();

}  // namespace hb::ch06
