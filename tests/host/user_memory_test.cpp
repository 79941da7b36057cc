// User memory (lib/user_memory.hpp): the user window, the frame pool and the
// rule that a process maps only frames it owns.
//
// Rules under test: the window is exactly root slot 1 and the kernel space of
// vm.cpp leaves it empty; in_user_window and user_pointer_ok refuse anything
// that reaches outside it, even when the kernel half maps it U; the pool
// hands out each frame to one owner at a time, says RejectedFull when empty,
// and refuses releases by a non-owner, double releases and foreign indices
// with their own error, each leaving the pool unchanged; FrameRegion turns
// indices into addresses and back and refuses addresses that are not frames;
// map_user_page maps an owned frame and refuses everything else with the
// layer and reason that refused it.
#include "lib/user_memory.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace {

namespace sv39 = hb::sv39;
using hb::FrameError;
using hb::FrameIndex;
using hb::FrameRegion;
using hb::ProcessId;
using hb::UserMapError;
using sv39::MapError;
using sv39::UserAccess;

constexpr std::uint64_t K4 = sv39::kPageSize;
constexpr std::uint64_t RW = sv39::kRead | sv39::kWrite;
constexpr std::uint64_t U = sv39::kUser;

constexpr ProcessId kA{1};
constexpr ProcessId kB{2};

// --- The window ---------------------------------------------------------------

TEST(UserWindow, IsRootSlotOneExactly) {
    EXPECT_EQ(hb::kUserBase, 0x40000000u);
    EXPECT_EQ(hb::kUserLimit, 0x80000000u);
    EXPECT_EQ(sv39::AddressSpace::root_slot(hb::kUserBase), hb::kUserRootSlot);
    EXPECT_EQ(sv39::AddressSpace::root_slot(hb::kUserLimit - 1), hb::kUserRootSlot);
    EXPECT_NE(sv39::AddressSpace::root_slot(hb::kUserBase - 1), hb::kUserRootSlot);
    EXPECT_NE(sv39::AddressSpace::root_slot(hb::kUserLimit), hb::kUserRootSlot);
}

TEST(UserWindow, InUserWindowChecksBothEnds) {
    EXPECT_TRUE(hb::in_user_window(hb::kUserBase, K4));
    EXPECT_TRUE(hb::in_user_window(hb::kUserBase, hb::kUserLimit - hb::kUserBase));
    EXPECT_TRUE(hb::in_user_window(hb::kUserLimit - 1, 1));
    EXPECT_FALSE(hb::in_user_window(hb::kUserLimit - 1, 2));
    EXPECT_FALSE(hb::in_user_window(hb::kUserBase - 1, 1));
    EXPECT_FALSE(hb::in_user_window(hb::kUserBase - 1, 2)) << "starts one byte below";
    EXPECT_FALSE(hb::in_user_window(hb::kUserBase, ~std::uint64_t{0})) << "no wrap-around";
    EXPECT_FALSE(hb::in_user_window(0x80200000, K4)) << "the kernel image";
    EXPECT_FALSE(hb::in_user_window(0, 0));
    EXPECT_TRUE(hb::in_user_window(hb::kUserBase, 0));
    EXPECT_TRUE(hb::in_user_window(hb::kUserLimit, 0)) << "an empty range at the end";
    EXPECT_FALSE(hb::in_user_window(hb::kUserLimit + 1, 0));
    EXPECT_FALSE(hb::in_user_window(~std::uint64_t{0}, 0));
}

alignas(4096) sv39::PageTable g_kernel_tables[16];
alignas(4096) sv39::PageTable g_process_tables[16];

// The kernel space as vm.cpp lays it out (test finisher, image with a U page
// for .user.text, RAM megapages), and a process that shares it.
class UserSpace : public ::testing::Test {
protected:
    sv39::TablePool kpool{g_kernel_tables, 16};
    sv39::AddressSpace kernel{kpool};
    sv39::TablePool ppool{g_process_tables, 16};
    sv39::AddressSpace process{ppool};
    static constexpr std::uint64_t kUserText = 0x80208000;

