// Sv39 page tables: building and walking them, as pure logic.
//
// Sv39 translates a 39-bit virtual address through three levels of
// 512-entry tables (9 bits of VPN each, 4 KiB pages; a leaf at level 1 maps
// a 2 MiB megapage). The builder takes its table pages from a fixed pool,
// so building a kernel address space allocates nothing and fails with an
// error, not a crash, when the pool is too small. Table addresses are used
// as physical addresses, which is exact in the kernel (identity mapping) and
// harmless on the host, where the tests walk what they built.
#pragma once

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

enum class MapError { None, OutOfTables, Misaligned, AlreadyMapped, NotCanonical, BadFlags };
inline const char* map_error_name(MapError e) {
    switch (e) {
    case MapError::None: return "none";
    case MapError::OutOfTables: return "out-of-tables";
    case MapError::Misaligned: return "misaligned";
    case MapError::AlreadyMapped: return "already-mapped";
    case MapError::NotCanonical: return "not-canonical";
    case MapError::BadFlags: return "bad-flags";
    }
    return "unknown";
}

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

    /// The satp value that installs this address space (mode 8 = Sv39).
    [[nodiscard]] std::uint64_t satp() const {
        return (std::uint64_t{8} << 60) | (reinterpret_cast<std::uintptr_t>(m_root) >> 12);
    }
    [[nodiscard]] const PageTable* root() const { return m_root; }

    static constexpr bool canonical(std::uint64_t va) {
        const std::uint64_t top = va >> 38;  // bits 63..38 must be all 0 or all 1
        return top == 0 || top == (std::uint64_t{1} << 26) - 1;
    }

private:
    static constexpr std::size_t vpn(std::uint64_t va, int level) {
        return static_cast<std::size_t>((va >> (12 + 9 * level)) & 0x1ff);
    }
    static constexpr std::uint64_t table_pte(const PageTable* t) {
        return ((reinterpret_cast<std::uintptr_t>(t) >> 12) << 10) | kValid;
    }

    MapError map_one(std::uint64_t va, std::uint64_t pa, std::uint64_t flags, int leaf_level) {
        if (m_root == nullptr) return MapError::OutOfTables;  // the pool had no page for a root
        if (!canonical(va)) return MapError::NotCanonical;
        PageTable* table = m_root;
        for (int level = 2; level > leaf_level; --level) {
            std::uint64_t& pte = table->entry[vpn(va, level)];
            if ((pte & kValid) == 0) {
                PageTable* next = m_pool.alloc();
                if (next == nullptr) return MapError::OutOfTables;
                pte = table_pte(next);
            } else if ((pte & (kRead | kWrite | kExec)) != 0) {
                return MapError::AlreadyMapped;  // a larger leaf covers va
            }
            table = reinterpret_cast<PageTable*>((pte >> 10) << 12);
        }
        std::uint64_t& leaf = table->entry[vpn(va, leaf_level)];
        if ((leaf & kValid) != 0) return MapError::AlreadyMapped;
        // A and D preset: the kernel never relies on the MMU to set them,
        // and some implementations fault instead of setting them.
        leaf = ((pa >> 12) << 10) | flags | kValid | kAccessed | kDirty;
        return MapError::None;
    }

    TablePool& m_pool;
    PageTable* m_root;
};
// [hb:end address_space]

}  // namespace hb::sv39
