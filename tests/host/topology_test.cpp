// The topology table (lib/topology.hpp): the one CpuId <-> HartId mapping.
//
// Rules under test: the boot hart is always cpu0 (whatever its hart id),
// the other harts follow in ascending hart-id order regardless of the order
// the device tree lists them, harts beyond the CPU limit are parked (listed
// ascending), and malformed input is an error, not a table.
#include "lib/topology.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace {

using hb::CpuId;
using hb::HartId;
using hb::Topology;
using hb::TopologyError;

std::vector<HartId> ids(std::initializer_list<std::uint64_t> raw) {
    std::vector<HartId> out;
    for (std::uint64_t r : raw) out.emplace_back(r);
    return out;
}

hb::Result<Topology, TopologyError> build(std::uint64_t boot, const std::vector<HartId>& harts,
                                          std::uint32_t limit = hb::kMaxCpus) {
    return Topology::build(HartId(boot), harts.data(), harts.size(), limit);
}

/// Hart ids by CpuId, cpu0 first.
std::vector<std::uint64_t> cpus_of(const Topology& t) {
    std::vector<std::uint64_t> out;
    for (std::uint32_t c = 0; c < t.cpu_count(); ++c) out.push_back(t.hart_of(CpuId(c)).raw());
    return out;
}
std::vector<std::uint64_t> parked_of(const Topology& t) {
    std::vector<std::uint64_t> out;
    for (std::size_t i = 0; i < t.parked_count(); ++i) out.push_back(t.parked(i).raw());
    return out;
}

using V = std::vector<std::uint64_t>;

// Every online CPU maps to its hart and back; parked and unknown harts have
// no CpuId.
void expect_round_trip(const Topology& t, const std::vector<HartId>& harts) {
    for (std::uint32_t c = 0; c < t.cpu_count(); ++c) {
        CpuId back(999);
        ASSERT_TRUE(t.cpu_of(t.hart_of(CpuId(c)), back)) << "cpu " << c;
        EXPECT_EQ(back, CpuId(c));
        EXPECT_TRUE(t.valid(CpuId(c)));
    }
    for (std::size_t i = 0; i < t.parked_count(); ++i) {
        CpuId out(999);
        EXPECT_FALSE(t.cpu_of(t.parked(i), out)) << "parked hart " << t.parked(i).raw();
        EXPECT_EQ(out, CpuId(999)) << "cpu_of must not write on failure";
    }
    // Every input hart is either online or parked, exactly once.
    EXPECT_EQ(t.cpu_count() + t.parked_count(), harts.size());
    EXPECT_FALSE(t.valid(CpuId(t.cpu_count())));
}

TEST(Topology, SingleHart) {
    const auto hs = ids({0});
    const auto r = build(0, hs);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.value().cpu_count(), 1u);
    EXPECT_EQ(r.value().hart_of(CpuId(0)), HartId(0));
    EXPECT_EQ(r.value().parked_count(), 0u);
    expect_round_trip(r.value(), hs);
}

TEST(Topology, IdentityWhenBootIsTheLowestHart) {
    const auto hs = ids({0, 1, 2, 3});
    const auto r = build(0, hs);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(cpus_of(r.value()), (V{0, 1, 2, 3}));
    expect_round_trip(r.value(), hs);
}

TEST(Topology, BootHartIsCpu0EvenWhenNotTheLowest) {
    const auto hs = ids({0, 1, 2, 3});
    const auto r = build(2, hs);
    ASSERT_TRUE(r.ok());
    // cpu0 = the boot hart; then the rest ascending, skipping it.
    EXPECT_EQ(cpus_of(r.value()), (V{2, 0, 1, 3}));
    CpuId c;
    ASSERT_TRUE(r.value().cpu_of(HartId(2), c));
    EXPECT_EQ(c, CpuId(0));
    ASSERT_TRUE(r.value().cpu_of(HartId(0), c));
    EXPECT_EQ(c, CpuId(1));
    expect_round_trip(r.value(), hs);
}

