// TLB shootdown: making every CPU forget a translation (chapter 06).
//
// The problem. A CPU's TLB caches translations and nothing keeps the cache
// coherent with the page tables. After AddressSpace::unmap clears a leaf,
// every CPU that ran the space may still translate the address through its
// cached copy, and sfence.vma only empties the TLB of the hart that executes
// it. So before the frame behind the page may be reused, every such CPU must
// run sfence.vma itself and say so. That round trip is a shootdown:
//
//     initiator (the CPU that unmapped)          each target CPU
//     -------------------------------------      ---------------------------
//     clear the PTE (sv39 unmap)
//     sfence.vma locally
//     targets = ActiveSet - self
//     post {generation, va, pages} to each
//       target's slot, ring its doorbell  ---->  IPI: drain mailbox, service
//                                                its slot: sfence.vma the range,
//     wait until every target acked       <----  ack (slot Free, generation kept)
//     free the frame
//
// The pieces here are pure: the per-address-space ActiveSet, the per-CPU
// ShootdownSlot, the initiator's ShootdownRequest and run_shootdown, which
// drives a request to completion. The doorbell is chapter 05's mailbox with
// a new reason; the kernel supplies sfence.vma and the IPI as callbacks.
//
// Boundedness. One slot per target CPU, holding one request: no queue, no
// allocation. A second initiator that finds a target's slot occupied is
// refused with Busy and retries; it does not wait inside post, because an
// initiator that waits must keep serving its own slot (see run_shootdown),
// and only the caller knows how to do that.
//
// Concurrency. Each slot is one atomic state word (generation and phase)
// plus a plain range that the state word's release/acquire pairs protect;
// the ActiveSet is one atomic word per address space. Every order is named
// and explained where it is used.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

#include "lib/cpuset.hpp"
#include "lib/ids.hpp"
#include "lib/result.hpp"

namespace hb {

// [hb:region shootdown_range]
/// Above this many pages a target flushes its whole TLB instead of one
/// sfence.vma per page. Per-page flushes keep the rest of the TLB warm but
/// cost one instruction (and, on some cores, a TLB walk) each; past a few
/// dozen pages refilling the whole TLB is cheaper. Linux's default for the
/// same trade-off (tlb_single_page_flush_ceiling on x86) is 33; 32 is the
/// same choice as a power of two. A tunable, not a correctness rule: any
/// value flushes everything that needs flushing.
inline constexpr std::uint64_t kPageFlushCeiling = 32;

/// What a target must forget: `pages` 4 KiB pages from `va`, or its whole
/// TLB (all()). A plain value, copied into each target's slot, so a target
/// never reads the initiator's memory (an initiator that gives up and
/// returns leaves nothing dangling).
struct ShootdownRange {
    static constexpr std::uint64_t kPageSize = 4096;
    static constexpr std::uint64_t kAllPages = ~std::uint64_t{0};
    /// A range larger than a whole Sv39 half is a caller's mistake: ask for all().
    static constexpr std::uint64_t kMaxPages = std::uint64_t{1} << 27;

    std::uint64_t va = 0;     ///< first page, 4 KiB aligned (ignored by all())
    std::uint64_t pages = 0;  ///< page count, or kAllPages

    static constexpr ShootdownRange all() { return {0, kAllPages}; }

    /// One page at least, aligned, not past 2^64, or all().
    [[nodiscard]] constexpr bool valid() const {
        if (pages == kAllPages) return true;
        return pages != 0 && pages <= kMaxPages && va % kPageSize == 0 && va <= ~std::uint64_t{0} - (pages * kPageSize - 1);
    }
    /// Does this range cover address `addr`?
    [[nodiscard]] constexpr bool covers(std::uint64_t addr) const {
        if (pages == kAllPages) return true;
        return addr >= va && (addr - va) / kPageSize < pages;
    }
    /// Should the target flush everything rather than page by page?
    [[nodiscard]] constexpr bool flush_whole_tlb() const { return pages == kAllPages || pages > kPageFlushCeiling; }

