// User memory (chapter 06): where a process's pages live, and whose they are.
//
// The window. Every process gets its own Sv39 root, and every root shares the
// kernel's root slots (sv39.hpp, share_root_slots). The kernel identity-maps
// what it uses, so its slots are fixed by the machine: slot 0 holds the test
// finisher at 0x10'0000, slot 2 (and up, with more than 1 GiB of RAM) holds
// RAM from 0x8000'0000. Root slot 1, [0x4000'0000, 0x8000'0000), is the one
// GiB below RAM that the kernel leaves empty, so that is the user window: one
// root slot that belongs to the process alone, with its own level-1 table.
// (On QEMU virt that range is the PCIe MMIO window in *physical* space; the
// kernel maps no PCIe, so the virtual range is free. A kernel that one day
// identity-maps PCIe must move the window first: kernel_leaves_user_window_free
// is the boot-time check that catches it.)
//
// Ownership. A process may map only frames it owns. The frame pool records,
// for every frame of the user region, whether it is claimed and by which
// process; map_user_page refuses a frame the process does not own with an
// explicit error, so "map someone else's page" is a value, not a fault.
//
// Boundedness. The pool is a fixed array of Capacity frames with a free stack
// beside it: claim and release are O(1), nothing is allocated, and a pool
// with no free frame says RejectedFull (the ring's backpressure contract,
// lib/ring.hpp) instead of growing or blocking.
//
// Concurrency. None inside: like BoundedQueue, the pool belongs to exactly one
// owner, and the kernel shares it through a lock that owns it
// (Protected<UserFramePool<N>>, lib/spinlock.hpp). The order of an unmap is
// what matters, and it spans three files:
//
//     1. space lock held: AddressSpace::unmap (sv39.hpp) clears the leaves
//     2. local sfence.vma, then the shootdown (shootdown.hpp) until every
//        target acked; no frame may be reused before this step ends
//     3. UserFramePool::release for each frame the leaves pointed at
//
// Releasing before step 2 ends lets another process claim and fill a frame
// that a CPU can still reach through a stale TLB entry of the first process.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "lib/ids.hpp"
#include "lib/result.hpp"
#include "lib/sv39.hpp"