    void SetUp() override {
        ASSERT_EQ(kernel.map(0x100000, 0x100000, K4, RW | sv39::kGlobal), MapError::None);
        ASSERT_EQ(kernel.map(0x80200000, 0x80200000, 8 * K4, sv39::kRead | sv39::kExec | sv39::kGlobal, false),
                  MapError::None);
        ASSERT_EQ(kernel.map(kUserText, kUserText, K4, sv39::kRead | sv39::kExec | U, false), MapError::None);
        ASSERT_EQ(kernel.map(0x80400000, 0x80400000, 4 * sv39::kMegaPageSize, RW | sv39::kGlobal),
                  MapError::None);
        ASSERT_TRUE(hb::kernel_leaves_user_window_free(kernel));
        ASSERT_EQ(process.share_root_slots(kernel, 0, sv39::kEntries), MapError::None);
    }
};

TEST_F(UserSpace, TheKernelLayoutLeavesTheWindowFree) {
    EXPECT_FALSE(process.slot_shared(hb::kUserRootSlot));
    // A kernel that maps into slot 1 fails the boot-time check.
    ASSERT_EQ(kernel.map(0x40000000, 0x40000000, K4, RW | sv39::kGlobal), MapError::None);
    EXPECT_FALSE(hb::kernel_leaves_user_window_free(kernel));
    sv39::TablePool empty{g_kernel_tables, 0};
    sv39::AddressSpace rootless{empty};
    EXPECT_FALSE(hb::kernel_leaves_user_window_free(rootless));
}

TEST_F(UserSpace, UserPointerOkNeedsTheWindowAndTheMapping) {
    ASSERT_EQ(process.map(0x40000000, 0x90000000, 2 * K4, RW | U, false), MapError::None);
    ASSERT_EQ(process.map(0x40002000, 0x90002000, K4, sv39::kRead | U, false), MapError::None);
    EXPECT_TRUE(hb::user_pointer_ok(process, 0x40000010, 100, UserAccess::Write));
    EXPECT_TRUE(hb::user_pointer_ok(process, 0x40000000, 3 * K4, UserAccess::Read));
    EXPECT_FALSE(hb::user_pointer_ok(process, 0x40000000, 3 * K4, UserAccess::Write)) << "page 2 is read-only";
    EXPECT_FALSE(hb::user_pointer_ok(process, 0x40003000, 1, UserAccess::Read)) << "not mapped";
    EXPECT_TRUE(hb::user_pointer_ok(process, 0x40003000, 0, UserAccess::Read)) << "empty, inside the window";
    EXPECT_FALSE(hb::user_pointer_ok(process, 0x80200000, 0, UserAccess::Read)) << "empty, at a kernel address";
    // The kernel half's U page: mapped U in the process (shared slot 2), and
    // still refused, because it is not in the window.
    EXPECT_TRUE(process.user_range_ok(kUserText, K4, UserAccess::Read));
    EXPECT_FALSE(hb::user_pointer_ok(process, kUserText, K4, UserAccess::Read));
    EXPECT_FALSE(hb::user_pointer_ok(process, 0x80400000, K4, UserAccess::Read)) << "kernel RAM";
    EXPECT_FALSE(hb::user_pointer_ok(process, 0x7ffff000, 2 * K4, UserAccess::Read)) << "runs out of the window";
}

// --- The frame pool -----------------------------------------------------------

TEST(UserFramePool, FreshPoolIsAllFree) {
    hb::UserFramePool<8> pool;
    EXPECT_EQ(pool.capacity(), 8u);
    EXPECT_EQ(pool.free_count(), 8u);
    for (std::uint32_t i = 0; i < 8; ++i) {
        const auto o = pool.owner_of(FrameIndex(i));
        EXPECT_FALSE(o.ok());
        EXPECT_EQ(o.error(), FrameError::NotClaimed);
    }
    EXPECT_EQ(pool.counters().claimed, 0u);
}

