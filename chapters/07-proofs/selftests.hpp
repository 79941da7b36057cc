// Chapter 07 selftests: what must hold of the whole boot once every earlier
// chapter's proofs have run. Called last by the chapter's selftest task.
#pragma once

#include "kernel/boot.hpp"

namespace hb::ch07 {

void init_selftests(const BootInfo& boot);

/// Tasks in the table other than the caller: every test's tasks must be
/// gone (exited and reaped) before a window or the books can be judged.
std::uint32_t other_live_tasks();

/// KSELFTEST: smp invariants ok. Every other task gone, then on every CPU:
/// the runqueue empty and its books balanced, the IPI chain causal and no
/// interrupt half-handled, the mailbox empty, no shootdown request pending;
/// over all CPUs, tasks stolen in equal tasks stolen out, and every task
/// ever queued was handed out exactly once.
void check_smp_invariants();

}  // namespace hb::ch07
