// The per-CPU IPI mailbox: why another CPU interrupted this one (chapter 05).
//
// An inter-processor interrupt carries no payload: SBI's send_ipi only sets
// sip.SSIP on the target hart. So the *reason* travels through memory, as a
// word of bits in the target's per-CPU block, and the interrupt is only the
// doorbell that makes the target look at it. The rule from the lessons:
// the truth is the bit (and the work it points at, e.g. a task on the
// runqueue), the interrupt is a hint.
//
// Boundedness. The mailbox is one 32-bit word: one bit per reason, no queue,
// no allocation. Posting the same reason twice before the target looks sets
// the same bit twice; the two requests coalesce into one (counted), which is
// exactly right for "reschedule": the target reschedules once and sees all
// the work that was queued before either post. A reason that must carry data
// (a later TLB shootdown's address range) keeps that data in its own bounded
// per-CPU slot; its bit only says "look there".
//
// Concurrency. Any CPU posts (fetch_or, many writers); only the owning CPU
// drains (exchange(0), one reader). Both are single atomic read-modify-writes
// on the same word, so no post is ever lost between a drain's read and its
// clear, which a load-then-store would allow.
#pragma once

#include <atomic>
#include <bit>
#include <cstdint>

namespace hb {

// [hb:region ipi_reason]
/// Why an IPI was sent. Each reason is one bit of the mailbox word, so the
/// enumerators are powers of two. Later chapters add bits (TLB shootdown in
/// chapter 06); adding one means adding it to kKnownIpiReasons too, and the
/// static_asserts below refuse an enumerator that is not a single new bit.
enum class IpiReason : std::uint32_t {
    Resched = 1u << 0,       ///< new work on this CPU's runqueue: run the scheduler
    TlbShootdown = 1u << 1,  ///< chapter 06: a request waits in this CPU's shootdown slot
};

/// Every bit a well-formed mailbox may hold. A drained bit outside this mask
/// was not written by `post` (which refuses unknown reasons): it is memory
/// corruption or a forged write, and the kernel panics on it.
inline constexpr std::uint32_t kKnownIpiReasons =
    static_cast<std::uint32_t>(IpiReason::Resched) | static_cast<std::uint32_t>(IpiReason::TlbShootdown);
// [hb:end ipi_reason]

constexpr std::uint32_t ipi_reason_bit(IpiReason r) { return static_cast<std::uint32_t>(r); }

constexpr const char* ipi_reason_name(IpiReason r) {
    switch (r) {
    case IpiReason::Resched: return "resched";
    case IpiReason::TlbShootdown: return "tlb-shootdown";
    }
    return "?";
}

static_assert(std::has_single_bit(ipi_reason_bit(IpiReason::Resched)), "a reason is one bit");
static_assert(std::has_single_bit(ipi_reason_bit(IpiReason::TlbShootdown)), "a reason is one bit");
static_assert((ipi_reason_bit(IpiReason::Resched) & ~kKnownIpiReasons) == 0 &&
                  (ipi_reason_bit(IpiReason::TlbShootdown) & ~kKnownIpiReasons) == 0,
              "every reason is in the known mask");
static_assert((ipi_reason_bit(IpiReason::Resched) & ipi_reason_bit(IpiReason::TlbShootdown)) == 0,
              "reasons are distinct bits");

// [hb:region post_outcome]
/// What `post` did, and therefore what its caller must do next.
enum class PostOutcome : std::uint32_t {
    /// This call turned the bit on: no interrupt is on its way for it, so the
    /// caller must send one (SBI send_ipi to the target's hart).
    MustSend,
    /// The bit was already set: an earlier poster got MustSend and owns the
    /// interrupt, and the target's drain that will clear the bit has not
    /// happened yet, so it will see this request too. Send nothing.
    Coalesced,
    /// Not exactly one known reason; the mailbox is unchanged.
    RejectedUnknown,
};
// [hb:end post_outcome]

constexpr const char* post_outcome_name(PostOutcome o) {
    switch (o) {
    case PostOutcome::MustSend: return "must-send";
    case PostOutcome::Coalesced: return "coalesced";
    case PostOutcome::RejectedUnknown: return "rejected-unknown";
    }
    return "?";
}

/// The bits one drain took out of a mailbox: a plain value.
template <std::uint32_t KnownMask>
class BasicDrained {
public:
    constexpr BasicDrained() = default;
    constexpr explicit BasicDrained(std::uint32_t bits) : m_bits(bits) {}

