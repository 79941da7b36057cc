// From a set of CPUs to SBI hart masks (chapter 05).
//
// SBI's send_ipi names its targets as a window of hart ids: a 64-bit
// `hart_mask` whose bit i means hart `hart_mask_base + i`. The kernel speaks
// CpuIds and CpuSets; hart ids exist only in the topology. This is the one
// place a CpuSet becomes hart masks. Hart ids need not be dense (a board
// may number them 0, 1, 4, 9 or leave hart 0 to a monitor core), so a set can
// need more than one window: the harts are visited in increasing order and a
// new window starts whenever the next hart does not fit in the current one.
//
// Pure: no SBI call here. The kernel passes a function that sends one window.
#pragma once

#include <cstdint>

#include "lib/cpuset.hpp"
#include "lib/ids.hpp"
#include "lib/topology.hpp"

namespace hb {

// [hb:region hart_mask]
/// One send_ipi argument pair: harts base + i for every bit i of mask.
struct HartMaskWindow {
    std::uint64_t base = 0;
    std::uint64_t mask = 0;
    friend constexpr bool operator==(const HartMaskWindow&, const HartMaskWindow&) = default;
};

/// Calls emit(HartMaskWindow) for the harts of `targets`, fewest windows
/// first-fit in increasing hart order; returns how many windows it emitted.
/// CPUs of `targets` outside the topology are skipped (the caller validated
/// them; a CpuSet cannot hold an id >= kMaxCpus at all).
template <typename Emit>
constexpr std::uint32_t for_each_hart_window(CpuSet targets, const Topology& topo, Emit&& emit) {
    std::uint64_t harts[kMaxCpus]{};
    std::uint32_t n = 0;
    targets.for_each([&](CpuId c) {
        if (c.raw() < topo.cpu_count()) harts[n++] = topo.hart_of(c).raw();
    });
    // Insertion sort: at most kMaxCpus entries, no allocation.
    for (std::uint32_t i = 1; i < n; ++i) {
        const std::uint64_t h = harts[i];
        std::uint32_t j = i;
        while (j > 0 && harts[j - 1] > h) {
            harts[j] = harts[j - 1];
            --j;
        }
        harts[j] = h;
    }
    std::uint32_t windows = 0;
    HartMaskWindow w{};
    for (std::uint32_t i = 0; i < n; ++i) {
        if (w.mask != 0 && harts[i] - w.base >= 64) {
            emit(w);
            ++windows;
            w = {};
        }
        if (w.mask == 0) w.base = harts[i];
        w.mask |= std::uint64_t{1} << (harts[i] - w.base);
    }
    if (w.mask != 0) {
        emit(w);
        ++windows;
    }
    return windows;
}
// [hb:end hart_mask]

}  // namespace hb