TEST(Topology, BootHartIsTheHighest) {
    const auto hs = ids({0, 1, 2, 3});
    const auto r = build(3, hs);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(cpus_of(r.value()), (V{3, 0, 1, 2}));
    expect_round_trip(r.value(), hs);
}

TEST(Topology, OthersAreAscendingWhateverTheInputOrder) {
    const auto hs = ids({3, 0, 7, 1, 5, 2});
    const auto r = build(5, hs);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(cpus_of(r.value()), (V{5, 0, 1, 2, 3, 7}));
    expect_round_trip(r.value(), hs);
}

TEST(Topology, EveryBootHartOfEveryPermutationOfFour) {
    std::vector<std::uint64_t> raw{0, 1, 2, 3};
    do {
        std::vector<HartId> hs;
        for (auto h : raw) hs.emplace_back(h);
        for (std::uint64_t boot = 0; boot < 4; ++boot) {
            const auto r = build(boot, hs);
            ASSERT_TRUE(r.ok());
            V expect{boot};
            for (std::uint64_t h = 0; h < 4; ++h)
                if (h != boot) expect.push_back(h);
            ASSERT_EQ(cpus_of(r.value()), expect) << "boot " << boot;
        }
    } while (std::next_permutation(raw.begin(), raw.end()));
}

TEST(Topology, SparseHartIds) {
    // Firmware may number harts sparsely (per cluster, per socket); CpuIds
    // stay dense.
    const auto hs = ids({0, 4, 8, 12});
    const auto r = build(8, hs);
    ASSERT_TRUE(r.ok());
    const Topology& t = r.value();
    EXPECT_EQ(t.cpu_count(), 4u);
    EXPECT_EQ(cpus_of(t), (V{8, 0, 4, 12}));
    CpuId c;
    ASSERT_TRUE(t.cpu_of(HartId(12), c));
    EXPECT_EQ(c, CpuId(3));
    EXPECT_FALSE(t.cpu_of(HartId(1), c)) << "hart 1 does not exist";
    EXPECT_FALSE(t.cpu_of(HartId(3), c)) << "a CpuId is not a hart id";
    expect_round_trip(t, hs);
}

TEST(Topology, WideHartIds) {
    const std::uint64_t big = 0x1'0000'0000ull;
    const auto hs = ids({big + 3, 0xffffffffffffffffull, big, 7});
    const auto r = build(big + 3, hs);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(cpus_of(r.value()), (V{big + 3, 7, big, 0xffffffffffffffffull}));
    expect_round_trip(r.value(), hs);
}

TEST(Topology, CpuLimitParksTheRestAscending) {
    const auto hs = ids({6, 1, 4, 0, 3, 2, 5});
    const auto r = build(4, hs, 3);
    ASSERT_TRUE(r.ok());
    const Topology& t = r.value();
    EXPECT_EQ(t.cpu_count(), 3u);
    // The boot hart always gets cpu0; the lowest other harts fill the rest.
    EXPECT_EQ(cpus_of(t), (V{4, 0, 1}));
    EXPECT_EQ(parked_of(t), (V{2, 3, 5, 6}));
    EXPECT_FALSE(t.valid(CpuId(3)));
    expect_round_trip(t, hs);
}

TEST(Topology, CpuLimitOneKeepsOnlyTheBootHart) {
    const auto hs = ids({0, 1, 2, 3});
    const auto r = build(2, hs, 1);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(cpus_of(r.value()), (V{2}));
    EXPECT_EQ(parked_of(r.value()), (V{0, 1, 3}));
    expect_round_trip(r.value(), hs);
}

TEST(Topology, CpuLimitZeroStillRunsTheBootHart) {
    // We are running on the boot hart; a limit of 0 cannot park it.
    const auto hs = ids({0, 1});
    const auto r = build(1, hs, 0);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(cpus_of(r.value()), (V{1}));
    EXPECT_EQ(parked_of(r.value()), (V{0}));
}

TEST(Topology, CpuLimitAboveTheCountParksNothing) {
    const auto hs = ids({0, 1, 2, 3});
    const auto r = build(0, hs, 6);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.value().cpu_count(), 4u);
    EXPECT_EQ(r.value().parked_count(), 0u);
}

