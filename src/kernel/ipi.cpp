#include "kernel/ipi.hpp"

#include "arch/riscv/csr.hpp"
#include "arch/riscv/sbi.hpp"
#include "kernel/audit.hpp"
#include "kernel/fault.hpp"
#include "kernel/hartlocal.hpp"
#include "kernel/panic.hpp"
#include "kernel/percpu.hpp"
#include "kernel/sched.hpp"
#include "kernel/smp.hpp"
#include "kernel/trace.hpp"
#include "lib/hartmask.hpp"

#include <bit>

namespace hb::ipi {
namespace {

constinit const Topology* g_topology = nullptr;
constinit std::uint32_t g_cpu_count = 1;
/// The counterfactual's one-shot switch (see suppress_next_send): the
/// target's CpuId + 1, or 0 when off.
constinit std::atomic<std::uint32_t> g_suppress_next{0};
/// Handlers of the reasons other than Resched, by bit number.
constinit ReasonHandler g_reason_handler[32]{};

ReschedOutcome refused(IpiTargetCheck c) {
    switch (c) {
    case IpiTargetCheck::RejectedOutOfRange: return ReschedOutcome::RejectedOutOfRange;
    case IpiTargetCheck::RejectedSelf: return ReschedOutcome::RejectedSelf;
    case IpiTargetCheck::RejectedOffline: return ReschedOutcome::RejectedOffline;
    case IpiTargetCheck::RejectedBadSender:
    case IpiTargetCheck::Accepted: break;
    }
    return ReschedOutcome::RejectedBadSender;
}

/// The check every request passes first: nothing moves before it.
IpiTargetCheck check(CpuId target) {
    IpiTargetCheck c = check_ipi_target(current_cpu(), target, g_cpu_count, smp::online_mask().snapshot());
    if (HB_FAULT(ReschedToOffline) && c == IpiTargetCheck::RejectedOffline) c = IpiTargetCheck::Accepted;  // [hb:fault]
    return c;
}

// [hb:region request]
/// One target's request: checked, counted, posted. Adds the target to
/// `must_send` when this post turned the reason on (an IPI is owed).
ReschedOutcome request(CpuId target, CpuSet& must_send, IpiReason reason = IpiReason::Resched) {
    const IpiTargetCheck c = check(target);
    if (c != IpiTargetCheck::Accepted) return refused(c);
    CpuIpi& t = percpu(target).ipi;
    t.counters.note_requested();
    const PostOutcome p = t.mailbox.post(reason);
    if (p == PostOutcome::Coalesced) return ReschedOutcome::Coalesced;
    HB_ASSERT(p == PostOutcome::MustSend, ipi_reason_name(reason), " post to cpu", target, ": ",
              post_outcome_name(p));
    std::uint32_t armed = target.raw() + 1;
    if (g_suppress_next.compare_exchange_strong(armed, 0, std::memory_order_relaxed)) {
        return ReschedOutcome::Suppressed;
    }
    must_send = must_send.with(target);
    return ReschedOutcome::Sent;
}
// [hb:end request]

// [hb:region deliver]
/// Sends the IPIs owed to `targets`: `sent` counted and audited first (the
/// target may trap before the SBI call returns), then one SBI call per
/// hart-mask window, built from the set through the topology.
void deliver(CpuSet targets) {
    targets.for_each([](CpuId c) {
        percpu(c).ipi.counters.note_sent();
        audit::record(AuditEvent::IpiSend, c);
        if (HB_FAULT(AckWithoutTrap)) percpu(c).ipi.counters.note_acked();  // [hb:fault]
        // Chapter 07: traced beside `sent` and before the SBI call, so the
        // records match the counter and no receive is stamped before its send.
        if (HB_FAULT(TraceDropsIpiSend)) return;  // [hb:fault]
        trace::record(TraceEvent::IpiSend, c.raw());
    });
    for_each_hart_window(targets, *g_topology, [&](HartMaskWindow w) {
        if (HB_FAULT(NoSbiSend)) return;  // [hb:fault]
        const auto r = sbi::send_ipi(w.mask, w.base);
        if (r.ok()) return;
        targets.for_each([](CpuId c) { percpu(c).ipi.counters.note_send_failed(); });
        HB_PANIC("sbi send_ipi to harts ", Hex{w.mask}, " << ", w.base, " failed: ", sbi::error_name(r.error));
    });
}
// [hb:end deliver]

// [hb:region on_software_interrupt]
/// The S_SOFT trap: one contract path for every reason.
void on_software_interrupt(trap::TrapFrame& frame) {
    CpuIpi& me = this_percpu().ipi;
    me.counters.note_trapped();
    // [hb:lab 05 ipi_receive]
    // Doorbell first, then the mailbox, with a full fence between them: a
    // post that lands after the clear rings again (lib/mailbox.hpp).
    arch::clear_software_interrupt();
    arch::full_fence();
    const IpiDrained drained = me.mailbox.drain();
    trace::record(TraceEvent::IpiRecv, drained.bits());  // chapter 07: one per `trapped`
    bool resched = false;
    const DispatchOutcome o = dispatch_ipi(drained, [&](IpiReason r) {
        if (r == IpiReason::Resched) {
            resched = true;  // last: it may switch away from this trap
            return;
        }
        const ReasonHandler h = g_reason_handler[std::countr_zero(ipi_reason_bit(r))];
        if (h == nullptr) HB_PANIC("ipi reason ", ipi_reason_name(r), " on cpu", current_cpu(), " has no handler");
        h(frame);
    });
    if (o == DispatchOutcome::UnknownReason) {
        HB_PANIC("ipi mailbox of cpu", current_cpu(), " held unknown reason bits ", Hex{drained.unknown_bits()});
    }
    me.counters.note_acked();  // every drained reason handled (or none: a spare doorbell)
    if (resched) sched::on_resched(frame);
    // [hb:stub ipi_receive]
    //| // Lab 05: clear the doorbell (SSIP), fence, drain the mailbox, handle every
    //| // reason (resched last), count the ack. Until then the first IPI stops the kernel.
    //| (void)frame;
    //| (void)me;
    //| HB_PANIC("lab 05: on_software_interrupt: not written yet (the stub is still in place)");
    // [hb:end ipi_receive]
}
// [hb:end on_software_interrupt]

}  // namespace

const char* resched_outcome_name(ReschedOutcome o) {
    switch (o) {
    case ReschedOutcome::Sent: return "sent";
    case ReschedOutcome::Coalesced: return "coalesced";
    case ReschedOutcome::Suppressed: return "suppressed";
    case ReschedOutcome::RejectedOutOfRange: return "rejected-out-of-range";
    case ReschedOutcome::RejectedSelf: return "rejected-self";
    case ReschedOutcome::RejectedOffline: return "rejected-offline";
    case ReschedOutcome::RejectedBadSender: return "rejected-bad-sender";
    }
    return "?";
}

// [hb:region init]
void init(const BootInfo& boot) {
    g_topology = &boot.topology;
    g_cpu_count = boot.topology.cpu_count();
    // No IPI extension, no tickless SMP: an idle CPU could never be woken.
    // Say so and stop, like a missing HSM, rather than run a kernel whose
    // proofs would all time out for an unrelated-looking reason.
    bool have_ipi = sbi::probe(sbi::Extension::Ipi);
    if (HB_FAULT(NoIpiProbe)) have_ipi = false;  // [hb:fault]
    if (!have_ipi) HB_PANIC("sbi ipi extension missing: no cpu could wake another");
    trap::set_interrupt_handler(trap::Interrupt::Software, &on_software_interrupt);
}
// [hb:end init]

void enable_on_this_hart() {
    // A pending reason without its interrupt (posted while this CPU was
    // offline; the firmware may or may not keep SSIP across hart_stop):
    // raise SSIP here, so the trap handles it once interrupts are on. The
    // set bit means some poster got MustSend and counted `sent`, so the
    // trap this causes keeps trapped <= sent.
    if (this_percpu().ipi.mailbox.peek() != 0) HB_CSR_SET(sip, arch::kSipSsip);
    HB_CSR_SET(sie, arch::kSieSsie);
}

ReschedOutcome resched(CpuId target) {
    CpuSet must_send;
    const ReschedOutcome o = request(target, must_send);
    if (!must_send.empty()) deliver(must_send);
    return o;
}

void wake(CpuId target) { (void)resched(target); }

CpuSet resched_many(CpuSet targets) {
    CpuSet must_send;
    CpuSet rejected;
    targets.for_each([&](CpuId c) {
        if (!accepted(request(c, must_send))) rejected = rejected.with(c);
    });
    if (!must_send.empty()) deliver(must_send);
    return rejected;
}

CpuSet send(CpuSet targets, IpiReason reason) {
    CpuSet must_send;
    CpuSet rejected;
    targets.for_each([&](CpuId c) {
        if (!accepted(request(c, must_send, reason))) rejected = rejected.with(c);
    });
    if (!must_send.empty()) deliver(must_send);
    return rejected;
}

void set_reason_handler(IpiReason reason, ReasonHandler handler) {
    g_reason_handler[std::countr_zero(ipi_reason_bit(reason))] = handler;
}

void suppress_next_send(CpuId target) { g_suppress_next.store(target.raw() + 1, std::memory_order_relaxed); }

bool cancel_suppression() { return g_suppress_next.exchange(0, std::memory_order_relaxed) != 0; }

ReschedOutcome ring_doorbell(CpuId target) {
    const IpiTargetCheck c = check(target);
    if (c != IpiTargetCheck::Accepted) return refused(c);
    percpu(target).ipi.counters.note_requested();
    deliver(CpuSet{}.with(target));
    return ReschedOutcome::Sent;
}

IpiCounterSnapshot counters(CpuId cpu) {
    return cpu.raw() < g_cpu_count ? percpu(cpu).ipi.counters.snapshot() : IpiCounterSnapshot{};
}

std::uint64_t coalesced_total() {
    std::uint64_t n = 0;
    for (std::uint32_t c = 0; c < g_cpu_count; ++c) n += percpu(CpuId(c)).ipi.mailbox.counters().coalesced;
    return n;
}

}  // namespace hb::ipi
