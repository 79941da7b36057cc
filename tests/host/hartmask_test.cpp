// lib/hartmask.hpp: a CpuSet becomes SBI hart-mask windows through the
// topology, in increasing hart order, splitting where harts are 64 apart.
#include "lib/hartmask.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace {

using hb::CpuId;
using hb::CpuSet;
using hb::HartId;
using hb::HartMaskWindow;
using hb::Topology;

Topology topo(std::uint64_t boot, std::vector<std::uint64_t> ids) {
    std::vector<HartId> harts;
    for (auto h : ids) harts.push_back(HartId(h));
    auto r = Topology::build(HartId(boot), harts.data(), harts.size());
    EXPECT_TRUE(r.ok());
    return r.value();
}

std::vector<HartMaskWindow> windows(CpuSet set, const Topology& t) {
    std::vector<HartMaskWindow> out;
    const auto n = hb::for_each_hart_window(set, t, [&](HartMaskWindow w) { out.push_back(w); });
    EXPECT_EQ(n, out.size());
    return out;
}

TEST(HartMask, EmptySetSendsNothing) {
    EXPECT_TRUE(windows(CpuSet{}, topo(0, {0, 1, 2, 3})).empty());
}

TEST(HartMask, DenseHartsFitOneWindow) {
    const auto t = topo(0, {0, 1, 2, 3});
    const auto w = windows(CpuSet{}.with(CpuId(1)).with(CpuId(3)), t);
    ASSERT_EQ(w.size(), 1u);
    EXPECT_EQ(w[0].base, 1u);  // the lowest target hart
    EXPECT_EQ(w[0].mask, 0b101u);
}

TEST(HartMask, GoesThroughTheTopologyNotTheCpuId) {
    // Boot hart 2 is CPU 0; the others get CpuIds in hart order: hart 0 is
    // CPU 1, hart 5 is CPU 2. CPU 2 must become hart 5, not hart 2.
    const auto t = topo(2, {0, 2, 5});
    const auto w = windows(CpuSet{}.with(CpuId(2)), t);
    ASSERT_EQ(w.size(), 1u);
    EXPECT_EQ(w[0], (HartMaskWindow{5, 1}));
    const auto all = windows(CpuSet::first_n(3), t);
    ASSERT_EQ(all.size(), 1u);
    EXPECT_EQ(all[0], (HartMaskWindow{0, 0b100101}));
}

TEST(HartMask, SparseHartsSplitIntoWindows) {
    const auto t = topo(0, {0, 63, 64, 200});
    const auto w = windows(CpuSet::first_n(4), t);
    ASSERT_EQ(w.size(), 3u);
    EXPECT_EQ(w[0], (HartMaskWindow{0, (std::uint64_t{1} << 63) | 1}));
    EXPECT_EQ(w[1], (HartMaskWindow{64, 1}));
    EXPECT_EQ(w[2], (HartMaskWindow{200, 1}));
}

TEST(HartMask, CpusOutsideTheTopologyAreSkipped) {
    const auto t = topo(0, {0, 1});
    const auto w = windows(CpuSet{}.with(CpuId(1)).with(CpuId(7)), t);
    ASSERT_EQ(w.size(), 1u);
    EXPECT_EQ(w[0], (HartMaskWindow{1, 1}));
}


}  // namespace