TEST(Topology, CpuLimitIsClampedToMaxCpus) {
    std::vector<HartId> hs;
    for (std::uint64_t h = 0; h < hb::kMaxCpus + 4; ++h) hs.emplace_back(h);
    for (std::uint32_t limit : {hb::kMaxCpus, hb::kMaxCpus + 1, 100u, 0xffffffffu}) {
        const auto r = build(0, hs, limit);
        ASSERT_TRUE(r.ok()) << limit;
        EXPECT_EQ(r.value().cpu_count(), hb::kMaxCpus) << limit;
        EXPECT_EQ(parked_of(r.value()), (V{8, 9, 10, 11})) << limit;
        expect_round_trip(r.value(), hs);
    }
    // The default limit is kMaxCpus, too.
    const auto d = Topology::build(HartId(0), hs.data(), hs.size());
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(d.value().cpu_count(), hb::kMaxCpus);
}

TEST(Topology, SixtyFourHartsReversedWithTheLastBooting) {
    // The fdt reader's maximum, listed backwards, boot hart the highest.
    std::vector<HartId> hs;
    for (std::uint64_t h = 64; h-- > 0;) hs.emplace_back(h);
    const auto r = build(63, hs);
    ASSERT_TRUE(r.ok());
    const Topology& t = r.value();
    EXPECT_EQ(cpus_of(t), (V{63, 0, 1, 2, 3, 4, 5, 6}));
    ASSERT_EQ(t.parked_count(), 56u);
    for (std::size_t i = 0; i < t.parked_count(); ++i) EXPECT_EQ(t.parked(i), HartId(7 + i)) << i;
    expect_round_trip(t, hs);
}

TEST(Topology, HartZeroIsNotSpecial) {
    // Hart 0 may be absent (e.g. an S-mode-less monitor core that the
    // firmware does not hand to us).
    const auto hs = ids({2, 1, 3});
    const auto r = build(3, hs);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(cpus_of(r.value()), (V{3, 1, 2}));
    CpuId c;
    EXPECT_FALSE(r.value().cpu_of(HartId(0), c));
}

// --- errors -----------------------------------------------------------------

TEST(TopologyErrors, Empty) {
    const auto r = Topology::build(HartId(0), nullptr, 0);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error(), TopologyError::Empty);
    const auto hs = ids({0});
    EXPECT_EQ(Topology::build(HartId(0), hs.data(), 0).error(), TopologyError::Empty);
}

TEST(TopologyErrors, BootHartNotListed) {
    const auto hs = ids({0, 1, 2, 3});
    const auto r = build(4, hs);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error(), TopologyError::BootHartNotListed);
    // Even when the limit would have parked it: the boot hart must be known.
    EXPECT_EQ(build(9, hs, 1).error(), TopologyError::BootHartNotListed);
}

TEST(TopologyErrors, DuplicateHart) {
    EXPECT_EQ(build(0, ids({0, 1, 1})).error(), TopologyError::DuplicateHart);
    EXPECT_EQ(build(0, ids({0, 1, 2, 0})).error(), TopologyError::DuplicateHart) << "boot hart twice";
    EXPECT_EQ(build(5, ids({7, 5, 3, 9, 3})).error(), TopologyError::DuplicateHart) << "non-adjacent";
    // Duplicates among harts that would be parked are still an error.
    EXPECT_EQ(build(0, ids({0, 1, 2, 2}), 1).error(), TopologyError::DuplicateHart);
}

TEST(TopologyErrors, NamesAreDistinct) {
    const TopologyError all[] = {TopologyError::None, TopologyError::BootHartNotListed,
                                 TopologyError::DuplicateHart, TopologyError::Empty};
    std::vector<std::string> names;
    for (auto e : all) names.emplace_back(hb::topology_error_name(e));
    std::sort(names.begin(), names.end());
    EXPECT_EQ(std::unique(names.begin(), names.end()), names.end());
    EXPECT_STREQ(hb::topology_error_name(TopologyError::BootHartNotListed), "boot-hart-not-listed");
    EXPECT_STREQ(hb::topology_error_name(static_cast<TopologyError>(42)), "unknown");
}

}  // namespace
