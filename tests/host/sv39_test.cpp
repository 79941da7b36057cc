// Sv39 page tables (lib/sv39.hpp): the builder and the walker.
//
// Rules under test: 2 MiB megapages are used only where va, pa and the
// remaining size are all 2 MiB aligned (and allow_mega is set); a walk finds
// exactly what was mapped, with the page offset carried through, and nothing
// else (guard pages stay holes); leaves carry the requested permissions plus
// V, A and D; every bad request is an error, not a corrupt table; and a pool
// that runs dry stops the mapping cleanly.
//
// Chapter 06 additions: unmap clears exactly the 4 KiB leaves asked for or
// nothing at all (every refusal leaves the tables byte-for-byte unchanged),
// keeps the intermediate tables, and refuses megapages; share_root_slots
// makes a process root point at the kernel's own tables, so later kernel
// mappings inside those slots show up in the process, and refuses to let the
// process write through a borrowed slot; user_range_ok accepts exactly the
// ranges whose every page is mapped U with the needed permission.
#include "lib/sv39.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>
#include <algorithm>

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
    const MapError all[] = {MapError::None,          MapError::OutOfTables,  MapError::Misaligned,
                            MapError::AlreadyMapped, MapError::NotCanonical, MapError::BadFlags,
                            MapError::NotMapped,     MapError::IsMegaPage,   MapError::SharedSlot,
                            MapError::BadSlotRange};
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

// --- Chapter 06: unmap --------------------------------------------------------

/// Every entry of every table page in the pool storage, to prove a refusal
/// changed nothing at all.
std::vector<std::uint64_t> all_entries(const PageTable* tables, std::size_t n) {
    std::vector<std::uint64_t> v;
    for (std::size_t t = 0; t < n; ++t) v.insert(v.end(), std::begin(tables[t].entry), std::end(tables[t].entry));
    return v;
}

class Sv39Unmap : public Sv39 {
protected:
    std::vector<std::uint64_t> before() const { return all_entries(g_tables, kPoolPages); }
    void expect_unchanged(const std::vector<std::uint64_t>& b, std::size_t used) {
        EXPECT_EQ(all_entries(g_tables, kPoolPages), b) << "a refused unmap changed a table";
        EXPECT_EQ(pool.used(), used);
    }
};

TEST_F(Sv39Unmap, OnePageBecomesAHoleAndItsNeighboursStay) {
    ASSERT_EQ(as.map(0x40000000, 0x90000000, 3 * K4, RW | sv39::kUser, false), MapError::None);
    const std::size_t used = pool.used();
    EXPECT_EQ(as.unmap(0x40001000, K4), MapError::None);
    expect_maps(0x40000000, 0x90000000, 0, RW | sv39::kUser);
    expect_unmapped(0x40001000);
    expect_unmapped(0x40001fff);
    expect_maps(0x40002000, 0x90002000, 0, RW | sv39::kUser);
    EXPECT_EQ(pool.used(), used) << "unmap allocates nothing";
}

TEST_F(Sv39Unmap, TheLeafIsZeroAndTheIntermediateTablesStay) {
    const std::uint64_t va = 0x80203000;  // vpn2 = 2, vpn1 = 1, vpn0 = 3 (see RawEntries...)
    ASSERT_EQ(as.map(va, 0x87654000, K4, RW), MapError::None);
    const PageTable& root = g_tables[0];
    const PageTable& l1 = g_tables[1];
    const PageTable& l0 = g_tables[2];
    ASSERT_NE(l0.entry[3], 0u);
    ASSERT_EQ(as.unmap(va, K4), MapError::None);
    EXPECT_EQ(l0.entry[3], 0u) << "the whole entry is cleared, not just V";
    // The level-0 table is now empty but still linked: another hart may be
    // walking it until the shootdown completes.
    EXPECT_EQ(root.entry[2], pointer_pte(&l1));
    EXPECT_EQ(l1.entry[1], pointer_pte(&l0));
    for (std::uint64_t e : l0.entry) EXPECT_EQ(e, 0u);
    EXPECT_EQ(pool.used(), 3u);
    // Mapping the page again reuses the tables that stayed.
    ASSERT_EQ(as.map(va, 0x81111000, K4, RX), MapError::None);
    EXPECT_EQ(pool.used(), 3u);
    expect_maps(va, 0x81111000, 0, RX);
}

