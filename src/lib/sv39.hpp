// Sv39 page tables: building and walking them, as pure logic.
//
// Sv39 translates a 39-bit virtual address through three levels of
// 512-entry tables (9 bits of VPN each, 4 KiB pages; a leaf at level 1 maps
// a 2 MiB megapage). The builder takes its table pages from a fixed pool,
// so building a kernel address space allocates nothing and fails with an
// error, not a crash, when the pool is too small. Table addresses are used
// as physical addresses, which is exact in the kernel (identity mapping) and
// harmless on the host, where the tests walk what they built.
//
// Chapter 06 adds what per-process address spaces need: `unmap` (4 KiB
// leaves, all or nothing), `share_root_slots` (a process root points at the
// kernel's own level-1 tables, so the kernel half is one copy for everyone),
// and `user_range_ok` (system-call pointer checks). What a CPU may still hold
// in its TLB after an unmap is not this file's business: lib/shootdown.hpp.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace hb::sv39 {

// [hb:region pte_bits]
inline constexpr std::uint64_t kValid = 1u << 0;
inline constexpr std::uint64_t kRead = 1u << 1;
inline constexpr std::uint64_t kWrite = 1u << 2;
inline constexpr std::uint64_t kExec = 1u << 3;
inline constexpr std::uint64_t kUser = 1u << 4;
inline constexpr std::uint64_t kGlobal = 1u << 5;
inline constexpr std::uint64_t kAccessed = 1u << 6;
inline constexpr std::uint64_t kDirty = 1u << 7;
inline constexpr std::uint64_t kPermMask = kRead | kWrite | kExec | kUser | kGlobal;
// [hb:end pte_bits]

inline constexpr std::uint64_t kPageSize = 4096;
inline constexpr std::uint64_t kMegaPageSize = 2 * 1024 * 1024;
inline constexpr std::size_t kEntries = 512;

struct alignas(4096) PageTable {
    std::uint64_t entry[kEntries];
};
static_assert(sizeof(PageTable) == kPageSize);

// [hb:region map_error]
/// Why a change to an address space was refused. Every refusal leaves the
/// tables valid; `unmap` and `share_root_slots` also leave them unchanged.
enum class MapError {
    None,
    OutOfTables,    ///< the pool had no table page left (or none for the root)
    Misaligned,     ///< an address or size is not a multiple of 4 KiB
    AlreadyMapped,  ///< map: a leaf is already there; share: this space uses the slot itself
    NotCanonical,   ///< bits 63..38 are not all equal to bit 38, somewhere in the range
    BadFlags,       ///< a permission set the hardware would misread
    NotMapped,      ///< unmap: a page of the range has no leaf; share: the source maps nothing there
    IsMegaPage,     ///< unmap: a 2 MiB or 1 GiB leaf covers a page of the range
    SharedSlot,     ///< map/unmap: the root slot points at another space's tables
    BadSlotRange,   ///< share_root_slots: the slots are not all inside the root table
};
// [hb:end map_error]

inline const char* map_error_name(MapError e) {
    switch (e) {
    case MapError::None: return "none";
    case MapError::OutOfTables: return "out-of-tables";
    case MapError::Misaligned: return "misaligned";
    case MapError::AlreadyMapped: return "already-mapped";
    case MapError::NotCanonical: return "not-canonical";
    case MapError::BadFlags: return "bad-flags";
    case MapError::NotMapped: return "not-mapped";
    case MapError::IsMegaPage: return "is-megapage";
    case MapError::SharedSlot: return "shared-slot";
    case MapError::BadSlotRange: return "bad-slot-range";
    }
    return "unknown";
}

/// What the kernel is about to do with a user buffer, for `user_range_ok`.
/// (An enum, not a bool, so that a call site reads as what it checks.)
enum class UserAccess {
    Read,   ///< the kernel reads from the buffer (e.g. write(2)'s data): U and R
    Write,  ///< the kernel writes into the buffer (e.g. read(2)'s data): U, R and W
};