    [[nodiscard]] constexpr std::uint32_t bits() const { return m_bits; }
    [[nodiscard]] constexpr bool empty() const { return m_bits == 0; }
    /// Bits no `post` can have written; nonzero means "panic, do not act".
    [[nodiscard]] constexpr std::uint32_t unknown_bits() const { return m_bits & ~KnownMask; }
    template <typename Reason>
    [[nodiscard]] constexpr bool contains(Reason r) const {
        return (m_bits & static_cast<std::uint32_t>(r)) != 0;
    }

private:
    std::uint32_t m_bits = 0;
};

/// Outcome of handling a drained word.
enum class DispatchOutcome : std::uint32_t {
    Handled,        ///< every bit was known and its handler ran (none, if empty)
    UnknownReason,  ///< an unknown bit was present; no handler ran
};

// [hb:region dispatch]
/// Calls fn(Reason) once for each bit of `drained`, lowest bit first, after
/// checking that every bit is a known reason. The check comes first on
/// purpose: a word with a corrupt bit is not trusted for its good bits
/// either, and the kernel panics before acting on any of it.
template <typename Reason, std::uint32_t KnownMask, typename Fn>
[[nodiscard]] constexpr DispatchOutcome dispatch_reasons(BasicDrained<KnownMask> drained, Fn&& fn) {
    if (drained.unknown_bits() != 0) return DispatchOutcome::UnknownReason;
    for (std::uint32_t rest = drained.bits(); rest != 0; rest &= rest - 1) {
        fn(static_cast<Reason>(std::uint32_t{1} << std::countr_zero(rest)));
    }
    return DispatchOutcome::Handled;
}
// [hb:end dispatch]

/// Event counts of one mailbox (statistics: relaxed, not part of any proof;
/// the causal proof is lib/ipi_counters.hpp).
struct MailboxCounters {
    std::uint64_t coalesced = 0;  ///< posts that found their bit already set
    std::uint64_t rejected = 0;   ///< posts refused with RejectedUnknown
};

// [hb:region mailbox]
/// One CPU's mailbox, generic over the reason type so that host tests can
/// exercise it with more reasons than the kernel has yet. The kernel uses
/// `IpiMailbox`.
template <typename Reason, std::uint32_t KnownMask>
class BasicMailbox {
    static_assert(KnownMask != 0, "a mailbox needs at least one reason");

public:
    using Drained = BasicDrained<KnownMask>;

    constexpr BasicMailbox() = default;
    BasicMailbox(const BasicMailbox&) = delete;
    BasicMailbox& operator=(const BasicMailbox&) = delete;

    /// Sender side, any CPU. Call it *after* making the work visible (e.g.
    /// after the enqueue and after releasing the runqueue lock), and act on
    /// the outcome: MustSend obliges the caller to send the interrupt.
    ///
    /// Why the first poster sends and the others do not: a bit goes 0 -> 1
    /// once per drain, and exactly that poster sees the 0. If it sends, every
    /// 0 -> 1 is followed by an interrupt, and every later poster of the same
    /// bit is covered by it, because the bit stays set until the target's
    /// drain, which comes after SSIP is raised (see drain()).
    ///
    /// Ordering: release, so that a target whose drain reads this bit also
    /// sees everything the sender wrote before posting (the queued task). The
    /// drain's acquire pairs with it; since every write to the word is a
    /// read-modify-write, one drain synchronises with *all* posts before it,
    /// coalesced ones included (they continue the release sequence).
    [[nodiscard]] PostOutcome post(Reason reason) {
        // [hb:lab 05 mailbox_post]
        const std::uint32_t bit = static_cast<std::uint32_t>(reason);
        if (!std::has_single_bit(bit) || (bit & ~KnownMask) != 0) {
            m_rejected.fetch_add(1, std::memory_order_relaxed);  // statistics only
            return PostOutcome::RejectedUnknown;
        }
        const std::uint32_t before = m_bits.fetch_or(bit, std::memory_order_release);
        if ((before & bit) != 0) {
            m_coalesced.fetch_add(1, std::memory_order_relaxed);  // statistics only
            return PostOutcome::Coalesced;
        }
        return PostOutcome::MustSend;
        // [hb:stub mailbox_post]
        //| // Lab 05: refuse unknown reasons; set the bit; who must send?
        //| (void)reason;
        //| return PostOutcome::RejectedUnknown;
        // [hb:end mailbox_post]
    }

