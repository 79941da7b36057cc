// The online mask (lib/online.hpp): only a CPU may mark itself online, and
// the bring-up check accepts a bit only with the hart's own witness.
//
// Rules under test: mark_online succeeds only when self == claimed, once;
// a refused claim leaves the mask untouched; verify_bringup reports the
// lowest offending CPU, checks the mask before the witnesses, skips cpu0
// (the boot CPU leaves no witness), and compares each witness with the hart
// the topology assigned to that CPU. Under concurrency, harts that try to
// mark each other never succeed and the final mask is exactly the harts
// that marked themselves.
#include "lib/online.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace {

using hb::BringupVerdict;
using hb::CpuId;
using hb::CpuSet;
using hb::HartId;
using hb::OnlineError;
using hb::OnlineMask;
using hb::OnlineWitness;
using hb::Topology;
using Problem = BringupVerdict::Problem;

CpuSet set_of(std::initializer_list<std::uint32_t> cpus) {
    CpuSet s;
    for (std::uint32_t c : cpus) s = s.with(CpuId(c));
    return s;
}

/// Boot hart 3 of {5, 0, 3, 1}: cpu0 = hart 3, cpu1 = hart 0, cpu2 = hart 1,
/// cpu3 = hart 5. CpuId and HartId differ on purpose.
Topology four_harts() {
    const HartId harts[] = {HartId(5), HartId(0), HartId(3), HartId(1)};
    auto r = Topology::build(HartId(3), harts, 4);
    EXPECT_TRUE(r.ok());
    return r.value();
}

/// Witnesses as healthy secondaries leave them.
struct Witnesses {
    OnlineWitness w[hb::kMaxCpus]{};
    explicit Witnesses(const Topology& t) {
        for (std::uint32_t c = 1; c < t.cpu_count(); ++c) w[c] = {true, t.hart_of(CpuId(c))};
    }
};

// --- mark_online ---------------------------------------------------------

TEST(MarkOnline, SelfMarksItself) {
    OnlineMask m;
    EXPECT_EQ(m.mark_online(CpuId(2), CpuId(2)), OnlineError::None);
    EXPECT_EQ(m.snapshot(), set_of({2}));
    EXPECT_EQ(m.mark_online(CpuId(0), CpuId(0)), OnlineError::None);
    EXPECT_EQ(m.snapshot(), set_of({0, 2}));
}

TEST(MarkOnline, AnotherCpuCannotMarkYou) {
    OnlineMask m;
    EXPECT_EQ(m.mark_online(CpuId(0), CpuId(1)), OnlineError::NotSelf);
    EXPECT_EQ(m.mark_online(CpuId(3), CpuId(1)), OnlineError::NotSelf);
    EXPECT_EQ(m.snapshot(), CpuSet{}) << "a refused claim must not set the bit";
    ASSERT_EQ(m.mark_online(CpuId(0), CpuId(0)), OnlineError::None);
    EXPECT_EQ(m.mark_online(CpuId(0), CpuId(1)), OnlineError::NotSelf);
    EXPECT_EQ(m.snapshot(), set_of({0}));
    // Still NotSelf once the target is online: the rule is checked first.
    ASSERT_EQ(m.mark_online(CpuId(1), CpuId(1)), OnlineError::None);
    EXPECT_EQ(m.mark_online(CpuId(0), CpuId(1)), OnlineError::NotSelf);
}

TEST(MarkOnline, SecondBootOfTheSameCpuIsAlreadyOnline) {
    OnlineMask m;
    ASSERT_EQ(m.mark_online(CpuId(4), CpuId(4)), OnlineError::None);
    EXPECT_EQ(m.mark_online(CpuId(4), CpuId(4)), OnlineError::AlreadyOnline);
    EXPECT_EQ(m.snapshot(), set_of({4}));
}

TEST(MarkOnline, OutOfRangeIsRefused) {
    OnlineMask m;
    const CpuId past(hb::kMaxCpus);
    EXPECT_EQ(m.mark_online(past, past), OnlineError::OutOfRange);
    EXPECT_EQ(m.mark_online(CpuId(0), past), OnlineError::OutOfRange);
    EXPECT_EQ(m.mark_online(CpuId(1000), CpuId(1000)), OnlineError::OutOfRange);
    // A bogus self with a real target is a NotSelf, not a way in.
    EXPECT_EQ(m.mark_online(past, CpuId(1)), OnlineError::NotSelf);
    EXPECT_EQ(m.snapshot(), CpuSet{});
    // The last valid CPU is fine.
    const CpuId last(hb::kMaxCpus - 1);
    EXPECT_EQ(m.mark_online(last, last), OnlineError::None);
}

