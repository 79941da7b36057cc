// Chapter 06's bounded steal (lib/runqueue.hpp): every StealOutcome, the
// bound, the QoS rule, pinned tasks, tail order, FIFO across the pinned and
// free FIFOs of a class, the shared capacity, and the counters invariant
// enqueued + stolen_in - dequeued - stolen_out == size() against a reference
// model.
#include "lib/runqueue.hpp"

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <iterator>
#include <ostream>
#include <random>
#include <set>
#include <type_traits>
#include <vector>

namespace {

using hb::BasicRunQueue;
using hb::EnqueueOutcome;
using hb::kQosClassCount;
using hb::kStealMax;
using hb::Mobility;
using hb::QosClass;
using hb::RunnableTask;
using hb::RunQueue;
using hb::RunQueueCounters;
using hb::StealBatch;
using hb::StealOutcome;
using hb::TaskId;

constexpr QosClass kAllClasses[] = {QosClass::Realtime, QosClass::Interactive, QosClass::Normal,
                                    QosClass::Background};
static_assert(std::size(kAllClasses) == kQosClassCount);

// A QosClass value that is not an enumerator, as a bad cast would produce.
QosClass forged_class() { return static_cast<QosClass>(7); }

struct Picked {
    std::uint32_t id;
    QosClass qos;
    Mobility mobility;
    bool operator==(const Picked&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Picked& p) {
    return os << "{" << p.id << " " << hb::qos_name(p.qos) << " "
              << (p.mobility == Mobility::Free ? "free" : "pinned") << "}";
}

Picked picked(const RunnableTask& t) { return Picked{t.task.raw(), t.qos, t.mobility}; }

template <typename Q>
std::vector<Picked> drain(Q& q) {
    std::vector<Picked> out;
    RunnableTask t{};
    while (q.pick_next(t)) out.push_back(picked(t));
    return out;
}

std::vector<Picked> batch_of(const StealBatch& b) {
    std::vector<Picked> out;
    for (std::uint32_t i = 0; i < b.count; ++i) out.push_back(picked(b.tasks[i]));
    return out;
}

template <typename Q>
std::vector<std::uint32_t> ids_in(const Q& q, QosClass c) {
    std::vector<std::uint32_t> out;
    q.for_each(c, [&](TaskId t) { out.push_back(t.raw()); });
    return out;
}

template <typename Q>
::testing::AssertionResult invariant_holds(const Q& q) {
    const RunQueueCounters& c = q.counters();
    const std::uint64_t in = c.enqueued + c.stolen_in;
    const std::uint64_t out = c.dequeued + c.stolen_out;
    if (in >= out && in - out == q.size()) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure()
           << "enqueued " << c.enqueued << " + stolen_in " << c.stolen_in << " - dequeued " << c.dequeued
           << " - stolen_out " << c.stolen_out << " != size " << q.size();
}

bool same_counters(const RunQueueCounters& a, const RunQueueCounters& b) {
    return a.enqueued == b.enqueued && a.dequeued == b.dequeued && a.rejected == b.rejected &&
           a.invalid == b.invalid && a.stolen_out == b.stolen_out && a.stolen_in == b.stolen_in &&
           a.steal_refused == b.steal_refused;
}

// A queue with tasks of every class and both mobilities, interleaved:
// class c gets ids 100c + k, k = 0..5, free when k is odd.
template <std::size_t N>
void fill_mixed(BasicRunQueue<N>& q) {
    for (std::uint32_t k = 0; k < 6; ++k) {
        for (QosClass c : kAllClasses) {
            const Mobility m = (k % 2) ? Mobility::Free : Mobility::Pinned;
            ASSERT_EQ(q.enqueue(TaskId(100 * hb::qos_index(c) + k), c, m), EnqueueOutcome::Accepted);
        }
    }
}

// A batch filled with garbage, to check that a refused steal reports 0.
StealBatch garbage_batch() {
    StealBatch b{};
    b.count = 3;
    for (RunnableTask& t : b.tasks) t = RunnableTask{TaskId(0xdead), QosClass::Realtime, Mobility::Free};
    return b;
}

static_assert(kStealMax == 4, "the tests below spell out batches of at most 4");
static_assert(std::is_trivially_copyable_v<StealBatch>);

// --- Every outcome ----------------------------------------------------------

TEST(Steal, StolenTakesUpToNAndCounts) {
    RunQueue q;
    for (std::uint32_t i = 1; i <= 6; ++i) ASSERT_EQ(q.enqueue(TaskId(i), QosClass::Normal, Mobility::Free), EnqueueOutcome::Accepted);
    StealBatch b = garbage_batch();
    ASSERT_EQ(q.steal(QosClass::Normal, 2, b), StealOutcome::Stolen);
    EXPECT_EQ(b.count, 2u);
    EXPECT_EQ(q.size(), 4u);
    EXPECT_EQ(q.stealable(), 4u);
    EXPECT_EQ(q.counters().stolen_out, 2u);
    EXPECT_EQ(q.counters().stolen_in, 0u);
    EXPECT_EQ(q.counters().steal_refused, 0u);
    EXPECT_EQ(q.counters().invalid, 0u);
    EXPECT_TRUE(invariant_holds(q));

    // Exactly the bound is allowed.
    ASSERT_EQ(q.steal(QosClass::Normal, kStealMax, b), StealOutcome::Stolen);
    EXPECT_EQ(b.count, 4u);
    EXPECT_TRUE(q.empty());
    EXPECT_EQ(q.counters().stolen_out, 6u);
    EXPECT_TRUE(invariant_holds(q));
}

TEST(Steal, FewerThanAskedIsStillStolen) {
    RunQueue q;
    ASSERT_EQ(q.enqueue(TaskId(1), QosClass::Normal, Mobility::Free), EnqueueOutcome::Accepted);
    ASSERT_EQ(q.enqueue(TaskId(2), QosClass::Normal, Mobility::Pinned), EnqueueOutcome::Accepted);
    StealBatch b = garbage_batch();
    ASSERT_EQ(q.steal(QosClass::Normal, 4, b), StealOutcome::Stolen);
    EXPECT_EQ(batch_of(b), (std::vector<Picked>{{1, QosClass::Normal, Mobility::Free}}));
    EXPECT_EQ(q.counters().stolen_out, 1u);
    EXPECT_TRUE(invariant_holds(q));
}

TEST(Steal, NothingEligibleOnEmptyQueue) {
    RunQueue q;
    for (QosClass c : kAllClasses) {
        StealBatch b = garbage_batch();
        EXPECT_EQ(q.steal(c, 1, b), StealOutcome::NothingEligible) << hb::qos_name(c);
        EXPECT_EQ(b.count, 0u);
    }
    const RunQueueCounters c = q.counters();
    EXPECT_TRUE(same_counters(c, RunQueueCounters{})) << "NothingEligible counts nothing";
}

TEST(Steal, AboveBoundIsRefusedCountedAndVictimUnchanged) {
    RunQueue q;
    fill_mixed(q);
    RunnableTask t{};
    ASSERT_TRUE(q.pick_next(t));  // move the heads off slot 0 so the rings are not trivial

    const RunQueue before = q;
    // The victim's object representation, padding included (memcpy, not the
    // copy constructor, which need not copy padding bytes).
    unsigned char bytes_before[sizeof(RunQueue)];
    std::memcpy(bytes_before, &q, sizeof(RunQueue));
    for (std::uint32_t n : {kStealMax + 1, kStealMax + 2, 64u, 0xffffffffu}) {
        for (QosClass c : kAllClasses) {
            StealBatch b = garbage_batch();
            EXPECT_EQ(q.steal(c, n, b), StealOutcome::RejectedAboveBound) << "n " << n;
            EXPECT_EQ(b.count, 0u) << "a refused steal reports an empty batch";
        }
    }
    constexpr std::uint64_t kRefusals = 4 * kQosClassCount;
    EXPECT_EQ(q.counters().steal_refused, kRefusals);
    EXPECT_EQ(q.counters().invalid, 0u);
    EXPECT_EQ(q.counters().stolen_out, 0u);

    // Byte for byte: the only bytes that differ from the copy are the
    // counters (the last member, 7 x u64, no padding after it), and among
    // them only steal_refused.
    const unsigned char* a = bytes_before;
    const auto* z = reinterpret_cast<const unsigned char*>(&q);
    const std::size_t counters_begin = sizeof(RunQueue) - sizeof(RunQueueCounters);
    for (std::size_t i = 0; i < counters_begin; ++i) {
        ASSERT_EQ(a[i], z[i]) << "victim byte " << i << " changed by a refused steal";
    }
    RunQueueCounters expected = before.counters();
    expected.steal_refused += kRefusals;
    EXPECT_TRUE(same_counters(q.counters(), expected));

    // And by behaviour: both drain to the same sequence.
    RunQueue copy = before;
    EXPECT_EQ(drain(q), drain(copy));
}

TEST(Steal, ZeroIsInvalidCountedAndVictimUnchanged) {
    RunQueue q;
    fill_mixed(q);
    const RunQueue before = q;
    for (QosClass c : kAllClasses) {
        StealBatch b = garbage_batch();
        EXPECT_EQ(q.steal(c, 0, b), StealOutcome::RejectedInvalid);
        EXPECT_EQ(b.count, 0u);
    }
    RunQueueCounters expected = before.counters();
    expected.invalid += kQosClassCount;
    EXPECT_TRUE(same_counters(q.counters(), expected));
    EXPECT_EQ(q.counters().steal_refused, 0u) << "n == 0 is invalid, not above the bound";
    RunQueue copy = before;
    EXPECT_EQ(drain(q), drain(copy));
}

TEST(Steal, ForgedClassIsInvalidCountedAndVictimUnchanged) {
    RunQueue q;
    fill_mixed(q);
    const RunQueue before = q;
    for (std::uint32_t n : {1u, kStealMax, kStealMax + 1, 0u}) {
        StealBatch b = garbage_batch();
        EXPECT_EQ(q.steal(forged_class(), n, b), StealOutcome::RejectedInvalid) << "n " << n;
        EXPECT_EQ(b.count, 0u);
    }
    for (std::uint8_t raw : {std::uint8_t{4}, std::uint8_t{200}, std::uint8_t{255}}) {
        StealBatch b = garbage_batch();
        EXPECT_EQ(q.steal(static_cast<QosClass>(raw), 1, b), StealOutcome::RejectedInvalid) << int(raw);
    }
    RunQueueCounters expected = before.counters();
    expected.invalid += 7;
    EXPECT_TRUE(same_counters(q.counters(), expected));
    RunQueue copy = before;
    EXPECT_EQ(drain(q), drain(copy));
}

TEST(Steal, OutcomeNames) {
    EXPECT_STREQ(hb::steal_outcome_name(StealOutcome::Stolen), "stolen");
    EXPECT_STREQ(hb::steal_outcome_name(StealOutcome::NothingEligible), "nothing-eligible");
    EXPECT_STREQ(hb::steal_outcome_name(StealOutcome::RejectedAboveBound), "rejected-above-bound");
    EXPECT_STREQ(hb::steal_outcome_name(StealOutcome::RejectedInvalid), "rejected-invalid");
}

// --- Pinned tasks -----------------------------------------------------------

TEST(Steal, PinnedOnlyQueueIsNothingEligible) {
    RunQueue q;
    for (QosClass c : kAllClasses) {
        for (std::uint32_t k = 0; k < 5; ++k) {
            ASSERT_EQ(q.enqueue(TaskId(10 * hb::qos_index(c) + k), c, Mobility::Pinned), EnqueueOutcome::Accepted);
        }
    }
    const RunQueue before = q;
    EXPECT_EQ(q.stealable(), 0u);
    for (QosClass c : kAllClasses) {
        for (std::uint32_t n = 1; n <= kStealMax; ++n) {
            StealBatch b = garbage_batch();
            EXPECT_EQ(q.steal(c, n, b), StealOutcome::NothingEligible);
            EXPECT_EQ(b.count, 0u);
        }
    }
    EXPECT_TRUE(same_counters(q.counters(), before.counters())) << "nothing counted";
    RunQueue copy = before;
    EXPECT_EQ(drain(q), drain(copy));
}

TEST(Steal, NeverTakesPinnedFromMixedQueue) {
    RunQueue q;
    fill_mixed(q);  // 24 tasks, 12 free
    EXPECT_EQ(q.stealable(), 12u);
    std::vector<Picked> stolen;
    StealBatch b{};
    StealOutcome o{};
    // Bounded, so a steal that keeps saying Stolen fails instead of hanging.
    for (int guard = 0; (o = q.steal(QosClass::Realtime, kStealMax, b)) == StealOutcome::Stolen; ++guard) {
        ASSERT_LT(guard, 24) << "more steals than there are tasks";
        for (const Picked& p : batch_of(b)) stolen.push_back(p);
        EXPECT_TRUE(invariant_holds(q));
    }
    EXPECT_EQ(o, StealOutcome::NothingEligible);
    ASSERT_EQ(stolen.size(), 12u);
    for (const Picked& p : stolen) {
        EXPECT_EQ(p.mobility, Mobility::Free);
        EXPECT_EQ(p.id % 2, 1u) << "only the odd (free) ids may be stolen: " << p;
    }
    const std::vector<Picked> left = drain(q);
    ASSERT_EQ(left.size(), 12u);
    for (const Picked& p : left) EXPECT_EQ(p.mobility, Mobility::Pinned) << p;
}

// --- The QoS rule -----------------------------------------------------------

TEST(Steal, BackgroundThiefNeverTakesMoreUrgentClasses) {
    RunQueue q;
    fill_mixed(q);
    std::vector<Picked> stolen;
    StealBatch b{};
    for (int guard = 0; q.steal(QosClass::Background, 2, b) == StealOutcome::Stolen; ++guard) {
        ASSERT_LT(guard, 24) << "more steals than there are tasks";
        for (const Picked& p : batch_of(b)) stolen.push_back(p);
    }
    ASSERT_EQ(stolen.size(), 3u) << "the three free Background tasks";
    for (const Picked& p : stolen) EXPECT_EQ(p.qos, QosClass::Background) << p;
    // Free tasks remain in every other class, and none of them moved.
    EXPECT_EQ(q.stealable(), 9u);
    EXPECT_EQ(q.size(QosClass::Realtime), 6u);
    EXPECT_EQ(q.size(QosClass::Interactive), 6u);
    EXPECT_EQ(q.size(QosClass::Normal), 6u);
    EXPECT_EQ(q.size(QosClass::Background), 3u);
}

TEST(Steal, OnlyMoreUrgentFreeTasksIsNothingEligible) {
    RunQueue q;
    ASSERT_EQ(q.enqueue(TaskId(1), QosClass::Realtime, Mobility::Free), EnqueueOutcome::Accepted);
    ASSERT_EQ(q.enqueue(TaskId(2), QosClass::Interactive, Mobility::Free), EnqueueOutcome::Accepted);
    ASSERT_EQ(q.enqueue(TaskId(3), QosClass::Normal, Mobility::Free), EnqueueOutcome::Accepted);
    ASSERT_EQ(q.enqueue(TaskId(4), QosClass::Background, Mobility::Pinned), EnqueueOutcome::Accepted);
    StealBatch b{};
    EXPECT_EQ(q.steal(QosClass::Background, 4, b), StealOutcome::NothingEligible);
    EXPECT_EQ(q.size(), 4u);
    ASSERT_EQ(q.steal(QosClass::Normal, 4, b), StealOutcome::Stolen);
    EXPECT_EQ(batch_of(b), (std::vector<Picked>{{3, QosClass::Normal, Mobility::Free}}));
    EXPECT_EQ(q.steal(QosClass::Normal, 4, b), StealOutcome::NothingEligible);
}

TEST(Steal, EachThiefClassTakesOnlyClassesNoMoreUrgent) {
    for (QosClass thief : kAllClasses) {
        RunQueue q;
        fill_mixed(q);
        StealBatch b{};
        std::uint32_t taken = 0;
        for (int guard = 0; q.steal(thief, 3, b) == StealOutcome::Stolen; ++guard) {
            ASSERT_LT(guard, 24) << "more steals than there are tasks";
            for (const Picked& p : batch_of(b)) {
                EXPECT_GE(hb::qos_index(p.qos), hb::qos_index(thief))
                    << "a steal for " << hb::qos_name(thief) << " took " << p;
                ++taken;
            }
        }
        EXPECT_EQ(taken, 3 * (kQosClassCount - hb::qos_index(thief))) << hb::qos_name(thief);
    }
}

TEST(Steal, RealtimeThiefTakesMostUrgentClassFirstTailFirst) {
    RunQueue q;
    // Enqueue least urgent first, so arrival order disagrees with urgency.
    ASSERT_EQ(q.enqueue(TaskId(30), QosClass::Normal, Mobility::Free), EnqueueOutcome::Accepted);
    ASSERT_EQ(q.enqueue(TaskId(31), QosClass::Normal, Mobility::Free), EnqueueOutcome::Accepted);
    ASSERT_EQ(q.enqueue(TaskId(32), QosClass::Normal, Mobility::Free), EnqueueOutcome::Accepted);
    ASSERT_EQ(q.enqueue(TaskId(20), QosClass::Interactive, Mobility::Free), EnqueueOutcome::Accepted);
    ASSERT_EQ(q.enqueue(TaskId(21), QosClass::Interactive, Mobility::Free), EnqueueOutcome::Accepted);
    ASSERT_EQ(q.enqueue(TaskId(10), QosClass::Realtime, Mobility::Free), EnqueueOutcome::Accepted);
    ASSERT_EQ(q.enqueue(TaskId(40), QosClass::Background, Mobility::Free), EnqueueOutcome::Accepted);
    StealBatch b{};
    ASSERT_EQ(q.steal(QosClass::Realtime, 4, b), StealOutcome::Stolen);
    EXPECT_EQ(batch_of(b), (std::vector<Picked>{{10, QosClass::Realtime, Mobility::Free},
                                                {21, QosClass::Interactive, Mobility::Free},
                                                {20, QosClass::Interactive, Mobility::Free},
                                                {32, QosClass::Normal, Mobility::Free}}));
    ASSERT_EQ(q.steal(QosClass::Realtime, 4, b), StealOutcome::Stolen);
    EXPECT_EQ(batch_of(b), (std::vector<Picked>{{31, QosClass::Normal, Mobility::Free},
                                                {30, QosClass::Normal, Mobility::Free},
                                                {40, QosClass::Background, Mobility::Free}}));
    EXPECT_TRUE(q.empty());
    EXPECT_TRUE(invariant_holds(q));
}

// --- Tail order, head untouched ---------------------------------------------

TEST(Steal, TakesNewestFirstAndLeavesTheHead) {
    RunQueue q;
    for (std::uint32_t i = 1; i <= 6; ++i) {
        ASSERT_EQ(q.enqueue(TaskId(i), QosClass::Normal, Mobility::Free), EnqueueOutcome::Accepted);
    }
    StealBatch b{};
    ASSERT_EQ(q.steal(QosClass::Normal, 3, b), StealOutcome::Stolen);
    EXPECT_EQ(batch_of(b), (std::vector<Picked>{{6, QosClass::Normal, Mobility::Free},
                                                {5, QosClass::Normal, Mobility::Free},
                                                {4, QosClass::Normal, Mobility::Free}}));
    EXPECT_EQ(ids_in(q, QosClass::Normal), (std::vector<std::uint32_t>{1, 2, 3}));
    RunnableTask t{};
    ASSERT_TRUE(q.pick_next(t));
    EXPECT_EQ(t.task, TaskId(1)) << "the victim's next pick is the head it had before the steal";
}

TEST(Steal, TailOfTheFreeFifoAmongPinned) {
    RunQueue q;
    // P0 F1 P2 F3 F4 P5 F6
    const Mobility ms[] = {Mobility::Pinned, Mobility::Free, Mobility::Pinned, Mobility::Free,
                           Mobility::Free,   Mobility::Pinned, Mobility::Free};
    for (std::uint32_t i = 0; i < std::size(ms); ++i) {
        ASSERT_EQ(q.enqueue(TaskId(i), QosClass::Interactive, ms[i]), EnqueueOutcome::Accepted);
    }
    StealBatch b{};
    ASSERT_EQ(q.steal(QosClass::Interactive, 2, b), StealOutcome::Stolen);
    EXPECT_EQ(batch_of(b), (std::vector<Picked>{{6, QosClass::Interactive, Mobility::Free},
                                                {4, QosClass::Interactive, Mobility::Free}}));
    EXPECT_EQ(ids_in(q, QosClass::Interactive), (std::vector<std::uint32_t>{0, 1, 2, 3, 5}));
    EXPECT_EQ(drain(q), (std::vector<Picked>{{0, QosClass::Interactive, Mobility::Pinned},
                                             {1, QosClass::Interactive, Mobility::Free},
                                             {2, QosClass::Interactive, Mobility::Pinned},
                                             {3, QosClass::Interactive, Mobility::Free},
                                             {5, QosClass::Interactive, Mobility::Pinned}}));
}

TEST(Steal, TailAfterTheRingWrapped) {
    BasicRunQueue<4> q;
    StealBatch b{};
    RunnableTask t{};
    // Push the free ring's head around its 4 slots a few times.
    std::uint32_t next = 0;
    std::deque<std::uint32_t> model;
    for (int round = 0; round < 11; ++round) {
        while (model.size() < 4) {
            ASSERT_EQ(q.enqueue(TaskId(next), QosClass::Normal, Mobility::Free), EnqueueOutcome::Accepted);
            model.push_back(next++);
        }
        ASSERT_TRUE(q.pick_next(t));
        ASSERT_EQ(t.task.raw(), model.front());
        model.pop_front();
        ASSERT_EQ(q.steal(QosClass::Normal, 1, b), StealOutcome::Stolen);
        ASSERT_EQ(b.tasks[0].task.raw(), model.back()) << "round " << round;
        model.pop_back();
        ASSERT_EQ(ids_in(q, QosClass::Normal), std::vector<std::uint32_t>(model.begin(), model.end()));
    }
}

// --- FIFO across the pinned and free FIFOs of one class ----------------------

TEST(Steal, PickNextKeepsArrivalOrderAcrossPinnedAndFree) {
    std::mt19937 rng(6);
    for (int trial = 0; trial < 50; ++trial) {
        RunQueue q;
        std::vector<std::uint32_t> order[kQosClassCount];
        for (std::uint32_t id = 0; id < 120; ++id) {
            const std::uint32_t c = rng() % kQosClassCount;
            const Mobility m = (rng() % 2) ? Mobility::Free : Mobility::Pinned;
            ASSERT_EQ(q.enqueue(TaskId(id), static_cast<QosClass>(c), m), EnqueueOutcome::Accepted);
            order[c].push_back(id);
        }
        for (QosClass c : kAllClasses) {
            EXPECT_EQ(ids_in(q, c), order[hb::qos_index(c)]) << "for_each, trial " << trial;
        }
        std::vector<std::uint32_t> got[kQosClassCount];
        std::uint32_t last_class = 0;
        for (const Picked& p : drain(q)) {
            EXPECT_GE(hb::qos_index(p.qos), last_class) << "urgency order";
            last_class = hb::qos_index(p.qos);
            got[hb::qos_index(p.qos)].push_back(p.id);
        }
        for (std::uint32_t c = 0; c < kQosClassCount; ++c) {
            EXPECT_EQ(got[c], order[c]) << "pick order, class " << c << ", trial " << trial;
        }
    }
}

TEST(Steal, PickNextKeepsOrderWithPicksInBetween) {
    RunQueue q;
    RunnableTask t{};
    // F0 P1 F2; pick F0; P3 F4; pick P1; F5 -> F2 P3 F4 F5
    ASSERT_EQ(q.enqueue(TaskId(0), QosClass::Normal, Mobility::Free), EnqueueOutcome::Accepted);
    ASSERT_EQ(q.enqueue(TaskId(1), QosClass::Normal, Mobility::Pinned), EnqueueOutcome::Accepted);
    ASSERT_EQ(q.enqueue(TaskId(2), QosClass::Normal, Mobility::Free), EnqueueOutcome::Accepted);
    ASSERT_TRUE(q.pick_next(t));
    EXPECT_EQ(picked(t), (Picked{0, QosClass::Normal, Mobility::Free}));
    ASSERT_EQ(q.enqueue(TaskId(3), QosClass::Normal, Mobility::Pinned), EnqueueOutcome::Accepted);
    ASSERT_EQ(q.enqueue(TaskId(4), QosClass::Normal, Mobility::Free), EnqueueOutcome::Accepted);
    ASSERT_TRUE(q.pick_next(t));
    EXPECT_EQ(picked(t), (Picked{1, QosClass::Normal, Mobility::Pinned}));
    ASSERT_EQ(q.enqueue(TaskId(5), QosClass::Normal, Mobility::Free), EnqueueOutcome::Accepted);
    EXPECT_EQ(ids_in(q, QosClass::Normal), (std::vector<std::uint32_t>{2, 3, 4, 5}));
    EXPECT_EQ(drain(q), (std::vector<Picked>{{2, QosClass::Normal, Mobility::Free},
                                             {3, QosClass::Normal, Mobility::Pinned},
                                             {4, QosClass::Normal, Mobility::Free},
                                             {5, QosClass::Normal, Mobility::Free}}));
}

// --- Shared capacity ----------------------------------------------------------

TEST(Steal, PinnedAndFreeShareOneCapacity) {
    BasicRunQueue<4> q;
    ASSERT_EQ(q.enqueue(TaskId(1), QosClass::Normal, Mobility::Pinned), EnqueueOutcome::Accepted);
    ASSERT_EQ(q.enqueue(TaskId(2), QosClass::Normal, Mobility::Free), EnqueueOutcome::Accepted);
    ASSERT_EQ(q.enqueue(TaskId(3), QosClass::Normal, Mobility::Pinned), EnqueueOutcome::Accepted);
    ASSERT_EQ(q.enqueue(TaskId(4), QosClass::Normal, Mobility::Free), EnqueueOutcome::Accepted);
    const BasicRunQueue<4> full = q;
    EXPECT_EQ(q.enqueue(TaskId(5), QosClass::Normal, Mobility::Pinned), EnqueueOutcome::RejectedFull);
    EXPECT_EQ(q.enqueue(TaskId(6), QosClass::Normal, Mobility::Free), EnqueueOutcome::RejectedFull);
    EXPECT_EQ(q.enqueue_stolen(RunnableTask{TaskId(7), QosClass::Normal, Mobility::Free}),
              EnqueueOutcome::RejectedFull);
    EXPECT_EQ(q.size(QosClass::Normal), 4u);
    EXPECT_EQ(q.counters().rejected, 3u);
    EXPECT_EQ(q.counters().enqueued, 4u);
    EXPECT_EQ(q.counters().stolen_in, 0u) << "a refused enqueue_stolen is not counted in";
    EXPECT_TRUE(invariant_holds(q));
    {
        BasicRunQueue<4> copy = full;
        EXPECT_EQ(drain(q), drain(copy)) << "the refusals left the queue unchanged";
        q = full;
    }

    // All pinned, or all free: the same four slots.
    for (Mobility m : {Mobility::Pinned, Mobility::Free}) {
        BasicRunQueue<4> one;
        for (std::uint32_t i = 0; i < 4; ++i) ASSERT_EQ(one.enqueue(TaskId(i), QosClass::Realtime, m), EnqueueOutcome::Accepted);
        EXPECT_EQ(one.enqueue(TaskId(9), QosClass::Realtime, Mobility::Pinned), EnqueueOutcome::RejectedFull);
        EXPECT_EQ(one.enqueue(TaskId(9), QosClass::Realtime, Mobility::Free), EnqueueOutcome::RejectedFull);
        // Another class has its own four slots.
        for (std::uint32_t i = 0; i < 4; ++i) ASSERT_EQ(one.enqueue(TaskId(20 + i), QosClass::Background, m), EnqueueOutcome::Accepted);
        EXPECT_EQ(one.size(), 8u);
    }

    // A steal frees a slot of the class, which a pinned task may then use.
    StealBatch b{};
    ASSERT_EQ(q.steal(QosClass::Normal, 1, b), StealOutcome::Stolen);
    EXPECT_EQ(b.tasks[0].task, TaskId(4));
    EXPECT_EQ(q.enqueue(TaskId(8), QosClass::Normal, Mobility::Pinned), EnqueueOutcome::Accepted);
    EXPECT_EQ(q.enqueue(TaskId(9), QosClass::Normal, Mobility::Free), EnqueueOutcome::RejectedFull);
    EXPECT_EQ(ids_in(q, QosClass::Normal), (std::vector<std::uint32_t>{1, 2, 3, 8}));
    EXPECT_TRUE(invariant_holds(q));
}

// --- for_each -----------------------------------------------------------------

TEST(Steal, ForEachMatchesPickOrderAfterStealsAndPicks) {
    std::mt19937 rng(606);
    for (int trial = 0; trial < 30; ++trial) {
        BasicRunQueue<16> q;
        std::uint32_t next = 0;
        RunnableTask t{};
        StealBatch b{};
        for (int step = 0; step < 200; ++step) {
            const std::uint32_t r = rng() % 10;
            if (r < 6) {
                (void)q.enqueue(TaskId(next++), static_cast<QosClass>(rng() % kQosClassCount),
                                (rng() % 2) ? Mobility::Free : Mobility::Pinned);
            } else if (r < 8) {
                (void)q.pick_next(t);
            } else {
                (void)q.steal(static_cast<QosClass>(rng() % kQosClassCount), 1 + rng() % kStealMax, b);
            }
        }
        std::vector<std::uint32_t> via_for_each;
        for (QosClass c : kAllClasses) {
            for (std::uint32_t id : ids_in(q, c)) via_for_each.push_back(id);
        }
        std::vector<std::uint32_t> via_pick;
        for (const Picked& p : drain(q)) via_pick.push_back(p.id);
        EXPECT_EQ(via_for_each, via_pick) << "trial " << trial;
    }
}

// --- enqueue_stolen -------------------------------------------------------------

TEST(Steal, EnqueueStolenCountsInAndQueuesAsFreeAtTheBack) {
    RunQueue thief;
    ASSERT_EQ(thief.enqueue(TaskId(1), QosClass::Normal, Mobility::Pinned), EnqueueOutcome::Accepted);
    ASSERT_EQ(thief.enqueue_stolen(RunnableTask{TaskId(2), QosClass::Normal, Mobility::Free}),
              EnqueueOutcome::Accepted);
    // Even if the caller passes Pinned, what was stolen is queued as free.
    ASSERT_EQ(thief.enqueue_stolen(RunnableTask{TaskId(3), QosClass::Normal, Mobility::Pinned}),
              EnqueueOutcome::Accepted);
    EXPECT_EQ(thief.counters().stolen_in, 2u);
    EXPECT_EQ(thief.counters().enqueued, 1u);
    EXPECT_EQ(thief.stealable(), 2u);
    EXPECT_TRUE(invariant_holds(thief));
    EXPECT_EQ(drain(thief), (std::vector<Picked>{{1, QosClass::Normal, Mobility::Pinned},
                                                 {2, QosClass::Normal, Mobility::Free},
                                                 {3, QosClass::Normal, Mobility::Free}}));
    EXPECT_TRUE(invariant_holds(thief));

    EXPECT_EQ(thief.enqueue_stolen(RunnableTask{TaskId(4), forged_class(), Mobility::Free}),
              EnqueueOutcome::RejectedInvalid);
    EXPECT_EQ(thief.counters().invalid, 1u);
    EXPECT_EQ(thief.counters().stolen_in, 2u);
}

TEST(Steal, EnqueueStolenBackIntoTheVictimRestoresItsSize) {
    RunQueue victim;
    fill_mixed(victim);
    const std::size_t size_before = victim.size();
    std::size_t per_class_before[kQosClassCount];
    for (QosClass c : kAllClasses) per_class_before[hb::qos_index(c)] = victim.size(c);
    std::multiset<std::uint32_t> ids_before;
    for (QosClass c : kAllClasses) {
        for (std::uint32_t id : ids_in(victim, c)) ids_before.insert(id);
    }

    StealBatch b{};
    ASSERT_EQ(victim.steal(QosClass::Interactive, kStealMax, b), StealOutcome::Stolen);
    ASSERT_EQ(b.count, kStealMax);
    EXPECT_EQ(victim.size(), size_before - kStealMax);
    for (std::uint32_t i = 0; i < b.count; ++i) {
        ASSERT_EQ(victim.enqueue_stolen(b.tasks[i]), EnqueueOutcome::Accepted);
    }
    EXPECT_EQ(victim.size(), size_before);
    for (QosClass c : kAllClasses) EXPECT_EQ(victim.size(c), per_class_before[hb::qos_index(c)]);
    EXPECT_EQ(victim.counters().stolen_out, kStealMax);
    EXPECT_EQ(victim.counters().stolen_in, kStealMax);
    EXPECT_EQ(victim.stealable(), 12u);
    EXPECT_TRUE(invariant_holds(victim));
    std::multiset<std::uint32_t> ids_after;
    for (QosClass c : kAllClasses) {
        for (std::uint32_t id : ids_in(victim, c)) ids_after.insert(id);
    }
    EXPECT_EQ(ids_after, ids_before) << "the same tasks, none lost, none doubled";
    // The batch went back to the tail in batch order (newest first), so the
    // stolen Interactive tasks now run in reverse of their arrival order.
    EXPECT_EQ(ids_in(victim, QosClass::Interactive), (std::vector<std::uint32_t>{100, 102, 104, 105, 103, 101}));
}

// --- The counters invariant against a reference model --------------------------

// Two queues (A and B) that steal from each other, and a reference model of
// each: per class, a deque of (id, mobility) in queue order. A steal that B
// cannot take back (B full) leaves the tasks with the caller ("held"), who
// offers them again later. Every op is checked against the model, and the
// invariant after every op.
struct ModelTask {
    std::uint32_t id;
    Mobility mobility;
    bool operator==(const ModelTask&) const = default;
};

template <std::size_t N>
struct Modelled {
    BasicRunQueue<N> q;
    std::deque<ModelTask> model[kQosClassCount];
    RunQueueCounters expect{};