/// A fixed supply of zeroed table pages.
class TablePool {
public:
    constexpr TablePool(PageTable* tables, std::size_t capacity) : m_tables(tables), m_capacity(capacity) {}
    PageTable* alloc() {
        if (m_used == m_capacity) return nullptr;
        PageTable* t = &m_tables[m_used++];
        for (auto& e : t->entry) e = 0;
        return t;
    }
    [[nodiscard]] std::size_t used() const { return m_used; }
    [[nodiscard]] std::size_t capacity() const { return m_capacity; }

private:
    PageTable* m_tables;
    std::size_t m_capacity;
    std::size_t m_used = 0;
};

/// What a walk of the tables finds for one virtual address.
struct Translation {
    bool mapped = false;
    std::uint64_t pa = 0;
    std::uint64_t flags = 0;  ///< the leaf PTE's low bits
    int level = -1;           ///< 0 = 4 KiB page, 1 = 2 MiB megapage
};

// [hb:region address_space]
// [hb:region address_space_map]
class AddressSpace {
public:
    /// Takes the root table from `pool`; check ok() before use.
    explicit AddressSpace(TablePool& pool) : m_pool(pool), m_root(pool.alloc()) {}
    [[nodiscard]] bool ok() const { return m_root != nullptr; }

    /// Maps [va, va + size) to [pa, pa + size) with `flags` (R/W/X/U/G);
    /// uses 2 MiB megapages where both addresses and the remaining size
    /// allow and `allow_mega` is set, 4 KiB pages elsewhere.
    MapError map(std::uint64_t va, std::uint64_t pa, std::uint64_t size, std::uint64_t flags,
                 bool allow_mega = true) {
        if ((va | pa | size) % kPageSize != 0) return MapError::Misaligned;
        if ((flags & (kRead | kExec)) == 0 || (flags & ~kPermMask) != 0) return MapError::BadFlags;
        if ((flags & kWrite) != 0 && (flags & kRead) == 0) return MapError::BadFlags;
        for (std::uint64_t off = 0; off < size;) {
            const bool mega = allow_mega && (va + off) % kMegaPageSize == 0 &&
                              (pa + off) % kMegaPageSize == 0 && size - off >= kMegaPageSize;
            const MapError e = map_one(va + off, pa + off, flags, mega ? 1 : 0);
            if (e != MapError::None) return e;
            off += mega ? kMegaPageSize : kPageSize;
        }
        return MapError::None;
    }

    /// Walks the tables like the MMU does.
    [[nodiscard]] Translation translate(std::uint64_t va) const {
        if (!canonical(va) || m_root == nullptr) return {};
        const PageTable* table = m_root;
        for (int level = 2; level >= 0; --level) {
            const std::uint64_t pte = table->entry[vpn(va, level)];
            if ((pte & kValid) == 0) return {};
            if ((pte & (kRead | kWrite | kExec)) != 0) {
                const std::uint64_t page = level == 0 ? kPageSize : level == 1 ? kMegaPageSize : kMegaPageSize * 512;
                const std::uint64_t base = (pte >> 10) << 12;
                return {true, base + (va & (page - 1)), pte & 0x3ff, level};
            }
            table = reinterpret_cast<const PageTable*>((pte >> 10) << 12);
        }
        return {};
    }
    // [hb:end address_space_map]

    // Chapter 06: per-process spaces. The definitions, with the reasons,
    // follow the class.

    /// Removes the 4 KiB leaves of [va, va + size); all or nothing.
    MapError unmap(std::uint64_t va, std::uint64_t size);
    /// Points root slots [first, first + count) at `from`'s tables wherever
    /// `from` maps something there; all or nothing.
    MapError share_root_slots(const AddressSpace& from, std::size_t first, std::size_t count);
    /// Is every byte of [va, va + size) mapped U, with the permission `access` needs?
    [[nodiscard]] bool user_range_ok(std::uint64_t va, std::uint64_t size, UserAccess access) const;
    /// Does root slot `slot` point at another space's tables (share_root_slots)?
    [[nodiscard]] bool slot_shared(std::size_t slot) const {
        return slot < kEntries && (m_shared[slot / 64] & (std::uint64_t{1} << (slot % 64))) != 0;
    }
    /// The root slot (VPN[2]) that translates `va`: one slot per GiB.
    static constexpr std::size_t root_slot(std::uint64_t va) { return vpn(va, 2); }