TEST_F(Sv39Unmap, ARangeAcrossTwoLevelZeroTables) {
    const std::uint64_t va = 0x40000000 + M2 - 2 * K4;
    ASSERT_EQ(as.map(va - K4, 0x90000000, 6 * K4, RW, false), MapError::None);
    ASSERT_EQ(pool.used(), 4u);
    ASSERT_EQ(as.unmap(va, 4 * K4), MapError::None);
    expect_maps(va - K4, 0x90000000, 0, RW);
    for (std::uint64_t i = 0; i < 4; ++i) expect_unmapped(va + i * K4);
    expect_maps(va + 4 * K4, 0x90000000 + 5 * K4, 0, RW);
    EXPECT_EQ(pool.used(), 4u);
}

TEST_F(Sv39Unmap, HighHalfPagesUnmapToo) {
    const std::uint64_t va = 0xffffffd000000000;
    ASSERT_EQ(as.map(va, 0x80400000, 2 * K4, RW | sv39::kGlobal), MapError::None);
    EXPECT_EQ(as.unmap(va, 2 * K4), MapError::None);
    expect_unmapped(va);
    expect_unmapped(va + K4);
}

TEST_F(Sv39Unmap, TheLastPageOfEachHalfUnmapsWithoutWrapping) {
    const std::uint64_t low_top = (std::uint64_t{1} << 38) - K4;
    const std::uint64_t high_top = ~std::uint64_t{0} - K4 + 1;  // 0xffff'ffff'ffff'f000
    ASSERT_EQ(as.map(low_top, 0x80000000, K4, RW), MapError::None);
    ASSERT_EQ(as.map(high_top, 0x80001000, K4, RW), MapError::None);
    EXPECT_EQ(as.unmap(low_top, K4), MapError::None);
    EXPECT_EQ(as.unmap(high_top, K4), MapError::None);
    expect_unmapped(low_top);
    expect_unmapped(high_top);
}

TEST_F(Sv39Unmap, AnEmptyRangeIsANoOp) {
    ASSERT_EQ(as.map(0x40000000, 0x90000000, K4, RW), MapError::None);
    const auto b = before();
    EXPECT_EQ(as.unmap(0x40000000, 0), MapError::None);
    EXPECT_EQ(as.unmap(0x12345000, 0), MapError::None) << "nothing there, nothing asked";
    expect_unchanged(b, pool.used());
}

TEST_F(Sv39Unmap, MisalignedIsRefusedAndNothingChanges) {
    ASSERT_EQ(as.map(0x40000000, 0x90000000, 2 * K4, RW), MapError::None);
    const auto b = before();
    EXPECT_EQ(as.unmap(0x40000001, K4), MapError::Misaligned);
    EXPECT_EQ(as.unmap(0x40000800, K4), MapError::Misaligned);
    EXPECT_EQ(as.unmap(0x40000000, K4 + 1), MapError::Misaligned);
    EXPECT_EQ(as.unmap(0x40000000, 100), MapError::Misaligned);
    EXPECT_EQ(as.unmap(0x40000001, 0), MapError::Misaligned) << "alignment is checked before size";
    expect_unchanged(b, pool.used());
}

TEST_F(Sv39Unmap, NotCanonicalIsRefusedAndNothingChanges) {
    const std::uint64_t low_top = (std::uint64_t{1} << 38) - K4;
    ASSERT_EQ(as.map(low_top, 0x80000000, K4, RW), MapError::None);
    ASSERT_EQ(as.map(0, 0x80001000, K4, RW), MapError::None);
    const auto b = before();
    EXPECT_EQ(as.unmap(std::uint64_t{1} << 38, K4), MapError::NotCanonical);
    EXPECT_EQ(as.unmap(std::uint64_t{1} << 39, K4), MapError::NotCanonical)
        << "its low 39 bits select the mapped page 0, but it is not that page";
    // Running off the top of the low half: the first page is mapped, the
    // second does not exist. map() would stop half way; unmap refuses whole.
    EXPECT_EQ(as.unmap(low_top, 2 * K4), MapError::NotCanonical);
    // A range that wraps past 2^64 into page 0.
    EXPECT_EQ(as.unmap(~std::uint64_t{0} - K4 + 1, 2 * K4), MapError::NotCanonical);
    // A size so large it crosses the hole between the halves.
    EXPECT_EQ(as.unmap(0, std::uint64_t{1} << 63), MapError::NotCanonical);
    expect_unchanged(b, pool.used());
    expect_maps(low_top, 0x80000000, 0, RW);
}

