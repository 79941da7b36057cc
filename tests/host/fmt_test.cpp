// Bounded formatting (lib/fmt.hpp): a console line is built in a fixed
// buffer and cut, never overflowed.
#include "lib/fmt.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <limits>
#include <string>

namespace {

using hb::FixedString;
using hb::Hex;

template <std::size_t N, typename T>
std::string fmt(T v) {
    FixedString<N> s;
    s.append(v);
    return s.c_str();
}
template <typename T>
std::string fmt(T v) {
    return fmt<64>(v);
}

// Formatting works at compile time (the kernel builds constant banners).
constexpr auto kConst = [] {
    FixedString<16> s;
    s.append("cpu").append(hb::CpuId(3)).append(' ').append(Hex{0xab});
    return s;
}();
static_assert(kConst.size() == 9);
static_assert(!kConst.truncated());
static_assert(FixedString<8>::capacity() == 7);

TEST(FixedString, StartsEmptyAndTerminated) {
    const FixedString<8> s;
    EXPECT_EQ(s.size(), 0u);
    EXPECT_STREQ(s.c_str(), "");
    EXPECT_FALSE(s.truncated());
    EXPECT_EQ(FixedString<8>::capacity(), 7u);
    EXPECT_EQ(FixedString<2>::capacity(), 1u);
}

TEST(FixedString, Text) {
    FixedString<32> s;
    s.append("hart ").append('A').append(" ok");
    EXPECT_STREQ(s.c_str(), "hart A ok");
    EXPECT_EQ(s.size(), 9u);
    s.append(static_cast<const char*>(nullptr));  // a null string appends nothing
    s.append("");
    EXPECT_EQ(s.size(), 9u);
    EXPECT_FALSE(s.truncated());
}

TEST(FixedString, Bool) {
    EXPECT_EQ(fmt(true), "true");
    EXPECT_EQ(fmt(false), "false");
}

TEST(FixedString, UnsignedDecimal) {
    EXPECT_EQ(fmt(0u), "0");
    EXPECT_EQ(fmt(7u), "7");
    EXPECT_EQ(fmt(10u), "10");
    EXPECT_EQ(fmt(1234567890u), "1234567890");
    EXPECT_EQ(fmt(std::numeric_limits<std::uint64_t>::max()), "18446744073709551615");
    EXPECT_EQ(fmt(std::numeric_limits<std::uint32_t>::max()), "4294967295");
    // Byte-sized integers are numbers, not characters.
    EXPECT_EQ(fmt(std::uint8_t{200}), "200");
    EXPECT_EQ(fmt(std::uint16_t{65535}), "65535");
}

TEST(FixedString, SignedDecimal) {
    EXPECT_EQ(fmt(0), "0");
    EXPECT_EQ(fmt(42), "42");
    EXPECT_EQ(fmt(-1), "-1");
    EXPECT_EQ(fmt(-10), "-10");
    EXPECT_EQ(fmt(-1234567), "-1234567");
    // The most negative values have no positive counterpart in their type.
    EXPECT_EQ(fmt(std::numeric_limits<std::int64_t>::min()), "-9223372036854775808");
    EXPECT_EQ(fmt(std::numeric_limits<std::int64_t>::max()), "9223372036854775807");
    EXPECT_EQ(fmt(std::numeric_limits<std::int32_t>::min()), "-2147483648");
    EXPECT_EQ(fmt(std::int8_t{-128}), "-128");
    EXPECT_EQ(fmt(static_cast<signed char>(-5)), "-5");
    EXPECT_EQ(fmt(std::int16_t{-32768}), "-32768");
}

TEST(FixedString, Hex) {
    EXPECT_EQ(fmt(Hex{0}), "0x0");
    EXPECT_EQ(fmt(Hex{0xa}), "0xa");
    EXPECT_EQ(fmt(Hex{0x10}), "0x10");
    EXPECT_EQ(fmt(Hex{0xdeadbeef}), "0xdeadbeef");  // lower case
    EXPECT_EQ(fmt(Hex{0x100000}), "0x100000");
    EXPECT_EQ(fmt(Hex{~std::uint64_t{0}}), "0xffffffffffffffff");
    EXPECT_EQ(fmt(Hex{0x8000000000000000ull}), "0x8000000000000000");
}

TEST(FixedString, Ids) {
    EXPECT_EQ(fmt(hb::CpuId(0)), "0");
    EXPECT_EQ(fmt(hb::CpuId(7)), "7");
    EXPECT_EQ(fmt(hb::HartId(0x1'0000'0000ull)), "4294967296");
    EXPECT_EQ(fmt(hb::TaskId(12)), "12");
}

TEST(FixedString, AppendAllAndChaining) {
    FixedString<64> s;
    hb::append_all(s, "cpu", hb::CpuId(1), " hart ", hb::HartId(4), " tb=", 10000000u, " at ",
                   Hex{0x100000}, ' ', -3, ' ', true);
    EXPECT_STREQ(s.c_str(), "cpu1 hart 4 tb=10000000 at 0x100000 -3 true");
    EXPECT_EQ(s.size(), std::strlen(s.c_str()));
    EXPECT_FALSE(s.truncated());
}

TEST(FixedString, ExactFitIsNotTruncation) {
    FixedString<4> s;
    s.append("abc");
    EXPECT_STREQ(s.c_str(), "abc");
    EXPECT_EQ(s.size(), FixedString<4>::capacity());
    EXPECT_FALSE(s.truncated());
    s.append("");  // appending nothing to a full buffer cuts nothing
    EXPECT_FALSE(s.truncated());
    s.append('d');
    EXPECT_TRUE(s.truncated());
    EXPECT_STREQ(s.c_str(), "abc");
}

TEST(FixedString, TextIsCutAtCapacity) {
    FixedString<8> s;
    s.append("abcdefghijklmnop");
    EXPECT_STREQ(s.c_str(), "abcdefg");
    EXPECT_EQ(s.size(), 7u);
    EXPECT_TRUE(s.truncated());
    // Later appends change nothing, and the flag stays set.
    s.append("xyz").append(12345).append(Hex{1});
    EXPECT_STREQ(s.c_str(), "abcdefg");
    EXPECT_TRUE(s.truncated());
}

TEST(FixedString, NumbersAreCutLeadingDigitsFirst) {
    FixedString<6> s;  // 5 characters
    s.append("n=").append(123456u);
    // The line keeps its prefix; the number is cut, and the cut is reported.
    EXPECT_STREQ(s.c_str(), "n=123");
    EXPECT_TRUE(s.truncated());
    FixedString<4> h;
    h.append(Hex{0xabcdef});
    EXPECT_STREQ(h.c_str(), "0xa");
    EXPECT_TRUE(h.truncated());
    FixedString<3> neg;
    neg.append(-987);
    EXPECT_STREQ(neg.c_str(), "-9");
    EXPECT_TRUE(neg.truncated());
}

TEST(FixedString, SmallestBuffer) {
    FixedString<2> s;
    s.append('x');
    EXPECT_STREQ(s.c_str(), "x");
    EXPECT_FALSE(s.truncated());
    s.append('y');
    EXPECT_STREQ(s.c_str(), "x");
    EXPECT_TRUE(s.truncated());
}

// The buffer is the first member, so bytes right after the object would be
// the victims of an off-by-one. Fill a FixedString placed in the middle of a
// canary region, in every way, and check the canaries.
template <std::size_t N>
void check_never_writes_past_the_end() {
    struct Sandwich {
        unsigned char before[32];
        FixedString<N> s;
        unsigned char after[32];
    };
    Sandwich w;
    std::memset(w.before, 0xa5, sizeof w.before);
    std::memset(w.after, 0x5a, sizeof w.after);
    for (int round = 0; round < 3; ++round) {
        w.s.append("0123456789abcdefghijklmnopqrstuvwxyz");
        w.s.append(std::numeric_limits<std::int64_t>::min());
        w.s.append(Hex{~std::uint64_t{0}});
        w.s.append('!');
        w.s.append(hb::HartId(~std::uint64_t{0}));
        ASSERT_EQ(w.s.size(), FixedString<N>::capacity());
        ASSERT_LE(w.s.size(), N - 1);
        ASSERT_EQ(std::strlen(w.s.c_str()), w.s.size()) << "terminated inside the buffer";
        ASSERT_TRUE(w.s.truncated());
    }
    for (unsigned char c : w.before) ASSERT_EQ(c, 0xa5);
    for (unsigned char c : w.after) ASSERT_EQ(c, 0x5a);
}

TEST(FixedString, NeverWritesPastN) {
    check_never_writes_past_the_end<2>();
    check_never_writes_past_the_end<3>();
    check_never_writes_past_the_end<7>();
    check_never_writes_past_the_end<8>();
    check_never_writes_past_the_end<16>();
    check_never_writes_past_the_end<21>();
    check_never_writes_past_the_end<64>();
}

TEST(FixedString, EveryPrefixLengthOfALongLine) {
    // Whatever the buffer size, the result is the longest prefix that fits.
    const std::string full = "cpu7 hart 18446744073709551615 at 0xffffffffffffffff -42";
    auto build = [](auto& s) {
        hb::append_all(s, "cpu", hb::CpuId(7), " hart ", hb::HartId(~std::uint64_t{0}), " at ",
                       Hex{~std::uint64_t{0}}, ' ', -42);
    };
    auto check = [&](auto s) {
        build(s);
        const std::size_t cap = decltype(s)::capacity();
        const std::size_t expect = std::min(cap, full.size());
        EXPECT_EQ(std::string(s.c_str()), full.substr(0, expect)) << "capacity " << cap;
        EXPECT_EQ(s.truncated(), full.size() > cap) << "capacity " << cap;
    };
    check(FixedString<2>{});
    check(FixedString<5>{});
    check(FixedString<11>{});
    check(FixedString<20>{});
    check(FixedString<31>{});
    check(FixedString<40>{});
    check(FixedString<56>{});
    check(FixedString<57>{});  // exactly fits
    check(FixedString<58>{});
    check(FixedString<128>{});
}

}  // namespace
