// Sv39 page tables (lib/sv39.hpp): the builder and the walker.
//
// Rules under test: 2 MiB megapages are used only where va, pa and the
// remaining size are all 2 MiB aligned (and allow_mega is set); a walk finds
// exactly what was mapped, with the page offset carried through, and nothing
// else (guard pages stay holes); leaves carry the requested permissions plus
// V, A and D; every bad request is an error, not a corrupt table; and a pool
// that runs dry stops the mapping cleanly.
#include "lib/sv39.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <random>
#include <set>
#include <string>

#include "lib/asm_abi.h"

namespace {

namespace sv39 = hb::sv39;
using sv39::AddressSpace;
using sv39::MapError;
using sv39::PageTable;
using sv39::TablePool;

constexpr std::uint64_t K4 = sv39::kPageSize;
constexpr std::uint64_t M2 = sv39::kMegaPageSize;
constexpr std::uint64_t G1 = M2 * 512;
constexpr std::uint64_t RW = sv39::kRead | sv39::kWrite;
constexpr std::uint64_t RX = sv39::kRead | sv39::kExec;
constexpr std::uint64_t kLeafAuto = sv39::kValid | sv39::kAccessed | sv39::kDirty;

// The pool storage. Table addresses double as physical addresses; on the
// host they are just the addresses of these pages, which the walker follows.
constexpr std::size_t kPoolPages = 64;
alignas(4096) PageTable g_tables[kPoolPages];

std::uint64_t addr(const void* p) { return reinterpret_cast<std::uintptr_t>(p); }

/// A PTE pointing at the next-level table `t`.
std::uint64_t pointer_pte(const PageTable* t) { return ((addr(t) >> 12) << 10) | sv39::kValid; }

std::size_t vpn(std::uint64_t va, int level) { return (va >> (12 + 9 * level)) & 0x1ff; }

/// Follows a pointer PTE.
const PageTable* next_table(std::uint64_t pte) {
    return reinterpret_cast<const PageTable*>((pte >> 10) << 12);
}

class Sv39 : public ::testing::Test {
protected:
    TablePool pool{g_tables, kPoolPages};
    AddressSpace as{pool};

