// The kernel command line (lib/bootargs.hpp): `key=value` words separated
// by spaces. The mutation tests depend on it reading exactly what was
// written: a key must match a whole word, and the last occurrence wins.
#include "lib/bootargs.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <string>

namespace {

using hb::BootArgs;

BootArgs args(const char* text) { return BootArgs(text, std::strlen(text)); }

// Usable in constant expressions.
constexpr char kLine[] = "maxcpus=2 fault=none";
static_assert(BootArgs(kLine, sizeof kLine - 1).number("maxcpus", 0) == 2);
static_assert(BootArgs(kLine, sizeof kLine - 1).has("fault", "none"));
static_assert(!BootArgs().has("fault", "none"));

TEST(BootArgs, HasMatchesKeyAndValue) {
    const BootArgs a = args("maxcpus=2 fault=none");
    EXPECT_TRUE(a.has("fault", "none"));
    EXPECT_TRUE(a.has("maxcpus", "2"));
    EXPECT_FALSE(a.has("fault", "skip-hart-start"));
    EXPECT_FALSE(a.has("fault", "non")) << "value prefix";
    EXPECT_FALSE(a.has("fault", "none2")) << "value extension";
    EXPECT_FALSE(a.has("fault", ""));
    EXPECT_FALSE(a.has("quiet", "none"));
}

TEST(BootArgs, NumberParsesDecimal) {
    const BootArgs a = args("maxcpus=2 big=123456789012345678 zero=0 lead=007");
    EXPECT_EQ(a.number("maxcpus", 99), 2u);
    EXPECT_EQ(a.number("zero", 99), 0u);
    EXPECT_EQ(a.number("lead", 99), 7u);
    EXPECT_EQ(a.number("big", 0), 123456789012345678u);
    EXPECT_EQ(a.number("absent", 42), 42u);
}

TEST(BootArgs, NonNumbersFallBack) {
    const BootArgs a = args("a=x b=12x c= d=-1 e=+3 f=0x10 g=1.5 h=4294967296000000000000");
    for (const char* key : {"a", "b", "c", "d", "e", "f", "g", "h"}) {
        EXPECT_EQ(a.number(key, 77), 77u) << key;
    }
    // A value that would overflow 64 bits is not a number either (no wrap).
    EXPECT_EQ(args("n=99999999999999999999").number("n", 5), 5u);
}

TEST(BootArgs, WholeKeysOnly) {
    const BootArgs a = args("xfault=a faulty=b fault_x=c maxcpus2=7");
    EXPECT_FALSE(a.has("fault", "a")) << "key is a suffix of the word's key";
    EXPECT_FALSE(a.has("fault", "b")) << "key is a prefix of the word's key";
    EXPECT_FALSE(a.has("fault", "c"));
    EXPECT_FALSE(a.has("fault", "x"));
    EXPECT_EQ(a.number("maxcpus", 1), 1u);
    EXPECT_TRUE(a.has("xfault", "a"));
    EXPECT_TRUE(a.has("faulty", "b"));
}

TEST(BootArgs, ABareKeyIsNotKeyEqualsValue) {
    const BootArgs a = args("fault quiet maxcpus");
    EXPECT_FALSE(a.has("fault", ""));
    EXPECT_FALSE(a.has("quiet", ""));
    EXPECT_EQ(a.number("maxcpus", 3), 3u);
}

TEST(BootArgs, KeysMustStartAWord) {
    // "a=fault=x" is the word for key "a"; it does not set "fault".
    const BootArgs a = args("a=fault=x");
    EXPECT_FALSE(a.has("fault", "x"));
    EXPECT_TRUE(a.has("a", "fault=x")) << "the value runs to the end of the word";
}

TEST(BootArgs, LastOccurrenceWins) {
    EXPECT_TRUE(args("fault=a fault=b").has("fault", "b"));
    EXPECT_FALSE(args("fault=a fault=b").has("fault", "a"));
    EXPECT_EQ(args("maxcpus=2 other=1 maxcpus=4").number("maxcpus", 0), 4u);
    // A later non-number overrides an earlier number: the fallback applies.
    EXPECT_EQ(args("maxcpus=2 maxcpus=lots").number("maxcpus", 9), 9u);
    // A later word for a different key does not disturb the earlier match.
    EXPECT_TRUE(args("fault=a xfault=b").has("fault", "a"));
}

TEST(BootArgs, SpacingIsIrrelevant) {
    const BootArgs a = args("   maxcpus=3    fault=none   ");
    EXPECT_EQ(a.number("maxcpus", 0), 3u);
    EXPECT_TRUE(a.has("fault", "none"));
}

TEST(BootArgs, EmptyValue) {
    const BootArgs a = args("fault= maxcpus=");
    EXPECT_TRUE(a.has("fault", ""));
    EXPECT_FALSE(a.has("fault", "none"));
    EXPECT_EQ(a.number("maxcpus", 6), 6u);
}

TEST(BootArgs, EmptyAndNullText) {
    const BootArgs none;
    EXPECT_FALSE(none.has("fault", "none"));
    EXPECT_EQ(none.number("maxcpus", 8), 8u);
    const BootArgs null_text(nullptr, 0);
    EXPECT_FALSE(null_text.has("fault", "none"));
    EXPECT_EQ(null_text.number("maxcpus", 8), 8u);
    const BootArgs empty = args("");
    EXPECT_FALSE(empty.has("fault", ""));
    EXPECT_EQ(empty.number("maxcpus", 8), 8u);
    const BootArgs blanks = args("     ");
    EXPECT_EQ(blanks.number("maxcpus", 8), 8u);
}

TEST(BootArgs, LengthBoundsTheText) {
    // The text comes from the device tree and need not be NUL-terminated
    // where the length ends: nothing past `len` is read or matched.
    const char raw[] = "fault=none maxcpus=2";
    const BootArgs cut(raw, 10);  // "fault=none"
    EXPECT_TRUE(cut.has("fault", "none"));
    EXPECT_EQ(cut.number("maxcpus", 1), 1u);
    const BootArgs mid(raw, 8);  // "fault=no"
    EXPECT_FALSE(mid.has("fault", "none"));
    EXPECT_TRUE(mid.has("fault", "no"));
    const BootArgs key_only(raw, 5);  // "fault"
    EXPECT_FALSE(key_only.has("fault", ""));
    // A number cut short by the length.
    const char n[] = "maxcpus=42";
    EXPECT_EQ(BootArgs(n, 9).number("maxcpus", 0), 4u);
}

TEST(BootArgs, NoBytesReadPastTheLength) {
    // The text lives at the very end of a buffer with no terminator: a read
    // of `len` or beyond would hit the sentinel byte we then check.
    std::string buf = "maxcpus=5 fault=none";
    const std::size_t len = buf.size();
    buf.push_back('9');  // a read past len would turn "none" into "none9"
    const BootArgs a(buf.data(), len);
    EXPECT_TRUE(a.has("fault", "none"));
    EXPECT_FALSE(a.has("fault", "none9"));
}

TEST(BootArgs, LongestAcceptedNumber) {
    // 18 digits always fit in 64 bits; the parser stops there.
    EXPECT_EQ(args("n=999999999999999999").number("n", 1), 999999999999999999u);
    EXPECT_EQ(args("n=1000000000000000000").number("n", 1), 1u);
}

}  // namespace

TEST(BootArgs, ValidNonce) {
    EXPECT_TRUE(hb::valid_nonce("a", 1));
    EXPECT_TRUE(hb::valid_nonce("0123456789abcdefghijklmnopqrstuv", 32));
    EXPECT_FALSE(hb::valid_nonce("", 0));
    EXPECT_FALSE(hb::valid_nonce("0123456789abcdefghijklmnopqrstuvw", 33));
    EXPECT_FALSE(hb::valid_nonce("aB", 2));
    EXPECT_FALSE(hb::valid_nonce("a b", 3));
    EXPECT_FALSE(hb::valid_nonce("a{", 2));
}
