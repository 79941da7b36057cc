// Validation of a reschedule IPI target (lib/ipi_target.hpp).
//
// Rules under test: a range check comes first and uses the smaller of the
// CPU count and kMaxCpus; a CPU may not IPI itself; an existing but offline
// CPU is refused; the caller's own id is checked too. The negative cases are
// built so that they stay negative in every configuration: the "ghost" CPU
// is cpu_count itself, never a fixed number such as kMaxCpus - 1, which is a
// real online CPU at -smp 8 (a lesson already paid for).
#include "lib/ipi_target.hpp"

#include <gtest/gtest.h>

#include <cstdint>

namespace {

using hb::CpuId;
using hb::CpuSet;
using hb::IpiTargetCheck;

TEST(IpiTarget, AcceptsAnotherOnlineCpu) {
    EXPECT_EQ(hb::check_ipi_target(CpuId(0), CpuId(1), 2, CpuSet::first_n(2)), IpiTargetCheck::Accepted);
    EXPECT_EQ(hb::check_ipi_target(CpuId(3), CpuId(0), 4, CpuSet::first_n(4)), IpiTargetCheck::Accepted);
}

TEST(IpiTarget, RejectsOutOfRangeForEveryCpuCount) {
    for (std::uint32_t n = 1; n <= hb::kMaxCpus; ++n) {
        const CpuSet online = CpuSet::first_n(n);
        EXPECT_EQ(hb::check_ipi_target(CpuId(0), CpuId(n), n, online), IpiTargetCheck::RejectedOutOfRange)
            << "the first id past the CPU count, n=" << n;
        EXPECT_EQ(hb::check_ipi_target(CpuId(0), CpuId(0xffffffffu), n, online),
                  IpiTargetCheck::RejectedOutOfRange);
    }
}

TEST(IpiTarget, RangeIsCappedByKMaxCpus) {
    // A topology claiming more CPUs than per-CPU arrays have slots must not
    // open the door to an index past them.
    const CpuSet all = CpuSet::first_n(hb::kMaxCpus);
    EXPECT_EQ(hb::check_ipi_target(CpuId(0), CpuId(hb::kMaxCpus), hb::kMaxCpus + 4, all),
              IpiTargetCheck::RejectedOutOfRange);
    EXPECT_EQ(hb::check_ipi_target(CpuId(0), CpuId(hb::kMaxCpus - 1), hb::kMaxCpus, all),
              IpiTargetCheck::Accepted)
        << "at -smp 8 the last CPU is real";
}

TEST(IpiTarget, RangeIsCheckedBeforeTheOnlineMask) {
    // Even a (forged) online bit past the CPU count does not make a target valid.
    const CpuSet forged = CpuSet::first_n(2).with(CpuId(5));
    EXPECT_EQ(hb::check_ipi_target(CpuId(0), CpuId(5), 2, forged), IpiTargetCheck::RejectedOutOfRange);
}

TEST(IpiTarget, RejectsSelf) {
    for (std::uint32_t c = 0; c < 4; ++c) {
        EXPECT_EQ(hb::check_ipi_target(CpuId(c), CpuId(c), 4, CpuSet::first_n(4)), IpiTargetCheck::RejectedSelf);
    }
    EXPECT_EQ(hb::check_ipi_target(CpuId(0), CpuId(0), 1, CpuSet::first_n(1)), IpiTargetCheck::RejectedSelf)
        << "on one hart there is nobody to send to";
}

TEST(IpiTarget, RejectsARealCpuThatIsOffline) {
    // cpu2 exists (count 4) but never came online, or was taken offline.
    const CpuSet online = CpuSet::first_n(4).without(CpuId(2));
    EXPECT_EQ(hb::check_ipi_target(CpuId(0), CpuId(2), 4, online), IpiTargetCheck::RejectedOffline);
    EXPECT_EQ(hb::check_ipi_target(CpuId(0), CpuId(3), 4, online), IpiTargetCheck::Accepted);
}

TEST(IpiTarget, RejectsABadSender) {
    EXPECT_EQ(hb::check_ipi_target(CpuId(4), CpuId(1), 4, CpuSet::first_n(4)), IpiTargetCheck::RejectedBadSender);
}

TEST(IpiTarget, IsAConstantExpression) {
    static_assert(hb::check_ipi_target(CpuId(0), CpuId(1), 2, CpuSet::first_n(2)) == IpiTargetCheck::Accepted);
    static_assert(hb::check_ipi_target(CpuId(0), CpuId(2), 2, CpuSet::first_n(2)) ==
                  IpiTargetCheck::RejectedOutOfRange);
    SUCCEED();
}

}  // namespace