TEST_F(Sv39Unmap, AHoleAnywhereRefusesTheWholeRange) {
    // Pages 0, 1, 3 mapped; 2 is a hole.
    ASSERT_EQ(as.map(0x40000000, 0x90000000, 2 * K4, RW), MapError::None);
    ASSERT_EQ(as.map(0x40003000, 0x90003000, K4, RW), MapError::None);
    const auto b = before();
    EXPECT_EQ(as.unmap(0x40000000, 4 * K4), MapError::NotMapped);
    EXPECT_EQ(as.unmap(0x40001000, 2 * K4), MapError::NotMapped) << "hole at the end";
    EXPECT_EQ(as.unmap(0x40002000, 2 * K4), MapError::NotMapped) << "hole at the start";
    EXPECT_EQ(as.unmap(0x50000000, K4), MapError::NotMapped) << "no level-1 entry at all";
    EXPECT_EQ(as.unmap(0x40200000, K4), MapError::NotMapped) << "no level-0 table";
    expect_unchanged(b, pool.used());
    expect_maps(0x40000000, 0x90000000, 0, RW);
    expect_maps(0x40001000, 0x90001000, 0, RW);
    expect_maps(0x40003000, 0x90003000, 0, RW);
}

TEST_F(Sv39Unmap, UnmappingTwiceIsNotMapped) {
    ASSERT_EQ(as.map(0x40000000, 0x90000000, K4, RW), MapError::None);
    ASSERT_EQ(as.unmap(0x40000000, K4), MapError::None);
    EXPECT_EQ(as.unmap(0x40000000, K4), MapError::NotMapped);
}

TEST_F(Sv39Unmap, AMegapageIsRefusedNotSplit) {
    ASSERT_EQ(as.map(0x40000000, 0x80000000, M2, RW), MapError::None);
    ASSERT_EQ(as.map(0x40000000 + M2, 0x90000000, K4, RW), MapError::None);
    const auto b = before();
    EXPECT_EQ(as.unmap(0x40000000, K4), MapError::IsMegaPage);
    EXPECT_EQ(as.unmap(0x40000000 + 0x5000, K4), MapError::IsMegaPage);
    EXPECT_EQ(as.unmap(0x40000000, M2), MapError::IsMegaPage) << "even the whole megapage";
    // A small page followed by the megapage: the small page is not cleared.
    EXPECT_EQ(as.unmap(0x40000000 + M2 - K4, 2 * K4), MapError::IsMegaPage);
    EXPECT_EQ(as.unmap(0x40000000 + M2 - K4, K4), MapError::IsMegaPage);
    expect_unchanged(b, pool.used());
    expect_maps(0x40000000 + M2, 0x90000000, 0, RW);
}

TEST_F(Sv39Unmap, AGigapageIsAMegaPageToo) {
    g_tables[0].entry[1] = ((0x80000000ull >> 12) << 10) | RW | kLeafAuto;
    const auto b = before();
    EXPECT_EQ(as.unmap(G1 + M2, K4), MapError::IsMegaPage);
    expect_unchanged(b, pool.used());
}

TEST_F(Sv39Unmap, TheFirstBadPageInAddressOrderIsReported) {
    ASSERT_EQ(as.map(0x40000000 + M2, 0x80200000, M2, RW), MapError::None);  // megapage
    // [hole ... megapage]: the hole comes first.
    EXPECT_EQ(as.unmap(0x40000000 + M2 - K4, 2 * K4), MapError::NotMapped);
    // [megapage ... hole]: the megapage comes first.
    EXPECT_EQ(as.unmap(0x40000000 + 2 * M2 - K4, 2 * K4), MapError::IsMegaPage);
}

TEST_F(Sv39Unmap, AMalformedLevelZeroPointerIsNotMapped) {
    ASSERT_EQ(as.map(0x40000000, 0x90000000, K4, RW), MapError::None);
    // V set, no R/W/X at level 0: the MMU faults on it, so it maps nothing.
    PageTable& l0 = g_tables[2];
    l0.entry[1] = sv39::kValid | (0x1234ull << 10);
    EXPECT_EQ(as.unmap(0x40001000, K4), MapError::NotMapped);
    EXPECT_EQ(l0.entry[1], sv39::kValid | (0x1234ull << 10));
}