    friend constexpr bool operator==(const ShootdownRange&, const ShootdownRange&) = default;
};
// [hb:end shootdown_range]

// [hb:region active_set]
/// The CPUs an address space has ever been active on: who may hold its
/// translations, and therefore who a shootdown of it must reach.
///
/// The rule has two halves.
///  1. A CPU adds itself *before* it first uses the space (before the
///     `csrw satp` that installs it). Added after, there would be a window
///     in which the CPU caches a translation that no shootdown targets.
///  2. A CPU is never removed while a translation of the space could still
///     be cached there. This class does not remove at all: "ever active" is
///     the conservative reading, right even when ASIDs later let entries
///     of a space survive a switch away from it. Each extra target costs
///     one spurious IPI and flush, never a stale translation. (A tighter
///     set needs a removal protocol of its own: Linux's mm_cpumask and lazy
///     TLB show how subtle that is.)
///
/// Half 1 is a store-buffering race:
///
///     CPU X (first switch to the space)     initiator (unmap)
///     note_active(X)    [set bit]           clear PTE              [store]
///     page walk         [load PTE]          shootdown_targets()    [load set]
///
/// If each side's load could run before the other side's store is visible,
/// X would cache the old PTE *and* the initiator's set would lack X. Both
/// sides therefore access the set with a read-modify-write, the initiator
/// too (a fetch_or of 0, which changes nothing). RMWs of one word are
/// totally ordered, and acq_rel makes whichever comes first happen-before
/// the other:
///  - X's comes first: the initiator's RMW reads the set with X in it, and
///    X is shot down.
///  - The initiator's comes first: its release (after the PTE store) meets
///    X's acquire, so the PTE store happens-before X's walk, which finds
///    the PTE cleared and caches nothing.
/// The same argument in ThreadSanitizer's terms needs no fence (TSan does
/// not model fences), and in RISC-V's it is an amoor.d.aqrl on each side.
/// The kernel's part: on X, keep `csrw satp; sfence.vma` after
/// note_active, because sfence.vma is what orders the stores X has seen
/// before the page walks that follow it; on the initiator, clear the PTEs
/// before calling shootdown_targets.
class ActiveSet {
public:
    constexpr ActiveSet() = default;
    ActiveSet(const ActiveSet&) = delete;
    ActiveSet& operator=(const ActiveSet&) = delete;

    /// `cpu` is about to use the space; call on `cpu` itself, before it
    /// installs the space's satp. Returns true the first time (the only
    /// time the bit changes), false afterwards or for a CPU out of range.
    /// acq_rel RMW: X's side of the race above. Only the first call per
    /// CPU matters (the bit never leaves), so a switch path may skip it when
    /// contains(self) already holds: a CPU always sees its own earlier store.
    bool note_active(CpuId cpu) {
        if (cpu.raw() >= kMaxCpus) return false;
        const std::uint64_t b = std::uint64_t{1} << cpu.raw();
        return (m_bits.fetch_or(b, std::memory_order_acq_rel) & b) == 0;
    }

    /// The CPUs a shootdown of this space must reach: every CPU it was
    /// active on, minus the initiator (which flushes its own TLB directly).
    /// Call it *after* clearing the PTEs. An RMW, not a load: the
    /// initiator's side of the race above (a plain load, even seq_cst,
    /// would need a seq_cst fence before it to order the PTE store).
    /// Not const for that reason: it writes the word, if only with itself.
    [[nodiscard]] CpuSet shootdown_targets(CpuId self) {
        return CpuSet::from_bits(m_bits.fetch_or(0, std::memory_order_acq_rel)).without(self);
    }