    // [hb:region address_space_satp]
    /// The satp value that installs this address space (mode 8 = Sv39).
    [[nodiscard]] std::uint64_t satp() const {
        return (std::uint64_t{8} << 60) | (reinterpret_cast<std::uintptr_t>(m_root) >> 12);
    }
    [[nodiscard]] const PageTable* root() const { return m_root; }

    static constexpr bool canonical(std::uint64_t va) {
        const std::uint64_t top = va >> 38;  // bits 63..38 must be all 0 or all 1
        return top == 0 || top == (std::uint64_t{1} << 26) - 1;
    }
    // [hb:end address_space_satp]

private:
    static constexpr std::size_t vpn(std::uint64_t va, int level) {
        return static_cast<std::size_t>((va >> (12 + 9 * level)) & 0x1ff);
    }
    static constexpr std::uint64_t table_pte(const PageTable* t) {
        return ((reinterpret_cast<std::uintptr_t>(t) >> 12) << 10) | kValid;
    }
    static PageTable* next_table(std::uint64_t pte) { return reinterpret_cast<PageTable*>((pte >> 10) << 12); }

    /// Every PTE store goes through here. Release, because the store makes
    /// something reachable by another hart's page walker: a new table must
    /// be seen zeroed (TablePool::alloc cleared it with plain stores), and a
    /// new user page must be seen with the contents the kernel gave it. On
    /// RISC-V this is `fence rw,w; sd` (Linux has the same smp_wmb() before
    /// it installs a table). One untorn store also means a walker never sees
    /// half an entry. Clearing a leaf needs no more than that: what other
    /// harts already cached is the shootdown's job, not the store's.
    static void publish_pte(std::uint64_t& pte, std::uint64_t value) {
        std::atomic_ref<std::uint64_t>(pte).store(value, std::memory_order_release);
    }

    /// True when bits 63..38 are the same for every byte of [va, va + size)
    /// (size > 0): the range neither leaves its half nor wraps past 2^64.
    static constexpr bool canonical_range(std::uint64_t va, std::uint64_t size) {
        const std::uint64_t last = va + size - 1;
        return last >= va && canonical(va) && canonical(last) && (va >> 38) == (last >> 38);
    }

    // [hb:region address_space_map_one]
    MapError map_one(std::uint64_t va, std::uint64_t pa, std::uint64_t flags, int leaf_level) {
        if (m_root == nullptr) return MapError::OutOfTables;  // the pool had no page for a root
        if (!canonical(va)) return MapError::NotCanonical;
        // A borrowed slot's tables belong to another space: a leaf added
        // here would appear in every space that shares them.
        if (slot_shared(root_slot(va))) return MapError::SharedSlot;
        PageTable* table = m_root;
        for (int level = 2; level > leaf_level; --level) {
            std::uint64_t& pte = table->entry[vpn(va, level)];
            if ((pte & kValid) == 0) {
                PageTable* next = m_pool.alloc();
                if (next == nullptr) return MapError::OutOfTables;
                publish_pte(pte, table_pte(next));
            } else if ((pte & (kRead | kWrite | kExec)) != 0) {
                return MapError::AlreadyMapped;  // a larger leaf covers va
            }
            table = next_table(pte);
        }
        std::uint64_t& leaf = table->entry[vpn(va, leaf_level)];
        if ((leaf & kValid) != 0) return MapError::AlreadyMapped;
        // A and D preset: the kernel never relies on the MMU to set them,
        // and some implementations fault instead of setting them.
        publish_pte(leaf, ((pa >> 12) << 10) | flags | kValid | kAccessed | kDirty);
        return MapError::None;
    }
    // [hb:end address_space_map_one]