TEST(Sv39UnmapPool, ARootlessSpaceHasNothingToUnmap) {
    TablePool empty{g_tables, 0};
    AddressSpace as{empty};
    EXPECT_EQ(as.unmap(0x40000000, K4), MapError::NotMapped);
    EXPECT_EQ(as.unmap(0x40000000, 0), MapError::None);
}

// Random map/unmap of single pages and short runs against a reference
// model: each call succeeds exactly when the model says every page is in
// the state it needs, and a refused unmap changes no page.
TEST_F(Sv39Unmap, RandomMapAndUnmapMatchAModel) {
    std::mt19937_64 rng(20240606);
    const std::uint64_t base = 0x40000000;
    constexpr std::uint64_t kWindowPages = 1024;  // 4 MiB: two level-0 tables
    std::map<std::uint64_t, std::uint64_t> model;
    std::uint64_t unmapped_ok = 0, unmap_refused = 0;
    for (int i = 0; i < 6000; ++i) {
        const std::uint64_t first = rng() % kWindowPages;
        const std::uint64_t n = 1 + rng() % std::min<std::uint64_t>(6, kWindowPages - first);
        if (rng() % 2 == 0) {
            const std::uint64_t pa = (0x100000 + (rng() % 0x100000)) * K4;
            if (model.count(first) != 0) continue;
            ASSERT_EQ(as.map(base + first * K4, pa, K4, RW | sv39::kUser), MapError::None);
            model[first] = pa;
        } else {
            bool all = true;
            for (std::uint64_t p = first; p < first + n; ++p) all = all && model.count(p) != 0;
            const MapError e = as.unmap(base + first * K4, n * K4);
            if (all) {
                ASSERT_EQ(e, MapError::None);
                for (std::uint64_t p = first; p < first + n; ++p) model.erase(p);
                ++unmapped_ok;
            } else {
                ASSERT_EQ(e, MapError::NotMapped);
                ++unmap_refused;
            }
        }
    }
    for (std::uint64_t page = 0; page < kWindowPages; ++page) {
        const auto t = as.translate(base + page * K4);
        const auto it = model.find(page);
        ASSERT_EQ(t.mapped, it != model.end()) << page;
        if (t.mapped) {
            ASSERT_EQ(t.pa, it->second) << page;
        }
    }
    EXPECT_GT(unmapped_ok, 100u);
    EXPECT_GT(unmap_refused, 100u);
    EXPECT_EQ(pool.used(), 1u + 1u + 2u) << "unmap never adds or drops a table";
}

// --- Chapter 06: sharing the kernel's root slots ------------------------------

constexpr std::size_t kSharePoolPages = 16;
alignas(4096) PageTable g_kernel_tables[kSharePoolPages];
alignas(4096) PageTable g_process_tables[kSharePoolPages];

// A kernel space laid out like vm.cpp's: the test finisher's page in slot 0,
// the image (4 KiB pages, one of them U like .user.text) and the rest of RAM
// (megapages) in slot 2. Slot 1, the user window, stays empty.
class Sv39Share : public ::testing::Test {
protected:
    TablePool kpool{g_kernel_tables, kSharePoolPages};
    AddressSpace kernel{kpool};
    TablePool ppool{g_process_tables, kSharePoolPages};
    AddressSpace process{ppool};

    static constexpr std::uint64_t kFinisher = 0x100000;
    static constexpr std::uint64_t kImage = 0x80200000;
    static constexpr std::uint64_t kUserText = kImage + 8 * K4;

    void SetUp() override {
        ASSERT_EQ(kernel.map(kFinisher, kFinisher, K4, RW | sv39::kGlobal), MapError::None);
        ASSERT_EQ(kernel.map(kImage, kImage, 8 * K4, RX | sv39::kGlobal, false), MapError::None);
        ASSERT_EQ(kernel.map(kUserText, kUserText, K4, RX | sv39::kUser, false), MapError::None);
        ASSERT_EQ(kernel.map(kImage + M2, kImage + M2, 4 * M2, RW | sv39::kGlobal), MapError::None);
        ASSERT_TRUE(process.ok());
    }
    std::vector<std::uint64_t> kernel_entries() const { return all_entries(g_kernel_tables, kSharePoolPages); }
    std::vector<std::uint64_t> process_entries() const { return all_entries(g_process_tables, kSharePoolPages); }
};

