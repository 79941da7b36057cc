// CpuSet (a value) and AtomicCpuSet (the shared online mask), lib/cpuset.hpp.
//
// Also built as cpuset_test_tsan. The stress tests below use only the public
// API plus std::atomic for their own bookkeeping, so under ThreadSanitizer
// they are race-free by construction; what they check is that no update of
// the shared set is ever lost, which a load/modify/store implementation
// would violate.
#include "lib/cpuset.hpp"
#include "tsan.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <thread>
#include <type_traits>
#include <vector>

namespace {

using hb::AtomicCpuSet;
using hb::CpuId;
using hb::CpuSet;
using hb::kMaxCpus;

std::vector<std::uint32_t> members(CpuSet s) {
    std::vector<std::uint32_t> out;
    s.for_each([&](CpuId c) { out.push_back(c.raw()); });
    return out;
}

// --- CpuSet -----------------------------------------------------------------

static_assert(CpuSet().empty());
static_assert(CpuSet().with(CpuId(3)).contains(CpuId(3)));
static_assert(CpuSet::first_n(3).bits() == 0b111);
static_assert(std::is_trivially_copyable_v<CpuSet>);
// A bare integer is not a CpuSet: masks enter only through from_bits.
static_assert(!std::is_convertible_v<std::uint64_t, CpuSet>);
static_assert(!std::is_constructible_v<CpuSet, std::uint64_t>);

TEST(CpuSet, DefaultIsEmpty) {
    const CpuSet s;
    EXPECT_TRUE(s.empty());
    EXPECT_EQ(s.count(), 0u);
    EXPECT_EQ(s.bits(), 0u);
    for (std::uint32_t i = 0; i < kMaxCpus; ++i) EXPECT_FALSE(s.contains(CpuId(i)));
    EXPECT_TRUE(members(s).empty());
}

TEST(CpuSet, WithAddsExactlyOneMember) {
    const CpuSet s = CpuSet().with(CpuId(2)).with(CpuId(5));
    EXPECT_TRUE(s.contains(CpuId(2)));
    EXPECT_TRUE(s.contains(CpuId(5)));
    EXPECT_FALSE(s.contains(CpuId(0)));
    EXPECT_FALSE(s.contains(CpuId(3)));
    EXPECT_EQ(s.count(), 2u);
    EXPECT_EQ(s.bits(), (1u << 2) | (1u << 5));
    EXPECT_FALSE(s.empty());
}

TEST(CpuSet, WithIsIdempotentAndReturnsANewValue) {
    const CpuSet a = CpuSet().with(CpuId(1));
    const CpuSet b = a.with(CpuId(1));
    EXPECT_EQ(a, b);
    EXPECT_EQ(b.count(), 1u);
    // `with` does not modify its receiver.
    const CpuSet c = a.with(CpuId(4));
    EXPECT_EQ(a.count(), 1u);
    EXPECT_EQ(c.count(), 2u);
}

TEST(CpuSet, WithoutRemovesOnlyThatMember) {
    const CpuSet s = CpuSet::first_n(4).without(CpuId(1));
    EXPECT_EQ(members(s), (std::vector<std::uint32_t>{0, 2, 3}));
    // Removing a non-member is a no-op.
    EXPECT_EQ(s.without(CpuId(1)), s);
    EXPECT_EQ(s.without(CpuId(7)), s);
    EXPECT_TRUE(CpuSet().without(CpuId(0)).empty());
}

TEST(CpuSet, OutOfRangeCpusAreIgnored) {
    const CpuSet base = CpuSet().with(CpuId(0));
    for (std::uint32_t big : {kMaxCpus, kMaxCpus + 1, 63u, 64u, 65u, 1000u, 0xffffffffu}) {
        // No UB shift, no stray bit, no wrap-around into a low CPU.
        EXPECT_EQ(base.with(CpuId(big)), base) << big;
        EXPECT_EQ(base.without(CpuId(big)), base) << big;
        EXPECT_FALSE(base.with(CpuId(big)).contains(CpuId(big))) << big;
        EXPECT_FALSE(CpuSet::from_bits(~std::uint64_t{0}).contains(CpuId(big))) << big;
    }
    EXPECT_EQ(base.count(), 1u);
}

TEST(CpuSet, ForEachVisitsMembersInAscendingOrder) {
    // Built in a scrambled order; visited ascending.
    CpuSet s;
    for (std::uint32_t c : {6u, 0u, 3u, 7u, 1u}) s = s.with(CpuId(c));
    EXPECT_EQ(members(s), (std::vector<std::uint32_t>{0, 1, 3, 6, 7}));
    EXPECT_EQ(members(CpuSet::first_n(kMaxCpus)).size(), kMaxCpus);
    EXPECT_EQ(members(CpuSet().with(CpuId(kMaxCpus - 1))),
              (std::vector<std::uint32_t>{kMaxCpus - 1}));
}

TEST(CpuSet, ForEachVisitsEachMemberOnceForEverySubset) {
    for (std::uint64_t bits = 0; bits < (std::uint64_t{1} << kMaxCpus); ++bits) {
        const CpuSet s = CpuSet::from_bits(bits);
        std::vector<std::uint32_t> expect;
        for (std::uint32_t i = 0; i < kMaxCpus; ++i) {
            if (bits & (std::uint64_t{1} << i)) expect.push_back(i);
            ASSERT_EQ(s.contains(CpuId(i)), (bits >> i) & 1) << bits << " cpu " << i;
        }
        ASSERT_EQ(members(s), expect) << bits;
        ASSERT_EQ(s.count(), expect.size()) << bits;
        ASSERT_EQ(s.bits(), bits);
    }
}

TEST(CpuSet, FirstN) {
    EXPECT_TRUE(CpuSet::first_n(0).empty());
    EXPECT_EQ(members(CpuSet::first_n(1)), (std::vector<std::uint32_t>{0}));
    EXPECT_EQ(members(CpuSet::first_n(3)), (std::vector<std::uint32_t>{0, 1, 2}));
    for (std::uint32_t n = 0; n <= kMaxCpus; ++n) {
        EXPECT_EQ(CpuSet::first_n(n).count(), n) << n;
    }
    // Beyond the bound it saturates at "all CPUs", with no UB shift at 64.
    const CpuSet all = CpuSet::first_n(kMaxCpus);
    for (std::uint32_t n : {kMaxCpus + 1, 63u, 64u, 65u, 1000u}) {
        EXPECT_EQ(CpuSet::first_n(n), all) << n;
    }
}

TEST(CpuSet, FromBitsMasksToMaxCpus) {
    EXPECT_EQ(CpuSet::from_bits(0b1011).bits(), 0b1011u);
    const CpuSet all = CpuSet::from_bits(~std::uint64_t{0});
    EXPECT_EQ(all.count(), kMaxCpus);
    EXPECT_EQ(all, CpuSet::first_n(kMaxCpus));
    // Only bits above the bound: nothing survives.
    EXPECT_TRUE(CpuSet::from_bits(~std::uint64_t{0} << kMaxCpus).empty());
    EXPECT_EQ(CpuSet::from_bits((std::uint64_t{1} << 63) | 1).bits(), 1u);
}

TEST(CpuSet, UnionIntersectionEquality) {
    const CpuSet a = CpuSet().with(CpuId(0)).with(CpuId(2));
    const CpuSet b = CpuSet().with(CpuId(2)).with(CpuId(5));
    EXPECT_EQ(members(a | b), (std::vector<std::uint32_t>{0, 2, 5}));
    EXPECT_EQ(members(a & b), (std::vector<std::uint32_t>{2}));
    EXPECT_EQ(a | CpuSet(), a);
    EXPECT_TRUE((a & CpuSet()).empty());
    EXPECT_EQ(a | a, a);
    EXPECT_EQ(a & a, a);
    EXPECT_EQ(a | b, b | a);
    EXPECT_EQ(a & b, b & a);
    EXPECT_NE(a, b);
    EXPECT_EQ(a, CpuSet::from_bits(0b101));
}

// --- AtomicCpuSet -----------------------------------------------------------

static_assert(!std::is_copy_constructible_v<AtomicCpuSet>);
static_assert(!std::is_copy_assignable_v<AtomicCpuSet>);

TEST(AtomicCpuSet, StartsEmpty) {
    const AtomicCpuSet s;
    EXPECT_TRUE(s.load().empty());
    EXPECT_EQ(s.count(), 0u);
    EXPECT_FALSE(s.contains(CpuId(0)));
}

TEST(AtomicCpuSet, InsertReportsWhetherTheCpuWasNew) {
    AtomicCpuSet s;
    EXPECT_TRUE(s.insert(CpuId(3)));
    EXPECT_FALSE(s.insert(CpuId(3)));  // already a member
    EXPECT_TRUE(s.insert(CpuId(0)));
    EXPECT_TRUE(s.contains(CpuId(3)));
    EXPECT_TRUE(s.contains(CpuId(0)));
    EXPECT_FALSE(s.contains(CpuId(1)));
    EXPECT_EQ(s.count(), 2u);
    EXPECT_EQ(s.load(), CpuSet().with(CpuId(0)).with(CpuId(3)));
}

TEST(AtomicCpuSet, EraseReportsWhetherTheCpuWasAMember) {
    AtomicCpuSet s;
    EXPECT_FALSE(s.erase(CpuId(2)));  // never inserted
    ASSERT_TRUE(s.insert(CpuId(2)));
    ASSERT_TRUE(s.insert(CpuId(4)));
    EXPECT_TRUE(s.erase(CpuId(2)));
    EXPECT_FALSE(s.erase(CpuId(2)));  // already gone
    EXPECT_FALSE(s.contains(CpuId(2)));
    EXPECT_TRUE(s.contains(CpuId(4)));  // the other member is untouched
    EXPECT_EQ(s.count(), 1u);
    // Erase then insert again works.
    EXPECT_TRUE(s.insert(CpuId(2)));
}

TEST(AtomicCpuSet, OutOfRangeIsRejectedAndChangesNothing) {
    AtomicCpuSet s;
    ASSERT_TRUE(s.insert(CpuId(1)));
    for (std::uint32_t big : {kMaxCpus, 63u, 64u, 65u, 0xffffffffu}) {
        EXPECT_FALSE(s.insert(CpuId(big))) << big;
        EXPECT_FALSE(s.erase(CpuId(big))) << big;
        EXPECT_FALSE(s.contains(CpuId(big))) << big;
    }
    EXPECT_EQ(s.load(), CpuSet().with(CpuId(1)));
}

TEST(AtomicCpuSet, FillAndDrainEveryCpu) {
    AtomicCpuSet s;
    for (std::uint32_t i = 0; i < kMaxCpus; ++i) EXPECT_TRUE(s.insert(CpuId(i)));
    EXPECT_EQ(s.load(), CpuSet::first_n(kMaxCpus));
    for (std::uint32_t i = 0; i < kMaxCpus; ++i) EXPECT_TRUE(s.erase(CpuId(i)));
    EXPECT_TRUE(s.load().empty());
}

// One thread per CPU bit; each toggles only its own bit, so the single-thread
// truth is known exactly: insert must return true (the bit was clear), the
// bit must then be visible, erase must return true. With a load/modify/store
// implementation another thread's stale store would clear a bit we just set
// (our erase returns false, or contains() says no) or resurrect a bit we just
// cleared (our insert returns false). Readers load concurrently and check
// that the snapshot never holds bits beyond kMaxCpus.
TEST(AtomicCpuSetStress, ConcurrentTogglesOfDistinctBitsAreNeverLost) {
    constexpr std::uint32_t kThreads = kMaxCpus;
    const int iterations = kUnderTsan ? 20000 : 200000;
    constexpr int kReaders = 2;

    AtomicCpuSet set;
    std::atomic<bool> go{false};
    std::atomic<std::uint32_t> writers_done{0};
    std::atomic<long> lost_insert{0}, lost_visible{0}, lost_erase{0};
    std::atomic<long> bad_snapshot{0}, snapshots{0};

    std::vector<std::thread> threads;
    for (std::uint32_t t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            const CpuId me(t);
            while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
            for (int i = 0; i < iterations; ++i) {
                if (!set.insert(me)) lost_insert.fetch_add(1, std::memory_order_relaxed);
                if (!set.contains(me)) lost_visible.fetch_add(1, std::memory_order_relaxed);
                if (!set.erase(me)) lost_erase.fetch_add(1, std::memory_order_relaxed);
            }
            // Leave the bit set: the final mask must hold every thread's bit.
            if (!set.insert(me)) lost_insert.fetch_add(1, std::memory_order_relaxed);
            writers_done.fetch_add(1, std::memory_order_release);
        });
    }
    for (int r = 0; r < kReaders; ++r) {
        threads.emplace_back([&] {
            while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
            do {
                const CpuSet snap = set.load();
                if ((snap.bits() & ~CpuSet::first_n(kMaxCpus).bits()) != 0 ||
                    snap.count() > kMaxCpus)
                    bad_snapshot.fetch_add(1, std::memory_order_relaxed);
                snapshots.fetch_add(1, std::memory_order_relaxed);
            } while (writers_done.load(std::memory_order_acquire) < kThreads);
        });
    }
    go.store(true, std::memory_order_release);
    for (auto& th : threads) th.join();

    EXPECT_EQ(lost_insert.load(), 0) << "an insert found its own bit already set";
    EXPECT_EQ(lost_visible.load(), 0) << "a bit vanished right after its insert";
    EXPECT_EQ(lost_erase.load(), 0) << "an erase found its own bit already clear";
    EXPECT_EQ(bad_snapshot.load(), 0);
    EXPECT_EQ(set.load(), CpuSet::first_n(kThreads));
    EXPECT_GT(snapshots.load(), 0);
}

