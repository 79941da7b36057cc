// A bounded per-CPU trace ring (chapter 07): what each CPU did, in order,
// with timestamps, so a run can be looked at after the fact.
//
// Ownership. One ring per CPU, and only that CPU writes it (the kernel
// records with interrupts masked, so a trap handler cannot interleave a
// record with the one it interrupted). Any CPU may read it at any time.
//
// Boundedness. N records of 16 bytes, chosen at compile time: no heap, no
// lock, O(1) per record. When the ring is full, a new record is *dropped
// and counted*: it never overwrites an old one. A trace is therefore always
// the contiguous beginning of the window it was switched on for, and the
// count says exactly how much of the end is missing. (A flight recorder
// that overwrites keeps the end and loses the start; for a trace that is
// compared with counters taken at the start of the window, the start is the
// part that must not be lost, and a silently shortened trace would make the
// comparison lie.)
//
// Concurrency. The writer fills slot n and then publishes n + 1 with a
// release store; a reader loads the published count with acquire and reads
// only slots below it. A published slot is never written again (nothing
// overwrites, and reset() is for a ring nobody writes), so a reader never
// sees a record half-written. Pure: also compiled for the host, and tested
// there with one writer and one reader thread under ThreadSanitizer.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace hb {

// [hb:region trace_event]
/// What a trace record says happened. The argument's meaning per kind is
/// given here once; the dump and tools/timeline.py print it under that name.
enum class TraceEvent : std::uint8_t {
    Switch,         ///< the scheduler switched to a task; arg = task id
    IdleEnter,      ///< the scheduler switched to the idle task
    IdleLeave,      ///< the idle task gave the CPU back to the scheduler
    Steal,          ///< this CPU stole tasks; arg = victim cpu, arg16 = tasks taken
    IpiSend,        ///< an IPI to a target is about to be sent; arg = target cpu
    IpiRecv,        ///< the S_SOFT trap was taken on this CPU; arg = reason bits drained
    ShootdownStart, ///< an unmap starts a TLB shootdown; arg = target cpu bits
    ShootdownAck,   ///< this CPU served a shootdown request sent to it by IPI
    Begin,          ///< the window opened on this CPU while a task ran; arg = task id
    Count
};
// [hb:end trace_event]

/// The name the dump prints for `e` (also what tools/timeline.py parses).
constexpr const char* trace_event_name(TraceEvent e) {
    switch (e) {
    case TraceEvent::Switch: return "switch";
    case TraceEvent::IdleEnter: return "idle-enter";
    case TraceEvent::IdleLeave: return "idle-leave";
    case TraceEvent::Steal: return "steal";
    case TraceEvent::IpiSend: return "ipi-send";
    case TraceEvent::IpiRecv: return "ipi-recv";
    case TraceEvent::ShootdownStart: return "shootdown-start";
    case TraceEvent::ShootdownAck: return "shootdown-ack";
    case TraceEvent::Begin: return "begin";
    case TraceEvent::Count: break;
    }
    return "?";
}

/// The name of the argument of `e` in a dump line (`task=5`), or null when
/// the kind has no argument worth printing.
constexpr const char* trace_arg_name(TraceEvent e) {
    switch (e) {
    case TraceEvent::Switch:
    case TraceEvent::Begin: return "task";
    case TraceEvent::Steal: return "victim";
    case TraceEvent::IpiSend: return "target";
    case TraceEvent::IpiRecv: return "reasons";
    case TraceEvent::ShootdownStart: return "targets";
    case TraceEvent::IdleEnter:
    case TraceEvent::IdleLeave:
    case TraceEvent::ShootdownAck:
    case TraceEvent::Count: break;
    }
    return nullptr;
}

// [hb:region trace_record]
/// One record: 16 bytes, a plain value.
struct TraceRecord {
    std::uint64_t ticks = 0;  ///< timer ticks (the time CSR: one clock for every hart)
    TraceEvent kind = TraceEvent::Count;
    std::uint8_t cpu = 0;     ///< the writing CPU (dense CpuId)
    std::uint16_t arg16 = 0;  ///< a second, small argument (Steal: how many tasks)
    std::uint32_t arg = 0;    ///< the kind's argument (see TraceEvent)
};
static_assert(sizeof(TraceRecord) == 16, "a record is 16 bytes: four per 64-byte cache line");
// [hb:end trace_record]

/// What became of a record offered to a ring.
enum class TraceOutcome : std::uint8_t {
    Recorded,
    Dropped,  ///< the ring was full: not stored, counted in dropped()
};

// [hb:region trace_ring]
/// A single-producer ring of at most N records that stops when full.
template <std::size_t N>
class TraceRing {
    static_assert(N > 0 && N <= 0xffff'ffffu, "the published count is 32 bits");

public:
    constexpr TraceRing() = default;
    TraceRing(const TraceRing&) = delete;
    TraceRing& operator=(const TraceRing&) = delete;

    [[nodiscard]] static constexpr std::size_t capacity() { return N; }

    /// Appends `r`, or drops and counts it when the ring is full. Only the
    /// owning writer calls it (one at a time: the kernel masks interrupts).
    TraceOutcome push(const TraceRecord& r) {
        // Only this writer stores m_published, so a relaxed load sees its own
        // last store.
        const std::uint32_t n = m_published.load(std::memory_order_relaxed);
        if (n == N) {
            // Relaxed: a count readers only report; it orders nothing.
            m_dropped.fetch_add(1, std::memory_order_relaxed);
            return TraceOutcome::Dropped;
        }
        m_slots[n] = r;
        // Release: a reader that sees n + 1 sees slot n complete.
        m_published.store(n + 1, std::memory_order_release);
        return TraceOutcome::Recorded;
    }

    /// Records readable now (acquire: pairs with push's release). Slots
    /// below it are complete and never change again.
    [[nodiscard]] std::size_t published() const { return m_published.load(std::memory_order_acquire); }

    /// Record i, for i < a value published() returned.
    [[nodiscard]] const TraceRecord& at(std::size_t i) const { return m_slots[i]; }

    /// Records refused because the ring was full.
    [[nodiscard]] std::uint64_t dropped() const { return m_dropped.load(std::memory_order_relaxed); }

    /// Calls fn(const TraceRecord&) for every published record, oldest first.
    template <typename Fn>
    void for_each(Fn&& fn) const {
        const std::size_t n = published();
        for (std::size_t i = 0; i < n; ++i) fn(m_slots[i]);
    }

    /// Empties the ring. Only while nobody writes it and nobody reads it
    /// (a test between runs): it rewrites the published count downwards.
    void reset() {
        m_dropped.store(0, std::memory_order_relaxed);
        m_published.store(0, std::memory_order_release);
    }

private:
    std::array<TraceRecord, N> m_slots{};
    std::atomic<std::uint32_t> m_published{0};  ///< slots [0, m_published) are complete
    std::atomic<std::uint64_t> m_dropped{0};
};
// [hb:end trace_ring]

}  // namespace hb