    void expect_maps(std::uint64_t va, std::uint64_t pa, int level, std::uint64_t flags) {
        const sv39::Translation t = as.translate(va);
        EXPECT_TRUE(t.mapped) << std::hex << "va 0x" << va;
        EXPECT_EQ(t.pa, pa) << std::hex << "va 0x" << va;
        EXPECT_EQ(t.level, level) << std::hex << "va 0x" << va;
        EXPECT_EQ(t.flags, flags | kLeafAuto) << std::hex << "va 0x" << va;
    }
    void expect_unmapped(std::uint64_t va) {
        const sv39::Translation t = as.translate(va);
        EXPECT_FALSE(t.mapped) << std::hex << "va 0x" << va << " maps to 0x" << t.pa;
        EXPECT_EQ(t.level, -1);
    }
};

TEST_F(Sv39, FreshSpaceHasOnlyTheRootAndMapsNothing) {
    ASSERT_TRUE(as.ok());
    EXPECT_EQ(pool.used(), 1u);
    EXPECT_EQ(pool.capacity(), kPoolPages);
    EXPECT_EQ(as.root(), &g_tables[0]);
    for (std::uint64_t e : g_tables[0].entry) EXPECT_EQ(e, 0u);
    expect_unmapped(0);
    expect_unmapped(0x80000000);
    expect_unmapped(0xffffffffc0000000);
}

TEST_F(Sv39, PoolHandsOutZeroedTables) {
    // Dirty the storage of the next table; alloc must clear it.
    for (auto& e : g_tables[1].entry) e = 0xdeadbeefdeadbeef;
    PageTable* t = pool.alloc();
    ASSERT_EQ(t, &g_tables[1]);
    for (std::uint64_t e : t->entry) EXPECT_EQ(e, 0u);
    EXPECT_EQ(pool.used(), 2u);
}

TEST_F(Sv39, SmallPageTranslatesWithOffset) {
    ASSERT_EQ(as.map(0x80200000, 0x90000000, K4, RW), MapError::None);
    expect_maps(0x80200000, 0x90000000, 0, RW);
    expect_maps(0x80200001, 0x90000001, 0, RW);
    expect_maps(0x80200abc, 0x90000abc, 0, RW);
    expect_maps(0x80200fff, 0x90000fff, 0, RW);
    expect_unmapped(0x80201000);  // the next page
    expect_unmapped(0x801ff000);  // the page before
    expect_unmapped(0x801fffff);
    // root + one level-1 table + one level-0 table.
    EXPECT_EQ(pool.used(), 3u);
}

TEST_F(Sv39, MegapageWhenEverythingIsAligned) {
    ASSERT_EQ(as.map(0x80000000, 0x80000000, 2 * M2, RW | sv39::kExec), MapError::None);
    expect_maps(0x80000000, 0x80000000, 1, RW | sv39::kExec);
    expect_maps(0x80000000 + M2 - 1, 0x80000000 + M2 - 1, 1, RW | sv39::kExec);
    expect_maps(0x80000000 + M2 + 0x12345, 0x80000000 + M2 + 0x12345, 1, RW | sv39::kExec);
    expect_unmapped(0x80000000 + 2 * M2);
    expect_unmapped(0x80000000 - 1);
    // Megapages need no level-0 table: root + one level-1 table.
    EXPECT_EQ(pool.used(), 2u);
}

TEST_F(Sv39, MegapageTranslatesToADifferentPhysicalBase) {
    ASSERT_EQ(as.map(0x40000000, 0x88000000, M2, RW), MapError::None);
    expect_maps(0x40000000 + 0x1abcde, 0x88000000 + 0x1abcde, 1, RW);
}

TEST_F(Sv39, NoMegapageWhenPhysicalAddressIsNotAligned) {
    ASSERT_EQ(as.map(0x80000000, 0x80001000, M2, RW), MapError::None);
    for (std::uint64_t off = 0; off < M2; off += K4) {
        const auto t = as.translate(0x80000000 + off);
        ASSERT_TRUE(t.mapped) << off;
        ASSERT_EQ(t.level, 0) << off;
        ASSERT_EQ(t.pa, 0x80001000 + off) << off;
    }
    expect_unmapped(0x80000000 + M2);
}

TEST_F(Sv39, NoMegapageWhenVirtualAddressIsNotAligned) {
    ASSERT_EQ(as.map(0x80001000, 0x80000000, M2, RW), MapError::None);
    expect_maps(0x80001000, 0x80000000, 0, RW);
    expect_maps(0x80001000 + M2 - K4, 0x80000000 + M2 - K4, 0, RW);
    expect_unmapped(0x80000000);
}

TEST_F(Sv39, NoMegapageWhenTheRemainingSizeIsShort) {
    ASSERT_EQ(as.map(0x80000000, 0x80000000, M2 - K4, RW), MapError::None);
    expect_maps(0x80000000, 0x80000000, 0, RW);
    expect_maps(0x80000000 + M2 - 2 * K4, 0x80000000 + M2 - 2 * K4, 0, RW);
    expect_unmapped(0x80000000 + M2 - K4);
}

TEST_F(Sv39, NoMegapageWhenNotAllowed) {
    ASSERT_EQ(as.map(0x80000000, 0x80000000, M2, RW, /*allow_mega=*/false), MapError::None);
    expect_maps(0x80000000, 0x80000000, 0, RW);
    expect_maps(0x80000000 + M2 - K4, 0x80000000 + M2 - K4, 0, RW);
    EXPECT_EQ(pool.used(), 3u);  // root, level 1, one level-0 table
}

TEST_F(Sv39, MixedRangeUsesSmallPagesAroundAMegapage) {
    // One page before a 2 MiB boundary, a whole megapage, one page after.
    const std::uint64_t base = 0x80000000 + M2 - K4;
    ASSERT_EQ(as.map(base, base, K4 + M2 + K4, RW), MapError::None);
    expect_maps(base, base, 0, RW);
    expect_maps(base + K4, base + K4, 1, RW);
    expect_maps(base + K4 + M2 - 1, base + K4 + M2 - 1, 1, RW);
    expect_maps(base + K4 + M2, base + K4 + M2, 0, RW);
    expect_unmapped(base - K4);
    expect_unmapped(base + 2 * K4 + M2);
}

TEST_F(Sv39, HighHalfCanonicalAddressesMap) {
    const std::uint64_t va = 0xffffffc000000000;  // the lowest high-half address
    ASSERT_TRUE(AddressSpace::canonical(va));
    ASSERT_EQ(as.map(va, 0x80000000, M2 + K4, RW | sv39::kGlobal), MapError::None);
    expect_maps(va + 0x1234, 0x80001234, 1, RW | sv39::kGlobal);
    expect_maps(va + M2, 0x80000000 + M2, 0, RW | sv39::kGlobal);
    expect_unmapped(0x0000004000000000 - 1);  // top of the low half
    expect_unmapped(0);
}

// The kernel's stack layout: 64 KiB slots whose lowest page is a guard page.
// Mapping each slot without its guard must leave every guard page a hole
// (so an overflow faults) and every stack page mapped.
TEST_F(Sv39, StackSlotsKeepTheirGuardPagesUnmapped) {
    constexpr std::uint64_t kSlot = HB_STACK_SLOT_SIZE;
    constexpr std::uint64_t kGuard = HB_PAGE_SIZE;
    static_assert(HB_STACK_SIZE == kSlot - kGuard);
    constexpr std::uint64_t kSlots = 40;  // 2.5 MiB: crosses a 2 MiB boundary
    const std::uint64_t va0 = 0xffffffd000000000;
    const std::uint64_t pa0 = 0x80400000;
    for (std::uint64_t s = 0; s < kSlots; ++s) {
        ASSERT_EQ(as.map(va0 + s * kSlot + kGuard, pa0 + s * kSlot + kGuard, HB_STACK_SIZE, RW),
                  MapError::None)
            << "slot " << s;
    }
    std::uint64_t guards = 0, mapped = 0;
    for (std::uint64_t s = 0; s < kSlots; ++s) {
        const std::uint64_t slot = va0 + s * kSlot;
        const auto g = as.translate(slot);
        EXPECT_FALSE(g.mapped) << "guard page of slot " << s << " is mapped";
        EXPECT_FALSE(as.translate(slot + kGuard - 1).mapped) << "last byte of guard " << s;
        guards += g.mapped ? 0 : 1;
        for (std::uint64_t off = kGuard; off < kSlot; off += K4) {
            const auto t = as.translate(slot + off + 8);
            EXPECT_TRUE(t.mapped) << "slot " << s << " offset " << off;
            EXPECT_EQ(t.pa, pa0 + s * kSlot + off + 8);
            EXPECT_EQ(t.level, 0) << "a stack must never be covered by a megapage";
            mapped += t.mapped ? 1 : 0;
        }
    }
    EXPECT_EQ(guards, kSlots);
    EXPECT_EQ(mapped, kSlots * (HB_STACK_SIZE / K4));
    expect_unmapped(va0 + kSlots * kSlot);
    // root + one level-1 table + two level-0 tables (the range crosses 2 MiB).
    EXPECT_EQ(pool.used(), 4u);
}

TEST_F(Sv39, PermissionBitsAndAccessedDirtyArePreset) {
    const struct {
        std::uint64_t va;
        std::uint64_t flags;
    } cases[] = {
        {0x1000, sv39::kRead},
        {0x2000, RW},
        {0x3000, RX},
        {0x4000, sv39::kExec},  // execute-only is legal
        {0x5000, RW | sv39::kExec},
        {0x6000, RW | sv39::kUser},
        {0x7000, RX | sv39::kUser},
        {0x8000, RW | sv39::kGlobal},
        {0x9000, sv39::kPermMask},
    };
    for (const auto& c : cases) {
        ASSERT_EQ(as.map(c.va, 0x80000000 + c.va, K4, c.flags), MapError::None) << c.flags;
    }
    for (const auto& c : cases) {
        const auto t = as.translate(c.va);
        ASSERT_TRUE(t.mapped);
        EXPECT_EQ(t.flags, c.flags | sv39::kValid | sv39::kAccessed | sv39::kDirty)
            << std::hex << "requested 0x" << c.flags;
        EXPECT_EQ(t.flags & sv39::kUser, c.flags & sv39::kUser);
        EXPECT_EQ(t.flags & sv39::kGlobal, c.flags & sv39::kGlobal);
    }
}

TEST_F(Sv39, RawEntriesAreEncodedAsTheHardwareExpects) {
    const std::uint64_t va = 0x80203000;  // vpn2 = 2, vpn1 = 1, vpn0 = 3
    const std::uint64_t pa = 0x87654000;
    ASSERT_EQ(vpn(va, 2), 2u);
    ASSERT_EQ(vpn(va, 1), 1u);
    ASSERT_EQ(vpn(va, 0), 3u);
    ASSERT_EQ(as.map(va, pa, K4, RX | sv39::kGlobal), MapError::None);
    // Allocation order is root, level 1, level 0.
    const PageTable& root = g_tables[0];
    const PageTable& l1 = g_tables[1];
    const PageTable& l0 = g_tables[2];

    // Pointer entries: PPN of the next table, V set, no R/W/X (and no A/D/U).
    EXPECT_EQ(root.entry[2], pointer_pte(&l1));
    EXPECT_EQ(root.entry[2] & (sv39::kRead | sv39::kWrite | sv39::kExec), 0u);
    EXPECT_EQ(next_table(root.entry[2]), &l1);
    EXPECT_EQ(l1.entry[1], pointer_pte(&l0));
    EXPECT_EQ(l1.entry[1] & (sv39::kRead | sv39::kWrite | sv39::kExec), 0u);

    // The leaf: PPN << 10 | flags | V | A | D.
    EXPECT_EQ(l0.entry[3], ((pa >> 12) << 10) | RX | sv39::kGlobal | kLeafAuto);
    EXPECT_EQ(l0.entry[3] >> 10, pa >> 12);

    // Nothing else was written.
    for (std::size_t i = 0; i < sv39::kEntries; ++i) {
        EXPECT_EQ(root.entry[i], i == 2 ? pointer_pte(&l1) : 0u) << "root " << i;
        EXPECT_EQ(l1.entry[i], i == 1 ? pointer_pte(&l0) : 0u) << "l1 " << i;
        EXPECT_NE(l0.entry[i] == 0, i == 3) << "l0 " << i;
    }
}

TEST_F(Sv39, RawMegapageLeafSitsInTheLevelOneTable) {
    const std::uint64_t va = 0xc0400000;  // vpn2 = 3, vpn1 = 2
    ASSERT_EQ(as.map(va, 0x80200000, M2, RW), MapError::None);
    EXPECT_EQ(g_tables[0].entry[3], pointer_pte(&g_tables[1]));
    EXPECT_EQ(g_tables[1].entry[2], ((0x80200000ull >> 12) << 10) | RW | kLeafAuto);
    EXPECT_EQ(pool.used(), 2u);
}

TEST_F(Sv39, WalkerUnderstandsAGigapageLeaf) {
    // The builder never makes 1 GiB leaves, but the walker must follow the
    // MMU: a leaf in the root maps 1 GiB.
    g_tables[0].entry[1] = ((0x80000000ull >> 12) << 10) | RW | kLeafAuto;
    expect_maps(G1 + 0x2345678, 0x80000000 + 0x2345678, 2, RW);
    // And the builder refuses to map inside it.
    EXPECT_EQ(as.map(G1 + M2, 0x90000000, K4, RW), MapError::AlreadyMapped);
    EXPECT_EQ(as.map(G1, 0x90000000, M2, RW), MapError::AlreadyMapped);
    EXPECT_EQ(pool.used(), 1u);
}

TEST_F(Sv39, SatpSelectsSv39AndPointsAtTheRoot) {
    const std::uint64_t satp = as.satp();
    EXPECT_EQ(satp >> 60, 8u) << "MODE = 8 is Sv39";
    EXPECT_EQ((satp >> 44) & 0xffff, 0u) << "ASID is 0";
    EXPECT_EQ(satp & ((std::uint64_t{1} << 44) - 1), addr(&g_tables[0]) >> 12);
    EXPECT_EQ((satp & ((std::uint64_t{1} << 44) - 1)) << 12, addr(as.root()));
}

TEST_F(Sv39, PoolAccountingSharesIntermediateTables) {
    ASSERT_EQ(as.map(0x80000000, 0x80000000, K4, RW), MapError::None);
    EXPECT_EQ(pool.used(), 3u);
    ASSERT_EQ(as.map(0x80001000, 0x80001000, K4, RW), MapError::None);
    EXPECT_EQ(pool.used(), 3u) << "same 2 MiB region: same level-0 table";
    ASSERT_EQ(as.map(0x80000000 + M2, 0x80000000 + M2, K4, RW), MapError::None);
    EXPECT_EQ(pool.used(), 4u) << "next 2 MiB region: a new level-0 table";
    ASSERT_EQ(as.map(0x80000000 + 4 * M2, 0x80000000 + 4 * M2, M2, RW), MapError::None);
    EXPECT_EQ(pool.used(), 4u) << "megapage in the same 1 GiB region needs no table";
    ASSERT_EQ(as.map(0x80000000 + G1, 0x80000000, M2, RW), MapError::None);
    EXPECT_EQ(pool.used(), 5u) << "next 1 GiB region: a new level-1 table";
}

TEST_F(Sv39, MisalignedRequestsAreRefusedBeforeAnythingIsAllocated) {
    EXPECT_EQ(as.map(0x80000001, 0x80000000, K4, RW), MapError::Misaligned);
    EXPECT_EQ(as.map(0x80000000, 0x80000800, K4, RW), MapError::Misaligned);
    EXPECT_EQ(as.map(0x80000000, 0x80000000, K4 + 1, RW), MapError::Misaligned);
    EXPECT_EQ(as.map(0x80000000, 0x80000000, 100, RW), MapError::Misaligned);
    EXPECT_EQ(pool.used(), 1u);
    expect_unmapped(0x80000000);
}

TEST_F(Sv39, BadFlagsAreRefusedBeforeAnythingIsAllocated) {
    const std::uint64_t bad[] = {
        0,                                   // no permission at all
        sv39::kWrite,                        // W without R is reserved
        sv39::kWrite | sv39::kExec,          // still W without R
        sv39::kUser,                         // neither R nor X
        sv39::kGlobal | sv39::kUser,         // neither R nor X
        sv39::kRead | sv39::kValid,          // V is the builder's, not the caller's
        sv39::kRead | sv39::kAccessed,       // A/D are preset by the builder
        sv39::kRead | sv39::kDirty,
        sv39::kRead | (1u << 8),             // RSW
        sv39::kRead | (std::uint64_t{1} << 10),  // would land in the PPN
        sv39::kRead | (std::uint64_t{1} << 63),  // reserved high bits
    };
    for (std::uint64_t f : bad) {
        EXPECT_EQ(as.map(0x80000000, 0x80000000, K4, f), MapError::BadFlags) << std::hex << "0x" << f;
    }
    EXPECT_EQ(pool.used(), 1u);
    expect_unmapped(0x80000000);
}

TEST_F(Sv39, SamePageTwiceIsAlreadyMapped) {
    ASSERT_EQ(as.map(0x80000000, 0x80000000, K4, RW), MapError::None);
    EXPECT_EQ(as.map(0x80000000, 0x90000000, K4, RX), MapError::AlreadyMapped);
    // The first mapping is untouched.
    expect_maps(0x80000000, 0x80000000, 0, RW);
}

TEST_F(Sv39, OverlappingRangeStopsAtTheFirstMappedPage) {
    ASSERT_EQ(as.map(0x80002000, 0x80002000, K4, RW), MapError::None);
    EXPECT_EQ(as.map(0x80000000, 0x90000000, 4 * K4, RX), MapError::AlreadyMapped);
    // Pages before the clash were mapped, the clash kept its mapping, and
    // the page after it was not reached.
    expect_maps(0x80000000, 0x90000000, 0, RX);
    expect_maps(0x80001000, 0x90001000, 0, RX);
    expect_maps(0x80002000, 0x80002000, 0, RW);
    expect_unmapped(0x80003000);
}

TEST_F(Sv39, SmallPageInsideAMegapageIsAlreadyMapped) {
    ASSERT_EQ(as.map(0x80000000, 0x80000000, M2, RW), MapError::None);
    const std::size_t used = pool.used();
    EXPECT_EQ(as.map(0x80000000, 0x90000000, K4, RW), MapError::AlreadyMapped);
    EXPECT_EQ(as.map(0x80000000 + 0x5000, 0x90000000, K4, RW), MapError::AlreadyMapped);
    EXPECT_EQ(as.map(0x80000000 + M2 - K4, 0x90000000, K4, RW), MapError::AlreadyMapped);
    EXPECT_EQ(pool.used(), used) << "no level-0 table under a megapage";
    expect_maps(0x80005000, 0x80005000, 1, RW);
}

TEST_F(Sv39, MegapageOverSmallPagesIsAlreadyMapped) {
    ASSERT_EQ(as.map(0x80000000 + 0x7000, 0x80007000, K4, RW), MapError::None);
    EXPECT_EQ(as.map(0x80000000, 0x80000000, M2, RW), MapError::AlreadyMapped);
    expect_maps(0x80007000, 0x80007000, 0, RW);
    expect_unmapped(0x80000000);
}

TEST_F(Sv39, NotCanonicalAddressesAreRefused) {
    EXPECT_FALSE(AddressSpace::canonical(std::uint64_t{1} << 38));
    EXPECT_FALSE(AddressSpace::canonical(0x0000800000000000));
    EXPECT_FALSE(AddressSpace::canonical(0xffffffbfffffffff));
    EXPECT_FALSE(AddressSpace::canonical(0x8000000000000000));
    EXPECT_TRUE(AddressSpace::canonical(0));
    EXPECT_TRUE(AddressSpace::canonical((std::uint64_t{1} << 38) - 1));
    EXPECT_TRUE(AddressSpace::canonical(0xffffffc000000000));
    EXPECT_TRUE(AddressSpace::canonical(~std::uint64_t{0}));

    EXPECT_EQ(as.map(std::uint64_t{1} << 38, 0x80000000, K4, RW), MapError::NotCanonical);
    EXPECT_EQ(as.map(0x0000800000000000, 0x80000000, M2, RW), MapError::NotCanonical);
    EXPECT_EQ(pool.used(), 1u);
    // A non-canonical address never translates, even though its low 39
    // bits would select a mapped entry.
    ASSERT_EQ(as.map(0, 0x80000000, K4, RW), MapError::None);
    expect_unmapped(std::uint64_t{1} << 39);
    expect_unmapped(0x1000000000000000);
}

TEST_F(Sv39, RangeRunningOffTheLowHalfStopsAtTheEdge) {
    const std::uint64_t top = (std::uint64_t{1} << 38) - K4;  // last low-half page
    EXPECT_EQ(as.map(top, 0x80000000, 2 * K4, RW), MapError::NotCanonical);
    expect_maps(top, 0x80000000, 0, RW);
}

TEST(Sv39Pool, RootlessSpaceIsNotOk) {
    TablePool empty{g_tables, 0};
    AddressSpace as{empty};
    EXPECT_FALSE(as.ok());
    EXPECT_EQ(empty.used(), 0u);
    EXPECT_FALSE(as.translate(0).mapped);
}

// A pool with no page even for the root: map() reports OutOfTables instead
// of following a null root (it crashed before sv39.hpp checked for it).
TEST(Sv39Pool, MapOnARootlessSpaceIsAnErrorNotACrash) {
    TablePool empty{g_tables, 0};
    AddressSpace as{empty};
    EXPECT_EQ(as.map(0x80000000, 0x80000000, K4, RW), MapError::OutOfTables);
}

TEST(Sv39Pool, OutOfTablesWithOnlyARoot) {
    TablePool pool{g_tables, 1};
    AddressSpace as{pool};
    ASSERT_TRUE(as.ok());
    EXPECT_EQ(as.map(0x80000000, 0x80000000, K4, RW), MapError::OutOfTables);
    EXPECT_EQ(as.map(0x80000000, 0x80000000, M2, RW), MapError::OutOfTables);
    EXPECT_EQ(pool.used(), 1u);
    for (std::uint64_t e : g_tables[0].entry) EXPECT_EQ(e, 0u) << "root stays empty";
}

TEST(Sv39Pool, MegapageFitsWhereASmallPageDoesNot) {
    TablePool pool{g_tables, 2};
    AddressSpace as{pool};
    EXPECT_EQ(as.map(0x80000000, 0x80000000, K4, RW), MapError::OutOfTables);
    EXPECT_FALSE(as.translate(0x80000000).mapped);
    // The level-1 table it did get is reused for a megapage.
    EXPECT_EQ(as.map(0x80200000, 0x80200000, M2, RW), MapError::None);
    EXPECT_TRUE(as.translate(0x80200000).mapped);
    EXPECT_EQ(pool.used(), 2u);
}

TEST(Sv39Pool, RunningDryMidRangeStopsCleanly) {
    // Room for root, one level-1 and one level-0 table: the second 2 MiB
    // region needs another level-0 table that is not there.
    TablePool pool{g_tables, 3};
    AddressSpace as{pool};
    const std::uint64_t va = 0x80000000 + M2 - 2 * K4;
    EXPECT_EQ(as.map(va, 0x90000000, 4 * K4, RW, /*allow_mega=*/false), MapError::OutOfTables);
    EXPECT_EQ(pool.used(), 3u);
    EXPECT_TRUE(as.translate(va).mapped);
    EXPECT_TRUE(as.translate(va + K4).mapped);
    EXPECT_FALSE(as.translate(va + 2 * K4).mapped);
    EXPECT_FALSE(as.translate(va + 3 * K4).mapped);
    // The space is still usable where tables exist, and consistent.
    EXPECT_EQ(as.map(0x80000000, 0x91000000, K4, RW), MapError::None);
    EXPECT_EQ(as.translate(0x80000000).pa, 0x91000000u);
    EXPECT_EQ(as.map(va, 0x90000000, K4, RW), MapError::AlreadyMapped);
    EXPECT_EQ(as.map(va + 2 * K4, 0x90000000, K4, RW), MapError::OutOfTables);
}

TEST(Sv39Names, EveryErrorHasItsOwnName) {
    const MapError all[] = {MapError::None,          MapError::OutOfTables, MapError::Misaligned,
                            MapError::AlreadyMapped, MapError::NotCanonical, MapError::BadFlags};
    std::set<std::string> names;
    for (MapError e : all) {
        const std::string n = sv39::map_error_name(e);
        EXPECT_NE(n, "unknown");
        names.insert(n);
    }
    EXPECT_EQ(names.size(), std::size(all));
    EXPECT_STREQ(sv39::map_error_name(static_cast<MapError>(99)), "unknown");
}

// Random page mappings in a small window against a reference model: every
// page the model holds translates exactly, every other page is a hole, and
// a clash is reported exactly when the model already has the page.
TEST_F(Sv39, RandomSmallPagesMatchAModel) {
    std::mt19937_64 rng(20240601);
    const std::uint64_t base = 0xffffffe000000000;
    constexpr std::uint64_t kWindowPages = 2048;  // 8 MiB: four level-0 tables
    std::map<std::uint64_t, std::uint64_t> model;  // page index -> pa
    for (int i = 0; i < 3000; ++i) {
        const std::uint64_t page = rng() % kWindowPages;
        const std::uint64_t pa = (0x100000 + (rng() % 0x100000)) * K4;
        const MapError e = as.map(base + page * K4, pa, K4, RW);
        if (model.count(page) != 0) {
            ASSERT_EQ(e, MapError::AlreadyMapped) << page;
        } else {
            ASSERT_EQ(e, MapError::None) << page;
            model[page] = pa;
        }
    }
    for (std::uint64_t page = 0; page < kWindowPages; ++page) {
        const auto t = as.translate(base + page * K4 + 0x10);
        const auto it = model.find(page);
        if (it == model.end()) {
            ASSERT_FALSE(t.mapped) << page;
        } else {
            ASSERT_TRUE(t.mapped) << page;
            ASSERT_EQ(t.pa, it->second + 0x10) << page;
            ASSERT_EQ(t.level, 0);
        }
    }
    EXPECT_EQ(pool.used(), 1u + 1u + 4u);
}

}  // namespace