namespace hb {

// [hb:region user_window]
/// The user window: root slot 1, exactly one GiB, so that a process's own
/// mappings and the kernel's shared slots can never meet in one root entry.
inline constexpr std::uint64_t kUserBase = 0x4000'0000;
inline constexpr std::uint64_t kUserLimit = 0x8000'0000;  ///< first address above the window
inline constexpr std::size_t kUserRootSlot = 1;

static_assert(kUserLimit - kUserBase == sv39::kMegaPageSize * sv39::kEntries, "one root slot, 1 GiB");
static_assert(sv39::AddressSpace::root_slot(kUserBase) == kUserRootSlot);
static_assert(sv39::AddressSpace::root_slot(kUserLimit - 1) == kUserRootSlot);
static_assert(kUserLimit <= 0x8000'0000, "below RAM, which the kernel identity-maps from 0x8000'0000");
// [hb:end user_window]

/// Is [va, va + size) inside the user window? An empty range must still
/// start inside it (or at its end), so a zero-length pointer is not a way
/// to name a kernel address.
constexpr bool in_user_window(std::uint64_t va, std::uint64_t size) {
    return va >= kUserBase && va <= kUserLimit && size <= kUserLimit - va;
}

// [hb:region user_pointer_ok]
/// The system-call pointer check: inside the window, and every page of it
/// mapped U with what `access` needs. The window test comes first and is
/// not optional: today's kernel half holds U pages of its own (.user.text,
/// the per-CPU user stacks), which every process sees through the shared
/// slots, and user_range_ok alone would accept them.
inline bool user_pointer_ok(const sv39::AddressSpace& space, std::uint64_t va, std::uint64_t size,
                            sv39::UserAccess access) {
    return in_user_window(va, size) && space.user_range_ok(va, size, access);
}
// [hb:end user_pointer_ok]

/// Boot-time check for the kernel space: the user window's root slot must
/// be empty, or share_root_slots would hand the kernel's slot 1 to every
/// process and their own mappings there would be refused (SharedSlot).
inline bool kernel_leaves_user_window_free(const sv39::AddressSpace& kernel) {
    return kernel.ok() && (kernel.root()->entry[kUserRootSlot] & sv39::kValid) == 0;
}

// [hb:region frame_ids]
/// A process, as the frame pool and the shootdown know it. (It lives here
/// until the process table of chapter 06 gives it a home in ids.hpp.)
using ProcessId = Id<struct ProcessIdTag, std::uint32_t>;
/// A frame of the user region: an index into the pool, not an address.
/// FrameRegion converts; keeping them apart means a physical address can
/// never be "released" without first being checked to be a user frame.
using FrameIndex = Id<struct FrameIndexTag, std::uint32_t>;
static_assert(!std::is_convertible_v<FrameIndex, ProcessId>);
static_assert(!std::is_convertible_v<std::uint32_t, FrameIndex>);
// [hb:end frame_ids]

// [hb:region frame_error]
/// Why the pool refused. Each refusal leaves the pool unchanged.
enum class FrameError : std::uint32_t {
    None,
    RejectedFull,  ///< claim: no free frame (counted); the caller fails the request
    NotOwned,      ///< release/map: the frame is claimed, but by another process
    NotClaimed,    ///< release/map: the frame is free (a double release, or a stale index)
    OutOfRange,    ///< the index or address is not a frame of this pool
    Misaligned,    ///< frame_of: the address is not the start of a frame
};
// [hb:end frame_error]

constexpr const char* frame_error_name(FrameError e) {
    switch (e) {
    case FrameError::None: return "none";
    case FrameError::RejectedFull: return "rejected-full";
    case FrameError::NotOwned: return "not-owned";
    case FrameError::NotClaimed: return "not-claimed";
    case FrameError::OutOfRange: return "out-of-range";
    case FrameError::Misaligned: return "misaligned";
    }
    return "?";
}

/// Where the pool's frames are in physical memory: `count` frames of 4 KiB
/// from `base`. A plain value; the kernel builds it from the RAM that is
/// left after the image.
struct FrameRegion {
    std::uint64_t base = 0;  ///< must be 4 KiB aligned
    std::uint32_t count = 0;

    [[nodiscard]] constexpr std::uint64_t pa_of(FrameIndex f) const {
        return base + std::uint64_t{f.raw()} * sv39::kPageSize;
    }
    /// The frame that starts at `pa` (for an address found by translate()
    /// before an unmap). Refuses addresses outside the region or inside a frame.
    [[nodiscard]] constexpr Result<FrameIndex, FrameError> frame_of(std::uint64_t pa) const {
        using R = Result<FrameIndex, FrameError>;
        if (pa < base || (pa - base) / sv39::kPageSize >= count) return R::failure(FrameError::OutOfRange);
        if ((pa - base) % sv39::kPageSize != 0) return R::failure(FrameError::Misaligned);
        return R::success(FrameIndex(static_cast<std::uint32_t>((pa - base) / sv39::kPageSize)));
    }
};

/// Statistics of one pool (plain counters: the pool is used under its lock).
struct FramePoolCounters {
    std::uint64_t claimed = 0;        ///< successful claims
    std::uint64_t released = 0;       ///< successful releases
    std::uint64_t rejected_full = 0;  ///< claims refused with RejectedFull
    std::uint64_t refused = 0;        ///< releases refused (NotOwned, NotClaimed, OutOfRange)
};

// [hb:region user_frame_pool]
/// A fixed pool of Capacity user frames, each free or claimed by one process.
///
/// Why a free stack and not a bitmap scan: claim and release are O(1), which
/// matters because the pool's lock is a spinlock with interrupts off. Frames
/// never handed out yet are not on the stack; they come from a watermark
/// instead, so a fresh pool is all zeros and a constinit pool of many
/// thousand frames lands in .bss, not in the kernel image. The order frames
/// come out in is not a promise (fresh ones in index order, then last
/// released, first claimed: the warmest frame in the cache).
///
/// Why ownership is checked on release: a buggy or malicious unmap path that
/// releases a frame it does not own would hand another process's live page
/// to the next claimer. NotOwned and NotClaimed make that a value the kernel
/// can panic on, instead of a corruption found much later.
///
/// The pool never touches frame contents. A claimed frame still holds what
/// its previous owner left there: the kernel must zero it before mapping it
/// into a process, or one process reads another's data.
template <std::size_t Capacity>
class UserFramePool {
    static_assert(Capacity > 0, "a pool needs at least one frame");
    static_assert(Capacity <= 0xffff'ffffu, "a FrameIndex is 32 bits");

public:
    using ClaimResult = Result<FrameIndex, FrameError>;

    constexpr UserFramePool() = default;
    UserFramePool(const UserFramePool&) = delete;
    UserFramePool& operator=(const UserFramePool&) = delete;

    /// Takes a free frame for `owner`, or RejectedFull (pool unchanged).
    [[nodiscard]] constexpr ClaimResult claim(ProcessId owner) {
        std::uint32_t i = 0;
        if (m_free_count > 0) {
            i = m_free[--m_free_count];  // a released frame
        } else if (m_fresh < Capacity) {
            i = static_cast<std::uint32_t>(m_fresh++);  // one never handed out
        } else {
            ++m_counters.rejected_full;
            return ClaimResult::failure(FrameError::RejectedFull);
        }
        m_frames[i] = {owner, true};
        ++m_counters.claimed;
        return ClaimResult::success(FrameIndex(i));
    }

    /// Gives `frame` back. Only its owner may, and only once; the caller
    /// must have completed the TLB shootdown of every mapping of it first
    /// (see the top of this file). Every refusal leaves the pool unchanged.
    [[nodiscard]] constexpr FrameError release(ProcessId owner, FrameIndex frame) {
        const FrameError e = check_owner(owner, frame);
        if (e != FrameError::None) {
            ++m_counters.refused;
            return e;
        }
        m_frames[frame.raw()] = {};
        m_free[m_free_count++] = frame.raw();
        ++m_counters.released;
        return FrameError::None;
    }

    /// None if `owner` holds `frame`; otherwise why not (OutOfRange,
    /// NotClaimed, NotOwned). map_user_page asks this before mapping.
    [[nodiscard]] constexpr FrameError check_owner(ProcessId owner, FrameIndex frame) const {
        if (frame.raw() >= Capacity) return FrameError::OutOfRange;
        const Frame& f = m_frames[frame.raw()];
        if (!f.claimed) return FrameError::NotClaimed;
        if (f.owner != owner) return FrameError::NotOwned;
        return FrameError::None;
    }

    /// Who holds `frame` (dumps and tests).
    [[nodiscard]] constexpr Result<ProcessId, FrameError> owner_of(FrameIndex frame) const {
        using R = Result<ProcessId, FrameError>;
        if (frame.raw() >= Capacity) return R::failure(FrameError::OutOfRange);
        if (!m_frames[frame.raw()].claimed) return R::failure(FrameError::NotClaimed);
        return R::success(m_frames[frame.raw()].owner);
    }

    /// Process exit: releases every frame `owner` holds and returns how
    /// many. O(Capacity), once per exit. Same rule as release(): only after
    /// the process's space is unmapped and shot down everywhere.
    constexpr std::size_t release_all(ProcessId owner) {
        std::size_t n = 0;
        for (std::size_t i = 0; i < Capacity; ++i) {
            if (m_frames[i].claimed && m_frames[i].owner == owner) {
                m_frames[i] = {};
                m_free[m_free_count++] = static_cast<std::uint32_t>(i);
                ++n;
            }
        }
        m_counters.released += n;
        return n;
    }

    /// Frames `owner` holds. O(Capacity): for dumps and tests.
    [[nodiscard]] constexpr std::size_t claimed_by(ProcessId owner) const {
        std::size_t n = 0;
        for (const Frame& f : m_frames) n += (f.claimed && f.owner == owner) ? 1 : 0;
        return n;
    }

    [[nodiscard]] constexpr std::size_t free_count() const { return m_free_count + (Capacity - m_fresh); }
    [[nodiscard]] static constexpr std::size_t capacity() { return Capacity; }
    [[nodiscard]] constexpr FramePoolCounters counters() const { return m_counters; }

private:
    struct Frame {
        ProcessId owner{};
        bool claimed = false;
    };
    std::array<Frame, Capacity> m_frames{};
    /// Released frames, [0, m_free_count) valid. At most Capacity frames are
    /// ever claimed at once, so the stack cannot overflow.
    std::array<std::uint32_t, Capacity> m_free{};
    std::size_t m_free_count = 0;
    std::size_t m_fresh = 0;  ///< frames [m_fresh, Capacity) were never handed out
    FramePoolCounters m_counters{};
};
// [hb:end user_frame_pool]

/// The pool's verdict, and also OutOfRange when the region is smaller than
/// the pool (a mis-sized region must not yield addresses past its end).
template <std::size_t Capacity>
constexpr FrameError check_owner_in_region(const UserFramePool<Capacity>& pool, const FrameRegion& region,
                                           ProcessId owner, FrameIndex frame) {
    if (frame.raw() >= region.count) return FrameError::OutOfRange;
    return pool.check_owner(owner, frame);
}

// [hb:region map_user_page]
/// Why map_user_page refused; the layer that refused also gives its reason.
enum class UserMapError : std::uint32_t {
    None,
    OutsideWindow,  ///< the page is not inside [kUserBase, kUserLimit)
    NotUserFlags,   ///< flags lack U, or carry G (a global entry would outlive the process in every TLB)
    Frame,          ///< the pool refused: see `frame` (NotOwned, NotClaimed, OutOfRange)
    PageTable,      ///< the page table refused: see `map` (AlreadyMapped, OutOfTables, ...)
};

struct UserMapOutcome {
    UserMapError error = UserMapError::None;
    FrameError frame = FrameError::None;
    sv39::MapError map = sv39::MapError::None;
    [[nodiscard]] constexpr bool ok() const { return error == UserMapError::None; }
};

/// Maps one frame that `owner` holds at user address `va` of `space` with
/// `flags`, as a 4 KiB page. The policy checks (window, flags, ownership)
/// all run before the page table is touched, so their refusals change
/// nothing; a page-table refusal follows map()'s rule (at most an empty
/// intermediate table is left behind, never a leaf).
template <std::size_t Capacity>
UserMapOutcome map_user_page(sv39::AddressSpace& space, const UserFramePool<Capacity>& pool,
                             const FrameRegion& region, ProcessId owner, std::uint64_t va, FrameIndex frame,
                             std::uint64_t flags) {
    if (!in_user_window(va, sv39::kPageSize)) return {UserMapError::OutsideWindow};
    if ((flags & sv39::kUser) == 0 || (flags & sv39::kGlobal) != 0) return {UserMapError::NotUserFlags};
    const FrameError owned = check_owner_in_region(pool, region, owner, frame);
    if (owned != FrameError::None) return {UserMapError::Frame, owned};
    const sv39::MapError e = space.map(va, region.pa_of(frame), sv39::kPageSize, flags, /*allow_mega=*/false);
    if (e != sv39::MapError::None) return {UserMapError::PageTable, FrameError::None, e};
    return {};
}
// [hb:end map_user_page]

}  // namespace hb
