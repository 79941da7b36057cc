// Evidence that an IPI really travelled: causal counters per target CPU, and
// a bounded audit log of SMP events (chapter 05).
//
// Why counters and not a marker. "The remote CPU eventually ran the task" is
// no proof of an IPI: with a timer tick on every hart, the task would have
// run anyway. The seed project's answer, kept here, is four counters per
// *target* CPU, each moved at one point of the path, in causal order:
//
//     requested  the sender's request passed check_ipi_target (any CPU)
//     sent       the sender raised the interrupt (any CPU, MustSend only)
//     trapped    the target took the S_SOFT trap (target CPU only)
//     acked      the target handled every drained reason (target CPU only)
//
// Each is monotonic, and at every instant ack <= trap <= send <= request:
// coalesced posts send nothing (send < request), several sends may land on
// one pending SSIP and make one trap (trap < send), and an ack always follows
// its trap. The counterfactual suppresses the send: then trapped and acked
// must not move, which a polling target would fail.
//
// Where `sent` moves. Immediately *before* the SBI call, not after it
// returns: the target can take its trap before the sender's ecall returns,
// so counting after the call would show trap > send for a moment and make
// the invariant false under concurrency. SBI send_ipi to a hart that passed
// check_ipi_target can only fail on a kernel bug (a wrong hart mask), so the
// kernel treats a failed send as fatal and counts it in `send_failed` on the
// way to its panic; in every run that goes on, sent counts SBI successes.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "lib/ids.hpp"
#include "lib/result.hpp"
#include "lib/ring.hpp"
#include "lib/spinlock.hpp"

namespace hb {

/// A copy of one target's counters at one moment: a plain value.
struct IpiCounterSnapshot {
    std::uint64_t requested = 0;
    std::uint64_t sent = 0;
    std::uint64_t trapped = 0;
    std::uint64_t acked = 0;
    std::uint64_t send_failed = 0;  ///< must be 0 in any run that did not panic

    friend constexpr bool operator==(const IpiCounterSnapshot&, const IpiCounterSnapshot&) = default;
};

// [hb:region ipi_check]
/// Which causal inequality a snapshot (or a pair of them) breaks; the first
/// broken one in this order is reported.
enum class IpiCounterCheck : std::uint32_t {
    Ok,
    AckAboveTrap,      ///< acked > trapped: an ack without its trap
    TrapAboveSend,     ///< trapped > sent: a trap nobody sent (or `sent` counted late)
    SendAboveRequest,  ///< sent > requested: a send without an accepted request
    WentBackwards,     ///< a counter of `after` is below the same counter of `before`
};

/// ack <= trap <= send <= request, checked from the end of the chain back.
constexpr IpiCounterCheck check_causal(const IpiCounterSnapshot& s) {
    if (s.acked > s.trapped) return IpiCounterCheck::AckAboveTrap;
    if (s.trapped > s.sent) return IpiCounterCheck::TrapAboveSend;
    if (s.sent > s.requested) return IpiCounterCheck::SendAboveRequest;
    return IpiCounterCheck::Ok;
}

/// What moved between two snapshots of the same target, for selftests
/// ("this IPI moved requested, sent, trapped and acked by exactly one").
/// Fails with WentBackwards if any counter decreased. A delta is not itself
/// causal (a trap counted in the window may answer a send before it), so
/// check_causal applies to snapshots, not to deltas.
constexpr Result<IpiCounterSnapshot, IpiCounterCheck> delta(const IpiCounterSnapshot& before,
                                                            const IpiCounterSnapshot& after) {
    if (after.requested < before.requested || after.sent < before.sent ||
        after.trapped < before.trapped || after.acked < before.acked ||
        after.send_failed < before.send_failed) {
        return Result<IpiCounterSnapshot, IpiCounterCheck>::failure(IpiCounterCheck::WentBackwards);
    }
    return Result<IpiCounterSnapshot, IpiCounterCheck>::success(IpiCounterSnapshot{
        after.requested - before.requested, after.sent - before.sent, after.trapped - before.trapped,
        after.acked - before.acked, after.send_failed - before.send_failed});
}
// [hb:end ipi_check]

constexpr const char* ipi_counter_check_name(IpiCounterCheck c) {
    switch (c) {
    case IpiCounterCheck::Ok: return "ok";
    case IpiCounterCheck::AckAboveTrap: return "acked > trapped";
    case IpiCounterCheck::TrapAboveSend: return "trapped > sent";
    case IpiCounterCheck::SendAboveRequest: return "sent > requested";
    case IpiCounterCheck::WentBackwards: return "a counter went backwards";
    }
    return "?";
}

// [hb:region ipi_counters]
/// The four counters of one target CPU, in its per-CPU block. Senders on
/// any CPU move `requested` and `sent`; only the target moves `trapped` and
/// `acked`.
///
/// Ordering. Every increment releases and snapshot() acquires, reading the
/// chain *backwards* (acked, trapped, sent, requested). Each step of the path
/// happens-before the next (program order on one CPU; the mailbox's
/// release/acquire and the interrupt between CPUs), so a reader that sees a
/// later counter at n and then loads an earlier one sees at least the
/// increments that led to those n. Read forwards, a snapshot could catch
/// `requested` early and `sent` late and report a violation that never was.
/// (Increments are read-modify-writes, so one acquire load synchronises with
/// every release increment before the value it reads.)
class IpiCounters {
public:
    constexpr IpiCounters() = default;
    IpiCounters(const IpiCounters&) = delete;
    IpiCounters& operator=(const IpiCounters&) = delete;

