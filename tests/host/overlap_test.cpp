// lib/overlap.hpp: a serialized run has peak 1 and no parallel time; a
// parallel one has both, whatever order the sections are listed in.
#include "lib/overlap.hpp"

#include <gtest/gtest.h>

namespace {

using hb::Interval;
using hb::overlap_of;

TEST(Overlap, SerializedSectionsNeverOverlap) {
    const Interval s[] = {{0, 10}, {10, 20}, {20, 30}};  // back to back: an end meets a start
    const auto o = overlap_of(s, 3);
    EXPECT_EQ(o.peak, 1u);
    EXPECT_EQ(o.parallel, 0u);
}

TEST(Overlap, FullyParallelSections) {
    const Interval s[] = {{5, 100}, {0, 100}, {2, 90}, {1, 95}};
    const auto o = overlap_of(s, 4);
    EXPECT_EQ(o.peak, 4u);
    EXPECT_EQ(o.parallel, 99u);  // [1, 100): at least two open
}

TEST(Overlap, StaggeredSectionsCountOnlyTheSharedStretch) {
    // A late starter (a hart the host scheduled late): peak 2, not 3.
    const Interval s[] = {{0, 50}, {10, 60}, {55, 100}};
    const auto o = overlap_of(s, 3);
    EXPECT_EQ(o.peak, 2u);
    EXPECT_EQ(o.parallel, 40u + 5u);  // [10, 50) and [55, 60)
}

TEST(Overlap, EmptyAndSingle) {
    EXPECT_EQ(overlap_of(nullptr, 0).peak, 0u);
    const Interval one[] = {{3, 7}};
    EXPECT_EQ(overlap_of(one, 1).peak, 1u);
    EXPECT_EQ(overlap_of(one, 1).parallel, 0u);
}

static_assert(overlap_of(nullptr, 0).parallel == 0);

}  // namespace
