// A test-and-test-and-set spinlock and a lock that owns its data.
//
// Only for short critical sections (a console line, a runqueue operation).
// Pure C++ atomics: the same code runs in the kernel and, under
// ThreadSanitizer, in the host tests.
#pragma once

#include <atomic>
#include <cstdint>
#include <utility>

namespace hb {

/// Called while spinning; the kernel passes a pause hint, the host nothing.
struct NoRelax {
    void operator()() const {}
};

// [hb:region basic_spinlock]
template <typename Relax = NoRelax>
class BasicSpinLock {
public:
    constexpr BasicSpinLock() = default;
    BasicSpinLock(const BasicSpinLock&) = delete;
    BasicSpinLock& operator=(const BasicSpinLock&) = delete;

    void lock() {
        for (;;) {
            // acquire: everything the previous holder wrote before unlock()
            // is visible once we own the lock.
            if (!m_locked.exchange(1, std::memory_order_acquire)) return;
            // Spin on a plain load so waiting harts share the cache line
            // instead of bouncing it with writes.
            while (m_locked.load(std::memory_order_relaxed)) Relax{}();
        }
    }
    bool try_lock() {
        return !m_locked.load(std::memory_order_relaxed) &&
               !m_locked.exchange(1, std::memory_order_acquire);
    }
    void unlock() { m_locked.store(0, std::memory_order_release); }
    [[nodiscard]] bool is_locked() const { return m_locked.load(std::memory_order_relaxed) != 0; }

private:
    std::atomic<std::uint32_t> m_locked{0};  // 32-bit: RISC-V AMOs have no byte form
};
// [hb:end basic_spinlock]

template <typename Lock>
class LockGuard {
public:
    explicit LockGuard(Lock& l) : m_lock(l) { m_lock.lock(); }
    ~LockGuard() { m_lock.unlock(); }
    LockGuard(const LockGuard&) = delete;
    LockGuard& operator=(const LockGuard&) = delete;

private:
    Lock& m_lock;
};

// [hb:region protected]
/// Data that can only be reached with its lock held: `p.with([](T& t){...})`.
/// The lock says what it protects because it is the only way in.
template <typename T, typename Lock>
class Protected {
public:
    template <typename... Args>
    constexpr explicit Protected(Args&&... args) : m_value(std::forward<Args>(args)...) {}

    template <typename Fn>
    decltype(auto) with(Fn&& fn) {
        LockGuard<Lock> guard(m_lock);
        return std::forward<Fn>(fn)(m_value);
    }

private:
    Lock m_lock;
    T m_value;
};
// [hb:end protected]

}  // namespace hb