TEST_F(Sv39Share, TheProcessRootPointsAtTheKernelsOwnTables) {
    const std::size_t kused = kpool.used();
    ASSERT_EQ(process.share_root_slots(kernel, 0, sv39::kEntries), MapError::None);
    EXPECT_EQ(process.root()->entry[0], kernel.root()->entry[0]);
    EXPECT_EQ(process.root()->entry[2], kernel.root()->entry[2]);
    for (std::size_t s = 0; s < sv39::kEntries; ++s) {
        const bool kernel_uses = (kernel.root()->entry[s] & sv39::kValid) != 0;
        EXPECT_EQ(process.slot_shared(s), kernel_uses) << "slot " << s;
        if (!kernel_uses) {
            EXPECT_EQ(process.root()->entry[s], 0u) << "slot " << s;
        }
    }
    EXPECT_FALSE(process.slot_shared(1)) << "the user window is the process's own";
    EXPECT_FALSE(process.slot_shared(sv39::kEntries)) << "out of range is not shared";
    EXPECT_EQ(ppool.used(), 1u) << "sharing copies root entries, no tables";
    EXPECT_EQ(kpool.used(), kused) << "and takes nothing from the kernel";
    // The process translates the kernel half exactly as the kernel does.
    for (std::uint64_t va : {kFinisher, kImage, kImage + 0x1234, kUserText, kImage + M2 + 0x5678,
                             kImage + 5 * M2 - 1}) {
        const auto k = kernel.translate(va);
        const auto p = process.translate(va);
        ASSERT_TRUE(k.mapped);
        EXPECT_TRUE(p.mapped) << std::hex << va;
        EXPECT_EQ(p.pa, k.pa);
        EXPECT_EQ(p.flags, k.flags);
        EXPECT_EQ(p.level, k.level);
    }
    EXPECT_EQ(AddressSpace::root_slot(kFinisher), 0u);
    EXPECT_EQ(AddressSpace::root_slot(kImage), 2u);
    EXPECT_EQ(AddressSpace::root_slot(0x40000000), 1u);
}

TEST_F(Sv39Share, UserPagesGoInTheProcessesOwnSlotAndStayPrivate) {
    ASSERT_EQ(process.share_root_slots(kernel, 0, sv39::kEntries), MapError::None);
    const auto k = kernel_entries();
    ASSERT_EQ(process.map(0x40000000, 0x90000000, 2 * K4, RW | sv39::kUser, false), MapError::None);
    EXPECT_EQ(ppool.used(), 3u) << "its own level-1 and level-0 table for slot 1";
    EXPECT_TRUE(process.translate(0x40000000).mapped);
    EXPECT_FALSE(kernel.translate(0x40000000).mapped) << "the kernel space does not see it";
    EXPECT_EQ(kernel_entries(), k) << "no kernel table was touched";
    EXPECT_EQ(process.unmap(0x40000000, K4), MapError::None);
    EXPECT_FALSE(process.translate(0x40000000).mapped);
    EXPECT_EQ(kernel_entries(), k);
}

TEST_F(Sv39Share, LaterKernelMappingsInASharedSlotReachEveryProcess) {
    ASSERT_EQ(process.share_root_slots(kernel, 0, sv39::kEntries), MapError::None);
    // Inside slot 2, whose level-1 table is shared: visible at once.
    ASSERT_EQ(kernel.map(kImage + 40 * M2, 0x99000000, K4, RW | sv39::kGlobal), MapError::None);
    EXPECT_TRUE(process.translate(kImage + 40 * M2).mapped);
    // And a kernel unmap there disappears from the process too, which is why
    // a kernel-half unmap would have to shoot down every CPU, not just the
    // CPUs one process ran on.
    ASSERT_EQ(kernel.unmap(kImage + K4, K4), MapError::None);
    EXPECT_FALSE(process.translate(kImage + K4).mapped);
    // In slot 3, which the kernel did not use when the process was built:
    // the process never sees it. The kernel must map its slots first.
    ASSERT_EQ(kernel.map(0xc0000000, 0xc0000000, K4, RW | sv39::kGlobal), MapError::None);
    EXPECT_TRUE(kernel.translate(0xc0000000).mapped);
    EXPECT_FALSE(process.translate(0xc0000000).mapped);
    EXPECT_FALSE(process.slot_shared(3));
}

