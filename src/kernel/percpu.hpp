// Everything a CPU owns, in one place.
//
// Two layers (the house rule):
//   HartLocal (lib/percpu_layout.hpp)  tiny, read by assembly at fixed
//                                      offsets; tp points at it.
//   PerCpu (here)                      everything else, one block per CPU,
//                                      one section per chapter that adds state.
//
// Who may touch a block: its own CPU, with interrupts off or from its own
// trap handler, except where a field says otherwise (the runqueue, whose
// lock is the one cross-CPU boundary; statistics, which are atomics that
// other CPUs only read).
#pragma once

#include "kernel/ipi.hpp"
#include "kernel/sched.hpp"
#include "kernel/trap.hpp"
#include "lib/lockdep.hpp"

namespace hb {

// [hb:region percpu]
struct PerCpu {
    /// Locks this CPU holds, by class (kernel/irqlock.hpp checks the rules).
    LockDepth locks;
    /// Chapter 03: what this CPU's trap handler saw of a guard-page fault,
    /// and where the guard-page selftest wants to resume.
    trap::CpuTrap trap;
    /// Chapter 04: this CPU's runqueue, current task, idle task, scheduler
    /// context and statistics.
    sched::CpuSched sched;
    /// Chapter 05: this CPU's IPI mailbox and causal counters.
    ipi::CpuIpi ipi;
};
// [hb:end percpu]

/// The block of `cpu`.
PerCpu& percpu(CpuId cpu);
/// The block of the CPU this code runs on (through current_cpu()). Code that
/// keeps the reference must not migrate meanwhile: call it with interrupts
/// off, from a trap handler, or from code pinned to this CPU.
PerCpu& this_percpu();

}  // namespace hb
