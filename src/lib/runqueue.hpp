// Per-CPU runqueues: which runnable task a CPU runs next (chapter 04).
//
// Ownership. Each CPU has one runqueue, kept in its per-CPU block. The queue
// holds task *identities* (TaskId plus class), not tasks: the task table owns
// the tasks, and a TaskId in a runqueue means "this task is runnable here".
//
// Boundedness. One fixed-size bucket per QosClass, no allocation. A full
// bucket rejects (EnqueueOutcome::RejectedFull), counts the rejection and
// leaves the queue as it was; the task is not lost, because the caller still
// holds it and must act on the outcome.
//
// Concurrency. `RunQueue` itself is a plain single-owner value. The one way
// to share it between CPUs is `LockedRunQueue`, whose lock owns the queue:
// the owning CPU (pick_next, its own enqueues) and remote CPUs (waking a task
// onto this CPU, later stealing from it) all go through that same lock. There
// is no lock-free side door; that is the single cross-CPU boundary.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <utility>

#include "lib/ids.hpp"
#include "lib/ring.hpp"
#include "lib/spinlock.hpp"

namespace hb {

// [hb:region runqueue_capacity]
/// Slots per QoS class in one CPU's runqueue.
///
/// Why 64. A runqueue holds only *runnable* tasks, and the book's kernels run
/// a few dozen tasks at most (the chapter selftests spawn well under 64), so a
/// healthy boot never fills a bucket even if every task becomes runnable on
/// one CPU in one class. A RejectedFull in the kernel is therefore a real
/// signal (a flood, or a task enqueued twice), never noise to be retried
/// away. It is also cheap: a slot is a TaskId and a sequence number (16 B),
/// and each class has a pinned and a free FIFO of that many slots (chapter
/// 06), so one runqueue is 4 x 2 x 64 x 16 B = 8 KiB of .bss and all kMaxCpus
/// queues are 64 KiB, with no effect on speed, because picking scans
/// classes, not slots. Raise it if the
/// task table ever grows past it; a kernel that wants "can never reject" can
/// static_assert(kMaxTasks <= kRunQueueCapacityPerClass) and keep the
/// rejection path for its selftests only.
inline constexpr std::size_t kRunQueueCapacityPerClass = 64;
// [hb:end runqueue_capacity]

// [hb:region mobility]
/// May a queued task be moved to another CPU? Chapter 04's tasks are all
/// pinned (a one-CPU affinity); chapter 06 adds free tasks, which any online
/// CPU may steal. The runqueue keeps the two apart, so a steal can never
/// take a pinned task: it does not even look at them.
enum class Mobility : std::uint8_t { Pinned, Free };
// [hb:end mobility]

/// What pick_next hands out: the task, the class it was queued under, and
/// whether it may migrate.
struct RunnableTask {
    TaskId task{};
    QosClass qos = QosClass::Normal;
    Mobility mobility = Mobility::Pinned;
};

/// Event counters of one runqueue. Invariant, checked by the tests:
/// enqueued + stolen_in - dequeued - stolen_out == size(); rejected, invalid
/// and steal_refused never change the queue.
struct RunQueueCounters {
    std::uint64_t enqueued = 0;       ///< accepted enqueues
    std::uint64_t dequeued = 0;       ///< tasks handed out by pick_next
    std::uint64_t rejected = 0;       ///< enqueues refused with RejectedFull
    std::uint64_t invalid = 0;        ///< enqueues (and steals) refused as invalid
    std::uint64_t stolen_out = 0;     ///< tasks a thief took from this queue
    std::uint64_t stolen_in = 0;      ///< tasks this CPU stole and queued here
    std::uint64_t steal_refused = 0;  ///< steals refused with RejectedAboveBound
};

// [hb:region steal_contract]
/// The most tasks one steal may take. A thief takes a few tasks, not half
/// the victim's queue: each steal holds the victim's lock, and the victim's
/// own scheduler waits on that lock; a bound keeps that wait O(kStealMax)
/// (lock rule 5). Asking for more is refused, not silently clamped, so a
/// caller that believes it got "everything" cannot be wrong about it.
inline constexpr std::uint32_t kStealMax = 4;

enum class StealOutcome : std::uint32_t {
    Stolen,              ///< 1..n tasks taken (StealBatch::count)
    NothingEligible,     ///< no free task in a class no more urgent than asked; victim unchanged
    RejectedAboveBound,  ///< n > kStealMax: refused and counted, victim unchanged
    RejectedInvalid,     ///< n == 0 or a forged class: refused and counted, victim unchanged
};

/// What one steal took, in the order it took them.
struct StealBatch {
    RunnableTask tasks[kStealMax]{};
    std::uint32_t count = 0;
};
// [hb:end steal_contract]

constexpr const char* steal_outcome_name(StealOutcome o) {
    switch (o) {
    case StealOutcome::Stolen: return "stolen";
    case StealOutcome::NothingEligible: return "nothing-eligible";
    case StealOutcome::RejectedAboveBound: return "rejected-above-bound";
    case StealOutcome::RejectedInvalid: return "rejected-invalid";
    }
    return "?";
}

// [hb:region runqueue]
// [hb:region runqueue_pick]
/// One CPU's runnable tasks: per QosClass, a FIFO of pinned tasks and a FIFO
/// of free ones, sharing one capacity. Within a class, tasks run in the
/// order they were queued, whichever FIFO holds them (a sequence number
/// decides between the two heads). Single owner, no locking; share it only
/// as a LockedRunQueue.
template <std::size_t CapacityPerClass = kRunQueueCapacityPerClass>
class BasicRunQueue {
    struct Entry {
        TaskId task{};
        std::uint64_t seq = 0;  ///< queue order across the two FIFOs of a class
    };

