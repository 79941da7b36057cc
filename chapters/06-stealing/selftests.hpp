// Chapter 06 selftests: bounded work stealing. Run from the chapter's
// selftest task (kmain.cpp) after chapter 05's, in the seed's marker order.
#pragma once

#include "kernel/boot.hpp"

namespace hb::ch06 {

void init_selftests(const BootInfo& boot);

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
