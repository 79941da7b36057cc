// Chapter 05 selftests: reschedule IPIs, tickless idle, CPU offlining. Run
// from the chapter's selftest task (kmain.cpp) after chapter 04's, in the
// seed's marker order.
#pragma once

#include "kernel/boot.hpp"

namespace hb::ch05 {

void init_selftests(const BootInfo& boot);

/// `ipi counterfactual ok` (SMP only): in this healthy boot, one send is
/// suppressed; the idle, tickless target must not trap, ack or run the task
/// it was given, while the other CPUs keep running; the real send then does.
void selftest_ipi_counterfactual();
/// `ipi resched ok` (SMP only): the real send moves requested, sent, trapped
/// and acked by one each, in causal order, and the task runs on the target
/// after the trap.
void selftest_ipi_resched();
/// `test_reject_invalid_ipi_target_cpu ok`: ids >= the CPU count, >= kMaxCpus
/// and this CPU itself are refused before any counter moves.
void selftest_reject_invalid_ipi_target();
/// `test_reject_offline_cpu_resched ok` (SMP only): a CPU that was online is
/// taken offline through the real path, a resched to it (and a spawn on it)
/// is refused with nothing counted, then it comes back and a resched works.
void selftest_reject_offline_resched();
/// Every CPU's counters satisfy ack <= trap <= send <= request (`ipi
/// counters causal ok`).
void check_counters_causal();
/// The figures: resched round trip beside the bare doorbell round trip, and
/// the idle wake latency. A benchmark: printed, never judged. 1,000 trips
/// and 30 wakes in every boot; 10,000 and 300 with `bench=ipi`.
void measure();

}  // namespace hb::ch05