    /// A look for dumps and tests; not a shootdown target set.
    [[nodiscard]] CpuSet load() const { return CpuSet::from_bits(m_bits.load(std::memory_order_acquire)); }
    [[nodiscard]] bool contains(CpuId cpu) const { return load().contains(cpu); }

private:
    std::atomic<std::uint64_t> m_bits{0};
};
// [hb:end active_set]

// [hb:region shootdown_outcomes]
/// Why a post was refused.
enum class ShootdownPostError : std::uint32_t {
    None,
    /// The target's slot holds another initiator's request that the target
    /// has not serviced yet. Retry later, and serve your own slot meanwhile.
    Busy,
    /// The range is not valid() (nothing was posted).
    RejectedInvalid,
};

/// What a target's service() call found.
enum class ShootdownService : std::uint32_t {
    Idle,     ///< no request posted (none, or one still being filled in)
    Flushed,  ///< a request was posted: its range was flushed and acked
};

/// How run_shootdown ended.
enum class ShootdownWait : std::uint32_t {
    Complete,  ///< every target acked: the frames may be freed
    GaveUp,    ///< the caller's wait callback said stop: do NOT free the frames
};
// [hb:end shootdown_outcomes]

constexpr const char* shootdown_post_error_name(ShootdownPostError e) {
    switch (e) {
    case ShootdownPostError::None: return "none";
    case ShootdownPostError::Busy: return "busy";
    case ShootdownPostError::RejectedInvalid: return "rejected-invalid";
    }
    return "?";
}

constexpr const char* shootdown_wait_name(ShootdownWait w) {
    switch (w) {
    case ShootdownWait::Complete: return "complete";
    case ShootdownWait::GaveUp: return "gave-up";
    }
    return "?";
}

/// A slot's state word, decoded (dumps and tests).
enum class SlotPhase : std::uint32_t { Free = 0, Filling = 1, Posted = 2 };
struct SlotSnapshot {
    std::uint64_t generation = 0;  ///< the latest request's generation (0: never used)
    SlotPhase phase = SlotPhase::Free;
};

/// Event counts of one slot (statistics: relaxed, not part of any proof).
struct ShootdownSlotCounters {
    std::uint64_t posted = 0;   ///< requests accepted
    std::uint64_t busy = 0;     ///< posts refused with Busy
    std::uint64_t flushed = 0;  ///< requests the target serviced
};

// [hb:region shootdown_slot]
/// One target CPU's request slot, in its per-CPU block (here: a board).
///
/// The state word is generation * 4 + phase. The generation counts the
/// requests this slot has taken; it only grows, so "acked" is a comparison
/// and a slot reused by a later request can never be mistaken for an
/// earlier one (2^62 requests before it would wrap).
///
///     Free(g) --claim (CAS, initiator)--> Filling(g+1) --publish--> Posted(g+1)
///        ^                                                              |
///        +----------------- service (owner): flush, then ack ----------+
///
/// Free(g) means "request g is done (or g = 0: none yet)". Filling keeps
/// the range private to its one writer; it lasts a few instructions and
/// nobody waits on it while holding anything. The range is a plain field:
/// the initiator writes it only between its claim and its publish, the
/// owner reads it only between seeing Posted and storing Free, and the
/// state word's release/acquire pairs order those accesses, so they never
/// overlap (the TSan stress test checks exactly that).
class ShootdownSlot {
public:
    constexpr ShootdownSlot() = default;
    ShootdownSlot(const ShootdownSlot&) = delete;
    ShootdownSlot& operator=(const ShootdownSlot&) = delete;

    /// Initiator, any CPU but the owner. Posts `range` and returns its
    /// generation, the ticket to wait on with acked(); or Busy if another
    /// request occupies the slot, or RejectedInvalid. After success the
    /// caller rings the owner's doorbell: the post comes first, so the
    /// owner's drain, which follows the doorbell, finds it.
    [[nodiscard]] Result<std::uint64_t, ShootdownPostError> try_post(ShootdownRange range) {
        using R = Result<std::uint64_t, ShootdownPostError>;
        if (!range.valid()) return R::failure(ShootdownPostError::RejectedInvalid);
        std::uint64_t state = m_state.load(std::memory_order_relaxed);
        const std::uint64_t gen = state >> 2;
        // Claim: only from Free, and only one initiator can win the CAS.
        // Acquire on success pairs with the owner's release in service():
        // its reads of the previous range happen before we overwrite it.
        if (phase_of(state) != SlotPhase::Free ||
            !m_state.compare_exchange_strong(state, encode(gen + 1, SlotPhase::Filling), std::memory_order_acquire,
                                             std::memory_order_relaxed)) {
            m_busy.fetch_add(1, std::memory_order_relaxed);  // statistics only
            return R::failure(ShootdownPostError::Busy);
        }
        m_range = range;
        // Publish. Release: an owner that sees Posted also sees the range,
        // and everything this initiator wrote before posting: above all the
        // cleared PTE, so a walk after the flush cannot refill the old one.
        m_state.store(encode(gen + 1, SlotPhase::Posted), std::memory_order_release);
        m_posted.fetch_add(1, std::memory_order_relaxed);  // statistics only
        return R::success(gen + 1);
    }