TEST_F(Sv39Share, ABorrowedSlotIsReadOnlyFromTheProcess) {
    ASSERT_EQ(process.share_root_slots(kernel, 0, sv39::kEntries), MapError::None);
    const auto k = kernel_entries();
    const auto p = process_entries();
    EXPECT_EQ(process.map(kImage + 60 * M2, 0x90000000, K4, RW | sv39::kUser), MapError::SharedSlot);
    EXPECT_EQ(process.map(kFinisher + K4, 0x90000000, K4, RW), MapError::SharedSlot);
    EXPECT_EQ(process.unmap(kUserText, K4), MapError::SharedSlot) << "even a U page of the kernel half";
    EXPECT_EQ(process.unmap(kImage + M2, K4), MapError::SharedSlot) << "checked before IsMegaPage";
    EXPECT_EQ(process.unmap(kImage + 100 * M2, K4), MapError::SharedSlot) << "and before NotMapped";
    // A range that starts in the process's own slot and runs into a shared
    // one: refused whole, the own pages stay.
    ASSERT_EQ(process.map(0x80000000 - K4, 0x90000000, K4, RW | sv39::kUser), MapError::None);
    const auto p2 = process_entries();
    EXPECT_EQ(process.unmap(0x80000000 - K4, 2 * K4), MapError::SharedSlot);
    EXPECT_EQ(process_entries(), p2);
    EXPECT_EQ(kernel_entries(), k);
    EXPECT_NE(p, p2);
}

TEST_F(Sv39Share, ASubRangeOfSlotsSharesOnlyThose) {
    ASSERT_EQ(process.share_root_slots(kernel, 2, 1), MapError::None);
    EXPECT_TRUE(process.slot_shared(2));
    EXPECT_FALSE(process.slot_shared(0));
    EXPECT_EQ(process.root()->entry[0], 0u);
    EXPECT_FALSE(process.translate(kFinisher).mapped);
    EXPECT_TRUE(process.translate(kImage).mapped);
    // The rest can follow later.
    ASSERT_EQ(process.share_root_slots(kernel, 0, 1), MapError::None);
    EXPECT_TRUE(process.translate(kFinisher).mapped);
}

TEST_F(Sv39Share, SharingAgainIsIdempotent) {
    ASSERT_EQ(process.share_root_slots(kernel, 0, sv39::kEntries), MapError::None);
    const auto p = process_entries();
    EXPECT_EQ(process.share_root_slots(kernel, 0, sv39::kEntries), MapError::None);
    EXPECT_EQ(process_entries(), p);
}

TEST_F(Sv39Share, BadSlotRangesAreRefused) {
    const auto p = process_entries();
    EXPECT_EQ(process.share_root_slots(kernel, 0, 0), MapError::BadSlotRange);
    EXPECT_EQ(process.share_root_slots(kernel, sv39::kEntries, 1), MapError::BadSlotRange);
    EXPECT_EQ(process.share_root_slots(kernel, 0, sv39::kEntries + 1), MapError::BadSlotRange);
    EXPECT_EQ(process.share_root_slots(kernel, 500, 13), MapError::BadSlotRange);
    EXPECT_EQ(process.share_root_slots(kernel, 2, ~std::size_t{0}), MapError::BadSlotRange)
        << "first + count must not wrap";
    EXPECT_EQ(process.share_root_slots(kernel, ~std::size_t{0}, 2), MapError::BadSlotRange);
    EXPECT_EQ(process_entries(), p);
    EXPECT_EQ(process.share_root_slots(kernel, 511, 1), MapError::NotMapped) << "the last slot is a valid range";
}

TEST_F(Sv39Share, NothingToShareIsNotMapped) {
    const auto p = process_entries();
    EXPECT_EQ(process.share_root_slots(kernel, 1, 1), MapError::NotMapped) << "the kernel leaves slot 1 empty";
    EXPECT_EQ(process.share_root_slots(kernel, 3, 509), MapError::NotMapped);
    TablePool empty{g_tables, 0};
    AddressSpace rootless{empty};
    EXPECT_EQ(process.share_root_slots(rootless, 0, sv39::kEntries), MapError::NotMapped);
    EXPECT_EQ(process_entries(), p);
    for (std::size_t s = 0; s < sv39::kEntries; ++s) EXPECT_FALSE(process.slot_shared(s));
}