TEST(MarkOnline, ALieAboutSelfSetsTheBit) {
    // The mask checks that a caller names itself; it cannot know whether the
    // caller lies about who it is (fault forge-online does exactly that).
    // Only the witness check in verify_bringup exposes such a bit.
    OnlineMask m;
    EXPECT_EQ(m.mark_online(CpuId(3), CpuId(3)), OnlineError::None);
    EXPECT_EQ(m.snapshot(), set_of({3}));
    // The forged bit now blocks the real CPU's own claim.
    EXPECT_EQ(m.mark_online(CpuId(3), CpuId(3)), OnlineError::AlreadyOnline);
}

// --- mark_offline (chapter 05) ---------------------------------------------

TEST(MarkOffline, OnlyTheCpuItselfGoesOffline) {
    OnlineMask m;
    ASSERT_EQ(m.mark_online(CpuId(0), CpuId(0)), OnlineError::None);
    ASSERT_EQ(m.mark_online(CpuId(1), CpuId(1)), OnlineError::None);
    EXPECT_EQ(m.mark_offline(CpuId(0), CpuId(1)), OnlineError::NotSelf);
    EXPECT_EQ(m.snapshot(), set_of({0, 1})) << "a refused offline must not clear the bit";
    EXPECT_EQ(m.mark_offline(CpuId(1), CpuId(1)), OnlineError::None);
    EXPECT_EQ(m.snapshot(), set_of({0}));
}

TEST(MarkOffline, TwiceIsAlreadyOfflineAndBackOnlineWorks) {
    OnlineMask m;
    ASSERT_EQ(m.mark_online(CpuId(2), CpuId(2)), OnlineError::None);
    ASSERT_EQ(m.mark_offline(CpuId(2), CpuId(2)), OnlineError::None);
    EXPECT_EQ(m.mark_offline(CpuId(2), CpuId(2)), OnlineError::AlreadyOffline);
    EXPECT_EQ(m.mark_online(CpuId(2), CpuId(2)), OnlineError::None) << "a restarted CPU marks itself again";
    EXPECT_EQ(m.snapshot(), set_of({2}));
}

TEST(MarkOffline, OutOfRangeIsRefused) {
    OnlineMask m;
    const CpuId past(hb::kMaxCpus);
    EXPECT_EQ(m.mark_offline(past, past), OnlineError::OutOfRange);
    EXPECT_EQ(m.mark_offline(CpuId(0), past), OnlineError::OutOfRange);
}

TEST(MarkOnline, ErrorNamesAreDistinct) {
    const OnlineError all[] = {OnlineError::None, OnlineError::NotSelf, OnlineError::AlreadyOnline,
                               OnlineError::AlreadyOffline, OnlineError::OutOfRange};
    std::set<std::string> names;
    for (OnlineError e : all) {
        EXPECT_STRNE(hb::online_error_name(e), "unknown");
        names.insert(hb::online_error_name(e));
    }
    EXPECT_EQ(names.size(), std::size(all));
}

// --- verify_bringup ------------------------------------------------------

TEST(VerifyBringup, HealthyBringupPasses) {
    const Topology t = four_harts();
    const Witnesses w(t);
    const CpuSet all = set_of({0, 1, 2, 3});
    const BringupVerdict v = hb::verify_bringup(all, all, w.w, t);
    EXPECT_EQ(v.problem, Problem::None) << hb::bringup_problem_name(v.problem);
}

TEST(VerifyBringup, HealthyBringupThroughTheMask) {
    const Topology t = four_harts();
    const Witnesses w(t);
    OnlineMask m;
    for (std::uint32_t c = 0; c < 4; ++c) ASSERT_EQ(m.mark_online(CpuId(c), CpuId(c)), OnlineError::None);
    EXPECT_EQ(hb::verify_bringup(m.snapshot(), set_of({0, 1, 2, 3}), w.w, t).problem, Problem::None);
}

TEST(VerifyBringup, BootCpuAloneNeedsNoWitness) {
    const Topology t = four_harts();
    const OnlineWitness none[hb::kMaxCpus]{};
    EXPECT_EQ(hb::verify_bringup(set_of({0}), set_of({0}), none, t).problem, Problem::None);
}

TEST(VerifyBringup, BootCpuWitnessIsIgnored) {
    const Topology t = four_harts();
    Witnesses w(t);
    w.w[0] = {true, HartId(77)};  // garbage in cpu0's slot must not matter
    const CpuSet all = set_of({0, 1, 2, 3});
    EXPECT_EQ(hb::verify_bringup(all, all, w.w, t).problem, Problem::None);
}

