// Generation-checked handles (chapter 07's threads).
//
// A handle names a slot *and the slot's life*: {index, generation}. When a
// slot is released its generation moves on, so a handle kept from an earlier
// life (a thread joined twice, a join racing a reuse) is refused as Stale
// instead of reaching whatever lives in the slot now. Generation 0 never
// names a live slot, so a zeroed handle is always refused.
//
// The table keeps only slot bookkeeping; the caller keeps its objects in an
// array of the same size, indexed by Handle::index, and serializes calls
// (the kernel under a spinlock). No heap, fixed capacity, explicit refusals.
#pragma once

#include <cstdint>

#include "lib/result.hpp"

namespace hb {

// [hb:region handle_table]
struct Handle {
    std::uint32_t index = 0;
    std::uint32_t generation = 0;  ///< 0: no slot's life; never valid

    /// One word, for a system call's a0 or a log line.
    [[nodiscard]] constexpr std::uint64_t raw() const {
        return (static_cast<std::uint64_t>(generation) << 32) | index;
    }
    static constexpr Handle from_raw(std::uint64_t raw) {
        return {static_cast<std::uint32_t>(raw), static_cast<std::uint32_t>(raw >> 32)};
    }
    friend constexpr bool operator==(Handle, Handle) = default;
};

enum class HandleError : std::uint8_t {
    None,
    Full,        ///< allocate: every slot is live
    OutOfRange,  ///< the index names no slot
    Stale,       ///< the slot is free, or lives a later life than the handle's
};

constexpr const char* handle_error_name(HandleError e) {
    switch (e) {
        case HandleError::None: return "none";
        case HandleError::Full: return "table full";
        case HandleError::OutOfRange: return "index out of range";
        case HandleError::Stale: return "stale handle";
    }
    return "?";
}

template <std::uint32_t N>
class HandleTable {
    static_assert(N > 0);

public:
    static constexpr std::uint32_t kCapacity = N;

    /// Every slot free, in its first life (generation 1).
    constexpr HandleTable() {
        for (auto& g : m_generation) g = 1;
    }

    /// The lowest free slot, in a new life.
    constexpr Result<Handle, HandleError> allocate() {
        for (std::uint32_t i = 0; i < N; ++i) {
            if (m_live[i]) continue;
            m_live[i] = true;
            return Result<Handle, HandleError>::success({i, m_generation[i]});
        }
        return Result<Handle, HandleError>::failure(HandleError::Full);
    }

    /// Does `h` name a live slot in the life it was handed out for?
    [[nodiscard]] constexpr HandleError check(Handle h) const {
        // [hb:lab 07 handle_check]
        if (h.index >= N) return HandleError::OutOfRange;
        if (!m_live[h.index] || h.generation != m_generation[h.index]) return HandleError::Stale;
        return HandleError::None;
        // [hb:stub handle_check]
        //| // Lab 07: a handle is good only for a live slot, in the life it named.
        //| (void)h;
        //| return HandleError::Stale;
        // [hb:end handle_check]
    }

    /// Ends the slot's life (checked): every handle to it is stale from now on.
    constexpr HandleError release(Handle h) {
        const HandleError e = check(h);
        if (e != HandleError::None) return e;
        // [hb:lab 07 handle_release]
        m_live[h.index] = false;
        // Next life; skip 0 on wrap-around so a zeroed handle stays invalid.
        m_generation[h.index] = m_generation[h.index] + 1 == 0 ? 1 : m_generation[h.index] + 1;
        // [hb:stub handle_release]
        //| // Lab 07: end the slot's life so every handle to it goes stale.
        // [hb:end handle_release]
        return HandleError::None;
    }

    /// The generation slot `index` lives (or will next live) in; for
    /// diagnostics and the mutation gate, never for access decisions.
    [[nodiscard]] constexpr std::uint32_t generation_of(std::uint32_t index) const {
        return index < N ? m_generation[index] : 0;
    }

    [[nodiscard]] constexpr std::uint32_t live() const {
        std::uint32_t n = 0;
        for (bool l : m_live) n += l ? 1 : 0;
        return n;
    }

private:
    bool m_live[N]{};
    std::uint32_t m_generation[N]{};
};
// [hb:end handle_table]

}  // namespace hb