    // [hb:region ssip_before_drain]
    /// Receiver side, owning CPU only, from its S_SOFT trap handler. Takes
    /// every pending bit at once and leaves the word 0.
    ///
    /// The caller MUST clear sip.SSIP *before* calling drain(). (This header
    /// cannot touch a CSR; the trap handler in arch/ does it.) Why: SSIP is
    /// one bit for all senders, and a sender raises it only when its post
    /// returned MustSend, i.e. when it found the mailbox bit clear. Suppose
    /// the handler drained first and cleared SSIP after:
    ///
    ///     target                         sender
    ///     drain(): word 1 -> 0
    ///                                    enqueue task; post() sees 0: MustSend
    ///                                    send_ipi: SSIP = 1 (already 1)
    ///     clear SSIP: 1 -> 0             <- the second doorbell is erased
    ///
    /// The bit is now set with no interrupt pending. The target may go idle
    /// and sleep with work queued, and every later post of that reason finds
    /// the bit set, coalesces and sends nothing: that CPU is deaf to the
    /// reason for good. Clearing SSIP first closes the window: a post that
    /// lands after the clear raises SSIP again and costs at most one extra,
    /// empty trap, never a lost one. models/ipi_idle.pml checks both orders.
    ///
    /// The order must also hold in memory, not only in program text: the
    /// handler needs a full fence between `csrc sip, SSIP` and this drain, so
    /// the drain cannot read the word before the clear takes effect (Linux's
    /// RISC-V IPI handler has an mb() in the same place). On the sender's
    /// side the SBI call sits between post() and the SSIP write.
    ///
    /// Ordering: acquire pairs with post()'s release (see there). Relaxed
    /// would let the target read its runqueue before the sender's enqueue.
    [[nodiscard]] Drained drain() {
        // [hb:lab 05 mailbox_drain]
        return Drained(m_bits.exchange(0, std::memory_order_acquire));
        // [hb:stub mailbox_drain]
        //| // Lab 05: take every pending bit at once, leaving the word 0.
        //| return Drained(0);
        // [hb:end mailbox_drain]
    }
    // [hb:end ssip_before_drain]

    /// A racy look for dumps and selftests; never a reason to skip a drain.
    [[nodiscard]] std::uint32_t peek() const { return m_bits.load(std::memory_order_relaxed); }

    /// A consistent-enough view of the statistics (each counter on its own).
    [[nodiscard]] MailboxCounters counters() const {
        return {m_coalesced.load(std::memory_order_relaxed), m_rejected.load(std::memory_order_relaxed)};
    }

private:
    std::atomic<std::uint32_t> m_bits{0};
    std::atomic<std::uint64_t> m_coalesced{0};
    std::atomic<std::uint64_t> m_rejected{0};
};

using IpiMailbox = BasicMailbox<IpiReason, kKnownIpiReasons>;
using IpiDrained = IpiMailbox::Drained;
// [hb:end mailbox]

/// The kernel's dispatch: dispatch_reasons for the kernel's reason set.
template <typename Fn>
[[nodiscard]] constexpr DispatchOutcome dispatch_ipi(IpiDrained drained, Fn&& fn) {
    return dispatch_reasons<IpiReason>(drained, static_cast<Fn&&>(fn));
}

}  // namespace hb