TEST(VerifyBringup, ExtraBitIsAMaskMismatch) {
    const Topology t = four_harts();
    const Witnesses w(t);
    const BringupVerdict v = hb::verify_bringup(set_of({0, 1, 2, 3}), set_of({0, 1, 3}), w.w, t);
    EXPECT_EQ(v.problem, Problem::MaskMismatch);
    EXPECT_EQ(v.cpu, CpuId(2));
}

TEST(VerifyBringup, MissingBitIsAMaskMismatch) {
    const Topology t = four_harts();
    const Witnesses w(t);
    const BringupVerdict v = hb::verify_bringup(set_of({0, 1, 3}), set_of({0, 1, 2, 3}), w.w, t);
    EXPECT_EQ(v.problem, Problem::MaskMismatch);
    EXPECT_EQ(v.cpu, CpuId(2));
}

TEST(VerifyBringup, MismatchNamesTheLowestDifferingCpu) {
    const Topology t = four_harts();
    const Witnesses w(t);
    // cpu3 missing and cpu5 extra: cpu3 is reported.
    BringupVerdict v = hb::verify_bringup(set_of({0, 1, 2, 5}), set_of({0, 1, 2, 3}), w.w, t);
    EXPECT_EQ(v.problem, Problem::MaskMismatch);
    EXPECT_EQ(v.cpu, CpuId(3));
    // cpu1 extra and cpu2 missing: cpu1 is reported.
    v = hb::verify_bringup(set_of({0, 1, 3}), set_of({0, 2, 3}), w.w, t);
    EXPECT_EQ(v.problem, Problem::MaskMismatch);
    EXPECT_EQ(v.cpu, CpuId(1));
    // Even cpu0 counts (a boot CPU that never marked itself).
    v = hb::verify_bringup(set_of({1, 2, 3}), set_of({0, 1, 2, 3}), w.w, t);
    EXPECT_EQ(v.problem, Problem::MaskMismatch);
    EXPECT_EQ(v.cpu, CpuId(0));
}

TEST(VerifyBringup, MaskIsCheckedBeforeWitnesses) {
    const Topology t = four_harts();
    const OnlineWitness none[hb::kMaxCpus]{};
    const BringupVerdict v = hb::verify_bringup(set_of({0, 1}), set_of({0, 1, 2}), none, t);
    EXPECT_EQ(v.problem, Problem::MaskMismatch);
    EXPECT_EQ(v.cpu, CpuId(2));
}

TEST(VerifyBringup, BitWithoutWitnessIsMissingWitness) {
    const Topology t = four_harts();
    Witnesses w(t);
    w.w[2].present = false;
    const CpuSet all = set_of({0, 1, 2, 3});
    const BringupVerdict v = hb::verify_bringup(all, all, w.w, t);
    EXPECT_EQ(v.problem, Problem::MissingWitness);
    EXPECT_EQ(v.cpu, CpuId(2));
}

TEST(VerifyBringup, WitnessForAnotherHartIsWrongHart) {
    const Topology t = four_harts();
    Witnesses w(t);
    // cpu2 is hart 1; a witness claiming hart 2 (which is cpu2's *CpuId*,
    // the classic confusion) is wrong.
    ASSERT_EQ(t.hart_of(CpuId(2)), HartId(1));
    w.w[2].hart = HartId(2);
    const CpuSet all = set_of({0, 1, 2, 3});
    BringupVerdict v = hb::verify_bringup(all, all, w.w, t);
    EXPECT_EQ(v.problem, Problem::WrongHart);
    EXPECT_EQ(v.cpu, CpuId(2));
    // Swapped witnesses between two real harts: the lower CPU is reported.
    Witnesses swapped(t);
    swapped.w[1].hart = t.hart_of(CpuId(3));
    swapped.w[3].hart = t.hart_of(CpuId(1));
    v = hb::verify_bringup(all, all, swapped.w, t);
    EXPECT_EQ(v.problem, Problem::WrongHart);
    EXPECT_EQ(v.cpu, CpuId(1));
}

TEST(VerifyBringup, FirstOffendingCpuWinsAcrossProblems) {
    const Topology t = four_harts();
    Witnesses w(t);
    w.w[1].hart = HartId(42);  // wrong hart at cpu1
    w.w[3].present = false;    // missing witness at cpu3
    const CpuSet all = set_of({0, 1, 2, 3});
    BringupVerdict v = hb::verify_bringup(all, all, w.w, t);
    EXPECT_EQ(v.problem, Problem::WrongHart);
    EXPECT_EQ(v.cpu, CpuId(1));
    w.w[1].hart = t.hart_of(CpuId(1));
    v = hb::verify_bringup(all, all, w.w, t);
    EXPECT_EQ(v.problem, Problem::MissingWitness);
    EXPECT_EQ(v.cpu, CpuId(3));
}