TEST(UserFramePool, ClaimRecordsTheOwner) {
    hb::UserFramePool<4> pool;
    const auto a = pool.claim(kA);
    const auto b = pool.claim(kB);
    ASSERT_TRUE(a.ok());
    ASSERT_TRUE(b.ok());
    EXPECT_EQ(a.value(), FrameIndex(0)) << "a fresh pool hands out frames in order";
    EXPECT_EQ(b.value(), FrameIndex(1));
    EXPECT_EQ(pool.owner_of(a.value()).value(), kA);
    EXPECT_EQ(pool.owner_of(b.value()).value(), kB);
    EXPECT_EQ(pool.check_owner(kA, a.value()), FrameError::None);
    EXPECT_EQ(pool.check_owner(kB, a.value()), FrameError::NotOwned);
    EXPECT_EQ(pool.free_count(), 2u);
    EXPECT_EQ(pool.claimed_by(kA), 1u);
    EXPECT_EQ(pool.claimed_by(kB), 1u);
    EXPECT_EQ(pool.claimed_by(ProcessId(3)), 0u);
    EXPECT_EQ(pool.counters().claimed, 2u);
}

TEST(UserFramePool, AFullPoolRejectsAndStaysFull) {
    hb::UserFramePool<3> pool;
    std::set<std::uint32_t> got;
    for (int i = 0; i < 3; ++i) {
        const auto r = pool.claim(kA);
        ASSERT_TRUE(r.ok());
        got.insert(r.value().raw());
    }
    EXPECT_EQ(got.size(), 3u) << "no frame handed out twice";
    for (int i = 0; i < 2; ++i) {
        const auto r = pool.claim(kB);
        EXPECT_FALSE(r.ok());
        EXPECT_EQ(r.error(), FrameError::RejectedFull);
    }
    EXPECT_EQ(pool.free_count(), 0u);
    EXPECT_EQ(pool.claimed_by(kA), 3u);
    EXPECT_EQ(pool.claimed_by(kB), 0u);
    EXPECT_EQ(pool.counters().rejected_full, 2u);
    // One release makes exactly one claim possible again.
    EXPECT_EQ(pool.release(kA, FrameIndex(1)), FrameError::None);
    const auto r = pool.claim(kB);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.value(), FrameIndex(1)) << "the frame just released";
    EXPECT_EQ(pool.claim(kB).error(), FrameError::RejectedFull);
}

TEST(UserFramePool, ReleaseByAnotherProcessIsNotOwned) {
    hb::UserFramePool<4> pool;
    const FrameIndex f = pool.claim(kA).value();
    EXPECT_EQ(pool.release(kB, f), FrameError::NotOwned);
    EXPECT_EQ(pool.owner_of(f).value(), kA) << "still A's";
    EXPECT_EQ(pool.free_count(), 3u);
    EXPECT_EQ(pool.counters().refused, 1u);
    EXPECT_EQ(pool.release(kA, f), FrameError::None);
}

TEST(UserFramePool, DoubleReleaseIsNotClaimed) {
    hb::UserFramePool<4> pool;
    const FrameIndex f = pool.claim(kA).value();
    ASSERT_EQ(pool.release(kA, f), FrameError::None);
    EXPECT_EQ(pool.free_count(), 4u);
    EXPECT_EQ(pool.release(kA, f), FrameError::NotClaimed);
    EXPECT_EQ(pool.free_count(), 4u) << "the free stack did not get the frame twice";
    EXPECT_EQ(pool.release(kA, FrameIndex(3)), FrameError::NotClaimed) << "never claimed";
    // Had the double release been accepted, two claims would now return
    // the same frame. They do not.
    std::set<std::uint32_t> got;
    for (int i = 0; i < 4; ++i) got.insert(pool.claim(kB).value().raw());
    EXPECT_EQ(got.size(), 4u);
}