    using Bucket = BoundedQueue<Entry, CapacityPerClass>;

public:
    constexpr BasicRunQueue() = default;

    [[nodiscard]] static constexpr std::size_t capacity_per_class() { return CapacityPerClass; }

    /// Makes `task` runnable here at the back of its class. On anything but
    /// Accepted the queue is unchanged and the caller still owns the task.
    /// The queue does not detect a task enqueued twice (that would cost a
    /// scan); the task's own state (Runnable or not) is what prevents it.
    [[nodiscard]] constexpr EnqueueOutcome enqueue(TaskId task, QosClass qos,
                                                   Mobility mobility = Mobility::Pinned) {
        const EnqueueOutcome outcome = push(task, qos, mobility);
        if (outcome == EnqueueOutcome::Accepted) ++m_counters.enqueued;
        return outcome;
    }

    /// Removes the next task to run: the most urgent non-empty class, and the
    /// oldest task within it. False if the queue is empty (run idle).
    /// Bounded: at most kQosClassCount classes are looked at.
    [[nodiscard]] constexpr bool pick_next(RunnableTask& out) {
        // [hb:lab 04 pick_next]
        for (std::uint32_t i = 0; i < kQosClassCount; ++i) {
            Class& c = m_classes[i];
            Entry p{};
            Entry f{};
            const bool has_p = c.pinned.peek(p);
            const bool has_f = c.free.peek(f);
            if (!has_p && !has_f) continue;
            const bool take_free = has_f && (!has_p || f.seq < p.seq);
            Entry e{};
            const bool popped = take_free ? c.free.pop(e) : c.pinned.pop(e);
            (void)popped;  // peeked just above: cannot fail
            out = RunnableTask{e.task, static_cast<QosClass>(i), take_free ? Mobility::Free : Mobility::Pinned};
            ++m_counters.dequeued;
            return true;
        }
        return false;
        // [hb:stub pick_next]
        //| // Lab 04: take the most urgent class's oldest task (pinned or free).
        //| (void)out;
        //| return false;
        // [hb:end pick_next]
    }
    // [hb:end runqueue_pick]

    // [hb:region steal]
    /// The victim's side of a steal, under the victim's lock: removes up to
    /// `n` free tasks into `out`, from the *tail* of each class that is no
    /// more urgent than `q` (the class the thief steals for), most urgent
    /// eligible class first, newest first. The tail: the victim's next pick
    /// (its head) stays unless the steal empties that class's free tasks,
    /// and the task that would have waited longest there moves. The batch
    /// is newest first; a thief queues it in reverse to keep their order.
    /// Pinned tasks are never candidates. Bounded: O(kQosClassCount + n).
    [[nodiscard]] constexpr StealOutcome steal(QosClass q, std::uint32_t n, StealBatch& out) {
        out.count = 0;
        if (n == 0 || qos_index(q) >= kQosClassCount) {
            ++m_counters.invalid;
            return StealOutcome::RejectedInvalid;
        }
        if (n > kStealMax) {
            ++m_counters.steal_refused;
            return StealOutcome::RejectedAboveBound;
        }
        // [hb:lab 06 steal_victim]
        for (std::uint32_t i = qos_index(q); i < kQosClassCount && out.count < n; ++i) {
            Entry e{};
            while (out.count < n && m_classes[i].free.pop_back(e)) {
                out.tasks[out.count++] = RunnableTask{e.task, static_cast<QosClass>(i), Mobility::Free};
            }
        }
        m_counters.stolen_out += out.count;
        return out.count > 0 ? StealOutcome::Stolen : StealOutcome::NothingEligible;
        // [hb:stub steal_victim]
        //| // Lab 06: move up to n free tasks, classes q and below, newest first.
        //| return StealOutcome::NothingEligible;
        // [hb:end steal_victim]
    }