TEST(VerifyBringup, ForgedBitIsCaughtByTheWitnessCheck) {
    // The counterfactual fault `forge-online`: the boot CPU forges cpu2's
    // bit after cpu2 failed to start. The mask then matches the started
    // set, and only the missing witness exposes the forgery.
    const Topology t = four_harts();
    Witnesses w(t);
    w.w[2] = {};
    OnlineMask m;
    ASSERT_EQ(m.mark_online(CpuId(0), CpuId(0)), OnlineError::None);
    ASSERT_EQ(m.mark_online(CpuId(1), CpuId(1)), OnlineError::None);
    ASSERT_EQ(m.mark_online(CpuId(3), CpuId(3)), OnlineError::None);
    ASSERT_EQ(m.mark_online(CpuId(0), CpuId(2)), OnlineError::NotSelf);
    ASSERT_EQ(m.mark_online(CpuId(2), CpuId(2)), OnlineError::None);  // cpu0 lying that it is cpu2
    const BringupVerdict v = hb::verify_bringup(m.snapshot(), set_of({0, 1, 2, 3}), w.w, t);
    EXPECT_EQ(v.problem, Problem::MissingWitness);
    EXPECT_EQ(v.cpu, CpuId(2));
}

TEST(VerifyBringup, ProblemNamesAreDistinct) {
    const Problem all[] = {Problem::None, Problem::MaskMismatch, Problem::MissingWitness, Problem::WrongHart};
    std::set<std::string> names;
    for (Problem p : all) {
        EXPECT_STRNE(hb::bringup_problem_name(p), "unknown");
        names.insert(hb::bringup_problem_name(p));
    }
    EXPECT_EQ(names.size(), std::size(all));
}

// --- concurrency ---------------------------------------------------------

// Every "hart" (thread) marks itself online exactly once and meanwhile
// hammers the others with forged claims. All forged claims must be refused,
// no thread may find its own bit set before it marked itself, and the final
// mask is exactly the N harts. Runs under TSan as online_test_tsan.
TEST(OnlineConcurrent, OnlyEachCpuMarksItself) {
    constexpr std::uint32_t N = hb::kMaxCpus;
    static_assert(N >= 2, "needs someone to forge for");
    constexpr int kRounds = 200;
    for (int round = 0; round < kRounds; ++round) {
        OnlineMask m;
        std::atomic<std::uint32_t> ready{0};
        std::atomic<std::uint32_t> bad{0};         // forged claims that succeeded
        std::atomic<std::uint32_t> preset{0};      // own bit already set before marking
        std::atomic<std::uint32_t> self_ok{0};     // own claims that succeeded
        std::atomic<std::uint32_t> second{0};      // second own claims not AlreadyOnline
        std::vector<std::thread> harts;
        for (std::uint32_t i = 0; i < N; ++i) {
            harts.emplace_back([&, i] {
                const CpuId self(i);
                ready.fetch_add(1);
                while (ready.load() < N) std::this_thread::yield();
                // Forge for everyone else, interleaved with our own claim in
                // the middle of the sweep.
                for (std::uint32_t k = 1; k < N; ++k) {
                    const CpuId other((i + k) % N);
                    if (m.mark_online(self, other) != OnlineError::NotSelf) bad.fetch_add(1);
                    if (k == N / 2) {
                        if (m.snapshot().contains(self)) preset.fetch_add(1);
                        if (m.mark_online(self, self) == OnlineError::None) self_ok.fetch_add(1);
                    }
                }
                if (m.mark_online(self, self) != OnlineError::AlreadyOnline) second.fetch_add(1);
                for (std::uint32_t k = 1; k < N; ++k) {
                    if (m.mark_online(self, CpuId((i + k) % N)) != OnlineError::NotSelf) bad.fetch_add(1);
                }
            });
        }
        for (auto& h : harts) h.join();
        ASSERT_EQ(bad.load(), 0u) << "round " << round;
        ASSERT_EQ(preset.load(), 0u) << "round " << round;
        ASSERT_EQ(self_ok.load(), N) << "round " << round;
        ASSERT_EQ(second.load(), 0u) << "round " << round;
        CpuSet all;
        for (std::uint32_t c = 0; c < N; ++c) all = all.with(CpuId(c));
        ASSERT_EQ(m.snapshot(), all) << "round " << round;
        ASSERT_EQ(m.snapshot().count(), N);
    }
}

}  // namespace
