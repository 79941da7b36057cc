// Who may be sent a reschedule IPI: the check the kernel makes before any
// IPI counter moves (chapter 05).
//
// A resched target can come from a scheduler decision, from a selftest, and
// later from a system call argument. The seed's rule is "don't trust CPU ids
// for IPI targets; validate against the online mask", and its two negative
// markers (test_reject_invalid_ipi_target_cpu, test_reject_offline_cpu_resched)
// are this function's two rejections seen from the kernel.
#pragma once

#include <cstdint>

#include "lib/cpuset.hpp"
#include "lib/ids.hpp"

namespace hb {

// [hb:region ipi_target_outcome]
enum class IpiTargetCheck : std::uint32_t {
    Accepted,
    /// The target is not a CPU of this kernel: >= cpu_count (or >= kMaxCpus,
    /// whichever is smaller). Checked first, so a forged id never indexes a
    /// per-CPU array, not even the online mask.
    RejectedOutOfRange,
    /// The target is this CPU. A CPU reschedules itself by setting its own
    /// need-resched flag, not through SBI: see check_ipi_target.
    RejectedSelf,
    /// A real CPU that is not online (never started, or taken offline): it
    /// would never take the trap, and the request would sit in its mailbox.
    RejectedOffline,
    /// The caller's own CpuId is out of range: a kernel bug (it comes from
    /// the hart-local block), reported rather than trusted.
    RejectedBadSender,
};
// [hb:end ipi_target_outcome]

constexpr const char* ipi_target_check_name(IpiTargetCheck c) {
    switch (c) {
    case IpiTargetCheck::Accepted: return "accepted";
    case IpiTargetCheck::RejectedOutOfRange: return "rejected-out-of-range";
    case IpiTargetCheck::RejectedSelf: return "rejected-self";
    case IpiTargetCheck::RejectedOffline: return "rejected-offline";
    case IpiTargetCheck::RejectedBadSender: return "rejected-bad-sender";
    }
    return "?";
}

// [hb:region check_ipi_target]
/// May CPU `self` send a reschedule IPI to `target`? `self` is the caller's
/// CpuId from its hart-local block; `cpu_count` is the topology's; `online`
/// a snapshot of the online mask. Pure: no counter moves and nothing is
/// sent; the kernel calls this first and only an Accepted request goes on to
/// note_requested(), post() and the SBI call.
///
/// Why self is rejected. A self-IPI would work on RISC-V (SSIP set on this
/// hart, taken once interrupts are on), but it is never what the scheduler
/// needs: a CPU that wants to reschedule itself sets its need-resched flag,
/// which costs no ecall and cannot hang with interrupts off (the lessons'
/// boot-hart bug was exactly an IPI to itself with interrupts off). Refusing
/// it here also keeps the IPI proof honest: a selftest run entirely on the
/// boot hart cannot move the counters and pass as a cross-CPU IPI.
///
/// The online check is a snapshot. A CPU that goes offline right after it
/// is the offline path's business (it must deal with requests already
/// posted to it), not something this function can prevent.
constexpr IpiTargetCheck check_ipi_target(CpuId self, CpuId target, std::uint32_t cpu_count,
                                          CpuSet online) {
    const std::uint32_t limit = cpu_count < kMaxCpus ? cpu_count : kMaxCpus;
    if (self.raw() >= limit) return IpiTargetCheck::RejectedBadSender;
    if (target.raw() >= limit) return IpiTargetCheck::RejectedOutOfRange;
    if (target == self) return IpiTargetCheck::RejectedSelf;
    if (!online.contains(target)) return IpiTargetCheck::RejectedOffline;
    return IpiTargetCheck::Accepted;
}
// [hb:end check_ipi_target]

}  // namespace hb