TEST(UserFramePool, ForeignIndicesAreOutOfRange) {
    hb::UserFramePool<4> pool;
    (void)pool.claim(kA);
    EXPECT_EQ(pool.release(kA, FrameIndex(4)), FrameError::OutOfRange);
    EXPECT_EQ(pool.release(kA, FrameIndex(0xffffffff)), FrameError::OutOfRange);
    EXPECT_EQ(pool.check_owner(kA, FrameIndex(4)), FrameError::OutOfRange);
    EXPECT_EQ(pool.owner_of(FrameIndex(4)).error(), FrameError::OutOfRange);
    EXPECT_EQ(pool.free_count(), 3u);
    EXPECT_EQ(pool.counters().refused, 2u);
}

TEST(UserFramePool, ReleaseAllGivesBackExactlyOneProcesssFrames) {
    hb::UserFramePool<6> pool;
    for (int i = 0; i < 3; ++i) (void)pool.claim(kA);
    for (int i = 0; i < 2; ++i) (void)pool.claim(kB);
    EXPECT_EQ(pool.release_all(kA), 3u);
    EXPECT_EQ(pool.claimed_by(kA), 0u);
    EXPECT_EQ(pool.claimed_by(kB), 2u);
    EXPECT_EQ(pool.free_count(), 4u);
    EXPECT_EQ(pool.release_all(kA), 0u) << "nothing left to give";
    EXPECT_EQ(pool.counters().released, 3u);
    for (int i = 0; i < 4; ++i) EXPECT_TRUE(pool.claim(ProcessId(3)).ok());
    EXPECT_FALSE(pool.claim(ProcessId(3)).ok());
}

// Random claims and releases (good and bad) against a model: every call's
// outcome is what the model predicts, and the pool and the model agree on
// every frame's owner at the end.
TEST(UserFramePool, RandomTrafficMatchesAModel) {
    constexpr std::size_t N = 32;
    hb::UserFramePool<N> pool;
    std::vector<int> model(N, -1);  // owner, or -1 for free
    std::mt19937 rng(6);
    std::uint64_t full = 0, not_owned = 0, not_claimed = 0;
    for (int i = 0; i < 20000; ++i) {
        const std::uint32_t p = rng() % 3;
        if (rng() % 2 == 0) {
            const auto r = pool.claim(ProcessId(p));
            const bool any_free = std::count(model.begin(), model.end(), -1) > 0;
            ASSERT_EQ(r.ok(), any_free);
            if (r.ok()) {
                ASSERT_EQ(model[r.value().raw()], -1) << "handed out a claimed frame";
                model[r.value().raw()] = static_cast<int>(p);
            } else {
                ASSERT_EQ(r.error(), FrameError::RejectedFull);
                ++full;
            }
        } else {
            const std::uint32_t f = rng() % (N + 2);
            const FrameError e = pool.release(ProcessId(p), FrameIndex(f));
            if (f >= N) {
                ASSERT_EQ(e, FrameError::OutOfRange);
            } else if (model[f] == -1) {
                ASSERT_EQ(e, FrameError::NotClaimed);
                ++not_claimed;
            } else if (model[f] != static_cast<int>(p)) {
                ASSERT_EQ(e, FrameError::NotOwned);
                ++not_owned;
            } else {
                ASSERT_EQ(e, FrameError::None);
                model[f] = -1;
            }
        }
    }
    for (std::uint32_t f = 0; f < N; ++f) {
        const auto o = pool.owner_of(FrameIndex(f));
        ASSERT_EQ(o.ok(), model[f] != -1);
        if (o.ok()) {
            ASSERT_EQ(o.value(), ProcessId(static_cast<std::uint32_t>(model[f])));
        }
    }
    EXPECT_EQ(pool.free_count(), static_cast<std::size_t>(std::count(model.begin(), model.end(), -1)));
    EXPECT_GT(full, 0u);
    EXPECT_GT(not_owned, 0u);
    EXPECT_GT(not_claimed, 0u);
}

