// A bounded reader for the flattened device tree (DTB) that the firmware
// hands the kernel in a1. It extracts what the book's kernels need: the
// harts under /cpus, the timer frequency, and /chosen/bootargs.
//
// Pure logic with explicit bounds: every offset is checked against the
// blob's declared size, so a corrupt tree gives an error, not a wild read.
// Host tests feed it QEMU's own tree and hand-broken copies of it.
#pragma once

#include <cstddef>
#include <cstdint>

#include "lib/ids.hpp"
#include "lib/result.hpp"

namespace hb::fdt {

enum class Error {
    None,
    BadMagic,         ///< not a device tree
    BadVersion,       ///< older than version 17
    Truncated,        ///< an offset or length points outside the blob
    BadToken,         ///< unknown structure token
    BadNesting,       ///< END_NODE without BEGIN_NODE, or nodes too deep
    TooManyHarts,     ///< more cpu nodes than kMaxDtHarts
    NoHarts,          ///< no usable cpu node under /cpus
};
const char* error_name(Error e);

/// How many cpu nodes we record. Harts past kMaxCpus are still listed (so the
/// kernel can say which it leaves parked), but a tree with more than this is
/// rejected rather than silently cut.
inline constexpr std::size_t kMaxDtHarts = 64;

// [hb:region platform]
struct Platform {
    HartId harts[kMaxDtHarts]{};   ///< usable harts (status okay), tree order
    std::size_t hart_count = 0;
    std::uint64_t timebase_hz = 0; ///< /cpus/timebase-frequency; 0 if absent
    const char* bootargs = nullptr;///< /chosen/bootargs inside the blob, or null
    std::size_t bootargs_len = 0;  ///< without the terminating NUL
    /// MMIO address of a "sifive,test0" finisher (QEMU virt's power/exit
    /// device), 0 if the tree has none. Writing 0x3333 | code << 16 to it
    /// makes QEMU exit with `code`.
    std::uint64_t test_finisher = 0;
    std::uint64_t memory_base = 0;  ///< first /memory reg range (0 if absent)
    std::uint64_t memory_size = 0;
};

/// Parses the tree at `blob`, reading at most `max_size` bytes of it.
Result<Platform, Error> parse(const void* blob, std::size_t max_size);
// [hb:end platform]

/// The size the header declares (0 when the magic is wrong). The kernel uses
/// it to bound parse() before it knows anything else about the blob.
std::size_t total_size(const void* blob);

}  // namespace hb::fdt