    /// Owner CPU only, from its IPI handler after draining the mailbox (and
    /// from any loop in which it waits for a shootdown of its own). If a
    /// request is posted, calls flush(range), which must complete the local
    /// sfence.vma, then acks it. Cheap when idle: one load.
    ///
    /// Ordering: acquire pairs with try_post's release (the range and the
    /// cleared PTE are visible). The ack is a release store: everything
    /// this CPU did before it, the flush and every access it made through
    /// the old translation, happens before the initiator's acked() sees it,
    /// and so before the initiator frees the frame.
    template <typename Flush>
    ShootdownService service(Flush&& flush) {
        const std::uint64_t state = m_state.load(std::memory_order_acquire);
        if (phase_of(state) != SlotPhase::Posted) return ShootdownService::Idle;
        const ShootdownRange range = m_range;  // a copy: the callback gets a value, not our field
        flush(range);
        m_flushed.fetch_add(1, std::memory_order_relaxed);  // statistics only
        // A plain store, not a CAS: while Posted, nobody else writes the word
        // (claims need Free, and the poster only waits).
        m_state.store(encode(state >> 2, SlotPhase::Free), std::memory_order_release);
        return ShootdownService::Flushed;
    }

    /// Initiator: has request `generation` been serviced? True once the slot
    /// went Free with that generation, or a later request moved it past.
    /// Acquire pairs with service()'s release (see there).
    [[nodiscard]] bool acked(std::uint64_t generation) const {
        const std::uint64_t state = m_state.load(std::memory_order_acquire);
        const std::uint64_t gen = state >> 2;
        return gen > generation || (gen == generation && phase_of(state) == SlotPhase::Free);
    }

    /// A racy look for dumps and tests.
    [[nodiscard]] SlotSnapshot peek() const {
        const std::uint64_t state = m_state.load(std::memory_order_relaxed);
        return {state >> 2, phase_of(state)};
    }
    [[nodiscard]] ShootdownSlotCounters counters() const {
        return {m_posted.load(std::memory_order_relaxed), m_busy.load(std::memory_order_relaxed),
                m_flushed.load(std::memory_order_relaxed)};
    }

private:
    static constexpr std::uint64_t encode(std::uint64_t gen, SlotPhase p) {
        return (gen << 2) | static_cast<std::uint64_t>(p);
    }
    static constexpr SlotPhase phase_of(std::uint64_t state) { return static_cast<SlotPhase>(state & 3); }

    std::atomic<std::uint64_t> m_state{0};  // Free(0)
    ShootdownRange m_range{};
    std::atomic<std::uint64_t> m_posted{0};
    std::atomic<std::uint64_t> m_busy{0};
    std::atomic<std::uint64_t> m_flushed{0};
};
// [hb:end shootdown_slot]

/// Every CPU's slot. The kernel keeps one (constinit) and indexes it by
/// validated CpuId, like its other per-CPU arrays.
class ShootdownBoard {
public:
    constexpr ShootdownBoard() = default;
    /// `cpu` must be a validated CpuId (below kMaxCpus); every member of a
    /// CpuSet is.
    [[nodiscard]] ShootdownSlot& slot(CpuId cpu) { return m_slots[cpu.raw()]; }
    [[nodiscard]] const ShootdownSlot& slot(CpuId cpu) const { return m_slots[cpu.raw()]; }

private:
    std::array<ShootdownSlot, kMaxCpus> m_slots{};
};

// [hb:region shootdown_request]
/// One initiator's shootdown, on its stack: which targets it has posted to,
/// with which generation each, and therefore which have acked. Targets are
/// posted one slot at a time, each as soon as its slot is free, and a post
/// is never withdrawn: a Busy slot stays pending and is retried, the others
/// proceed meanwhile. Nothing the targets read lives here, so dropping a
/// request (after GaveUp) is memory-safe.
class ShootdownRequest {
public:
    using MakeResult = Result<ShootdownRequest, ShootdownPostError>;

    constexpr ShootdownRequest() = default;

    /// A request for `range` to `targets` minus `self` (a CPU flushes its
    /// own TLB directly: posting to itself would only make it wait on
    /// itself). RejectedInvalid for an invalid range, before anything is
    /// posted. An empty target set is a complete request at once.
    [[nodiscard]] static constexpr MakeResult make(CpuSet targets, CpuId self, ShootdownRange range) {
        if (!range.valid()) return MakeResult::failure(ShootdownPostError::RejectedInvalid);
        ShootdownRequest r;
        r.m_targets = targets.without(self);
        r.m_range = range;
        return MakeResult::success(r);
    }