TEST(UserFramePool, UsableAtCompileTime) {
    constexpr std::size_t free_after = [] {
        hb::UserFramePool<4> pool;
        const FrameIndex f = pool.claim(kA).value();
        (void)pool.claim(kB);
        (void)pool.release(kA, f);
        return pool.free_count();
    }();
    static_assert(free_after == 3);
}

// --- FrameRegion -----------------------------------------------------------------

TEST(FrameRegion, IndicesAndAddressesConvertBothWays) {
    constexpr FrameRegion r{0x88000000, 16};
    EXPECT_EQ(r.pa_of(FrameIndex(0)), 0x88000000u);
    EXPECT_EQ(r.pa_of(FrameIndex(15)), 0x88000000u + 15 * K4);
    for (std::uint32_t i = 0; i < 16; ++i) {
        const auto f = r.frame_of(r.pa_of(FrameIndex(i)));
        ASSERT_TRUE(f.ok());
        EXPECT_EQ(f.value(), FrameIndex(i));
    }
}

TEST(FrameRegion, AddressesThatAreNotFramesAreRefused) {
    constexpr FrameRegion r{0x88000000, 16};
    EXPECT_EQ(r.frame_of(0x88000000 - K4).error(), FrameError::OutOfRange);
    EXPECT_EQ(r.frame_of(0x88000000 + 16 * K4).error(), FrameError::OutOfRange);
    EXPECT_EQ(r.frame_of(0).error(), FrameError::OutOfRange);
    EXPECT_EQ(r.frame_of(~std::uint64_t{0}).error(), FrameError::OutOfRange);
    EXPECT_EQ(r.frame_of(0x88000008).error(), FrameError::Misaligned);
    EXPECT_EQ(r.frame_of(0x88000000 + 16 * K4 - 1).error(), FrameError::Misaligned);
}

TEST(FrameErrorNames, EveryErrorHasItsOwnName) {
    const FrameError all[] = {FrameError::None,       FrameError::RejectedFull, FrameError::NotOwned,
                              FrameError::NotClaimed, FrameError::OutOfRange,   FrameError::Misaligned};
    std::set<std::string> names;
    for (FrameError e : all) names.insert(hb::frame_error_name(e));
    EXPECT_EQ(names.size(), std::size(all));
    EXPECT_EQ(names.count("?"), 0u);
    EXPECT_STREQ(hb::frame_error_name(static_cast<FrameError>(99)), "?");
}

// --- map_user_page ------------------------------------------------------------

class MapUserPage : public UserSpace {
protected:
    hb::UserFramePool<8> pool;
    FrameRegion region{0x88000000, 8};
};

TEST_F(MapUserPage, AnOwnedFrameMapsAtAUserAddress) {
    const FrameIndex f = pool.claim(kA).value();
    const auto out = hb::map_user_page(process, pool, region, kA, 0x40001000, f, RW | U);
    ASSERT_TRUE(out.ok());
    const auto t = process.translate(0x40001000);
    ASSERT_TRUE(t.mapped);
    EXPECT_EQ(t.pa, region.pa_of(f));
    EXPECT_EQ(t.level, 0);
    EXPECT_EQ(t.flags & sv39::kPermMask, RW | U);
    EXPECT_TRUE(hb::user_pointer_ok(process, 0x40001000, K4, UserAccess::Write));
    // And the way back: translate, unmap, frame_of, release.
    ASSERT_EQ(process.unmap(0x40001000, K4), MapError::None);
    const auto back = region.frame_of(t.pa);
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(pool.release(kA, back.value()), FrameError::None);
}