TEST_F(Sv39Share, ARootlessProcessIsOutOfTables) {
    TablePool empty{g_tables, 0};
    AddressSpace rootless{empty};
    EXPECT_EQ(rootless.share_root_slots(kernel, 0, sv39::kEntries), MapError::OutOfTables);
}

TEST_F(Sv39Share, ASlotTheProcessAlreadyUsesIsRefusedAndNothingIsCopied) {
    // The process put something of its own in slot 2 before sharing.
    ASSERT_EQ(process.map(0xb0000000, 0x90000000, K4, RW | sv39::kUser), MapError::None);
    const auto p = process_entries();
    EXPECT_EQ(process.share_root_slots(kernel, 0, sv39::kEntries), MapError::AlreadyMapped);
    EXPECT_EQ(process_entries(), p) << "slot 0 was not copied either: all or nothing";
    for (std::size_t s = 0; s < sv39::kEntries; ++s) EXPECT_FALSE(process.slot_shared(s));
    // Slots the process does not use can still be shared.
    EXPECT_EQ(process.share_root_slots(kernel, 0, 1), MapError::None);
}

TEST_F(Sv39Share, ASpaceCannotShareFromItself) {
    const auto k = kernel_entries();
    EXPECT_EQ(kernel.share_root_slots(kernel, 0, sv39::kEntries), MapError::AlreadyMapped);
    EXPECT_EQ(kernel_entries(), k);
    for (std::size_t s = 0; s < sv39::kEntries; ++s) EXPECT_FALSE(kernel.slot_shared(s));
}

TEST_F(Sv39Share, TwoProcessesShareOneKernelHalf) {
    alignas(4096) static PageTable second_tables[4];
    TablePool pool2{second_tables, 4};
    AddressSpace second{pool2};
    ASSERT_EQ(process.share_root_slots(kernel, 0, sv39::kEntries), MapError::None);
    ASSERT_EQ(second.share_root_slots(kernel, 0, sv39::kEntries), MapError::None);
    EXPECT_EQ(process.root()->entry[2], second.root()->entry[2]);
    ASSERT_EQ(process.map(0x40000000, 0x90000000, K4, RW | sv39::kUser), MapError::None);
    ASSERT_EQ(second.map(0x40000000, 0x91000000, K4, RW | sv39::kUser), MapError::None);
    EXPECT_EQ(process.translate(0x40000000).pa, 0x90000000u);
    EXPECT_EQ(second.translate(0x40000000).pa, 0x91000000u) << "same user va, different frames";
    EXPECT_NE(process.satp(), second.satp());
}

// --- Chapter 06: user_range_ok ------------------------------------------------

class Sv39UserRange : public Sv39 {
protected:
    static constexpr std::uint64_t kBase = 0x40000000;
    static constexpr std::uint64_t U = sv39::kUser;
    void SetUp() override {
        // page 0: U|R, page 1: U|RW, page 2: U|RW, page 3: hole,
        // page 4: RW (kernel only), page 5: U|X (execute only), page 6: U|RX
        ASSERT_EQ(as.map(kBase, 0x90000000, K4, sv39::kRead | U), MapError::None);
        ASSERT_EQ(as.map(kBase + K4, 0x90001000, 2 * K4, RW | U), MapError::None);
        ASSERT_EQ(as.map(kBase + 4 * K4, 0x90004000, K4, RW), MapError::None);
        ASSERT_EQ(as.map(kBase + 5 * K4, 0x90005000, K4, sv39::kExec | U), MapError::None);
        ASSERT_EQ(as.map(kBase + 6 * K4, 0x90006000, K4, RX | U), MapError::None);
    }
    bool rd(std::uint64_t va, std::uint64_t size) const { return as.user_range_ok(va, size, sv39::UserAccess::Read); }
    bool wr(std::uint64_t va, std::uint64_t size) const { return as.user_range_ok(va, size, sv39::UserAccess::Write); }
};

