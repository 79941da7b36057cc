// Chapter 04: proofs found by breaking the code from outside ("Before
// chapter 05", section 5): a context switch or trap path that loses a
// register, spawn() without its lock, an IrqSpinLock that does not mask.
// Each test here fails on such a break (see ./mutations).
// Chapter 04's controller task calls them, one line each.
#pragma once

namespace hb::ch04 {

/// `KSELFTEST: irqlock masks ok`: with interrupts on, a real IrqSpinLock and
/// a real runqueue lock both read sstatus.SIE = 0 inside and give it back
/// after; a timer tick that became pending (sip.STIP) while the lock was
/// held was not taken until the unlock, and was taken right after it.
void selftest_irqlock_masks();

/// `KSELFTEST: context switch registers ok`: hb_context_switch alone keeps
/// s0-s11 on both sides of a ping-pong between two contexts; then tasks on
/// every CPU hold per-task patterns in s0-s11 across many yields (each a
/// real switch to another such task), checked in assembly after every return.
void selftest_switch_registers();

/// `KSELFTEST: preemption registers ok`: two tasks per CPU fill every
/// register they can with their own patterns and spin re-checking them,
/// first in kernel mode, then in user mode; each was preempted by ticks
/// while its partner ran in between, and no register changed.
void selftest_preempt_registers();

/// `KSELFTEST: spawn stress ok`: spawner tasks on every CPU spawn short
/// tasks at the same time; no task slot was handed out twice at once and
/// every spawn ran exactly once.
void selftest_spawn_stress();

}  // namespace hb::ch04