    /// The 4 KiB leaf that maps `va`, for unmap: its address in `out`, or
    /// why there is none that unmap may clear.
    MapError find_small_leaf(std::uint64_t va, std::uint64_t*& out) {
        if (slot_shared(root_slot(va))) return MapError::SharedSlot;
        PageTable* table = m_root;
        for (int level = 2; level > 0; --level) {
            const std::uint64_t pte = table->entry[vpn(va, level)];
            if ((pte & kValid) == 0) return MapError::NotMapped;
            if ((pte & (kRead | kWrite | kExec)) != 0) return MapError::IsMegaPage;
            table = next_table(pte);
        }
        std::uint64_t& leaf = table->entry[vpn(va, 0)];
        // A valid entry without R/W/X at level 0 is malformed (the MMU
        // faults on it): it maps nothing, so there is nothing to unmap.
        if ((leaf & kValid) == 0 || (leaf & (kRead | kWrite | kExec)) == 0) return MapError::NotMapped;
        out = &leaf;
        return MapError::None;
    }

    TablePool& m_pool;
    PageTable* m_root;
    /// One bit per root slot: set by share_root_slots, never cleared (a
    /// space does not give a borrowed slot back; it is torn down whole).
    std::array<std::uint64_t, kEntries / 64> m_shared{};
};
// [hb:end address_space]

// [hb:region unmap]
/// Removes the 4 KiB leaves of [va, va + size). All or nothing: every page is
/// checked first and the first bad one is reported (in address order, and
/// for one page in the order SharedSlot, IsMegaPage, NotMapped); only a range
/// that is wholly mapped with small pages is then cleared. A half-done unmap
/// would leave the caller unsure which frames it may free.
///
/// Megapages are refused, not split: splitting needs a new table (which can
/// fail) and a 2 MiB leaf in a user space would be a deliberate choice that
/// unmapping 4 KiB of it should not quietly undo. Permissions are not
/// checked: policy (is this a user page of this process?) is the caller's.
///
/// What unmap does NOT do, on purpose:
///  - Free intermediate tables. A level-0 table that just lost its last leaf
///    may still be in use: another hart's page walker can be inside it right
///    now, or hold a cached pointer to it in its TLB, until the shootdown for
///    this unmap has completed. Worse, `sfence.vma va` only has to drop
///    *leaf* entries for va; a cached pointer to a table survives it, so a
///    freed table needs a whole-TLB flush on every hart that may have walked
///    it. Freeing tables needs that, "after the shootdown", and a pool that
///    takes pages back; TablePool does none of it yet.
///  - Flush any TLB. After unmap returns, this and other harts may still
///    translate va through a cached entry. The caller flushes locally, runs a
///    shootdown (lib/shootdown.hpp), and frees the frames only after it.
inline MapError AddressSpace::unmap(std::uint64_t va, std::uint64_t size) {
    if ((va | size) % kPageSize != 0) return MapError::Misaligned;
    if (size == 0) return MapError::None;
    if (!canonical_range(va, size)) return MapError::NotCanonical;
    if (m_root == nullptr) return MapError::NotMapped;
    std::uint64_t* leaf = nullptr;
    // Pass 1: check every page. Stops at the first hole, so a huge bogus
    // size costs no more than the mapped pages in front of its first hole.
    for (std::uint64_t off = 0; off < size; off += kPageSize) {
        const MapError e = find_small_leaf(va + off, leaf);
        if (e != MapError::None) return e;
    }
    // Pass 2: clear. The caller holds the space's lock, so the walk finds
    // the same leaves as pass 1.
    for (std::uint64_t off = 0; off < size; off += kPageSize) {
        if (find_small_leaf(va + off, leaf) == MapError::None) publish_pte(*leaf, 0);
    }
    return MapError::None;
}
// [hb:end unmap]