TEST_F(Sv39UserRange, ReadNeedsUAndR) {
    EXPECT_TRUE(rd(kBase, K4));
    EXPECT_TRUE(rd(kBase, 3 * K4));
    EXPECT_TRUE(rd(kBase + 6 * K4, K4)) << "U|RX is readable";
    EXPECT_FALSE(rd(kBase + 4 * K4, K4)) << "a kernel page";
    EXPECT_FALSE(rd(kBase + 5 * K4, K4)) << "execute-only";
    EXPECT_FALSE(rd(kBase + 3 * K4, K4)) << "a hole";
    EXPECT_FALSE(rd(0x50000000, 1)) << "nothing mapped in that GiB";
}

TEST_F(Sv39UserRange, WriteNeedsUAndW) {
    EXPECT_TRUE(wr(kBase + K4, 2 * K4));
    EXPECT_FALSE(wr(kBase, K4)) << "read-only";
    EXPECT_FALSE(wr(kBase, 2 * K4)) << "the first page is read-only";
    EXPECT_FALSE(wr(kBase + 6 * K4, K4)) << "text";
    EXPECT_FALSE(wr(kBase + 4 * K4, K4)) << "a kernel page";
}

TEST_F(Sv39UserRange, UnalignedRangesCheckEveryPageTheyTouch) {
    EXPECT_TRUE(wr(kBase + K4 + 0x123, 10));
    EXPECT_TRUE(wr(kBase + 2 * K4 - 1, 2)) << "straddles pages 1 and 2, both RW";
    EXPECT_TRUE(wr(kBase + 3 * K4 - 1, 1)) << "the last byte before the hole";
    EXPECT_FALSE(wr(kBase + 3 * K4 - 1, 2)) << "one byte into the hole";
    EXPECT_FALSE(wr(kBase + 2 * K4 - 1, K4 + 2)) << "ends one byte into the hole";
    EXPECT_FALSE(rd(kBase + K4 - 1, 2) && wr(kBase + K4 - 1, 2)) << "starts on the read-only page";
    EXPECT_TRUE(rd(kBase + K4 - 1, 2));
    EXPECT_FALSE(rd(kBase + 6 * K4 + 0xfff, 2)) << "runs off the last mapped page";
}

TEST_F(Sv39UserRange, EmptyWrappingAndNonCanonicalRanges) {
    EXPECT_TRUE(rd(kBase + 3 * K4, 0)) << "an empty range touches no byte";
    EXPECT_FALSE(rd(kBase, ~std::uint64_t{0})) << "wraps past 2^64";
    EXPECT_FALSE(rd(~std::uint64_t{0}, 2));
    EXPECT_FALSE(rd(std::uint64_t{1} << 38, 1));
    EXPECT_FALSE(rd((std::uint64_t{1} << 38) - 1, 2)) << "leaves the low half";
    // The low 39 bits select a mapped page, the address itself is not canonical.
    EXPECT_FALSE(rd(kBase | (std::uint64_t{1} << 40), 1));
}

TEST_F(Sv39UserRange, AUserMegapageCountsOncePerLeaf) {
    ASSERT_EQ(as.map(0x60000000, 0x80000000, 2 * M2, RW | U), MapError::None);
    EXPECT_TRUE(wr(0x60000000, 2 * M2));
    EXPECT_TRUE(wr(0x60000000 + M2 - 8, 16)) << "straddles two megapages";
    EXPECT_FALSE(wr(0x60000000, 2 * M2 + 1));
}

TEST_F(Sv39UserRange, TheTopPageOfTheAddressSpaceEndsTheWalk) {
    const std::uint64_t top = ~std::uint64_t{0} - K4 + 1;
    ASSERT_EQ(as.map(top, 0x90000000, K4, RW | U), MapError::None);
    EXPECT_TRUE(wr(top, K4)) << "the leaf ends exactly at 2^64";
    EXPECT_TRUE(wr(~std::uint64_t{0}, 1));
}

TEST_F(Sv39Share, UserRangeOkSeesTheKernelHalfsUPages) {
    // The limitation user_memory.hpp's window check exists for: the kernel
    // half holds U pages (.user.text), and a process sees them.
    ASSERT_EQ(process.share_root_slots(kernel, 0, sv39::kEntries), MapError::None);
    EXPECT_TRUE(process.user_range_ok(kUserText, K4, sv39::UserAccess::Read));
    EXPECT_FALSE(process.user_range_ok(kImage, K4, sv39::UserAccess::Read)) << "kernel text is not U";
}

}  // namespace
