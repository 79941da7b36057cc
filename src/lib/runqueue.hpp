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
/// away. It is also cheap: a slot is a 4-byte TaskId, so one runqueue is
/// 4 x 64 x 4 B = 1 KiB of .bss and all kMaxCpus queues are 8 KiB, with no
/// effect on speed, because picking scans classes, not slots. Raise it if the
/// task table ever grows past it; a kernel that wants "can never reject" can
/// static_assert(kMaxTasks <= kRunQueueCapacityPerClass) and keep the
/// rejection path for its selftests only.
inline constexpr std::size_t kRunQueueCapacityPerClass = 64;
// [hb:end runqueue_capacity]

/// What pick_next hands out: the task and the class it was queued under.
struct RunnableTask {
    TaskId task{};
    QosClass qos = QosClass::Normal;
};

/// Event counters of one runqueue. Invariant, checked by the tests:
/// enqueued - dequeued == size(); rejected and invalid never change the queue.
struct RunQueueCounters {
    std::uint64_t enqueued = 0;  ///< accepted enqueues
    std::uint64_t dequeued = 0;  ///< tasks handed out by pick_next
    std::uint64_t rejected = 0;  ///< enqueues refused with RejectedFull
    std::uint64_t invalid = 0;   ///< enqueues refused with RejectedInvalid
};

// [hb:region runqueue]
/// One CPU's runnable tasks: a FIFO bucket per QosClass. Single owner, no
/// locking; share it only as a LockedRunQueue.
template <std::size_t CapacityPerClass = kRunQueueCapacityPerClass>
class BasicRunQueue {
public:
    using Bucket = BoundedQueue<TaskId, CapacityPerClass>;

    constexpr BasicRunQueue() = default;

    [[nodiscard]] static constexpr std::size_t capacity_per_class() { return CapacityPerClass; }

    /// Makes `task` runnable here at the back of its class. On anything but
    /// Accepted the queue is unchanged and the caller still owns the task.
    /// The queue does not detect a task enqueued twice (that would cost a
    /// scan); the task's own state (Runnable or not) is what prevents it.
    [[nodiscard]] constexpr EnqueueOutcome enqueue(TaskId task, QosClass qos) {
        // A QosClass can be forged by a cast from an integer (later, from a
        // system call argument); never let one index past the buckets.
        if (qos_index(qos) >= kQosClassCount) {
            ++m_counters.invalid;
            return EnqueueOutcome::RejectedInvalid;
        }
        const EnqueueOutcome outcome = m_buckets[qos_index(qos)].push(task);
        if (outcome == EnqueueOutcome::Accepted) {
            ++m_counters.enqueued;
        } else {
            ++m_counters.rejected;
        }
        return outcome;
    }

    /// Removes the next task to run: the most urgent non-empty class, and the
    /// oldest task within it. False if the queue is empty (run idle).
    /// Bounded: at most kQosClassCount buckets are looked at.
    [[nodiscard]] constexpr bool pick_next(RunnableTask& out) {
        for (std::uint32_t i = 0; i < kQosClassCount; ++i) {
            TaskId task{};
            if (m_buckets[i].pop(task)) {
                out = RunnableTask{task, static_cast<QosClass>(i)};
                ++m_counters.dequeued;
                return true;
            }
        }
        return false;
    }

    [[nodiscard]] constexpr std::size_t size() const {
        std::size_t n = 0;
        for (const Bucket& b : m_buckets) n += b.size();
        return n;
    }
    [[nodiscard]] constexpr bool empty() const { return size() == 0; }
    /// Tasks queued in one class (0 for a forged class).
    [[nodiscard]] constexpr std::size_t size(QosClass qos) const {
        return qos_index(qos) < kQosClassCount ? m_buckets[qos_index(qos)].size() : 0;
    }
    [[nodiscard]] constexpr const RunQueueCounters& counters() const { return m_counters; }

    /// Calls fn(TaskId) for each task of one class, oldest first; for
    /// selftests and dumps. (Chapter 06 adds the bounded steal, "up to K
    /// tasks from the tail of classes at or below q", on Bucket::pop_back.)
    template <typename Fn>
    constexpr void for_each(QosClass qos, Fn&& fn) const {
        if (qos_index(qos) < kQosClassCount) m_buckets[qos_index(qos)].for_each(fn);
    }

private:
    std::array<Bucket, kQosClassCount> m_buckets{};
    RunQueueCounters m_counters{};
};
using RunQueue = BasicRunQueue<>;
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
//  4. In the kernel, `Lock` must also disable interrupts on the local hart
//     while held: otherwise a timer tick could preempt a task that holds the
//     lock, and the scheduler loop on this same hart, which takes the lock
//     for pick_next, would spin on it forever.
//  5. Every operation under the lock is O(kQosClassCount), so a CPU spinning
//     on a runqueue lock waits at most a few short critical sections.
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
    [[nodiscard]] EnqueueOutcome enqueue(TaskId task, QosClass qos) {
        return m_rq.with([&](Queue& q) { return q.enqueue(task, qos); });
    }
    /// Owner only, by convention: the next task this CPU runs.
    [[nodiscard]] bool pick_next(RunnableTask& out) {
        return m_rq.with([&](Queue& q) { return q.pick_next(out); });
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
