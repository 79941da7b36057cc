// The scaling workload: count the primes in
// [2, 3,000,000), in blocks of 10,000 dealt round-robin by worker index.
//
// Pure integer work with no memory traffic beyond registers: it shares
// nothing between workers, so any speedup it shows is the machine's and the
// scheduler's, not the workload's. Everything is always inlined, because the
// same code runs in three places: chapter 04's kernel tasks, chapter 07's
// user programs (which may not call into kernel .text, see
// arch/riscv/user_syscall.hpp), and chapter 07's "limit" run on bare harts.
//
// The functions these are inlined into are aligned to kHotAlign: under
// QEMU's TCG a loop whose body straddles a 4 KiB page boundary cannot chain
// its translated blocks, and the same loop ran 8x slower (3.0 s instead of
// 0.36 s) when a build happened to place it across a page. A CTest
// (tests/rules/hot-loops.sh) checks that none of them straddles a page.
#pragma once

#include <cstdint>

namespace hb::primes {

// [hb:region primes_workload]
inline constexpr std::uint64_t kLimit = 3'000'000;
inline constexpr std::uint64_t kBlock = 10'000;
inline constexpr std::uint64_t kBlocks = (kLimit + kBlock - 1) / kBlock;  ///< 300
inline constexpr std::uint64_t kExpected = 216'816;                       ///< pi(3,000,000) - pi(1)
/// Alignment of every function the workload is inlined into (see above).
#define HB_PRIMES_HOT gnu::noinline, gnu::aligned(512)

/// Trial division by odd numbers up to sqrt(n).
[[gnu::always_inline]] constexpr bool is_prime(std::uint64_t n) {
    if (n < 2) return false;
    if (n % 2 == 0) return n == 2;
    for (std::uint64_t d = 3; d * d <= n; d += 2) {
        if (n % d == 0) return false;
    }
    return true;
}

/// Primes in block `b`: [b * kBlock, min((b + 1) * kBlock, kLimit)).
[[gnu::always_inline]] constexpr std::uint64_t count_block(std::uint64_t b) {
    const std::uint64_t lo = b * kBlock;
    const std::uint64_t hi = lo + kBlock < kLimit ? lo + kBlock : kLimit;
    std::uint64_t count = 0;
    for (std::uint64_t n = lo; n < hi; ++n) count += is_prime(n) ? 1 : 0;
    return count;
}

/// Worker `index` of `workers` counts blocks index, index + workers, ...
/// The shares of workers 0..workers-1 partition the range exactly.
[[gnu::always_inline]] constexpr std::uint64_t count_share(std::uint64_t index, std::uint64_t workers) {
    std::uint64_t count = 0;
    if (workers == 0) return 0;
    for (std::uint64_t b = index; b < kBlocks; b += workers) count += count_block(b);
    return count;
}
// [hb:end primes_workload]

}  // namespace hb::primes