    /// Sender: the request was accepted by check_ipi_target, before post().
    void note_requested() { m_requested.fetch_add(1, std::memory_order_release); }
    /// Sender with PostOutcome::MustSend: immediately before the SBI call.
    void note_sent() { m_sent.fetch_add(1, std::memory_order_release); }
    /// Sender: the SBI call returned an error (the kernel panics next).
    void note_send_failed() { m_send_failed.fetch_add(1, std::memory_order_release); }
    /// Target: first thing in the S_SOFT trap handler.
    void note_trapped() { m_trapped.fetch_add(1, std::memory_order_release); }
    /// Target: after every drained reason was handled (an empty drain too).
    void note_acked() { m_acked.fetch_add(1, std::memory_order_release); }

    [[nodiscard]] IpiCounterSnapshot snapshot() const {
        IpiCounterSnapshot s;
        s.acked = m_acked.load(std::memory_order_acquire);
        s.trapped = m_trapped.load(std::memory_order_acquire);
        s.send_failed = m_send_failed.load(std::memory_order_acquire);
        s.sent = m_sent.load(std::memory_order_acquire);
        s.requested = m_requested.load(std::memory_order_acquire);
        return s;
    }

private:
    std::atomic<std::uint64_t> m_requested{0};
    std::atomic<std::uint64_t> m_sent{0};
    std::atomic<std::uint64_t> m_send_failed{0};
    std::atomic<std::uint64_t> m_trapped{0};
    std::atomic<std::uint64_t> m_acked{0};
};
// [hb:end ipi_counters]

// --- The audit log ----------------------------------------------------------

// [hb:region audit_record]
/// What happened.
enum class AuditEvent : std::uint32_t {
    IpiSend,     ///< `cpu` sent a reschedule IPI to `target`
    CpuOnline,   ///< `cpu` marked itself online (target == cpu)
    CpuOffline,  ///< `cpu` went offline (target == cpu)
    Migration,   ///< chapter 06: `cpu` stole `task` from `target`'s runqueue
};
inline constexpr std::uint32_t kAuditEventCount = 4;

/// The `task` of a record that is not about one task.
inline constexpr TaskId kNoAuditTask{~std::uint32_t{0}};

/// One audit record. `cpu` is who did it, taken from the caller's own
/// hart-local block (the validated current CPU), never from a request: a
/// record cannot be made to name another CPU as its author.
struct AuditRecord {
    std::uint64_t seq = 0;  ///< position in the event stream; a gap means records were dropped
    AuditEvent kind = AuditEvent::IpiSend;
    CpuId cpu{};
    CpuId target{};
    TaskId task = kNoAuditTask;  ///< Migration: the task that moved
};
// [hb:end audit_record]

constexpr const char* audit_event_name(AuditEvent e) {
    switch (e) {
    case AuditEvent::IpiSend: return "ipi-send";
    case AuditEvent::CpuOnline: return "cpu-online";
    case AuditEvent::CpuOffline: return "cpu-offline";
    case AuditEvent::Migration: return "migration";
    }
    return "?";
}

/// What record() did with an event.
enum class AuditOutcome : std::uint32_t {
    Recorded,
    DroppedFull,  ///< the log was full: counted, and its sequence number is spent
    Invalid,      ///< a CpuId or event kind out of range: counted, no number spent
};

struct AuditCounters {
    std::uint64_t recorded = 0;
    std::uint64_t dropped = 0;
    std::uint64_t invalid = 0;
};

// [hb:region audit_log]
/// Slots in the kernel's audit log.
///
/// Why 64 and why "reject the newest". The log is read by selftests and by a
/// dump after them, so it has to hold one boot's SMP events: kMaxCpus online
/// records plus the IPIs of the chapter selftests, a few dozen. When it is
/// full, a new event is dropped and counted rather than overwriting the
/// oldest: the records kept are the earliest (bring-up, the first IPIs),
/// which are what an investigation starts from, and a flood of IPIs cannot
/// push the evidence of how it began out of the log. Nothing is lost
/// silently: every event, dropped or not, takes the next sequence number, so
/// a reader sees a gap exactly where records are missing, and `dropped`
/// says how many. This is BoundedQueue's own backpressure contract, so the
/// log adds no ring code of its own.
inline constexpr std::size_t kAuditLogCapacity = 64;

/// A bounded log of SMP events, written from any CPU.
template <typename Lock = BasicSpinLock<>, std::size_t Capacity = kAuditLogCapacity>
class AuditLog {
public:
    constexpr AuditLog() = default;

