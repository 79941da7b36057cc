// How much of a set of timed sections ran at the same time (chapter 07's
// scaling demos). A runtime that serializes its workers shows peak 1 however
// fast its clock says it was; one that runs them in parallel shows peak > 1
// and time with two or more open at once.
#pragma once

#include <cstddef>
#include <cstdint>

namespace hb {

// [hb:region overlap]
struct Interval {
    std::uint64_t start = 0;
    std::uint64_t end = 0;  ///< one past the last instant: [start, end)
};

struct Overlap {
    std::uint32_t peak = 0;      ///< the most sections open at one instant
    std::uint64_t parallel = 0;  ///< how long two or more were open at once
};

/// Sweeps the 2n endpoints in time order (n is small: one per worker).
/// An end and a start at the same instant do not overlap.
constexpr Overlap overlap_of(const Interval* s, std::size_t n) {
    Overlap out{};
    std::uint64_t now = 0;
    std::uint32_t open = 0;
    bool started = false;
    for (;;) {
        // The next instant after `now` at which a section starts or ends.
        bool found = false;
        std::uint64_t next = 0;
        for (std::size_t k = 0; k < 2 * n; ++k) {
            const std::uint64_t t = k % 2 == 0 ? s[k / 2].start : s[k / 2].end;
            if ((!started || t > now) && (!found || t < next)) {
                next = t;
                found = true;
            }
        }
        if (!found) return out;
        if (started && open >= 2) out.parallel += next - now;
        now = next;
        started = true;
        open = 0;
        for (std::size_t i = 0; i < n; ++i) open += (s[i].start <= now && now < s[i].end) ? 1 : 0;
        out.peak = open > out.peak ? open : out.peak;
    }
}
// [hb:end overlap]

}  // namespace hb
