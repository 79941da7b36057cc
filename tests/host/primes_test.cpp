// The scaling workload (lib/primes.hpp): the shares of any worker count
// partition [2, 3,000,000) exactly, so the parent's checksum is meaningful.
#include "lib/primes.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace {

namespace primes = hb::primes;

TEST(Primes, SmallNumbers) {
    const std::vector<std::uint64_t> want = {2, 3, 5, 7, 11, 13, 17, 19, 23, 29};
    std::vector<std::uint64_t> got;
    for (std::uint64_t n = 0; n < 30; ++n) {
        if (primes::is_prime(n)) got.push_back(n);
    }
    EXPECT_EQ(got, want);
    EXPECT_FALSE(primes::is_prime(9));
    EXPECT_FALSE(primes::is_prime(25));
}

// A sieve, independent of trial division.
std::uint64_t sieve_count(std::uint64_t limit) {
    std::vector<bool> composite(limit, false);
    std::uint64_t n = 0;
    for (std::uint64_t i = 2; i < limit; ++i) {
        if (composite[i]) continue;
        ++n;
        for (std::uint64_t j = i * i; j < limit; j += i) composite[j] = true;
    }
    return n;
}

TEST(Primes, WholeRangeMatchesSieveAndTheExpectedCount) {
    EXPECT_EQ(sieve_count(primes::kLimit), primes::kExpected);
    EXPECT_EQ(primes::count_share(0, 1), primes::kExpected);
}

TEST(Primes, SharesPartitionTheRangeForEveryWorkerCount) {
    for (std::uint64_t workers : {2u, 3u, 4u, 8u}) {
        std::uint64_t sum = 0;
        for (std::uint64_t w = 0; w < workers; ++w) sum += primes::count_share(w, workers);
        EXPECT_EQ(sum, primes::kExpected) << workers << " workers";
    }
}

TEST(Primes, SharesAreBalanced) {
    // Static splitting only scales if the shares cost about the same: with
    // blocks dealt round-robin, no worker gets more than 2 extra blocks.
    for (std::uint64_t workers : {2u, 4u}) {
        for (std::uint64_t w = 0; w < workers; ++w) {
            std::uint64_t blocks = 0;
            for (std::uint64_t b = w; b < primes::kBlocks; b += workers) ++blocks;
            EXPECT_LE(blocks, primes::kBlocks / workers + 1);
        }
    }
    EXPECT_EQ(primes::count_share(0, 0), 0u);
}

}  // namespace