    /// Appends an event by `self`. `self` must be the caller's CpuId as its
    /// hart-local block records it. Takes the log's lock: a leaf lock, so
    /// never call it with a runqueue lock held (runqueue.hpp, lock order).
    AuditOutcome record(AuditEvent kind, CpuId self, CpuId target, TaskId task = kNoAuditTask) {
        return m_state.with([&](State& s) {
            if (self.raw() >= kMaxCpus || target.raw() >= kMaxCpus ||
                static_cast<std::uint32_t>(kind) >= kAuditEventCount) {
                ++s.counters.invalid;
                return AuditOutcome::Invalid;
            }
            const AuditRecord rec{s.next_seq++, kind, self, target, task};
            if (s.records.push(rec) != EnqueueOutcome::Accepted) {
                ++s.counters.dropped;
                return AuditOutcome::DroppedFull;
            }
            ++s.counters.recorded;
            return AuditOutcome::Recorded;
        });
    }

    /// Removes the oldest record into `out` (a dump that frees room).
    [[nodiscard]] bool pop(AuditRecord& out) {
        return m_state.with([&](State& s) { return s.records.pop(out); });
    }
    /// Calls fn(const AuditRecord&) for each record, oldest first, under the
    /// lock: `fn` must not print or take another lock; copy out what you need.
    template <typename Fn>
    void for_each(Fn&& fn) {
        m_state.with([&](const State& s) { s.records.for_each(fn); });
    }
    [[nodiscard]] std::size_t size() {
        return m_state.with([](const State& s) { return s.records.size(); });
    }
    [[nodiscard]] AuditCounters counters() {
        return m_state.with([](const State& s) { return s.counters; });
    }
    [[nodiscard]] static constexpr std::size_t capacity() { return Capacity; }

private:
    struct State {
        BoundedQueue<AuditRecord, Capacity> records;
        std::uint64_t next_seq = 0;
        AuditCounters counters;
    };
    Protected<State, Lock> m_state;
};
// [hb:end audit_log]

}  // namespace hb
