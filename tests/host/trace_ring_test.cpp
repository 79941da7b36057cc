// The per-CPU trace ring (lib/trace_ring.hpp): order, the stop-and-count
// overflow policy (the beginning is kept, every refused record counted
// exactly), and one writer with one concurrent reader (also built as
// trace_ring_test_tsan under ThreadSanitizer).
#include "lib/trace_ring.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "tsan.hpp"

namespace {

using hb::TraceEvent;
using hb::TraceOutcome;
using hb::TraceRecord;
using hb::TraceRing;

TraceRecord rec(std::uint64_t t, std::uint32_t arg, TraceEvent k = TraceEvent::Switch) {
    TraceRecord r;
    r.ticks = t;
    r.kind = k;
    r.cpu = 1;
    r.arg = arg;
    return r;
}

TEST(TraceRing, StartsEmpty) {
    TraceRing<4> ring;
    EXPECT_EQ(ring.capacity(), 4u);
    EXPECT_EQ(ring.published(), 0u);
    EXPECT_EQ(ring.dropped(), 0u);
    int seen = 0;
    ring.for_each([&](const TraceRecord&) { ++seen; });
    EXPECT_EQ(seen, 0);
}

TEST(TraceRing, KeepsOrderAndFields) {
    TraceRing<8> ring;
    for (std::uint32_t i = 0; i < 5; ++i) {
        EXPECT_EQ(ring.push(rec(100 + i, i, i % 2 ? TraceEvent::IpiSend : TraceEvent::Switch)), TraceOutcome::Recorded);
    }
    ASSERT_EQ(ring.published(), 5u);
    for (std::uint32_t i = 0; i < 5; ++i) {
        const TraceRecord& r = ring.at(i);
        EXPECT_EQ(r.ticks, 100u + i);
        EXPECT_EQ(r.arg, i);
        EXPECT_EQ(r.cpu, 1u);
        EXPECT_EQ(r.kind, i % 2 ? TraceEvent::IpiSend : TraceEvent::Switch);
    }
}

// Stop and count: the first N records survive unchanged, every later one
// is refused and counted, exactly.
TEST(TraceRing, OverflowKeepsTheBeginningAndCountsExactly) {
    TraceRing<16> ring;
    for (std::uint32_t i = 0; i < 16 + 37; ++i) {
        const TraceOutcome o = ring.push(rec(i, i));
        EXPECT_EQ(o, i < 16 ? TraceOutcome::Recorded : TraceOutcome::Dropped) << "record " << i;
    }
    EXPECT_EQ(ring.published(), 16u);
    EXPECT_EQ(ring.dropped(), 37u);
    std::vector<std::uint32_t> args;
    ring.for_each([&](const TraceRecord& r) { args.push_back(r.arg); });
    ASSERT_EQ(args.size(), 16u);
    for (std::uint32_t i = 0; i < 16; ++i) EXPECT_EQ(args[i], i) << "the start of the run was lost";
}

TEST(TraceRing, ExactlyFullDropsNothing) {
    TraceRing<3> ring;
    for (std::uint32_t i = 0; i < 3; ++i) EXPECT_EQ(ring.push(rec(i, i)), TraceOutcome::Recorded);
    EXPECT_EQ(ring.dropped(), 0u);
    EXPECT_EQ(ring.push(rec(3, 3)), TraceOutcome::Dropped);
    EXPECT_EQ(ring.dropped(), 1u);
    EXPECT_EQ(ring.at(2).arg, 2u);
}

TEST(TraceRing, ResetEmptiesForTheNextRun) {
    TraceRing<2> ring;
    for (std::uint32_t i = 0; i < 5; ++i) (void)ring.push(rec(i, i));
    ring.reset();
    EXPECT_EQ(ring.published(), 0u);
    EXPECT_EQ(ring.dropped(), 0u);
    EXPECT_EQ(ring.push(rec(9, 9)), TraceOutcome::Recorded);
    EXPECT_EQ(ring.at(0).arg, 9u);
}

TEST(TraceRing, EventNames) {
    EXPECT_STREQ(hb::trace_event_name(TraceEvent::Switch), "switch");
    EXPECT_STREQ(hb::trace_event_name(TraceEvent::IpiRecv), "ipi-recv");
    EXPECT_STREQ(hb::trace_arg_name(TraceEvent::Switch), "task");
    EXPECT_EQ(hb::trace_arg_name(TraceEvent::IdleEnter), nullptr);
    for (unsigned k = 0; k < static_cast<unsigned>(TraceEvent::Count); ++k) {
        EXPECT_STRNE(hb::trace_event_name(static_cast<TraceEvent>(k)), "?") << "kind " << k << " has no name";
    }
}

// One writer (the owning CPU) and one reader (a dump on another CPU) at
// once. The reader re-reads the published prefix over and over: every
// record below published() must be complete (its fields agree with each
// other) and in order, and the prefix only grows. TSan flags the slot
// accesses if the release/acquire pair does not order them.
TEST(TraceRingStress, OneWriterOneReader) {
    constexpr std::size_t kCap = 1024;
    const std::uint32_t pushes = kUnderTsan ? 3000 : 200000;
    static TraceRing<kCap> ring;
    ring.reset();
    std::atomic<bool> done{false};
    std::thread writer([&] {
        for (std::uint32_t i = 0; i < pushes; ++i) {
            TraceRecord r = rec(1000 + i, i);
            r.arg16 = static_cast<std::uint16_t>(i * 7);
            (void)ring.push(r);
        }
        done.store(true, std::memory_order_release);
    });
    std::size_t last = 0;
    std::uint64_t checks = 0;
    bool bad = false;
    while (!bad) {
        const bool finished = done.load(std::memory_order_acquire);
        const std::size_t n = ring.published();
        if (n < last) bad = true;
        last = n;
        for (std::size_t i = 0; i < n && !bad; ++i) {
            const TraceRecord& r = ring.at(i);
            if (r.arg != i || r.ticks != 1000 + i || r.arg16 != static_cast<std::uint16_t>(i * 7)) bad = true;
            ++checks;
        }
        if (finished) break;
    }
    writer.join();
    EXPECT_FALSE(bad) << "a published record was incomplete, out of order, or the prefix shrank";
    EXPECT_EQ(ring.published(), std::min<std::size_t>(pushes, kCap));
    EXPECT_EQ(ring.dropped(), pushes > kCap ? pushes - kCap : 0u);
    EXPECT_GT(checks, 0u);
}

}  // namespace
