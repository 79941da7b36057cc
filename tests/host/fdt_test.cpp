// The bounded device-tree reader (lib/fdt.hpp), fed QEMU's own trees, hand-
// broken copies of them, synthetic trees from a tiny writer, and a fuzz loop.
//
// The real blobs are QEMU 7.2 `virt` trees dumped with
// `-append "maxcpus=2 fault=none"`: harts 0 (smp1) or 0..3 (smp4), timebase
// 10 MHz, a sifive,test0 finisher at 0x100000 under /soc.
#include "lib/fdt.hpp"

#include "lib/bootargs.hpp"

#include <gtest/gtest.h>

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace {

using hb::HartId;
using hb::fdt::Error;
using Blob = std::vector<std::uint8_t>;

// --- helpers ----------------------------------------------------------------

Blob load(const char* name) {
    const std::string path = std::string(HB_TEST_DATA) + "/" + name;
    std::ifstream f(path, std::ios::binary);
    EXPECT_TRUE(f.good()) << "cannot open " << path;
    return Blob(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

std::uint32_t get32(const Blob& b, std::size_t off) {
    return (std::uint32_t{b.at(off)} << 24) | (std::uint32_t{b.at(off + 1)} << 16) |
           (std::uint32_t{b.at(off + 2)} << 8) | std::uint32_t{b.at(off + 3)};
}
void put32(Blob& b, std::size_t off, std::uint32_t v) {
    b.at(off) = static_cast<std::uint8_t>(v >> 24);
    b.at(off + 1) = static_cast<std::uint8_t>(v >> 16);
    b.at(off + 2) = static_cast<std::uint8_t>(v >> 8);
    b.at(off + 3) = static_cast<std::uint8_t>(v);
}

// Header field offsets (devicetree spec, 5.2).
constexpr std::size_t kOffTotalSize = 4;
constexpr std::size_t kOffStruct = 8;
constexpr std::size_t kOffStrings = 12;
constexpr std::size_t kOffVersion = 20;
constexpr std::size_t kOffSizeStrings = 32;
constexpr std::size_t kOffSizeStruct = 36;

constexpr std::uint32_t kBeginNode = 1, kEndNode = 2, kProp = 3, kNop = 4, kEnd = 9;

hb::Result<hb::fdt::Platform, Error> parse(const Blob& b) { return hb::fdt::parse(b.data(), b.size()); }

Error error_of(const Blob& b) {
    const auto r = parse(b);
    return r.ok() ? Error::None : r.error();
}
Error error_of(const Blob& b, std::size_t max_size) {
    const auto r = hb::fdt::parse(b.data(), max_size);
    return r.ok() ? Error::None : r.error();
}

std::vector<std::uint64_t> harts_of(const hb::fdt::Platform& p) {
    std::vector<std::uint64_t> out;
    for (std::size_t i = 0; i < p.hart_count; ++i) out.push_back(p.harts[i].raw());
    return out;
}

// Replaces the n-th (0-based) occurrence of `from` by `to` (same length).
bool replace_nth(Blob& b, const std::string& from, const std::string& to, int n) {
    auto it = b.begin();
    for (int i = 0;; ++i) {
        it = std::search(it, b.end(), from.begin(), from.end());
        if (it == b.end()) return false;
        if (i == n) break;
        ++it;
    }
    std::copy(to.begin(), to.end(), it);
    return true;
}
int replace_all(Blob& b, const std::string& from, const std::string& to) {
    int n = 0;
    while (replace_nth(b, from, to, 0)) ++n;
    return n;
}
/// replace_all restricted to the structure block (property values and node
/// names), leaving the strings block alone.
int replace_all_in_struct(Blob& b, const std::string& from, const std::string& to) {
    const std::size_t lo = get32(b, 8), hi = lo + get32(b, 36);
    Blob block(b.begin() + static_cast<long>(lo), b.begin() + static_cast<long>(hi));
    const int n = replace_all(block, from, to);
    std::copy(block.begin(), block.end(), b.begin() + static_cast<long>(lo));
    return n;
}

// A minimal flattened-tree writer, enough to build trees the real blobs do
// not cover (no harts, 65 harts, deep nesting, 64-bit reg, ...). Emits a
// version-17 blob: header, empty reservation map, structure block, strings.
class DtbWriter {
public:
    DtbWriter& begin(const std::string& name) {
        word(kBeginNode);
        bytes(name.data(), name.size());
        m_struct.push_back(0);
        pad();
        return *this;
    }
    DtbWriter& end() { return word(kEndNode); }
    DtbWriter& nop() { return word(kNop); }
    DtbWriter& word(std::uint32_t v) {
        for (int s = 24; s >= 0; s -= 8) m_struct.push_back(static_cast<std::uint8_t>(v >> s));
        return *this;
    }
    DtbWriter& prop(const std::string& name, const Blob& value) {
        word(kProp);
        word(static_cast<std::uint32_t>(value.size()));
        word(name_offset(name));
        bytes(value.data(), value.size());
        pad();
        return *this;
    }
    DtbWriter& prop_u32(const std::string& name, std::uint32_t v) {
        return prop(name, {static_cast<std::uint8_t>(v >> 24), static_cast<std::uint8_t>(v >> 16),
                           static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v)});
    }
    DtbWriter& prop_u64(const std::string& name, std::uint64_t v) {
        Blob b;
        for (int s = 56; s >= 0; s -= 8) b.push_back(static_cast<std::uint8_t>(v >> s));
        return prop(name, b);
    }
    /// A string list: each string NUL-terminated, as dtc emits it.
    DtbWriter& prop_str(const std::string& name, std::initializer_list<std::string> list) {
        Blob b;
        for (const auto& s : list) {
            b.insert(b.end(), s.begin(), s.end());
            b.push_back(0);
        }
        return prop(name, b);
    }
    DtbWriter& cpu(std::uint32_t hart, const char* status = "okay") {
        begin("cpu@" + std::to_string(hart));
        prop_str("device_type", {"cpu"});
        prop_u32("reg", hart);
        if (status != nullptr) prop_str("status", {status});
        prop_str("compatible", {"riscv"});
        begin("interrupt-controller").prop_str("compatible", {"riscv,cpu-intc"}).end();
        return end();
    }

    Blob finish(bool with_end_token = true) {
        Blob s = m_struct;
        if (with_end_token) {
            for (int sh = 24; sh >= 0; sh -= 8) s.push_back(static_cast<std::uint8_t>(kEnd >> sh));
        }
        const std::uint32_t off_rsv = 40, off_struct = 56;
        const auto size_struct = static_cast<std::uint32_t>(s.size());
        const std::uint32_t off_strings = off_struct + size_struct;
        const auto size_strings = static_cast<std::uint32_t>(m_strings.size());
        Blob b(off_struct, 0);
        put32(b, 0, 0xd00dfeed);
        put32(b, kOffTotalSize, off_strings + size_strings);
        put32(b, kOffStruct, off_struct);
        put32(b, kOffStrings, off_strings);
        put32(b, 16, off_rsv);
        put32(b, kOffVersion, 17);
        put32(b, 24, 16);  // last compatible version
        put32(b, kOffSizeStrings, size_strings);
        put32(b, kOffSizeStruct, size_struct);
        b.insert(b.end(), s.begin(), s.end());
        b.insert(b.end(), m_strings.begin(), m_strings.end());
        return b;
    }

private:
    void bytes(const void* p, std::size_t n) {
        const auto* c = static_cast<const std::uint8_t*>(p);
        m_struct.insert(m_struct.end(), c, c + n);
    }
    void pad() {
        while (m_struct.size() % 4 != 0) m_struct.push_back(0);
    }
    std::uint32_t name_offset(const std::string& name) {
        auto it = m_names.find(name);
        if (it != m_names.end()) return it->second;
        const auto off = static_cast<std::uint32_t>(m_strings.size());
        m_strings.insert(m_strings.end(), name.begin(), name.end());
        m_strings.push_back(0);
        m_names.emplace(name, off);
        return off;
    }

    Blob m_struct;
    Blob m_strings;
    std::map<std::string, std::uint32_t> m_names;
};

/// Root with /cpus (the given harts), /chosen and /soc/test@100000: a
/// miniature QEMU virt tree.
Blob virt_like(const std::vector<std::uint32_t>& harts, const char* bootargs = "console=hvc0") {
    DtbWriter w;
    w.begin("").prop_u32("#address-cells", 2).prop_u32("#size-cells", 2);
    w.begin("chosen");
    if (bootargs != nullptr) w.prop_str("bootargs", {bootargs});
    w.end();
    w.begin("cpus").prop_u32("#address-cells", 1).prop_u32("#size-cells", 0);
    w.prop_u32("timebase-frequency", 10000000);
    for (std::uint32_t h : harts) w.cpu(h);
    w.begin("cpu-map").begin("cluster0").begin("core0").prop_u32("cpu", 1).end().end().end();
    w.end();
    w.begin("soc").prop_u32("#address-cells", 2).prop_u32("#size-cells", 2);
    w.begin("test@100000").prop_u64("reg", 0x100000).prop_str("compatible", {"sifive,test1", "sifive,test0", "syscon"}).end();
    w.end();
    w.end();
    return w.finish();
}

// --- the real QEMU trees ----------------------------------------------------

class RealDtb : public ::testing::Test {
protected:
    Blob smp1 = load("virt-smp1.dtb");
    Blob smp4 = load("virt-smp4.dtb");
};

TEST_F(RealDtb, Smp1) {
    ASSERT_FALSE(smp1.empty());
    const auto r = parse(smp1);
    ASSERT_TRUE(r.ok()) << hb::fdt::error_name(r.error());
    const auto& p = r.value();
    EXPECT_EQ(harts_of(p), (std::vector<std::uint64_t>{0}));
    EXPECT_EQ(p.timebase_hz, 10000000u);
    EXPECT_EQ(p.test_finisher, 0x100000u);
    ASSERT_NE(p.bootargs, nullptr);
    EXPECT_EQ(std::string(p.bootargs, p.bootargs_len), "maxcpus=2 fault=none");
}

TEST_F(RealDtb, Smp4) {
    ASSERT_FALSE(smp4.empty());
    const auto r = parse(smp4);
    ASSERT_TRUE(r.ok()) << hb::fdt::error_name(r.error());
    const auto& p = r.value();
    EXPECT_EQ(p.hart_count, 4u);
    EXPECT_EQ(harts_of(p), (std::vector<std::uint64_t>{0, 1, 2, 3}));
    EXPECT_EQ(p.timebase_hz, 10000000u);
    EXPECT_EQ(p.test_finisher, 0x100000u);
    ASSERT_NE(p.bootargs, nullptr);
    EXPECT_EQ(p.bootargs_len, 20u);  // without the NUL
    EXPECT_EQ(std::string(p.bootargs, p.bootargs_len), "maxcpus=2 fault=none");
}

TEST_F(RealDtb, BootargsPointIntoTheBlobAndFeedBootArgs) {
    const auto r = parse(smp4);
    ASSERT_TRUE(r.ok());
    const auto& p = r.value();
    // Not a copy: the kernel has no allocator at this point.
    const auto* lo = reinterpret_cast<const char*>(smp4.data());
    EXPECT_GE(p.bootargs, lo);
    EXPECT_LE(p.bootargs + p.bootargs_len, lo + smp4.size());
    const hb::BootArgs args(p.bootargs, p.bootargs_len);
    EXPECT_EQ(args.number("maxcpus", 0), 2u);
    EXPECT_TRUE(args.has("fault", "none"));
}

TEST_F(RealDtb, TotalSizeIsTheHeaderField) {
    EXPECT_EQ(hb::fdt::total_size(smp1.data()), smp1.size());
    EXPECT_EQ(hb::fdt::total_size(smp4.data()), smp4.size());
    EXPECT_EQ(hb::fdt::total_size(smp4.data()), 5371u);
    Blob bad = smp4;
    bad[0] ^= 0x01;
    EXPECT_EQ(hb::fdt::total_size(bad.data()), 0u) << "no size for something that is not a tree";
}

TEST_F(RealDtb, ExtraRoomAfterTheBlobIsFine) {
    // The kernel may pass a generous bound; only the declared size is read.
    Blob big = smp4;
    big.resize(smp4.size() + 4096, 0xab);
    EXPECT_EQ(error_of(big), Error::None);
}

TEST_F(RealDtb, DisabledCpusAreNotHarts) {
    Blob b = smp4;
    ASSERT_TRUE(replace_nth(b, "okay", "fail", 1));  // cpu@1
    const auto r = parse(b);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(harts_of(r.value()), (std::vector<std::uint64_t>{0, 2, 3}));
}

// --- error paths on hand-broken copies of the real tree ---------------------

TEST_F(RealDtb, BadMagic) {
    for (std::size_t i = 0; i < 4; ++i) {
        Blob b = smp4;
        b[i] ^= 0x80;
        EXPECT_EQ(error_of(b), Error::BadMagic) << i;
    }
    Blob zeros(smp4.size(), 0);
    EXPECT_EQ(error_of(zeros), Error::BadMagic);
}

TEST_F(RealDtb, BadVersion) {
    for (std::uint32_t v : {0u, 1u, 16u}) {
        Blob b = smp4;
        put32(b, kOffVersion, v);
        EXPECT_EQ(error_of(b), Error::BadVersion) << v;
    }
    for (std::uint32_t v : {17u, 18u}) {
        Blob b = smp4;
        put32(b, kOffVersion, v);
        EXPECT_EQ(error_of(b), Error::None) << v;
    }
}

TEST_F(RealDtb, TruncatedByTheCallersBound) {
    EXPECT_EQ(error_of(smp4, smp4.size() - 1), Error::Truncated);
    EXPECT_EQ(error_of(smp4, 100), Error::Truncated);
    EXPECT_EQ(error_of(smp4, 40), Error::Truncated);
    EXPECT_EQ(error_of(smp4, 39), Error::Truncated);  // not even a header
    EXPECT_EQ(error_of(smp4, 0), Error::Truncated);
    EXPECT_EQ(hb::fdt::parse(nullptr, 4096).error(), Error::Truncated);
    EXPECT_FALSE(hb::fdt::parse(nullptr, 0).ok());
}

TEST_F(RealDtb, TruncatedHeaderFields) {
    struct Case {
        const char* what;
        std::size_t field;
        std::uint32_t value;
    };
    const auto total = static_cast<std::uint32_t>(smp4.size());
    const std::uint32_t off_struct = get32(smp4, kOffStruct);
    const std::uint32_t off_strings = get32(smp4, kOffStrings);
    const Case cases[] = {
        {"totalsize beyond the blob", kOffTotalSize, total + 1},
        {"totalsize huge", kOffTotalSize, 0xffffffffu},
        {"totalsize smaller than a header", kOffTotalSize, 39},
        {"totalsize cuts the strings", kOffTotalSize, total - 1},
        {"struct offset beyond the blob", kOffStruct, total + 4},
        {"struct offset far beyond", kOffStruct, 0xfffffff0u},
        {"struct block runs past the end", kOffStruct, total - 8},
        {"struct size runs past the end", kOffSizeStruct, total - off_struct + 4},
        {"struct size wraps", kOffSizeStruct, 0xffffffffu},
        {"strings offset beyond the blob", kOffStrings, total + 4},
        {"strings size runs past the end", kOffSizeStrings, total - off_strings + 1},
        {"strings size wraps", kOffSizeStrings, 0xffffffffu},
    };
    for (const auto& c : cases) {
        Blob b = smp4;
        put32(b, c.field, c.value);
        EXPECT_EQ(error_of(b), Error::Truncated) << c.what;
    }
}

TEST_F(RealDtb, TruncatedStructBlock) {
    const std::uint32_t size_struct = get32(smp4, kOffSizeStruct);
    // Without the END token the walk runs off the block.
    for (std::uint32_t cut : {4u, 8u, 100u, size_struct / 2, size_struct - 1}) {
        Blob b = smp4;
        put32(b, kOffSizeStruct, size_struct - cut);
        EXPECT_EQ(error_of(b), Error::Truncated) << "cut " << cut;
    }
}

TEST_F(RealDtb, TruncatedStringsBlock) {
    // Property name offsets now point past the (shrunk) strings block.
    Blob b = smp4;
    put32(b, kOffSizeStrings, 8);
    EXPECT_EQ(error_of(b), Error::Truncated);
    put32(b, kOffSizeStrings, 0);
    EXPECT_EQ(error_of(b), Error::Truncated);
}

TEST_F(RealDtb, BadToken) {
    const std::uint32_t off_struct = get32(smp4, kOffStruct);
    // The root node is `BEGIN_NODE ""` (8 bytes); its first property token follows.
    ASSERT_EQ(get32(smp4, off_struct), kBeginNode);
    ASSERT_EQ(get32(smp4, off_struct + 8), kProp);
    for (std::uint32_t bad : {0u, 5u, 6u, 7u, 8u, 10u, 0x01000000u, 0xffffffffu}) {
        Blob b = smp4;
        put32(b, off_struct + 8, bad);
        EXPECT_EQ(error_of(b), Error::BadToken) << bad;
    }
    // The very first token, too.
    Blob b = smp4;
    put32(b, off_struct, 0x12345678);
    EXPECT_EQ(error_of(b), Error::BadToken);
}

TEST_F(RealDtb, NopTokenIsSkipped) {
    // Overwriting the root's first property header (token, len, nameoff)
    // and its 4-byte value with NOPs leaves a valid tree.
    const std::uint32_t off_struct = get32(smp4, kOffStruct);
    ASSERT_EQ(get32(smp4, off_struct + 12), 4u);  // #address-cells, 4 bytes
    Blob b = smp4;
    for (std::uint32_t i = 0; i < 4; ++i) put32(b, off_struct + 8 + 4 * i, kNop);
    const auto r = parse(b);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.value().hart_count, 4u);
}

TEST_F(RealDtb, BadNestingMissingEndNode) {
    const std::uint32_t off_struct = get32(smp4, kOffStruct);
    const std::uint32_t size_struct = get32(smp4, kOffSizeStruct);
    const std::size_t end_tok = off_struct + size_struct - 4;
    ASSERT_EQ(get32(smp4, end_tok), kEnd);
    ASSERT_EQ(get32(smp4, end_tok - 4), kEndNode);  // closes the root
    Blob b = smp4;
    put32(b, end_tok - 4, kNop);  // the root is never closed
    EXPECT_EQ(error_of(b), Error::BadNesting);
}

TEST_F(RealDtb, BadNestingExtraEndNode) {
    const std::uint32_t off_struct = get32(smp4, kOffStruct);
    // Replace the root's first property (4 words + 4-byte value) with an
    // END_NODE and NOPs: the root closes early, and the rest of the tree
    // then closes one node too many.
    Blob b = smp4;
    put32(b, off_struct + 8, kEndNode);
    for (std::uint32_t i = 1; i < 4; ++i) put32(b, off_struct + 8 + 4 * i, kNop);
    EXPECT_EQ(error_of(b), Error::BadNesting);
}

TEST_F(RealDtb, NoHartsWhenEveryCpuIsDisabled) {
    Blob b = smp4;
    ASSERT_EQ(replace_all(b, std::string("okay\0", 5), std::string("fail\0", 5)), 4);
    EXPECT_EQ(error_of(b), Error::NoHarts);
    Blob one = smp1;
    ASSERT_EQ(replace_all(one, std::string("okay\0", 5), std::string("disa\0", 5)), 1);
    EXPECT_EQ(error_of(one), Error::NoHarts);
}

TEST_F(RealDtb, NoHartsWhenCpuNodesAreNotCpus) {
    // device_type "cpu" -> "cpX": the nodes are no longer processors.
    // (Only in the structure block: the strings block also holds a property
    // *name* "cpu", used by /cpus/cpu-map.)
    Blob b = smp4;
    ASSERT_EQ(replace_all_in_struct(b, std::string("cpu\0", 4), std::string("cpX\0", 4)), 4);
    EXPECT_EQ(error_of(b), Error::NoHarts);
}

TEST_F(RealDtb, NoHartsWhenCpusIsRenamed) {
    Blob b = smp4;
    ASSERT_TRUE(replace_nth(b, std::string("cpus\0", 5), std::string("cpuz\0", 5), 0));
    EXPECT_EQ(error_of(b), Error::NoHarts);
}

// --- synthetic trees --------------------------------------------------------

TEST(SyntheticDtb, WriterProducesAParsableVirtLikeTree) {
    const auto r = parse(virt_like({0, 1}));
    ASSERT_TRUE(r.ok()) << hb::fdt::error_name(r.error());
    EXPECT_EQ(harts_of(r.value()), (std::vector<std::uint64_t>{0, 1}));
    EXPECT_EQ(r.value().timebase_hz, 10000000u);
    EXPECT_EQ(r.value().test_finisher, 0x100000u);
    EXPECT_EQ(std::string(r.value().bootargs, r.value().bootargs_len), "console=hvc0");
}

TEST(SyntheticDtb, HartsAreListedInTreeOrderWithSparseIds) {
    // Tree order, not sorted: sorting is the topology table's job.
    const auto r = parse(virt_like({12, 0, 8, 4}));
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(harts_of(r.value()), (std::vector<std::uint64_t>{12, 0, 8, 4}));
}

TEST(SyntheticDtb, EmptyCpusIsNoHarts) {
    EXPECT_EQ(error_of(virt_like({})), Error::NoHarts);
    DtbWriter w;
    w.begin("").begin("chosen").end().end();
    EXPECT_EQ(error_of(w.finish()), Error::NoHarts) << "no /cpus at all";
}

TEST(SyntheticDtb, CpuStatus) {
    DtbWriter w;
    w.begin("").begin("cpus");
    w.cpu(0, "okay");
    w.cpu(1, "ok");        // the older spelling is accepted
    w.cpu(2, nullptr);     // no status property means okay
    w.cpu(3, "disabled");
    w.cpu(4, "fail");
    w.cpu(5, "okayish");   // not a prefix match
    w.end().end();
    const auto r = parse(w.finish());
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(harts_of(r.value()), (std::vector<std::uint64_t>{0, 1, 2}));
}

TEST(SyntheticDtb, WhatCountsAsACpuNode) {
    DtbWriter w;
    w.begin("").begin("cpus");
    w.cpu(1);
    // No device_type: not a processor.
    w.begin("cpu@2").prop_u32("reg", 2).end();
    // No reg: cannot be addressed, skipped.
    w.begin("cpu@3").prop_str("device_type", {"cpu"}).end();
    // A reg of an odd length is not a hart id.
    w.begin("cpu@4").prop_str("device_type", {"cpu"}).prop("reg", Blob(12, 0)).end();
    // Not named cpu@...
    w.begin("core@5").prop_str("device_type", {"cpu"}).prop_u32("reg", 5).end();
    // A 64-bit reg (#address-cells = 2).
    w.begin("cpu@6").prop_str("device_type", {"cpu"}).prop_u64("reg", 0x1'0000'0006ull).end();
    w.end();
    // A cpu@ node outside /cpus is not a hart.
    w.cpu(7);
    w.begin("soc").cpu(8).end();
    w.end();
    const auto r = parse(w.finish());
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(harts_of(r.value()), (std::vector<std::uint64_t>{1, 0x1'0000'0006ull}));
}

TEST(SyntheticDtb, SixtyFourHartsFit) {
    std::vector<std::uint32_t> harts;
    for (std::uint32_t i = 0; i < hb::fdt::kMaxDtHarts; ++i) harts.push_back(i * 2);
    const auto r = parse(virt_like(harts));
    ASSERT_TRUE(r.ok()) << hb::fdt::error_name(r.error());
    EXPECT_EQ(r.value().hart_count, hb::fdt::kMaxDtHarts);
    EXPECT_EQ(r.value().harts[63], HartId(126));
}

TEST(SyntheticDtb, SixtyFiveHartsAreTooMany) {
    std::vector<std::uint32_t> harts;
    for (std::uint32_t i = 0; i <= hb::fdt::kMaxDtHarts; ++i) harts.push_back(i);
    EXPECT_EQ(error_of(virt_like(harts)), Error::TooManyHarts);
}

TEST(SyntheticDtb, DisabledHartsDoNotCountTowardsTheLimit) {
    DtbWriter w;
    w.begin("").begin("cpus");
    for (std::uint32_t i = 0; i < hb::fdt::kMaxDtHarts; ++i) w.cpu(i);
    for (std::uint32_t i = 100; i < 110; ++i) w.cpu(i, "disabled");
    w.end().end();
    const auto r = parse(w.finish());
    ASSERT_TRUE(r.ok()) << hb::fdt::error_name(r.error());
    EXPECT_EQ(r.value().hart_count, hb::fdt::kMaxDtHarts);
}

Blob nested(int levels) {
    DtbWriter w;
    w.begin("").begin("cpus").cpu(0).end();
    for (int i = 1; i < levels; ++i) w.begin("n" + std::to_string(i));
    for (int i = 1; i < levels; ++i) w.end();
    w.end();
    return w.finish();
}

TEST(SyntheticDtb, NestingDepthLimit) {
    // The root counts as one level; sixteen open nodes are allowed.
    EXPECT_EQ(error_of(nested(16)), Error::None);
    EXPECT_EQ(error_of(nested(17)), Error::BadNesting);
    EXPECT_EQ(error_of(nested(200)), Error::BadNesting);
}

TEST(SyntheticDtb, EndNodeBeforeAnyBeginNode) {
    DtbWriter w;
    w.end();
    w.begin("").begin("cpus").cpu(0).end().end();
    EXPECT_EQ(error_of(w.finish()), Error::BadNesting);
}

TEST(SyntheticDtb, EndTokenInsideAnOpenNode) {
    DtbWriter w;
    w.begin("").begin("cpus").cpu(0).end();  // the root stays open
    EXPECT_EQ(error_of(w.finish()), Error::BadNesting);
}

TEST(SyntheticDtb, MissingEndTokenIsTruncated) {
    DtbWriter w;
    w.begin("").begin("cpus").cpu(0).end().end();
    EXPECT_EQ(error_of(w.finish(/*with_end_token=*/false)), Error::Truncated);
}

TEST(SyntheticDtb, NopsAnywhereAreSkipped) {
    DtbWriter w;
    w.nop().begin("").nop().begin("cpus").nop().cpu(3).nop().end().nop().end().nop();
    const auto r = parse(w.finish());
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(harts_of(r.value()), (std::vector<std::uint64_t>{3}));
}

TEST(SyntheticDtb, PropertyLengthPastTheStructBlock) {
    DtbWriter w;
    w.begin("").begin("cpus").cpu(0).end();
    w.word(kProp).word(0x1000).word(0);  // claims 4 KiB of value that is not there
    w.end();
    EXPECT_EQ(error_of(w.finish()), Error::Truncated);
}

TEST(SyntheticDtb, PropertyNameOffsetOutsideTheStringsBlock) {
    DtbWriter w;
    w.begin("").prop_u32("a", 1).begin("cpus").cpu(0).end();
    w.word(kProp).word(0).word(0x10000);
    w.end();
    EXPECT_EQ(error_of(w.finish()), Error::Truncated);
}

TEST(SyntheticDtb, PropertyNameWithoutTerminator) {
    // The strings block's last name loses its NUL: the name offset is in
    // bounds, but the name runs off the block.
    DtbWriter w;
    w.begin("").begin("cpus").cpu(0).end().prop_u32("zz-last", 1).end();
    Blob b = w.finish();
    ASSERT_EQ(b.back(), 0);
    b.back() = 'x';
    EXPECT_EQ(error_of(b), Error::Truncated);
}

TEST(SyntheticDtb, NodeNameWithoutTerminator) {
    DtbWriter w;
    w.begin("").begin("cpus").cpu(0).end().end();
    w.word(kBeginNode).word(0x61616161);  // "aaaa", then the block ends
    Blob b = w.finish(/*with_end_token=*/false);
    EXPECT_EQ(error_of(b), Error::Truncated);
}

TEST(SyntheticDtb, TimebaseForms) {
    auto with_timebase = [](const Blob& value) {
        DtbWriter w;
        w.begin("").begin("cpus").prop("timebase-frequency", value).cpu(0).end().end();
        const auto r = parse(w.finish());
        EXPECT_TRUE(r.ok());
        return r.value().timebase_hz;
    };
    EXPECT_EQ(with_timebase({0x00, 0x98, 0x96, 0x80}), 10000000u);
    EXPECT_EQ(with_timebase({0, 0, 0, 1, 0, 0, 0, 2}), 0x1'0000'0002ull);  // 64-bit form
    EXPECT_EQ(with_timebase({1, 2}), 0u);  // malformed: ignored
    DtbWriter w;
    w.begin("").begin("cpus").cpu(0).end().prop_u32("timebase-frequency", 5).end();
    EXPECT_EQ(parse(w.finish()).value().timebase_hz, 0u) << "only /cpus carries the timebase";
}

TEST(SyntheticDtb, BootargsForms) {
    EXPECT_EQ(parse(virt_like({0}, nullptr)).value().bootargs, nullptr);
    EXPECT_EQ(parse(virt_like({0}, nullptr)).value().bootargs_len, 0u);
    // An empty string is still a (zero-length) command line.
    const auto empty = parse(virt_like({0}, "")).value();
    EXPECT_EQ(empty.bootargs_len, 0u);
    // A value without its NUL is bounded by the property length.
    DtbWriter w;
    w.begin("").begin("chosen").prop("bootargs", {'a', '=', '1', 'b', 'c'}).end();
    w.prop_str("model", {"next-prop"});
    w.begin("cpus").cpu(0).end().end();
    const auto r = parse(w.finish());
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(std::string(r.value().bootargs, r.value().bootargs_len), "a=1bc");
    // Only /chosen counts.
    DtbWriter o;
    o.begin("").begin("other").prop_str("bootargs", {"x=1"}).end().begin("cpus").cpu(0).end().end();
    EXPECT_EQ(parse(o.finish()).value().bootargs, nullptr);
}

TEST(SyntheticDtb, FinisherForms) {
    auto finisher = [](DtbWriter& w) {
        w.begin("cpus").cpu(0).end().end();
        const auto r = parse(w.finish());
        EXPECT_TRUE(r.ok());
        return r.value().test_finisher;
    };
    {  // Directly under the root, compatible listed first, reg before it.
        DtbWriter w;
        w.begin("").begin("test@200000").prop_u64("reg", 0x200000).prop_str("compatible", {"sifive,test0"}).end();
        EXPECT_EQ(finisher(w), 0x200000u);
    }
    {  // Not a finisher: a near-miss compatible string.
        DtbWriter w;
        w.begin("").begin("soc").begin("test@100000").prop_u64("reg", 0x100000);
        w.prop_str("compatible", {"sifive,test00", "sifive,test"}).end().end();
        EXPECT_EQ(finisher(w), 0u);
    }
    {  // The compatible of one device does not leak into the next device's reg.
        DtbWriter w;
        w.begin("").begin("soc");
        w.begin("a@1").prop_str("compatible", {"sifive,test0"}).end();  // no reg
        w.begin("b@2").prop_u64("reg", 0x2000).prop_str("compatible", {"ns16550a"}).end();
        w.end();
        EXPECT_EQ(finisher(w), 0u);
    }
    {  // The first finisher wins.
        DtbWriter w;
        w.begin("").begin("soc");
        w.begin("t@1").prop_u64("reg", 0x1000).prop_str("compatible", {"sifive,test0"}).end();
        w.begin("t@2").prop_u64("reg", 0x2000).prop_str("compatible", {"sifive,test0"}).end();
        w.end();
        EXPECT_EQ(finisher(w), 0x1000u);
    }
    {  // A compatible value without a final NUL is still bounded.
        DtbWriter w;
        w.begin("").begin("soc").begin("t@3").prop_u64("reg", 0x3000);
        w.prop("compatible", {'s', 'i', 'f', 'i', 'v', 'e', ',', 't', 'e', 's', 't', '0'}).end().end();
        EXPECT_EQ(finisher(w), 0x3000u);
    }
}

TEST(FdtErrorNames, AreDistinct) {
    const Error all[] = {Error::None,     Error::BadMagic,  Error::BadVersion,   Error::Truncated,
                         Error::BadToken, Error::BadNesting, Error::TooManyHarts, Error::NoHarts};
    std::vector<std::string> names;
    for (Error e : all) {
        const char* n = hb::fdt::error_name(e);
        ASSERT_NE(n, nullptr);
        EXPECT_STRNE(n, "unknown");
        names.emplace_back(n);
    }
    std::sort(names.begin(), names.end());
    EXPECT_EQ(std::unique(names.begin(), names.end()), names.end());
    EXPECT_STREQ(hb::fdt::error_name(Error::Truncated), "truncated");
}

// --- fuzz-ish: corrupt the real tree, the parser must stay in bounds --------

// The blob is copied so that its last byte sits right before a PROT_NONE
// page: any read past the caller's bound faults instead of passing quietly.
// (ASan is not wired into the host build; this is the poor man's version
// for the direction that matters, since every offset is unsigned.)
class GuardedCopy {
public:
    explicit GuardedCopy(std::size_t capacity) {
        m_page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
        m_data_pages = (capacity + m_page - 1) / m_page;
        m_len = (m_data_pages + 1) * m_page;
        void* p = mmap(nullptr, m_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) return;
        m_base = static_cast<std::uint8_t*>(p);
        if (mprotect(m_base + m_data_pages * m_page, m_page, PROT_NONE) != 0) {
            munmap(m_base, m_len);
            m_base = nullptr;
        }
    }
    ~GuardedCopy() {
        if (m_base != nullptr) munmap(m_base, m_len);
    }
    GuardedCopy(const GuardedCopy&) = delete;
    GuardedCopy& operator=(const GuardedCopy&) = delete;

    bool ok() const { return m_base != nullptr; }
    /// Places the first `n` bytes of `b` so that they end at the guard page.
    const std::uint8_t* place(const Blob& b, std::size_t n) {
        std::uint8_t* dst = m_base + m_data_pages * m_page - n;
        std::memcpy(dst, b.data(), n);
        return dst;
    }

private:
    std::size_t m_page = 0, m_data_pages = 0, m_len = 0;
    std::uint8_t* m_base = nullptr;
};

void check_result_sane(const std::uint8_t* blob, std::size_t n,
                       const hb::Result<hb::fdt::Platform, Error>& r) {
    if (!r.ok()) {
        ASSERT_NE(r.error(), Error::None);
        return;
    }
    const auto& p = r.value();
    ASSERT_GE(p.hart_count, 1u);
    ASSERT_LE(p.hart_count, hb::fdt::kMaxDtHarts);
    if (p.bootargs != nullptr) {
        const auto* lo = reinterpret_cast<const char*>(blob);
        ASSERT_GE(p.bootargs, lo);
        ASSERT_LE(p.bootargs + p.bootargs_len, lo + n);
    }
}

class FdtFuzz : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_FALSE(smp4.empty());
        ASSERT_TRUE(guard.ok());
    }
    Blob smp4 = load("virt-smp4.dtb");
    GuardedCopy guard{64 * 1024};
};

