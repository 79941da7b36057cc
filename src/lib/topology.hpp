// The topology table: the one place that maps CpuId <-> HartId.
//
// The firmware numbers harts as it likes (sparse, and the boot hart is
// whichever won OpenSBI's lottery). The kernel numbers CPUs densely:
// CpuId 0 is the boot hart, then the other harts in ascending hart-id order.
// Harts beyond the CPU limit get no CpuId and stay parked.
#pragma once

#include <cstddef>
#include <cstdint>

#include "lib/ids.hpp"
#include "lib/result.hpp"

namespace hb {

enum class TopologyError {
    None,
    BootHartNotListed,  ///< the hart we run on is not in the device tree
    DuplicateHart,      ///< a hart id appears twice
    Empty,
};
inline const char* topology_error_name(TopologyError e) {
    switch (e) {
    case TopologyError::None: return "none";
    case TopologyError::BootHartNotListed: return "boot-hart-not-listed";
    case TopologyError::DuplicateHart: return "duplicate-hart";
    case TopologyError::Empty: return "empty";
    }
    return "unknown";
}

// [hb:region topology]
class Topology {
public:
    static constexpr std::size_t kMaxParked = 64;

    /// Builds the table from the harts the device tree lists. `cpu_limit`
    /// (at most kMaxCpus) caps how many harts get a CpuId; the rest are parked.
    static Result<Topology, TopologyError> build(HartId boot, const HartId* harts, std::size_t n,
                                                 std::uint32_t cpu_limit = kMaxCpus) {
        using R = Result<Topology, TopologyError>;
        if (n == 0) return R::failure(TopologyError::Empty);
        bool boot_seen = false;
        for (std::size_t i = 0; i < n; ++i) {
            if (harts[i] == boot) boot_seen = true;
            for (std::size_t j = i + 1; j < n; ++j) {
                if (harts[i] == harts[j]) return R::failure(TopologyError::DuplicateHart);
            }
        }
        if (!boot_seen) return R::failure(TopologyError::BootHartNotListed);
        if (cpu_limit > kMaxCpus) cpu_limit = kMaxCpus;
        if (cpu_limit == 0) cpu_limit = 1;

        Topology t;
        t.m_hart[0] = boot;
        t.m_cpu_count = 1;
        // Selection by ascending hart id without sorting a copy: n is small
        // (at most 64), and this runs once at boot.
        HartId last = HartId(0);
        bool have_last = false;
        for (std::size_t round = 0; round < n; ++round) {
            bool found = false;
            HartId next{};
            for (std::size_t i = 0; i < n; ++i) {
                const HartId h = harts[i];
                if (h == boot || (have_last && h <= last)) continue;
                if (!found || h < next) {
                    next = h;
                    found = true;
                }
            }
            if (!found) break;
            last = next;
            have_last = true;
            if (t.m_cpu_count < cpu_limit) {
                t.m_hart[t.m_cpu_count++] = next;
            } else if (t.m_parked_count < kMaxParked) {
                t.m_parked[t.m_parked_count++] = next;
            }
        }
        return R::success(t);
    }

    [[nodiscard]] std::uint32_t cpu_count() const { return m_cpu_count; }
    [[nodiscard]] HartId hart_of(CpuId cpu) const { return m_hart[cpu.raw() < kMaxCpus ? cpu.raw() : 0]; }
    [[nodiscard]] bool valid(CpuId cpu) const { return cpu.raw() < m_cpu_count; }
    /// The CpuId of `hart`, if it has one.
    [[nodiscard]] bool cpu_of(HartId hart, CpuId& out) const {
        for (std::uint32_t i = 0; i < m_cpu_count; ++i) {
            if (m_hart[i] == hart) {
                out = CpuId(i);
                return true;
            }
        }
        return false;
    }
    [[nodiscard]] std::size_t parked_count() const { return m_parked_count; }
    [[nodiscard]] HartId parked(std::size_t i) const { return m_parked[i]; }

private:
    HartId m_hart[kMaxCpus]{};
    std::uint32_t m_cpu_count = 0;
    HartId m_parked[kMaxParked]{};
    std::size_t m_parked_count = 0;
};
// [hb:end topology]

}  // namespace hb
