// Reschedule IPIs (chapter 05): the send path, the S_SOFT trap path, and the
// evidence both leave behind.
//
//   sender (any CPU)                          target CPU
//   ----------------                          ----------
//   check_ipi_target(self, target)  refused -> nothing moves, outcome says why
//   counters.requested++
//   mailbox.post(Resched)           Coalesced -> done: an IPI is on its way
//   counters.sent++  (before the call)
//   SBI send_ipi(hart mask)  ------------->   sip.SSIP = 1, trap (S_SOFT)
//                                             counters.trapped++
//                                             clear sip.SSIP; fence
//                                             drain mailbox; handle each reason
//                                             counters.acked++
//                                             resched: run the scheduler
//
// The mailbox and counters are pure and host-tested (lib/mailbox.hpp,
// lib/ipi_counters.hpp, lib/ipi_target.hpp); this module wires them to the
// SBI call and the trap.
#pragma once

#include <atomic>
#include <cstdint>

#include "kernel/boot.hpp"
#include "kernel/trap.hpp"
#include "lib/cpuset.hpp"
#include "lib/ids.hpp"
#include "lib/ipi_counters.hpp"
#include "lib/ipi_target.hpp"
#include "lib/mailbox.hpp"

namespace hb::ipi {

// [hb:region cpu_ipi]
/// This CPU's IPI state, a section of its PerCpu block. Other CPUs post to
/// the mailbox and move `requested` / `sent`; only this CPU drains the
/// mailbox and moves `trapped` / `acked`.
struct CpuIpi {
    IpiMailbox mailbox;
    IpiCounters counters;
};
// [hb:end cpu_ipi]

/// Probes the SBI IPI extension (panics with the reason when it is absent:
/// without it no CPU can wake another) and installs the S_SOFT handler.
/// Boot CPU, before any other CPU starts.
void init(const BootInfo& boot);
/// Enables the software interrupt (sie.SSIE) on this hart. Every CPU, at
/// bring-up, before its scheduler runs, and again when it comes back from
/// offline: a reason posted while it was offline (a sender whose online
/// check raced with the offline path) is still in the mailbox, so the CPU
/// rings its own doorbell for it.
void enable_on_this_hart();

// [hb:region resched_outcome]
/// What a reschedule request did. Only Sent and Coalesced moved a counter.
enum class ReschedOutcome : std::uint32_t {
    Sent,        ///< accepted, posted, SBI send_ipi succeeded
    Coalesced,   ///< accepted; the reason was already pending, no new IPI needed
    Suppressed,  ///< accepted and posted, but the send was skipped on purpose (the counterfactual)
    RejectedOutOfRange,
    RejectedSelf,
    RejectedOffline,
    RejectedBadSender,
};
// [hb:end resched_outcome]
const char* resched_outcome_name(ReschedOutcome o);
inline bool accepted(ReschedOutcome o) {
    return o == ReschedOutcome::Sent || o == ReschedOutcome::Coalesced || o == ReschedOutcome::Suppressed;
}

/// Asks `target` to run its scheduler. The sender is this CPU (from its
/// hart-local block). Never call it with a lock held: it takes the audit
/// log's lock and makes an SBI call (lock rule 2 panics under a runqueue lock).
ReschedOutcome resched(CpuId target);
/// The scheduler's way to wake another CPU (sched::Config::wake_remote): a
/// resched whose outcome needs no handling there, because a refused target
/// is offline or the caller itself, and spawn already checked that the
/// task's CPU is online.
void wake(CpuId target);
/// The same for several targets: every accepted target that needs an IPI is
/// sent to with one SBI call per hart-mask window. Returns the targets that
/// were refused.
CpuSet resched_many(CpuSet targets);

/// Chapter 06: the same path for another reason. Every target is checked,
/// counted and posted like a resched; one SBI call per hart window goes to
/// the targets whose post turned the reason on. Returns the refused targets.
CpuSet send(CpuSet targets, IpiReason reason);
/// The handler of one reason, run from the S_SOFT trap after the drain;
/// Resched is the scheduler's (sched::on_resched, run last: it may switch
/// away). A drained reason with no handler panics.
using ReasonHandler = void (*)(trap::TrapFrame& frame);
void set_reason_handler(IpiReason reason, ReasonHandler handler);

/// The counterfactual's switch, inside one healthy boot: the next resched
/// to `target` that must send skips the SBI call (and does not count
/// `sent`). The request is accepted and the reason posted, so the target's
/// mailbox holds it with no interrupt on its way. One-shot, and only for
/// `target`: a send to any other CPU meanwhile is not affected.
void suppress_next_send(CpuId target);
/// Disarms the switch; true when it was still armed, i.e. no post to its
/// target turned the reason on since suppress_next_send (the post coalesced
/// into a reason someone else had pending, so nothing was suppressed).
bool cancel_suppression();
/// Repairs a suppressed send: rings `target`'s doorbell for the reason that
/// is already pending (counts requested and sent, like any send).
ReschedOutcome ring_doorbell(CpuId target);

/// A copy of `cpu`'s counters (read backwards along the chain, see
/// IpiCounters::snapshot).
IpiCounterSnapshot counters(CpuId cpu);
/// Posts that coalesced into a pending reason, over all CPUs.
std::uint64_t coalesced_total();

}  // namespace hb::ipi