// [hb:region share_root_slots]
/// Makes root slots [first, first + count) of this space point at the same
/// next-level tables (or gigapage leaves) as `from`'s, wherever `from` has a
/// valid entry; slots where `from` has none are left alone.
///
/// Why slots and not "the upper half". The textbook split (kernel in the
/// upper half, user in the lower) does not fit this kernel: it identity-maps
/// RAM at 0x8000'0000 and the test finisher at 0x10'0000, both in the lower
/// half of Sv39 (root slots 2 and 0; more slots when RAM passes 1 GiB). So
/// the rule is "share every slot the kernel uses", which the kernel asks for
/// as share_root_slots(kernel, 0, kEntries), and user mappings go in a slot
/// the kernel leaves empty (lib/user_memory.hpp: slot 1).
///
/// Sharing the root entry shares everything below it: a page the kernel
/// maps later inside a shared slot appears in every process at once,
/// because they all walk the same level-1 tables. A slot the kernel first
/// uses *after* a process was built does not; the kernel must map all its
/// slots before it builds the first process (it does: build_kernel_space
/// runs once, at boot).
///
/// Refusals (nothing changes): BadSlotRange if the slots do not fit in the
/// root; OutOfTables if this space has no root; NotMapped if `from` maps
/// nothing in the range (sharing nothing is a caller's mistake, and a
/// process without the kernel half would fault on its first trap);
/// AlreadyMapped if this space has its own entry in a slot `from` uses.
/// Sharing the same slot from the same source again is allowed (idempotent).
///
/// A shared slot is read-only from this space: map and unmap refuse it with
/// SharedSlot, since their change would land in tables every process uses.
inline MapError AddressSpace::share_root_slots(const AddressSpace& from, std::size_t first, std::size_t count) {
    if (first >= kEntries || count == 0 || count > kEntries - first) return MapError::BadSlotRange;
    if (m_root == nullptr) return MapError::OutOfTables;
    if (from.m_root == nullptr) return MapError::NotMapped;
    // Pass 1: is there anything to share, and does every slot fit?
    std::size_t sources = 0;
    for (std::size_t slot = first; slot < first + count; ++slot) {
        const std::uint64_t src = from.m_root->entry[slot];
        if ((src & kValid) == 0) continue;
        ++sources;
        const std::uint64_t mine = m_root->entry[slot];
        if ((mine & kValid) != 0 && !(slot_shared(slot) && mine == src)) return MapError::AlreadyMapped;
    }
    if (sources == 0) return MapError::NotMapped;
    // Pass 2: copy the entries and remember that they are borrowed.
    for (std::size_t slot = first; slot < first + count; ++slot) {
        const std::uint64_t src = from.m_root->entry[slot];
        if ((src & kValid) == 0) continue;
        publish_pte(m_root->entry[slot], src);
        m_shared[slot / 64] |= std::uint64_t{1} << (slot % 64);
    }
    return MapError::None;
}
// [hb:end share_root_slots]

// [hb:region user_range_ok]
/// System-call argument check: is every byte of [va, va + size) mapped with
/// U and the permission `access` needs (R to read, R and W to write)?
/// `va` need not be aligned; each page the range touches is checked once
/// (a megapage leaf counts once for all of its bytes). A range that wraps
/// past 2^64 or leaves its canonical half is refused. An empty range touches
/// no byte and is accepted; lib/user_memory.hpp adds the window check that
/// makes a pointer a *user* pointer.
///
/// Two limits the kernel must keep in mind:
///  - It is a snapshot. Another thread of the same process can unmap the
///    page right after the check; either hold the space's lock across check
///    and copy, or make the copy survive a fault.
///  - U alone does not make a page the caller's: today's kernel half also
///    holds U pages (.user.text, the per-CPU user stacks), which a process
///    sees through the shared slots. The window check closes that.
inline bool AddressSpace::user_range_ok(std::uint64_t va, std::uint64_t size, UserAccess access) const {
    if (size == 0) return true;
    if (!canonical_range(va, size)) return false;
    const std::uint64_t need = kUser | kRead | (access == UserAccess::Write ? kWrite : 0);
    const std::uint64_t last = va + size - 1;
    for (std::uint64_t page = va & ~(kPageSize - 1);;) {
        const Translation t = translate(page);
        if (!t.mapped || (t.flags & need) != need) return false;
        const std::uint64_t span = t.level == 0 ? kPageSize : t.level == 1 ? kMegaPageSize : kMegaPageSize * 512;
        const std::uint64_t next = (page & ~(span - 1)) + span;  // first byte after this leaf
        if (next == 0 || next > last) return true;               // 0: the leaf ends at 2^64
        page = next;
    }
}
// [hb:end user_range_ok]

}  // namespace hb::sv39