TEST_F(MapUserPage, AFrameTheProcessDoesNotOwnIsRefused) {
    const FrameIndex theirs = pool.claim(kB).value();
    const auto out = hb::map_user_page(process, pool, region, kA, 0x40001000, theirs, RW | U);
    EXPECT_EQ(out.error, UserMapError::Frame);
    EXPECT_EQ(out.frame, FrameError::NotOwned);
    EXPECT_EQ(out.map, MapError::None) << "the page table was not asked";
    EXPECT_FALSE(process.translate(0x40001000).mapped);
    EXPECT_EQ(ppool.used(), 1u) << "no table was allocated for a refused page";

    const auto free_frame = hb::map_user_page(process, pool, region, kA, 0x40001000, FrameIndex(5), RW | U);
    EXPECT_EQ(free_frame.error, UserMapError::Frame);
    EXPECT_EQ(free_frame.frame, FrameError::NotClaimed);

    const auto foreign = hb::map_user_page(process, pool, region, kA, 0x40001000, FrameIndex(8), RW | U);
    EXPECT_EQ(foreign.error, UserMapError::Frame);
    EXPECT_EQ(foreign.frame, FrameError::OutOfRange);
}

TEST_F(MapUserPage, ARegionSmallerThanThePoolBoundsTheFrames) {
    FrameRegion small{0x88000000, 2};
    FrameIndex f{};
    for (int i = 0; i < 3; ++i) f = pool.claim(kA).value();
    ASSERT_EQ(f, FrameIndex(2));
    const auto out = hb::map_user_page(process, pool, small, kA, 0x40001000, f, RW | U);
    EXPECT_EQ(out.error, UserMapError::Frame);
    EXPECT_EQ(out.frame, FrameError::OutOfRange);
}

TEST_F(MapUserPage, OutsideTheWindowIsRefused) {
    const FrameIndex f = pool.claim(kA).value();
    for (std::uint64_t va : {std::uint64_t{0x3ffff000}, std::uint64_t{0x80000000}, std::uint64_t{0x80400000},
                             std::uint64_t{0}, ~std::uint64_t{0} - K4 + 1}) {
        const auto out = hb::map_user_page(process, pool, region, kA, va, f, RW | U);
        EXPECT_EQ(out.error, UserMapError::OutsideWindow) << std::hex << va;
    }
    EXPECT_EQ(ppool.used(), 1u);
}

TEST_F(MapUserPage, FlagsMustBeUserAndNotGlobal) {
    const FrameIndex f = pool.claim(kA).value();
    EXPECT_EQ(hb::map_user_page(process, pool, region, kA, 0x40001000, f, RW).error, UserMapError::NotUserFlags);
    EXPECT_EQ(hb::map_user_page(process, pool, region, kA, 0x40001000, f, RW | U | sv39::kGlobal).error,
              UserMapError::NotUserFlags);
    EXPECT_FALSE(process.translate(0x40001000).mapped);
}

TEST_F(MapUserPage, PageTableRefusalsCarryTheirReason) {
    const FrameIndex f = pool.claim(kA).value();
    ASSERT_TRUE(hb::map_user_page(process, pool, region, kA, 0x40001000, f, RW | U).ok());
    const auto twice = hb::map_user_page(process, pool, region, kA, 0x40001000, f, RW | U);
    EXPECT_EQ(twice.error, UserMapError::PageTable);
    EXPECT_EQ(twice.map, MapError::AlreadyMapped);
    const auto misaligned = hb::map_user_page(process, pool, region, kA, 0x40002004, f, RW | U);
    EXPECT_EQ(misaligned.error, UserMapError::PageTable);
    EXPECT_EQ(misaligned.map, MapError::Misaligned);
    const auto bad = hb::map_user_page(process, pool, region, kA, 0x40002000, f, sv39::kWrite | U);
    EXPECT_EQ(bad.error, UserMapError::PageTable);
    EXPECT_EQ(bad.map, MapError::BadFlags);
}

}  // namespace