TEST_F(FdtFuzz, GuardPageHarnessWorks) {
    const std::uint8_t* p = guard.place(smp4, smp4.size());
    const auto r = hb::fdt::parse(p, smp4.size());
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.value().hart_count, 4u);
}

TEST_F(FdtFuzz, EveryTruncationLength) {
    for (std::size_t n = 0; n <= smp4.size(); ++n) {
        const std::uint8_t* p = guard.place(smp4, n);
        const auto r = hb::fdt::parse(p, n);
        if (n < smp4.size()) {
            ASSERT_FALSE(r.ok()) << n;
            ASSERT_EQ(r.error(), Error::Truncated) << n;
        } else {
            ASSERT_TRUE(r.ok());
        }
    }
}

TEST_F(FdtFuzz, EveryByteInverted) {
    for (std::size_t i = 0; i < smp4.size(); ++i) {
        Blob b = smp4;
        b[i] ^= 0xff;
        const std::uint8_t* p = guard.place(b, b.size());
        const auto r = hb::fdt::parse(p, b.size());
        check_result_sane(p, b.size(), r);
        if (HasFatalFailure()) FAIL() << "byte " << i;
        (void)hb::fdt::total_size(p);
    }
}

TEST_F(FdtFuzz, RandomCorruptionNeverEscapesTheBound) {
    std::mt19937_64 rng(0x4861727462ull);  // fixed seed: failures reproduce
    const std::size_t n = smp4.size();
    const std::uint32_t off_struct = get32(smp4, kOffStruct);
    const std::uint32_t size_struct = get32(smp4, kOffSizeStruct);
    std::map<Error, int> seen;
    constexpr int kIterations = 5000;
    for (int it = 0; it < kIterations; ++it) {
        Blob b = smp4;
        const int edits = 1 + static_cast<int>(rng() % 8);
        for (int e = 0; e < edits; ++e) {
            switch (rng() % 4) {
            case 0:  // a random byte anywhere
                b[rng() % n] = static_cast<std::uint8_t>(rng());
                break;
            case 1:  // a single bit
                b[rng() % n] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
                break;
            case 2: {  // an aligned structure word: token, length or name offset
                const std::size_t w = off_struct + 4 * (rng() % (size_struct / 4));
                const std::uint32_t choices[] = {static_cast<std::uint32_t>(rng() % 12),
                                                 static_cast<std::uint32_t>(rng()),
                                                 get32(b, w) + static_cast<std::uint32_t>(rng() % 9) - 4u,
                                                 0xffffffffu};
                put32(b, w, choices[rng() % 4]);
                break;
            }
            default: {  // a header field (skipping the magic most of the time)
                const std::size_t f = 4 * (1 + rng() % 9);
                put32(b, f, static_cast<std::uint32_t>(rng() % 2 ? rng() : get32(b, f) + rng() % 64 - 32));
                break;
            }
            }
        }
        // Sometimes the caller's bound is also short.
        const std::size_t bound = (rng() % 8 == 0) ? rng() % (n + 1) : n;
        const std::uint8_t* p = guard.place(b, bound);
        const auto r = hb::fdt::parse(p, bound);
        check_result_sane(p, bound, r);
        if (HasFatalFailure()) FAIL() << "iteration " << it;
        ++seen[r.ok() ? Error::None : r.error()];
    }
    // The corruption reaches deep enough to exercise most outcomes.
    EXPECT_GT(seen[Error::None], 0);
    EXPECT_GT(seen[Error::Truncated], 0);
    EXPECT_GT(seen[Error::BadToken], 0);
    EXPECT_GT(seen[Error::BadVersion], 0);
    EXPECT_GE(seen.size(), 5u);
}

}  // namespace