    /// Posts to every target not posted yet whose slot is free. Returns the
    /// CPUs posted by *this* call: the caller rings their doorbells, as one
    /// batch. Busy targets stay in unposted(); their count adds to busy().
    CpuSet post_pending(ShootdownBoard& board) {
        CpuSet now;
        unposted().for_each([&](CpuId cpu) {
            const auto r = board.slot(cpu).try_post(m_range);
            if (r.ok()) {
                m_generation[cpu.raw()] = r.value();
                now = now.with(cpu);
            } else {
                ++m_busy;  // RejectedInvalid cannot happen: make() checked the range
            }
        });
        m_posted = m_posted | now;
        return now;
    }

    /// Stops waiting for `cpus`: they leave the targets, posted or not. For
    /// a target that cannot hold the translation any more (the kernel's
    /// case: a CPU that went offline runs nothing until it starts again,
    /// and starting flushes its whole TLB). A posted slot keeps its request
    /// and its owner serves it late, harmlessly; nothing it reads lives here.
    void excuse(CpuSet cpus) { m_targets = CpuSet::from_bits(m_targets.bits() & ~cpus.bits()); }

    /// Targets that have not acked yet, posted or not.
    [[nodiscard]] CpuSet unacked(const ShootdownBoard& board) const {
        CpuSet waiting = unposted();
        (m_posted & m_targets).for_each([&](CpuId cpu) {
            if (!board.slot(cpu).acked(m_generation[cpu.raw()])) waiting = waiting.with(cpu);
        });
        return waiting;
    }
    /// Every target posted and acked: the initiator may free the frames.
    [[nodiscard]] bool complete(const ShootdownBoard& board) const { return unacked(board).empty(); }

    [[nodiscard]] constexpr CpuSet targets() const { return m_targets; }
    [[nodiscard]] constexpr CpuSet unposted() const { return CpuSet::from_bits(m_targets.bits() & ~m_posted.bits()); }
    [[nodiscard]] constexpr ShootdownRange range() const { return m_range; }
    /// Posts refused with Busy so far (a measure of contention between initiators).
    [[nodiscard]] constexpr std::uint64_t busy() const { return m_busy; }

private:
    CpuSet m_targets;
    CpuSet m_posted;
    std::array<std::uint64_t, kMaxCpus> m_generation{};
    ShootdownRange m_range{};
    std::uint64_t m_busy = 0;
};
// [hb:end shootdown_request]

// [hb:region run_shootdown]
/// Drives `request` to completion: post what can be posted, ring those
/// doorbells, and wait, until every target acked or `wait` gives up.
///
///   ring(CpuSet cpus)  post the shootdown reason to each CPU's mailbox and
///                      send the IPIs the mailbox says to send (one batch).
///   wait() -> bool     called between attempts. It MUST serve the caller's
///                      own slot (board.slot(self).service(flush)), then
///                      relax; it returns false to give up (a deadline).
///
/// Why wait() must serve the caller's own slot. Two CPUs that shoot down
/// at the same time target each other: A waits for B's ack while B waits
/// for A's. If neither served its own slot while waiting (say, spinning with
/// interrupts off), both would wait forever. Serving in the wait loop makes
/// every waiting CPU a working target too, so the waits cannot form a
/// cycle: every posted request is serviced by a CPU that is either running
/// normally (IPI) or waiting here (wait()). The same holds for a Busy slot:
/// its occupant's target serves it, whatever that target is doing.
///
/// After GaveUp, some targets may not have flushed: the caller must not
/// free the frames (the kernel panics; a shootdown that cannot finish is a
/// CPU that stopped answering IPIs). Posts already made stay valid and are
/// serviced later; they point at nothing of the request.
template <typename Ring, typename Wait>
[[nodiscard]] ShootdownWait run_shootdown(ShootdownBoard& board, ShootdownRequest& request, Ring&& ring,
                                          Wait&& wait) {
    for (;;) {
        if (!request.unposted().empty()) {
            const CpuSet posted = request.post_pending(board);
            if (!posted.empty()) ring(posted);
        }
        if (request.complete(board)) return ShootdownWait::Complete;
        if (!wait()) return ShootdownWait::GaveUp;
    }
}
// [hb:end run_shootdown]

}  // namespace hb
