// LockedRunQueue under real concurrency (built twice: plain and under
// ThreadSanitizer as runqueue_stress_test_tsan).
//
// The scene is chapter 04's: several "CPUs" wake tasks onto other CPUs'
// runqueues (remote enqueue) while each queue's owner picks tasks and
// sometimes puts the one it picked back (a preempted task, a local enqueue).
// The queues are tiny, so remote enqueues are refused often; a refused waker
// keeps its task and either tries another CPU or hands it back.
//
// At the end every TaskId must be accounted for exactly once: run by some
// owner (once, or twice if its owner requeued it), or handed back by the
// producer that was refused. The counters of every queue must agree with
// what the threads observed. Without the lock, the ring indices are plain
// data written by two threads at once: TSan reports the race on the first
// concurrent enqueue, and the plain build loses or duplicates tasks, which
// the accounting below catches.
#include "lib/runqueue.hpp"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <thread>
#include <vector>

namespace {

using hb::EnqueueOutcome;
using hb::kQosClassCount;
using hb::QosClass;
using hb::RunnableTask;
using hb::TaskId;

constexpr std::size_t kQueues = 3;
constexpr std::size_t kProducers = 4;
constexpr std::uint32_t kTasksPerProducer = 10000;
constexpr std::uint32_t kTotalTasks = kProducers * kTasksPerProducer;
// Four slots per class: small enough that producers outrun the owners and
// hit RejectedFull on every run.
constexpr std::size_t kCapacity = 4;
// Every 7th task is put back once by the owner that first picks it.
constexpr std::uint32_t kRequeueEvery = 7;

// The host has fewer cores than threads: let a spinning waiter give way.
struct YieldRelax {
    void operator()() const { std::this_thread::yield(); }
};
using Queue = hb::LockedRunQueue<hb::BasicSpinLock<YieldRelax>, kCapacity>;

enum class RetryPolicy {
    GiveUpAfterOtherCpus,  ///< try each CPU once, then hand the task back
    UntilAccepted,         ///< keep trying (the owners are draining)
};

TaskId task_of(std::size_t producer, std::uint32_t i) {
    return TaskId(static_cast<std::uint32_t>(producer * kTasksPerProducer + i + 1));
}
std::size_t producer_of(TaskId t) { return (t.raw() - 1) / kTasksPerProducer; }
QosClass class_of(TaskId t) { return static_cast<QosClass>(t.raw() % kQosClassCount); }
bool requeued_once(TaskId t) { return t.raw() % kRequeueEvery == 0; }

struct ProducerLog {
    std::vector<TaskId> handed_back;                 ///< refused everywhere, still ours
    std::array<std::uint64_t, kQueues> accepted{};   ///< by target queue
    std::array<std::uint64_t, kQueues> refused{};    ///< RejectedFull, by target queue
    std::uint64_t other_outcomes = 0;                ///< must stay 0
};

struct OwnerLog {
    std::vector<TaskId> ran;  ///< every pick, in order
    std::uint64_t requeue_accepted = 0;
    std::uint64_t requeue_refused = 0;
    std::uint64_t order_violations = 0;  ///< FIFO within (producer, class) broken
    std::uint64_t class_mismatches = 0;  ///< picked under a class it was not queued in
};

void run_stress(RetryPolicy policy) {
    std::array<Queue, kQueues> queues;
    std::array<ProducerLog, kProducers> producer_logs;
    std::array<OwnerLog, kQueues> owner_logs;
    std::atomic<std::uint32_t> producers_done{0};
    // The owners start only after some producer has been refused, so the
    // backpressure path is exercised on every run, not by scheduling luck.
    std::atomic<std::uint32_t> first_refusal{0};

    std::vector<std::thread> threads;
    for (std::size_t p = 0; p < kProducers; ++p) {
        threads.emplace_back([&, p] {
            ProducerLog& log = producer_logs[p];
            for (std::uint32_t i = 0; i < kTasksPerProducer; ++i) {
                const TaskId task = task_of(p, i);
                const std::size_t home = (p + i) % kQueues;
                bool placed = false;
                for (std::size_t attempt = 0; !placed; ++attempt) {
                    if (policy == RetryPolicy::GiveUpAfterOtherCpus && attempt == kQueues) break;
                    const std::size_t q = (home + attempt) % kQueues;
                    switch (queues[q].enqueue(task, class_of(task))) {
                    case EnqueueOutcome::Accepted:
                        ++log.accepted[q];
                        placed = true;
                        break;
                    case EnqueueOutcome::RejectedFull:
                        ++log.refused[q];
                        first_refusal.store(1, std::memory_order_release);
                        std::this_thread::yield();
                        break;
                    case EnqueueOutcome::RejectedInvalid:
                        ++log.other_outcomes;
                        placed = true;  // cannot happen; counted and failed below
                        break;
                    }
                }
                if (!placed) log.handed_back.push_back(task);
            }
            producers_done.fetch_add(1, std::memory_order_acq_rel);
        });
    }
    for (std::size_t q = 0; q < kQueues; ++q) {
        threads.emplace_back([&, q] {
            OwnerLog& log = owner_logs[q];
            while (first_refusal.load(std::memory_order_acquire) == 0 &&
                   producers_done.load(std::memory_order_acquire) < kProducers) {
                std::this_thread::yield();
            }
            // last[p][c]: the newest first-time pick of producer p, class c.
            std::array<std::array<std::uint32_t, kQosClassCount>, kProducers> last{};
            std::vector<bool> seen(kTotalTasks + 1, false);
            for (;;) {
                // Read "done" before picking: if every producer had finished
                // and the pick still finds nothing, nothing can arrive later
                // (only this thread requeues onto this queue).
                const bool done = producers_done.load(std::memory_order_acquire) == kProducers;
                RunnableTask t{};
                if (!queues[q].pick_next(t)) {
                    if (done) break;
                    std::this_thread::yield();
                    continue;
                }
                log.ran.push_back(t.task);
                if (t.qos != class_of(t.task)) ++log.class_mismatches;
                if (seen[t.task.raw()]) continue;  // the requeued second run
                seen[t.task.raw()] = true;
                // A producer enqueues its tasks in increasing id order, so
                // first picks from one queue, per (producer, class), must
                // come out increasing too.
                std::uint32_t& newest = last[producer_of(t.task)][hb::qos_index(t.qos)];
                if (t.task.raw() <= newest) ++log.order_violations;
                newest = t.task.raw();
                if (requeued_once(t.task)) {
                    // Preempted: back to the tail of its class, on our own
                    // queue, through the same lock the producers use.
                    if (queues[q].enqueue(t.task, t.qos) == EnqueueOutcome::Accepted) {
                        ++log.requeue_accepted;
                    } else {
                        ++log.requeue_refused;  // it simply ran to completion
                    }
                }
            }
        });
    }
    for (std::thread& t : threads) t.join();

    // --- Accounting: every task exactly once ------------------------------
    std::vector<int> runs(kTotalTasks + 1, 0);
    std::vector<int> handed_back(kTotalTasks + 1, 0);
    for (const OwnerLog& log : owner_logs) {
        for (TaskId t : log.ran) ++runs[t.raw()];
    }
    std::uint64_t total_handed_back = 0;
    for (const ProducerLog& log : producer_logs) {
        EXPECT_EQ(log.other_outcomes, 0u);
        for (TaskId t : log.handed_back) ++handed_back[t.raw()];
        total_handed_back += log.handed_back.size();
    }
    std::uint64_t requeues_accepted = 0;
    for (const OwnerLog& log : owner_logs) {
        EXPECT_EQ(log.order_violations, 0u);
        EXPECT_EQ(log.class_mismatches, 0u);
        requeues_accepted += log.requeue_accepted;
    }
    std::uint64_t bad = 0;
    std::uint64_t extra_runs = 0;
    for (std::uint32_t id = 1; id <= kTotalTasks; ++id) {
        const TaskId t(id);
        if (handed_back[id] == 1 && runs[id] == 0) continue;
        if (handed_back[id] == 0 && runs[id] == 1) continue;
        // A task that was requeued by its owner runs a second time.
        if (handed_back[id] == 0 && runs[id] == 2 && requeued_once(t)) {
            ++extra_runs;
            continue;
        }
        if (++bad <= 5) {
            ADD_FAILURE() << "task " << id << " ran " << runs[id] << " times, handed back "
                          << handed_back[id] << " times";
        }
    }
    EXPECT_EQ(bad, 0u) << "tasks lost or duplicated";
    EXPECT_EQ(extra_runs, requeues_accepted);
    if (policy == RetryPolicy::UntilAccepted) {
        EXPECT_EQ(total_handed_back, 0u);
    }

    // --- Counters agree with what the threads saw --------------------------
    std::uint64_t total_refused = 0;
    for (std::size_t q = 0; q < kQueues; ++q) {
        const hb::RunQueueCounters c = queues[q].counters();
        std::uint64_t accepted = owner_logs[q].requeue_accepted;
        std::uint64_t refused = owner_logs[q].requeue_refused;
        for (const ProducerLog& log : producer_logs) {
            accepted += log.accepted[q];
            refused += log.refused[q];
        }
        EXPECT_EQ(c.enqueued, accepted) << "queue " << q;
        EXPECT_EQ(c.rejected, refused) << "queue " << q;
        EXPECT_EQ(c.dequeued, owner_logs[q].ran.size()) << "queue " << q;
        EXPECT_EQ(c.invalid, 0u) << "queue " << q;
        EXPECT_EQ(queues[q].size(), 0u) << "queue " << q;
        total_refused += c.rejected;
    }
    EXPECT_GT(total_refused, 0u) << "the backpressure path must be exercised";
    std::printf("[stress] %s: %u tasks, %llu refusals, %llu handed back, %llu requeued\n",
                policy == RetryPolicy::UntilAccepted ? "retry-until-accepted" : "give-up",
                kTotalTasks, static_cast<unsigned long long>(total_refused),
                static_cast<unsigned long long>(total_handed_back),
                static_cast<unsigned long long>(requeues_accepted));
}

TEST(RunQueueStress, RemoteWakersGiveUpAfterEveryCpuRefused) {
    run_stress(RetryPolicy::GiveUpAfterOtherCpus);
}

TEST(RunQueueStress, RemoteWakersRetryUntilAccepted) {
    run_stress(RetryPolicy::UntilAccepted);
}

}  // namespace