    /// The thief's side, under the thief's own lock (never both locks at
    /// once): queues one stolen task here, as free, at the back of its class.
    [[nodiscard]] constexpr EnqueueOutcome enqueue_stolen(const RunnableTask& t) {
        const EnqueueOutcome outcome = push(t.task, t.qos, Mobility::Free);
        if (outcome == EnqueueOutcome::Accepted) ++m_counters.stolen_in;
        return outcome;
    }
    // [hb:end steal]

    [[nodiscard]] constexpr std::size_t size() const {
        std::size_t n = 0;
        for (const Class& c : m_classes) n += c.pinned.size() + c.free.size();
        return n;
    }
    [[nodiscard]] constexpr bool empty() const { return size() == 0; }
    /// Tasks queued in one class (0 for a forged class).
    [[nodiscard]] constexpr std::size_t size(QosClass qos) const {
        if (qos_index(qos) >= kQosClassCount) return 0;
        const Class& c = m_classes[qos_index(qos)];
        return c.pinned.size() + c.free.size();
    }
    /// Free tasks queued here, all classes: what a thief could take.
    [[nodiscard]] constexpr std::size_t stealable() const {
        std::size_t n = 0;
        for (const Class& c : m_classes) n += c.free.size();
        return n;
    }
    [[nodiscard]] constexpr const RunQueueCounters& counters() const { return m_counters; }

    /// Calls fn(TaskId) for each task of one class, in the order pick_next
    /// would hand them out; for selftests and dumps. O(capacity).
    template <typename Fn>
    constexpr void for_each(QosClass qos, Fn&& fn) const {
        if (qos_index(qos) >= kQosClassCount) return;
        const Class& c = m_classes[qos_index(qos)];
        // Merge the two FIFOs by sequence number (each is already in order).
        Entry ps[CapacityPerClass]{};
        Entry fs[CapacityPerClass]{};
        std::size_t np = 0;
        std::size_t nf = 0;
        c.pinned.for_each([&](const Entry& e) { ps[np++] = e; });
        c.free.for_each([&](const Entry& e) { fs[nf++] = e; });
        std::size_t i = 0;
        std::size_t j = 0;
        while (i < np || j < nf) {
            if (j == nf || (i < np && ps[i].seq < fs[j].seq)) {
                fn(ps[i++].task);
            } else {
                fn(fs[j++].task);
            }
        }
    }

    // [hb:region runqueue_push]
private:
    struct Class {
        Bucket pinned;
        Bucket free;
    };

    /// The one place a task enters a FIFO: class checked, shared capacity
    /// checked, next sequence number taken.
    constexpr EnqueueOutcome push(TaskId task, QosClass qos, Mobility mobility) {
        // A QosClass can be forged by a cast from an integer (later, from a
        // system call argument); never let one index past the buckets.
        if (qos_index(qos) >= kQosClassCount) {
            ++m_counters.invalid;
            return EnqueueOutcome::RejectedInvalid;
        }
        Class& c = m_classes[qos_index(qos)];
        if (c.pinned.size() + c.free.size() >= CapacityPerClass) {
            ++m_counters.rejected;
            return EnqueueOutcome::RejectedFull;
        }
        Bucket& b = mobility == Mobility::Free ? c.free : c.pinned;
        const EnqueueOutcome outcome = b.push(Entry{task, m_next_seq++});
        if (outcome != EnqueueOutcome::Accepted) ++m_counters.rejected;  // cannot happen: shared capacity checked
        return outcome;
    }

