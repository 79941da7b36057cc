// Per-CPU QoS runqueues (lib/runqueue.hpp): urgency order, FIFO within a
// class, the backpressure contract, counters, and no loss.
#include "lib/runqueue.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <deque>
#include <random>
#include <set>
#include <type_traits>
#include <vector>

namespace {

using hb::BasicRunQueue;
using hb::EnqueueOutcome;
using hb::kQosClassCount;
using hb::QosClass;
using hb::RunnableTask;
using hb::RunQueue;
using hb::TaskId;

constexpr QosClass kAllClasses[] = {QosClass::Realtime, QosClass::Interactive, QosClass::Normal,
                                    QosClass::Background};
static_assert(std::size(kAllClasses) == kQosClassCount);

// A QosClass value that is not an enumerator, as a bad cast would produce.
QosClass forged_class() { return static_cast<QosClass>(kQosClassCount + 3); }

template <typename Q>
std::vector<RunnableTask> drain(Q& q) {
    std::vector<RunnableTask> out;
    RunnableTask t{};
    while (q.pick_next(t)) out.push_back(t);
    return out;
}

template <typename Q>
std::vector<std::uint32_t> ids_in(const Q& q, QosClass c) {
    std::vector<std::uint32_t> out;
    q.for_each(c, [&](TaskId t) { out.push_back(t.raw()); });
    return out;
}

template <typename Q>
void expect_counters_consistent(const Q& q) {
    const hb::RunQueueCounters& c = q.counters();
    EXPECT_EQ(c.enqueued - c.dequeued, q.size()) << "enqueued - dequeued == size";
}

// The default queue lives in .bss on every CPU; keep it small and plain.
static_assert(RunQueue::capacity_per_class() == hb::kRunQueueCapacityPerClass);
static_assert(std::is_trivially_copyable_v<RunQueue>);
static_assert(sizeof(RunQueue) <= 4 * 2 * (64 * 16 + 16) + 256, "about 8 KiB per CPU, as documented");
// The locked form is shared, so it must never be copied (the copy would have
// its own lock and silently split the boundary).
static_assert(!std::is_copy_constructible_v<hb::LockedRunQueue<>>);
static_assert(!std::is_copy_assignable_v<hb::LockedRunQueue<>>);

TEST(RunQueue, PickFromEmpty) {
    RunQueue q;
    RunnableTask t{TaskId(77), QosClass::Background};
    EXPECT_FALSE(q.pick_next(t));
    EXPECT_EQ(t.task, TaskId(77)) << "out is untouched on failure";
    EXPECT_TRUE(q.empty());
    EXPECT_EQ(q.size(), 0u);
    EXPECT_EQ(q.counters().dequeued, 0u) << "a failed pick is not a dequeue";
}

TEST(RunQueue, RealtimeOvertakesManyBackground) {
    RunQueue q;
    for (std::uint32_t i = 0; i < 50; ++i) {
        ASSERT_EQ(q.enqueue(TaskId(i), QosClass::Background), EnqueueOutcome::Accepted);
    }
    ASSERT_EQ(q.enqueue(TaskId(1000), QosClass::Realtime), EnqueueOutcome::Accepted);

    RunnableTask t{};
    ASSERT_TRUE(q.pick_next(t));
    EXPECT_EQ(t.task, TaskId(1000));
    EXPECT_EQ(t.qos, QosClass::Realtime);
    ASSERT_TRUE(q.pick_next(t));
    EXPECT_EQ(t.task, TaskId(0)) << "then the oldest background task";
    EXPECT_EQ(t.qos, QosClass::Background);
}

TEST(RunQueue, ClassesInUrgencyOrderFifoWithin) {
    RunQueue q;
    // Interleave classes, least urgent first, so arrival order disagrees
    // with urgency order everywhere.
    std::uint32_t id = 0;
    for (int round = 0; round < 3; ++round) {
        for (int c = kQosClassCount - 1; c >= 0; --c) {
            ASSERT_EQ(q.enqueue(TaskId(id++), static_cast<QosClass>(c)), EnqueueOutcome::Accepted);
        }
    }
    // ids: round r, class c -> 4r + (3 - c)
    const std::vector<RunnableTask> got = drain(q);
    ASSERT_EQ(got.size(), 12u);
    std::size_t k = 0;
    for (QosClass c : kAllClasses) {
        for (std::uint32_t round = 0; round < 3; ++round, ++k) {
            EXPECT_EQ(got[k].qos, c) << "pick " << k;
            EXPECT_EQ(got[k].task.raw(), 4 * round + (3 - hb::qos_index(c))) << "pick " << k;
        }
    }
}

TEST(RunQueue, FifoWithinClass) {
    RunQueue q;
    for (std::uint32_t i = 0; i < 20; ++i) {
        ASSERT_EQ(q.enqueue(TaskId(i), QosClass::Normal), EnqueueOutcome::Accepted);
    }
    EXPECT_EQ(q.size(QosClass::Normal), 20u);
    for (std::uint32_t i = 0; i < 20; ++i) {
        RunnableTask t{};
        ASSERT_TRUE(q.pick_next(t));
        EXPECT_EQ(t.task, TaskId(i));
    }
}

TEST(RunQueue, PerClassSizesAndView) {
    RunQueue q;
    ASSERT_EQ(q.enqueue(TaskId(1), QosClass::Interactive), EnqueueOutcome::Accepted);
    ASSERT_EQ(q.enqueue(TaskId(2), QosClass::Background), EnqueueOutcome::Accepted);
    ASSERT_EQ(q.enqueue(TaskId(3), QosClass::Interactive), EnqueueOutcome::Accepted);
    EXPECT_EQ(q.size(QosClass::Realtime), 0u);
    EXPECT_EQ(q.size(QosClass::Interactive), 2u);
    EXPECT_EQ(q.size(QosClass::Normal), 0u);
    EXPECT_EQ(q.size(QosClass::Background), 1u);
    EXPECT_EQ(q.size(), 3u);
    EXPECT_EQ(ids_in(q, QosClass::Interactive), (std::vector<std::uint32_t>{1, 3}));
    EXPECT_EQ(ids_in(q, QosClass::Background), (std::vector<std::uint32_t>{2}));
    EXPECT_TRUE(ids_in(q, QosClass::Realtime).empty());
}

TEST(RunQueue, FullClassRejectsCountsAndIsUnchanged) {
    BasicRunQueue<4> q;
    for (std::uint32_t i = 0; i < 4; ++i) {
        ASSERT_EQ(q.enqueue(TaskId(i), QosClass::Normal), EnqueueOutcome::Accepted);
    }
    ASSERT_EQ(q.enqueue(TaskId(50), QosClass::Realtime), EnqueueOutcome::Accepted);
    const std::vector<std::uint32_t> before = ids_in(q, QosClass::Normal);

    // The fifth Normal task bounces; the caller still holds TaskId(9).
    EXPECT_EQ(q.enqueue(TaskId(9), QosClass::Normal), EnqueueOutcome::RejectedFull);
    EXPECT_EQ(q.counters().rejected, 1u);
    EXPECT_EQ(q.counters().enqueued, 5u);
    EXPECT_EQ(q.size(), 5u);
    EXPECT_EQ(q.size(QosClass::Normal), 4u);
    EXPECT_EQ(ids_in(q, QosClass::Normal), before);

    // Buckets are independent: a full Normal class does not block others.
    EXPECT_EQ(q.enqueue(TaskId(60), QosClass::Background), EnqueueOutcome::Accepted);
    EXPECT_EQ(q.enqueue(TaskId(51), QosClass::Realtime), EnqueueOutcome::Accepted);

    // After one Normal task runs, the rejected task can be offered again.
    RunnableTask t{};
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(q.pick_next(t));  // 50, 51, then Normal 0
    EXPECT_EQ(t.task, TaskId(0));
    EXPECT_EQ(q.enqueue(TaskId(9), QosClass::Normal), EnqueueOutcome::Accepted);
    EXPECT_EQ(ids_in(q, QosClass::Normal), (std::vector<std::uint32_t>{1, 2, 3, 9}));
    expect_counters_consistent(q);
}

template <std::size_t N>
void check_runqueue_boundaries() {
    SCOPED_TRACE(testing::Message() << "capacity per class " << N);
    for (std::size_t offered : {N - 1, N, N + 1}) {
        for (QosClass c : kAllClasses) {
            BasicRunQueue<N> q;
            std::size_t accepted = 0;
            for (std::size_t i = 0; i < offered; ++i) {
                const EnqueueOutcome o = q.enqueue(TaskId(static_cast<std::uint32_t>(i)), c);
                ASSERT_EQ(o, i < N ? EnqueueOutcome::Accepted : EnqueueOutcome::RejectedFull)
                    << "task " << i << " of " << offered << " in " << hb::qos_name(c);
                accepted += o == EnqueueOutcome::Accepted;
            }
            EXPECT_EQ(q.size(c), accepted);
            EXPECT_EQ(q.counters().enqueued, accepted);
            EXPECT_EQ(q.counters().rejected, offered - accepted);
            const std::vector<RunnableTask> got = drain(q);
            ASSERT_EQ(got.size(), accepted);
            for (std::size_t i = 0; i < got.size(); ++i) {
                EXPECT_EQ(got[i].task.raw(), i);
                EXPECT_EQ(got[i].qos, c);
            }
        }
    }
}

TEST(RunQueue, CapacityBoundaries) {
    check_runqueue_boundaries<1>();
    check_runqueue_boundaries<3>();
    check_runqueue_boundaries<hb::kRunQueueCapacityPerClass>();
}

TEST(RunQueue, ForgedClassIsRejectedNotIndexed) {
    RunQueue q;
    ASSERT_EQ(q.enqueue(TaskId(1), QosClass::Normal), EnqueueOutcome::Accepted);
    EXPECT_EQ(q.enqueue(TaskId(2), forged_class()), EnqueueOutcome::RejectedInvalid);
    EXPECT_EQ(q.counters().invalid, 1u);
    EXPECT_EQ(q.counters().rejected, 0u) << "rejected counts only full buckets";
    EXPECT_EQ(q.counters().enqueued, 1u);
    EXPECT_EQ(q.size(), 1u);
    EXPECT_EQ(q.size(forged_class()), 0u);
    EXPECT_TRUE(ids_in(q, forged_class()).empty());
}

TEST(RunQueue, Counters) {
    BasicRunQueue<2> q;
    ASSERT_EQ(q.enqueue(TaskId(1), QosClass::Realtime), EnqueueOutcome::Accepted);
    ASSERT_EQ(q.enqueue(TaskId(2), QosClass::Realtime), EnqueueOutcome::Accepted);
    ASSERT_EQ(q.enqueue(TaskId(3), QosClass::Realtime), EnqueueOutcome::RejectedFull);
    ASSERT_EQ(q.enqueue(TaskId(4), QosClass::Normal), EnqueueOutcome::Accepted);
    RunnableTask t{};
    ASSERT_TRUE(q.pick_next(t));
    ASSERT_TRUE(q.pick_next(t));
    EXPECT_EQ(q.counters().enqueued, 3u);
    EXPECT_EQ(q.counters().dequeued, 2u);
    EXPECT_EQ(q.counters().rejected, 1u);
    EXPECT_EQ(q.counters().invalid, 0u);
    expect_counters_consistent(q);
    ASSERT_TRUE(q.pick_next(t));
    EXPECT_FALSE(q.pick_next(t));
    EXPECT_EQ(q.counters().dequeued, 3u);
    expect_counters_consistent(q);
}

// Random enqueues and picks against a model of four FIFOs. Every accepted
// task must come out exactly once, in the model's order; every rejected one
// stays with the "caller" (here: the rejected set) and never shows up.
TEST(RunQueue, NoLossNoDuplicationAgainstModel) {
    std::mt19937 rng(2024);
    BasicRunQueue<5> q;
    std::deque<std::uint32_t> model[kQosClassCount];
    std::set<std::uint32_t> accepted, rejected, picked;
    std::uint32_t next = 0;
    for (int step = 0; step < 20000; ++step) {
        if (rng() % 5 < 3) {
            const std::uint32_t c = rng() % kQosClassCount;
            const std::uint32_t id = next++;
            const EnqueueOutcome o = q.enqueue(TaskId(id), static_cast<QosClass>(c));
            if (model[c].size() < 5) {
                ASSERT_EQ(o, EnqueueOutcome::Accepted);
                model[c].push_back(id);
                accepted.insert(id);
            } else {
                ASSERT_EQ(o, EnqueueOutcome::RejectedFull);
                rejected.insert(id);
            }
        } else {
            RunnableTask t{};
            const bool got = q.pick_next(t);
            std::uint32_t c = 0;
            while (c < kQosClassCount && model[c].empty()) ++c;
            ASSERT_EQ(got, c < kQosClassCount);
            if (got) {
                ASSERT_EQ(t.qos, static_cast<QosClass>(c));
                ASSERT_EQ(t.task.raw(), model[c].front());
                model[c].pop_front();
                ASSERT_TRUE(picked.insert(t.task.raw()).second) << "picked twice";
            }
        }
        ASSERT_EQ(q.counters().enqueued - q.counters().dequeued, q.size());
    }
    for (const RunnableTask& t : drain(q)) {
        ASSERT_TRUE(picked.insert(t.task.raw()).second) << "picked twice";
    }
    EXPECT_EQ(picked, accepted);
    EXPECT_FALSE(rejected.empty()) << "the test must reach the full path";
    EXPECT_EQ(q.counters().rejected, rejected.size());
    EXPECT_EQ(q.counters().enqueued, accepted.size());
    EXPECT_EQ(q.counters().dequeued, picked.size());
    for (std::uint32_t id : rejected) EXPECT_EQ(accepted.count(id), 0u);
}

// The locked form: same contract, reached only through the lock.
TEST(LockedRunQueue, SameContractThroughTheLock) {
    hb::LockedRunQueue<hb::BasicSpinLock<>, 2> q;
    EXPECT_EQ(q.enqueue(TaskId(1), QosClass::Background), EnqueueOutcome::Accepted);
    EXPECT_EQ(q.enqueue(TaskId(2), QosClass::Realtime), EnqueueOutcome::Accepted);
    EXPECT_EQ(q.enqueue(TaskId(3), QosClass::Realtime), EnqueueOutcome::Accepted);
    EXPECT_EQ(q.enqueue(TaskId(4), QosClass::Realtime), EnqueueOutcome::RejectedFull);
    EXPECT_EQ(q.enqueue(TaskId(5), forged_class()), EnqueueOutcome::RejectedInvalid);
    EXPECT_EQ(q.size(), 3u);

    RunnableTask t{};
    ASSERT_TRUE(q.pick_next(t));
    EXPECT_EQ(t.task, TaskId(2));

    // A compound step in one critical section, as a selftest would do.
    const std::size_t realtime_left =
        q.with([](const hb::BasicRunQueue<2>& rq) { return rq.size(QosClass::Realtime); });
    EXPECT_EQ(realtime_left, 1u);

    const hb::RunQueueCounters c = q.counters();
    EXPECT_EQ(c.enqueued, 3u);
    EXPECT_EQ(c.dequeued, 1u);
    EXPECT_EQ(c.rejected, 1u);
    EXPECT_EQ(c.invalid, 1u);
}

// Every operation takes the lock exactly once and releases it: there is no
// path into the queue that bypasses the boundary, and none that nests.
struct CountingLock {
    static inline int depth = 0;
    static inline int taken = 0;
    void lock() {
        ++depth;
        ++taken;
    }
    void unlock() { --depth; }
};

TEST(LockedRunQueue, EveryOperationTakesTheLockOnce) {
    hb::LockedRunQueue<CountingLock, 4> q;
    CountingLock::taken = 0;
    RunnableTask t{};
    (void)q.enqueue(TaskId(1), QosClass::Normal);
    EXPECT_EQ(CountingLock::taken, 1);
    (void)q.pick_next(t);
    EXPECT_EQ(CountingLock::taken, 2);
    (void)q.size();
    EXPECT_EQ(CountingLock::taken, 3);
    (void)q.counters();
    EXPECT_EQ(CountingLock::taken, 4);
    int depth_inside = -1;
    q.with([&](hb::BasicRunQueue<4>&) { depth_inside = CountingLock::depth; });
    EXPECT_EQ(depth_inside, 1) << "held while fn runs";
    EXPECT_EQ(CountingLock::taken, 5);
    EXPECT_EQ(CountingLock::depth, 0) << "released after every operation";
}

}  // namespace
