// Sets of CPUs: a plain value type and the atomic online mask built on it.
#pragma once

#include <atomic>
#include <bit>
#include <cstdint>

#include "lib/ids.hpp"

namespace hb {

static_assert(kMaxCpus <= 64, "a CpuSet is one 64-bit word");

// [hb:region cpuset]
/// A set of CpuIds, one bit per CPU. A value type: copy it, combine it, and
/// hand it to code that sends one IPI batch to every member.
class CpuSet {
public:
    constexpr CpuSet() = default;
    /// Only CPUs below kMaxCpus may be members; others are ignored by `with`.
    static constexpr CpuSet from_bits(std::uint64_t bits) { return CpuSet(bits & kAllBits); }
    static constexpr CpuSet first_n(std::uint32_t n) {
        return CpuSet(n >= 64 ? kAllBits : ((std::uint64_t{1} << n) - 1) & kAllBits);
    }

    [[nodiscard]] constexpr bool contains(CpuId cpu) const {
        return cpu.raw() < kMaxCpus && (m_bits & bit(cpu)) != 0;
    }
    [[nodiscard]] constexpr CpuSet with(CpuId cpu) const {
        return cpu.raw() < kMaxCpus ? CpuSet(m_bits | bit(cpu)) : *this;
    }
    [[nodiscard]] constexpr CpuSet without(CpuId cpu) const {
        return cpu.raw() < kMaxCpus ? CpuSet(m_bits & ~bit(cpu)) : *this;
    }
    [[nodiscard]] constexpr std::uint32_t count() const {
        return static_cast<std::uint32_t>(std::popcount(m_bits));
    }
    [[nodiscard]] constexpr bool empty() const { return m_bits == 0; }
    [[nodiscard]] constexpr std::uint64_t bits() const { return m_bits; }

    friend constexpr bool operator==(CpuSet, CpuSet) = default;
    friend constexpr CpuSet operator|(CpuSet a, CpuSet b) { return CpuSet(a.m_bits | b.m_bits); }
    friend constexpr CpuSet operator&(CpuSet a, CpuSet b) { return CpuSet(a.m_bits & b.m_bits); }

    /// Calls fn(CpuId) for each member in ascending order.
    template <typename Fn>
    constexpr void for_each(Fn&& fn) const {
        for (std::uint64_t rest = m_bits; rest != 0; rest &= rest - 1) {
            fn(CpuId(static_cast<std::uint32_t>(std::countr_zero(rest))));
        }
    }

private:
    static constexpr std::uint64_t kAllBits =
        kMaxCpus == 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << kMaxCpus) - 1;
    constexpr explicit CpuSet(std::uint64_t bits) : m_bits(bits) {}
    static constexpr std::uint64_t bit(CpuId cpu) { return std::uint64_t{1} << cpu.raw(); }
    std::uint64_t m_bits = 0;
};
// [hb:end cpuset]

// [hb:region atomic_cpuset]
/// A CpuSet shared between harts, such as the online mask. Each update is a
/// single atomic read-modify-write, so concurrent updates of different bits
/// never lose each other (a load/modify/store would).
///
/// Ordering: `load` acquires; `insert` and `erase` are acq_rel. Their release
/// half publishes: a hart that sets its bit after initialising its per-CPU
/// state publishes that state, so a reader that sees the bit also sees
/// everything the hart wrote before it. Their acquire half covers the value
/// they read back (was the bit set?).
class AtomicCpuSet {
public:
    constexpr AtomicCpuSet() = default;
    AtomicCpuSet(const AtomicCpuSet&) = delete;
    AtomicCpuSet& operator=(const AtomicCpuSet&) = delete;

    /// Adds `cpu`; returns false if it was already a member (or out of range).
    bool insert(CpuId cpu) {
        if (cpu.raw() >= kMaxCpus) return false;
        const std::uint64_t b = std::uint64_t{1} << cpu.raw();
        return (m_bits.fetch_or(b, std::memory_order_acq_rel) & b) == 0;
    }
    /// Removes `cpu`; returns false if it was not a member.
    bool erase(CpuId cpu) {
        if (cpu.raw() >= kMaxCpus) return false;
        const std::uint64_t b = std::uint64_t{1} << cpu.raw();
        return (m_bits.fetch_and(~b, std::memory_order_acq_rel) & b) != 0;
    }
    [[nodiscard]] bool contains(CpuId cpu) const { return load().contains(cpu); }
    [[nodiscard]] std::uint32_t count() const { return load().count(); }
    [[nodiscard]] CpuSet load() const {
        return CpuSet::from_bits(m_bits.load(std::memory_order_acquire));
    }

private:
    std::atomic<std::uint64_t> m_bits{0};
};
// [hb:end atomic_cpuset]

}  // namespace hb