    std::size_t model_size() const {
        std::size_t n = 0;
        for (const auto& d : model) n += d.size();
        return n;
    }
    void check(const char* what, int step) const {
        SCOPED_TRACE(testing::Message() << what << " at step " << step);
        ASSERT_TRUE(invariant_holds(q));
        ASSERT_TRUE(same_counters(q.counters(), expect));
        ASSERT_EQ(q.size(), model_size());
        std::size_t free = 0;
        for (QosClass c : kAllClasses) {
            std::vector<std::uint32_t> want;
            for (const ModelTask& t : model[hb::qos_index(c)]) {
                want.push_back(t.id);
                free += t.mobility == Mobility::Free;
            }
            ASSERT_EQ(ids_in(q, c), want) << hb::qos_name(c);
        }
        ASSERT_EQ(q.stealable(), free);
    }
};

TEST(Steal, CountersInvariantAgainstModelUnderRandomOps) {
    constexpr std::size_t kCap = 6;
    std::mt19937 rng(0x57ea1);
    Modelled<kCap> side[2];
    std::vector<RunnableTask> held;  // stolen, refused by the thief's queue, still owned
    std::set<std::uint32_t> created, ran;
    std::uint32_t next = 1;
    std::uint64_t n_stolen = 0, n_refused_bound = 0, n_invalid = 0, n_nothing = 0, n_full = 0;

    auto run = [&](std::uint32_t id) { ASSERT_TRUE(ran.insert(id).second) << "task " << id << " ran twice"; };

    for (int step = 0; step < 5000; ++step) {
        const std::uint32_t who = rng() % 2;
        Modelled<kCap>& me = side[who];
        Modelled<kCap>& other = side[1 - who];
        const std::uint32_t r = rng() % 100;
        if (r < 40) {  // enqueue a new task
            const std::uint32_t c = rng() % kQosClassCount;
            const Mobility m = (rng() % 3) ? Mobility::Free : Mobility::Pinned;
            const std::uint32_t id = next++;
            const EnqueueOutcome o = me.q.enqueue(TaskId(id), static_cast<QosClass>(c), m);
            if (me.model[c].size() < kCap) {
                ASSERT_EQ(o, EnqueueOutcome::Accepted);
                me.model[c].push_back({id, m});
                ++me.expect.enqueued;
                created.insert(id);
            } else {
                ASSERT_EQ(o, EnqueueOutcome::RejectedFull);
                ++me.expect.rejected;
                ++n_full;
            }
        } else if (r < 45) {  // a forged enqueue
            ASSERT_EQ(me.q.enqueue(TaskId(next++), forged_class(), Mobility::Free), EnqueueOutcome::RejectedInvalid);
            ++me.expect.invalid;
        } else if (r < 70) {  // pick
            RunnableTask t{};
            const bool got = me.q.pick_next(t);
            std::uint32_t c = 0;
            while (c < kQosClassCount && me.model[c].empty()) ++c;
            ASSERT_EQ(got, c < kQosClassCount);
            if (got) {
                const ModelTask want = me.model[c].front();
                me.model[c].pop_front();
                ASSERT_EQ(picked(t), (Picked{want.id, static_cast<QosClass>(c), want.mobility}));
                ++me.expect.dequeued;
                run(t.task.raw());
            }
        } else if (r < 92) {  // me steals from other: n in 0..kStealMax+2, sometimes a forged class
            const std::uint32_t n = rng() % (kStealMax + 3);
            const QosClass q = (rng() % 20 == 0) ? forged_class() : static_cast<QosClass>(rng() % kQosClassCount);
            StealBatch b = garbage_batch();
            const StealOutcome o = other.q.steal(q, n, b);
            // The model's answer.
            std::vector<RunnableTask> want;
            StealOutcome want_o;
            if (n == 0 || hb::qos_index(q) >= kQosClassCount) {
                want_o = StealOutcome::RejectedInvalid;
                ++other.expect.invalid;
                ++n_invalid;
            } else if (n > kStealMax) {
                want_o = StealOutcome::RejectedAboveBound;
                ++other.expect.steal_refused;
                ++n_refused_bound;
            } else {
                for (std::uint32_t c = hb::qos_index(q); c < kQosClassCount && want.size() < n; ++c) {
                    auto& d = other.model[c];
                    for (auto it = d.end(); it != d.begin() && want.size() < n;) {
                        --it;
                        if (it->mobility != Mobility::Free) continue;
                        want.push_back(RunnableTask{TaskId(it->id), static_cast<QosClass>(c), Mobility::Free});
                        it = d.erase(it);
                    }
                }
                want_o = want.empty() ? StealOutcome::NothingEligible : StealOutcome::Stolen;
                other.expect.stolen_out += want.size();
                if (want.empty()) ++n_nothing;
            }
            ASSERT_EQ(o, want_o) << "step " << step;
            ASSERT_EQ(b.count, want.size());
            for (std::uint32_t i = 0; i < b.count; ++i) ASSERT_EQ(picked(b.tasks[i]), picked(want[i]));
            // The thief's side, separately.
            for (std::uint32_t i = 0; i < b.count; ++i) {
                const RunnableTask& t = b.tasks[i];
                const std::uint32_t c = hb::qos_index(t.qos);
                const EnqueueOutcome eo = me.q.enqueue_stolen(t);
                if (me.model[c].size() < kCap) {
                    ASSERT_EQ(eo, EnqueueOutcome::Accepted);
                    me.model[c].push_back({t.task.raw(), Mobility::Free});
                    ++me.expect.stolen_in;
                } else {
                    ASSERT_EQ(eo, EnqueueOutcome::RejectedFull);
                    ++me.expect.rejected;
                    held.push_back(t);
                }
            }
            if (o == StealOutcome::Stolen) ++n_stolen;
        } else if (!held.empty()) {  // offer a held task again, to either side
            const RunnableTask t = held.back();
            const std::uint32_t c = hb::qos_index(t.qos);
            const EnqueueOutcome eo = me.q.enqueue_stolen(t);
            if (me.model[c].size() < kCap) {
                ASSERT_EQ(eo, EnqueueOutcome::Accepted);
                me.model[c].push_back({t.task.raw(), Mobility::Free});
                ++me.expect.stolen_in;
                held.pop_back();
            } else {
                ASSERT_EQ(eo, EnqueueOutcome::RejectedFull);
                ++me.expect.rejected;
            }
        }
        side[0].check("A", step);
        side[1].check("B", step);
        if (::testing::Test::HasFatalFailure()) return;
    }

    // Conservation: everything created ran once or is still queued or held.
    for (const RunnableTask& t : held) run(t.task.raw());
    for (auto& s : side) {
        for (const Picked& p : drain(s.q)) run(p.id);
        EXPECT_TRUE(invariant_holds(s.q));
        EXPECT_TRUE(s.q.empty());
    }
    EXPECT_EQ(ran, created);
    const std::uint64_t out = side[0].q.counters().stolen_out + side[1].q.counters().stolen_out;
    const std::uint64_t in = side[0].q.counters().stolen_in + side[1].q.counters().stolen_in;
    EXPECT_EQ(out, in + held.size());
    // The run must reach every path.
    EXPECT_GT(n_stolen, 100u);
    EXPECT_GT(n_nothing, 10u);
    EXPECT_GT(n_refused_bound, 10u);
    EXPECT_GT(n_invalid, 10u);
    EXPECT_GT(n_full, 10u);
    EXPECT_GT(side[0].q.counters().rejected + side[1].q.counters().rejected, n_full)
        << "some enqueue_stolen must be refused too";
}

// --- Through the lock ---------------------------------------------------------

struct CountingLock {
    static inline int depth = 0;
    static inline int max_depth = 0;
    static inline int taken = 0;
    void lock() {
        ++taken;
        if (++depth > max_depth) max_depth = depth;
    }
    void unlock() { --depth; }
};

TEST(LockedSteal, StealAndEnqueueStolenTakeOneLockEach) {
    hb::LockedRunQueue<CountingLock, 8> victim;
    hb::LockedRunQueue<CountingLock, 8> thief;
    for (std::uint32_t i = 0; i < 5; ++i) ASSERT_EQ(victim.enqueue(TaskId(i), QosClass::Normal, Mobility::Free), EnqueueOutcome::Accepted);
    ASSERT_EQ(victim.enqueue(TaskId(9), QosClass::Normal), EnqueueOutcome::Accepted);  // pinned by default
    CountingLock::taken = 0;
    CountingLock::max_depth = 0;
    StealBatch b{};
    ASSERT_EQ(victim.steal(QosClass::Normal, 3, b), StealOutcome::Stolen);
    EXPECT_EQ(CountingLock::taken, 1) << "look and take in one critical section";
    for (std::uint32_t i = 0; i < b.count; ++i) ASSERT_EQ(thief.enqueue_stolen(b.tasks[i]), EnqueueOutcome::Accepted);
    EXPECT_EQ(CountingLock::taken, 4);
    EXPECT_EQ(CountingLock::max_depth, 1) << "never two locks at once";
    EXPECT_EQ(CountingLock::depth, 0);
    EXPECT_EQ(victim.steal(QosClass::Normal, kStealMax + 1, b), StealOutcome::RejectedAboveBound);
    EXPECT_EQ(victim.steal(forged_class(), 1, b), StealOutcome::RejectedInvalid);
    const RunQueueCounters v = victim.counters();
    const RunQueueCounters t = thief.counters();
    EXPECT_EQ(v.stolen_out, 3u);
    EXPECT_EQ(v.steal_refused, 1u);
    EXPECT_EQ(v.invalid, 1u);
    EXPECT_EQ(t.stolen_in, 3u);
    EXPECT_EQ(victim.size(), 3u);
    EXPECT_EQ(thief.size(), 3u);
    const std::size_t victim_stealable = victim.with([](const hb::BasicRunQueue<8>& q) { return q.stealable(); });
    EXPECT_EQ(victim_stealable, 2u);
}

}  // namespace