// Many threads race to insert the same CPU: exactly one insert wins (the one
// that saw the bit clear), like two harts both claiming to bring a CPU
// online. Then they race to erase it: again exactly one wins.
TEST(AtomicCpuSetStress, ExactlyOneWinnerPerRoundForTheSameBit) {
    constexpr int kThreads = 8;
    const int rounds = kUnderTsan ? 300 : 2000;
    AtomicCpuSet set;
    int insert_wins = 0, erase_wins = 0;
    std::atomic<int> arrived{0};
    std::atomic<int> generation{0};
    long bad_rounds = 0;

    // A small reusable barrier made of atomics (std::barrier would do, but
    // this keeps the test's own synchronisation visible).
    auto barrier = [&](int& my_gen) {
        const int gen = my_gen++;
        if (arrived.fetch_add(1, std::memory_order_acq_rel) == kThreads - 1) {
            arrived.store(0, std::memory_order_relaxed);
            generation.store(gen + 1, std::memory_order_release);
        } else {
            while (generation.load(std::memory_order_acquire) == gen) std::this_thread::yield();
        }
    };

    std::vector<std::thread> threads;
    std::vector<std::atomic<int>> round_inserts(static_cast<std::size_t>(rounds));
    std::vector<std::atomic<int>> round_erases(static_cast<std::size_t>(rounds));
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&] {
            int my_gen = 0;
            for (int r = 0; r < rounds; ++r) {
                const auto ri = static_cast<std::size_t>(r);
                barrier(my_gen);
                if (set.insert(CpuId(5))) round_inserts[ri].fetch_add(1, std::memory_order_relaxed);
                barrier(my_gen);
                if (set.erase(CpuId(5))) round_erases[ri].fetch_add(1, std::memory_order_relaxed);
            }
        });
    }
    for (auto& th : threads) th.join();
    for (int r = 0; r < rounds; ++r) {
        const auto ri = static_cast<std::size_t>(r);
        if (round_inserts[ri].load() != 1 || round_erases[ri].load() != 1) ++bad_rounds;
        insert_wins += round_inserts[ri].load();
        erase_wins += round_erases[ri].load();
    }
    EXPECT_EQ(bad_rounds, 0);
    EXPECT_EQ(insert_wins, rounds);
    EXPECT_EQ(erase_wins, rounds);
    EXPECT_TRUE(set.load().empty());
}

