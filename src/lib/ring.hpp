// A fixed-capacity FIFO ring: the storage under every scheduler queue.
//
// The scheduler may not allocate (no heap on IRQ/IPI/scheduler paths), so a
// queue is an array of N slots chosen at compile time. When it is full, `push`
// does not grow, overwrite or drop: it says RejectedFull and leaves the item
// with the caller. That outcome is the backpressure contract; `[[nodiscard]]`
// makes ignoring it a compile error under -Werror.
//
// Not thread-safe on purpose: a ring belongs to exactly one owner, and
// sharing goes through a lock that owns it (see lib/runqueue.hpp).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace hb {

// [hb:region enqueue_outcome]
/// What happened to an item offered to a bounded queue. Anything but
/// Accepted means the queue did not take it: the caller still owns the item
/// and must decide what to do (retry elsewhere, keep it, report it).
enum class EnqueueOutcome : std::uint32_t {
    Accepted,
    RejectedFull,     ///< no free slot; counted, queue unchanged
    RejectedInvalid,  ///< the request named no real target (a QosClass or CpuId out of range)
};
// [hb:end enqueue_outcome]

constexpr const char* enqueue_outcome_name(EnqueueOutcome o) {
    switch (o) {
    case EnqueueOutcome::Accepted: return "accepted";
    case EnqueueOutcome::RejectedFull: return "rejected-full";
    case EnqueueOutcome::RejectedInvalid: return "rejected-invalid";
    }
    return "?";
}

// [hb:region bounded_queue]
/// FIFO of at most N items of a small, trivially copyable T. Every operation
/// is O(1) except `for_each`, which visits at most N items.
///
/// Items leave from the head (`pop`, oldest first). `pop_back` takes the
/// newest instead: that is the end a work stealer takes from (chapter 06).
/// Stealing from the tail leaves the victim's next pick (its head) alone, and
/// moves the task that would otherwise have waited longest on the victim.
template <typename T, std::size_t N>
class BoundedQueue {
    static_assert(N > 0, "a queue needs at least one slot");
    static_assert(std::is_trivially_copyable_v<T>, "items are copied in and out by value");
    static_assert(std::is_default_constructible_v<T>, "the slots are a plain array");

public:
    constexpr BoundedQueue() = default;

    [[nodiscard]] static constexpr std::size_t capacity() { return N; }
    [[nodiscard]] constexpr std::size_t size() const { return m_size; }
    [[nodiscard]] constexpr bool empty() const { return m_size == 0; }
    [[nodiscard]] constexpr bool full() const { return m_size == N; }

    /// Appends `item` at the tail, or rejects it when full (queue unchanged).
    [[nodiscard]] constexpr EnqueueOutcome push(const T& item) {
        if (full()) return EnqueueOutcome::RejectedFull;
        m_slots[wrap(m_head + m_size)] = item;
        ++m_size;
        return EnqueueOutcome::Accepted;
    }

    /// Removes the oldest item into `out`. False (and `out` untouched) if empty.
    [[nodiscard]] constexpr bool pop(T& out) {
        if (empty()) return false;
        out = m_slots[m_head];
        m_head = wrap(m_head + 1);
        --m_size;
        return true;
    }

    /// Removes the newest item into `out`. False (and `out` untouched) if empty.
    [[nodiscard]] constexpr bool pop_back(T& out) {
        if (empty()) return false;
        --m_size;
        out = m_slots[wrap(m_head + m_size)];
        return true;
    }

    /// The oldest item, without removing it. False if empty.
    [[nodiscard]] constexpr bool peek(T& out) const {
        if (empty()) return false;
        out = m_slots[m_head];
        return true;
    }

    /// Calls fn(const T&) for each item, oldest first (selftests and dumps).
    template <typename Fn>
    constexpr void for_each(Fn&& fn) const {
        for (std::size_t i = 0; i < m_size; ++i) fn(m_slots[wrap(m_head + i)]);
    }

private:
    // Indices stay in [0, 2N), so one conditional subtraction replaces `%`:
    // N need not be a power of two and no division is emitted.
    static constexpr std::size_t wrap(std::size_t i) { return i >= N ? i - N : i; }

    std::array<T, N> m_slots{};
    std::size_t m_head = 0;  ///< slot of the oldest item, always < N
    std::size_t m_size = 0;  ///< items held, always <= N
};
// [hb:end bounded_queue]

}  // namespace hb