    std::array<Class, kQosClassCount> m_classes{};
    std::uint64_t m_next_seq = 0;
    RunQueueCounters m_counters{};
};
using RunQueue = BasicRunQueue<>;
// [hb:end runqueue_push]
// [hb:end runqueue]

// [hb:region lock_order]
// Lock order for the scheduler (chapter 04 onwards; the book quotes this).
//
//  1. At most one runqueue lock is held at a time, by anyone. A CPU never
//     holds its own runqueue lock while taking another CPU's: a steal drops
//     its own lock, then takes the victim's (chapter 06); a migration takes
//     the task out under the source lock, releases it, then enqueues under
//     the destination lock. With no nesting there is no order between CPUs
//     to get wrong, so no CpuId-ordered double locking exists anywhere.
//  2. A runqueue lock is a leaf: while holding it, take no other lock. In
//     particular never print (the console lock), never allocate, and never
//     send an IPI from inside `with`. Copy what you need out, release, then
//     act: collect reschedule targets into a CpuSet and send one batch after
//     the lock is dropped.
//  3. Conversely, never take a runqueue lock while holding the console lock
//     (or any other leaf lock): console code must not call into the
//     scheduler. Locks that later chapters add above the runqueue (a task's
//     own lock, a wait queue's lock) are taken *before* it, never after:
//         task/wait-queue lock  ->  one runqueue lock  ->  (nothing)
//         console lock          ->  (nothing)
//     The other kernel locks, all leaves but one, as of chapter 06:
//         task-table lock       ->  (nothing)   spawn's claim of a free slot
//         audit-log lock        ->  (nothing)   taken by every IPI send, so
//                                               no send under a runqueue lock
//         address-space lock    ->  frame-pool lock  ->  (nothing)
//     The address-space lock (kernel/process.cpp) guards one process's page
//     tables while an unmap clears a PTE; it is released before the TLB
//     shootdown's wait, which sends IPIs and serves this CPU's own slot, and
//     the frame goes back to the pool only after every ack.
//  4. In the kernel, `Lock` must also disable interrupts on the local hart
//     while held: otherwise a timer tick could preempt a task that holds the
//     lock, and the scheduler loop on this same hart, which takes the lock
//     for pick_next, would spin on it forever.
//  5. Every operation under the lock is O(kQosClassCount), a steal
//     O(kQosClassCount + kStealMax), so a CPU spinning on a runqueue lock
//     waits at most a few short critical sections. (One exception, once per
//     offline: a CPU going offline empties its whole queue in one section.)
//  6. No lock of any kind is held across a context switch (a yield, a
//     preemption, the scheduler switching to a task): the next code to run
//     on this hart would inherit a lock it did not take, with interrupts off.
// Rules 1, 2, 4 and 6 check themselves (lib/lockdep.hpp, kernel/irqlock.hpp):
// breaking one panics and names it.
// [hb:end lock_order]

// [hb:region locked_runqueue]
/// A runqueue shared between its owning CPU and remote CPUs. Every access,
/// local or remote, takes the one lock; this is the cross-CPU boundary.
template <typename Lock = BasicSpinLock<>, std::size_t CapacityPerClass = kRunQueueCapacityPerClass>
class LockedRunQueue {
public:
    using Queue = BasicRunQueue<CapacityPerClass>;

    LockedRunQueue() = default;

    /// Used both by the owner and by a remote CPU waking a task onto this
    /// one; same outcome contract as RunQueue::enqueue. A remote caller sends
    /// the reschedule IPI afterwards, outside the lock (rule 2).
    [[nodiscard]] EnqueueOutcome enqueue(TaskId task, QosClass qos, Mobility mobility = Mobility::Pinned) {
        return m_rq.with([&](Queue& q) { return q.enqueue(task, qos, mobility); });
    }
    /// Owner only, by convention: the next task this CPU runs.
    [[nodiscard]] bool pick_next(RunnableTask& out) {
        return m_rq.with([&](Queue& q) { return q.pick_next(out); });
    }
    /// The victim side of a steal (Queue::steal), in one critical section of
    /// the victim's lock: the look and the take cannot be separated, so two
    /// thieves can never both take one task. The caller holds no other
    /// runqueue lock (rule 1).
    [[nodiscard]] StealOutcome steal(QosClass q, std::uint32_t n, StealBatch& out) {
        return m_rq.with([&](Queue& rq) { return rq.steal(q, n, out); });
    }
    /// The thief side: stolen tasks into its own queue, under its own lock.
    [[nodiscard]] EnqueueOutcome enqueue_stolen(const RunnableTask& t) {
        return m_rq.with([&](Queue& rq) { return rq.enqueue_stolen(t); });
    }
    /// A snapshot; stale as soon as the lock is released.
    [[nodiscard]] std::size_t size() {
        return m_rq.with([](const Queue& q) { return q.size(); });
    }
    /// A consistent snapshot of all counters, taken under the lock.
    [[nodiscard]] RunQueueCounters counters() {
        return m_rq.with([](const Queue& q) { return q.counters(); });
    }
    /// Several steps in one critical section (a steal, a selftest check).
    /// `fn` must obey the lock order above: no other lock, no print, no IPI.
    template <typename Fn>
    decltype(auto) with(Fn&& fn) {
        return m_rq.with(std::forward<Fn>(fn));
    }

private:
    Protected<Queue, Lock> m_rq;
};
// [hb:end locked_runqueue]

}  // namespace hb
