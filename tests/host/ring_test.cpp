// The bounded FIFO ring (lib/ring.hpp): order, wrap-around, and the
// backpressure contract (a full queue rejects and stays exactly as it was).
#include "lib/ring.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <deque>
#include <random>
#include <type_traits>
#include <vector>

namespace {

using hb::BoundedQueue;
using hb::EnqueueOutcome;

template <typename T, std::size_t N>
std::vector<T> contents(const BoundedQueue<T, N>& q) {
    std::vector<T> out;
    q.for_each([&](const T& v) { out.push_back(v); });
    return out;
}

// Usable at compile time, so the kernel can build queues in constant data.
constexpr bool constexpr_round_trip() {
    BoundedQueue<int, 2> q;
    if (q.push(1) != EnqueueOutcome::Accepted) return false;
    if (q.push(2) != EnqueueOutcome::Accepted) return false;
    if (q.push(3) != EnqueueOutcome::RejectedFull) return false;
    int v = 0;
    return q.pop(v) && v == 1 && q.pop(v) && v == 2 && !q.pop(v);
}
static_assert(constexpr_round_trip());
static_assert(BoundedQueue<int, 5>::capacity() == 5);
static_assert(std::is_trivially_copyable_v<BoundedQueue<std::uint32_t, 4>>,
              "a plain array and two indices: no hidden pointers or heap");

TEST(BoundedQueue, StartsEmpty) {
    BoundedQueue<int, 4> q;
    EXPECT_TRUE(q.empty());
    EXPECT_FALSE(q.full());
    EXPECT_EQ(q.size(), 0u);
    EXPECT_EQ(q.capacity(), 4u);
}

TEST(BoundedQueue, PopFromEmptyFailsAndLeavesOutUntouched) {
    BoundedQueue<int, 4> q;
    int out = 42;
    EXPECT_FALSE(q.pop(out));
    EXPECT_FALSE(q.pop_back(out));
    EXPECT_FALSE(q.peek(out));
    EXPECT_EQ(out, 42);
    EXPECT_TRUE(q.empty());
}

TEST(BoundedQueue, FifoOrder) {
    BoundedQueue<int, 8> q;
    for (int i = 1; i <= 5; ++i) ASSERT_EQ(q.push(i), EnqueueOutcome::Accepted);
    int peeked = 0;
    ASSERT_TRUE(q.peek(peeked));
    EXPECT_EQ(peeked, 1);
    EXPECT_EQ(q.size(), 5u) << "peek does not remove";
    for (int i = 1; i <= 5; ++i) {
        int v = 0;
        ASSERT_TRUE(q.pop(v));
        EXPECT_EQ(v, i);
    }
    EXPECT_TRUE(q.empty());
}

TEST(BoundedQueue, WrapsAroundManyTimes) {
    // Capacity 3 is not a power of two: the index wrap must not assume one.
    BoundedQueue<int, 3> q;
    int next_in = 0;
    int next_out = 0;
    for (int round = 0; round < 100; ++round) {
        // Fill to the brim, then drain two: head and tail keep moving.
        while (!q.full()) ASSERT_EQ(q.push(next_in++), EnqueueOutcome::Accepted);
        for (int k = 0; k < 2; ++k) {
            int v = -1;
            ASSERT_TRUE(q.pop(v));
            ASSERT_EQ(v, next_out++);
        }
    }
    int v = -1;
    while (q.pop(v)) ASSERT_EQ(v, next_out++);
    EXPECT_EQ(next_in, next_out) << "every pushed item came out exactly once";
}

TEST(BoundedQueue, FullRejectsAndIsUnchanged) {
    BoundedQueue<int, 4> q;
    // Move the head first so the full queue straddles the end of the array.
    ASSERT_EQ(q.push(100), EnqueueOutcome::Accepted);
    int v = 0;
    ASSERT_TRUE(q.pop(v));
    for (int i = 0; i < 4; ++i) ASSERT_EQ(q.push(i), EnqueueOutcome::Accepted);
    ASSERT_TRUE(q.full());
    const std::vector<int> before = contents(q);

    EXPECT_EQ(q.push(99), EnqueueOutcome::RejectedFull);
    EXPECT_EQ(q.push(98), EnqueueOutcome::RejectedFull);

    EXPECT_EQ(q.size(), 4u);
    EXPECT_EQ(contents(q), before);
    EXPECT_EQ(contents(q), (std::vector<int>{0, 1, 2, 3}));
    // Space frees up again once an item leaves.
    ASSERT_TRUE(q.pop(v));
    EXPECT_EQ(q.push(4), EnqueueOutcome::Accepted);
    EXPECT_EQ(contents(q), (std::vector<int>{1, 2, 3, 4}));
}

template <std::size_t N>
void check_capacity_boundaries() {
    SCOPED_TRACE(testing::Message() << "N=" << N);
    for (std::size_t offered : {N - 1, N, N + 1}) {
        BoundedQueue<std::uint32_t, N> q;
        std::size_t accepted = 0;
        std::size_t rejected = 0;
        for (std::size_t i = 0; i < offered; ++i) {
            const EnqueueOutcome o = q.push(static_cast<std::uint32_t>(i));
            (o == EnqueueOutcome::Accepted ? accepted : rejected) += 1;
        }
        EXPECT_EQ(accepted, offered <= N ? offered : N) << "offered " << offered;
        EXPECT_EQ(rejected, offered <= N ? 0u : offered - N) << "offered " << offered;
        EXPECT_EQ(q.full(), offered >= N);
        EXPECT_EQ(q.size(), accepted);
        std::uint32_t v = 0;
        for (std::size_t i = 0; i < accepted; ++i) {
            ASSERT_TRUE(q.pop(v));
            EXPECT_EQ(v, i) << "the rejected item never displaced an accepted one";
        }
        EXPECT_FALSE(q.pop(v));
    }
}

TEST(BoundedQueue, CapacityBoundaries) {
    check_capacity_boundaries<1>();
    check_capacity_boundaries<2>();
    check_capacity_boundaries<5>();
    check_capacity_boundaries<64>();
}

TEST(BoundedQueue, SingleSlot) {
    BoundedQueue<int, 1> q;
    for (int i = 0; i < 10; ++i) {
        ASSERT_EQ(q.push(i), EnqueueOutcome::Accepted);
        ASSERT_EQ(q.push(-1), EnqueueOutcome::RejectedFull);
        int v = -1;
        ASSERT_TRUE(q.pop(v));
        ASSERT_EQ(v, i);
    }
}

TEST(BoundedQueue, PopBackTakesNewest) {
    BoundedQueue<int, 4> q;
    int v = 0;
    // Wrap first: head at slot 3, items in slots 3, 0, 1.
    for (int i = 0; i < 3; ++i) ASSERT_EQ(q.push(-1), EnqueueOutcome::Accepted);
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(q.pop(v));
    for (int i = 1; i <= 3; ++i) ASSERT_EQ(q.push(i), EnqueueOutcome::Accepted);

    ASSERT_TRUE(q.pop_back(v));
    EXPECT_EQ(v, 3);
    ASSERT_TRUE(q.pop_back(v));
    EXPECT_EQ(v, 2);
    EXPECT_EQ(contents(q), std::vector<int>{1}) << "the head is left for the owner";
    ASSERT_EQ(q.push(7), EnqueueOutcome::Accepted);
    EXPECT_EQ(contents(q), (std::vector<int>{1, 7}));
}

// Random pushes, pops and pop_backs against std::deque as the model.
TEST(BoundedQueue, MatchesDequeModel) {
    std::mt19937 rng(12345);
    BoundedQueue<std::uint32_t, 7> q;
    std::deque<std::uint32_t> model;
    std::uint32_t next = 0;
    for (int step = 0; step < 20000; ++step) {
        const unsigned op = rng() % 4;
        if (op <= 1) {
            const EnqueueOutcome o = q.push(next);
            if (model.size() < 7) {
                ASSERT_EQ(o, EnqueueOutcome::Accepted);
                model.push_back(next);
            } else {
                ASSERT_EQ(o, EnqueueOutcome::RejectedFull);
            }
            ++next;
        } else if (op == 2) {
            std::uint32_t v = 0;
            ASSERT_EQ(q.pop(v), !model.empty());
            if (!model.empty()) {
                ASSERT_EQ(v, model.front());
                model.pop_front();
            }
        } else {
            std::uint32_t v = 0;
            ASSERT_EQ(q.pop_back(v), !model.empty());
            if (!model.empty()) {
                ASSERT_EQ(v, model.back());
                model.pop_back();
            }
        }
        ASSERT_EQ(q.size(), model.size());
        ASSERT_EQ(q.full(), model.size() == 7);
    }
    EXPECT_EQ(contents(q), std::vector<std::uint32_t>(model.begin(), model.end()));
}

TEST(EnqueueOutcome, Names) {
    EXPECT_STREQ(hb::enqueue_outcome_name(EnqueueOutcome::Accepted), "accepted");
    EXPECT_STREQ(hb::enqueue_outcome_name(EnqueueOutcome::RejectedFull), "rejected-full");
    EXPECT_STREQ(hb::enqueue_outcome_name(EnqueueOutcome::RejectedInvalid), "rejected-invalid");
}

}  // namespace