// insert releases and load acquires: a hart that initialises its per-CPU
// data and then sets its online bit publishes that data. The payload here is
// a plain (non-atomic) variable, so ThreadSanitizer in the _tsan binary
// reports a race if the ordering were relaxed.
TEST(AtomicCpuSetStress, InsertPublishesDataWrittenBeforeIt) {
    const int rounds = kUnderTsan ? 200 : 500;
    for (int r = 0; r < rounds; ++r) {
        AtomicCpuSet online;
        int per_cpu_payload[kMaxCpus] = {};
        std::vector<std::thread> harts;
        for (std::uint32_t c = 1; c < 4; ++c) {
            harts.emplace_back([&, c] {
                per_cpu_payload[c] = static_cast<int>(100 + c + static_cast<std::uint32_t>(r));
                online.insert(CpuId(c));
            });
        }
        // The "boot hart" waits until it sees each bit, then reads the data.
        int seen = 0;
        bool ok = true;
        while (seen != 3) {
            const CpuSet snap = online.load();
            seen = 0;
            snap.for_each([&](CpuId c) {
                ++seen;
                if (per_cpu_payload[c.raw()] != static_cast<int>(100 + c.raw() + static_cast<std::uint32_t>(r)))
                    ok = false;
            });
            // Let the "harts" run even when there are fewer cores than threads.
            if (seen != 3) std::this_thread::yield();
        }
        for (auto& h : harts) h.join();
        ASSERT_TRUE(ok) << "round " << r;
    }
}

}  // namespace
