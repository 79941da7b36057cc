// TLB shootdown protocol (lib/shootdown.hpp), one outcome at a time.
//
// Rules under test: a range is valid exactly when it names at least one
// aligned page that does not run past 2^64 (or is all()), and says when to
// flush everything; the ActiveSet only grows and excludes the initiator; a
// slot takes one request at a time (Busy for the next), hands the owner the
// posted range exactly once, acks by generation so that a reused slot never
// un-acks an old request, and refuses invalid ranges without changing; a
// request posts to free slots only, keeps Busy targets pending, and is
// complete exactly when every target acked; run_shootdown rings each target
// once, completes when every target served its slot, and gives up only when
// its wait callback says so.
#include "lib/shootdown.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <set>
#include <string>
#include <vector>

namespace {

using hb::ActiveSet;
using hb::CpuId;
using hb::CpuSet;
using hb::ShootdownBoard;
using hb::ShootdownPostError;
using hb::ShootdownRange;
using hb::ShootdownRequest;
using hb::ShootdownService;
using hb::ShootdownSlot;
using hb::ShootdownWait;
using hb::SlotPhase;

constexpr std::uint64_t K4 = 4096;

CpuSet set_of(std::initializer_list<std::uint32_t> cpus) {
    CpuSet s;
    for (std::uint32_t c : cpus) s = s.with(CpuId(c));
    return s;
}

// --- ShootdownRange -----------------------------------------------------------

TEST(ShootdownRange, ValidRanges) {
    EXPECT_TRUE((ShootdownRange{0x40000000, 1}.valid()));
    EXPECT_TRUE((ShootdownRange{0, 1}.valid()));
    EXPECT_TRUE((ShootdownRange{0x40000000, ShootdownRange::kMaxPages}.valid()));
    EXPECT_TRUE((ShootdownRange{~std::uint64_t{0} - K4 + 1, 1}.valid())) << "the last page";
    EXPECT_TRUE(ShootdownRange::all().valid());
    EXPECT_TRUE((ShootdownRange{0x1234, ShootdownRange::kAllPages}.valid())) << "va is ignored by all()";
}

TEST(ShootdownRange, InvalidRanges) {
    EXPECT_FALSE((ShootdownRange{0x40000000, 0}.valid())) << "no page";
    EXPECT_FALSE((ShootdownRange{0x40000008, 1}.valid())) << "misaligned";
    EXPECT_FALSE((ShootdownRange{0x40000000, ShootdownRange::kMaxPages + 1}.valid())) << "ask for all() instead";
    EXPECT_FALSE((ShootdownRange{~std::uint64_t{0} - K4 + 1, 2}.valid())) << "runs past 2^64";
    EXPECT_FALSE(ShootdownRange{}.valid());
}

TEST(ShootdownRange, CoversExactlyItsPages) {
    const ShootdownRange r{0x40001000, 2};
    EXPECT_FALSE(r.covers(0x40000fff));
    EXPECT_TRUE(r.covers(0x40001000));
    EXPECT_TRUE(r.covers(0x40002fff));
    EXPECT_FALSE(r.covers(0x40003000));
    EXPECT_FALSE(r.covers(0));
    EXPECT_TRUE(ShootdownRange::all().covers(0));
    EXPECT_TRUE(ShootdownRange::all().covers(~std::uint64_t{0}));
    const ShootdownRange top{~std::uint64_t{0} - K4 + 1, 1};
    EXPECT_TRUE(top.covers(~std::uint64_t{0}));
}

TEST(ShootdownRange, WholeTlbAboveTheCeiling) {
    EXPECT_FALSE((ShootdownRange{0x40000000, 1}.flush_whole_tlb()));
    EXPECT_FALSE((ShootdownRange{0x40000000, hb::kPageFlushCeiling}.flush_whole_tlb()));
    EXPECT_TRUE((ShootdownRange{0x40000000, hb::kPageFlushCeiling + 1}.flush_whole_tlb()));
    EXPECT_TRUE(ShootdownRange::all().flush_whole_tlb());
}

// --- ActiveSet ----------------------------------------------------------------

TEST(ActiveSet, GrowsAndReportsTheFirstUse) {
    ActiveSet a;
    EXPECT_TRUE(a.load().empty());
    EXPECT_TRUE(a.note_active(CpuId(2)));
    EXPECT_FALSE(a.note_active(CpuId(2))) << "only the first use changes the set";
    EXPECT_TRUE(a.note_active(CpuId(0)));
    EXPECT_FALSE(a.note_active(CpuId(hb::kMaxCpus))) << "out of range";
    EXPECT_EQ(a.load(), set_of({0, 2}));
    EXPECT_TRUE(a.contains(CpuId(2)));
    EXPECT_FALSE(a.contains(CpuId(1)));
}

TEST(ActiveSet, TargetsExcludeTheInitiator) {
    ActiveSet a;
    for (std::uint32_t c : {0u, 1u, 3u}) a.note_active(CpuId(c));
    EXPECT_EQ(a.shootdown_targets(CpuId(1)), set_of({0, 3}));
    EXPECT_EQ(a.shootdown_targets(CpuId(2)), set_of({0, 1, 3})) << "an initiator that never ran the space";
    EXPECT_EQ(a.load(), set_of({0, 1, 3})) << "asking does not remove anyone";
}

// --- ShootdownSlot ------------------------------------------------------------

struct FlushLog {
    std::vector<ShootdownRange> ranges;
    auto fn() {
        return [this](const ShootdownRange& r) { ranges.push_back(r); };
    }
};

TEST(ShootdownSlot, AFreshSlotIsIdle) {
    ShootdownSlot s;
    FlushLog log;
    EXPECT_EQ(s.service(log.fn()), ShootdownService::Idle);
    EXPECT_TRUE(log.ranges.empty()) << "an idle service flushes nothing";
    EXPECT_EQ(s.peek().generation, 0u);
    EXPECT_EQ(s.peek().phase, SlotPhase::Free);
    EXPECT_TRUE(s.acked(0)) << "generation 0 is 'no request', always done";
    EXPECT_FALSE(s.acked(1));
}

TEST(ShootdownSlot, PostServiceAck) {
    ShootdownSlot s;
    FlushLog log;
    const ShootdownRange r{0x40005000, 3};
    const auto p = s.try_post(r);
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(p.value(), 1u);
    EXPECT_EQ(s.peek().phase, SlotPhase::Posted);
    EXPECT_EQ(s.peek().generation, 1u);
    EXPECT_FALSE(s.acked(1)) << "posted, not serviced";
    EXPECT_EQ(s.service(log.fn()), ShootdownService::Flushed);
    ASSERT_EQ(log.ranges.size(), 1u);
    EXPECT_EQ(log.ranges[0], r) << "the owner gets the posted range";
    EXPECT_TRUE(s.acked(1));
    EXPECT_EQ(s.peek().phase, SlotPhase::Free);
    EXPECT_EQ(s.peek().generation, 1u) << "Free keeps the generation it finished";
    // Serviced once: a second service finds nothing.
    EXPECT_EQ(s.service(log.fn()), ShootdownService::Idle);
    EXPECT_EQ(log.ranges.size(), 1u);
    EXPECT_EQ(s.counters().posted, 1u);
    EXPECT_EQ(s.counters().flushed, 1u);
}

TEST(ShootdownSlot, ASecondInitiatorIsBusyUntilTheOwnerServices) {
    ShootdownSlot s;
    FlushLog log;
    ASSERT_TRUE(s.try_post({0x40000000, 1}).ok());
    const auto second = s.try_post({0x40009000, 1});
    ASSERT_FALSE(second.ok());
    EXPECT_EQ(second.error(), ShootdownPostError::Busy);
    EXPECT_EQ(s.try_post({0x40009000, 1}).error(), ShootdownPostError::Busy);
    EXPECT_EQ(s.counters().busy, 2u);
    EXPECT_EQ(s.peek().generation, 1u) << "a Busy post changes nothing";
    ASSERT_EQ(s.service(log.fn()), ShootdownService::Flushed);
    ASSERT_EQ(log.ranges.size(), 1u);
    EXPECT_EQ(log.ranges[0].va, 0x40000000u) << "the first request was not overwritten";
    const auto retry = s.try_post({0x40009000, 1});
    ASSERT_TRUE(retry.ok());
    EXPECT_EQ(retry.value(), 2u);
}

TEST(ShootdownSlot, AnOldGenerationStaysAckedWhenTheSlotIsReused) {
    ShootdownSlot s;
    FlushLog log;
    const std::uint64_t g1 = s.try_post({0x40000000, 1}).value();
    ASSERT_EQ(s.service(log.fn()), ShootdownService::Flushed);
    const std::uint64_t g2 = s.try_post({0x40001000, 1}).value();
    EXPECT_EQ(g2, g1 + 1);
    // An initiator that was slow to look at its ack sees the slot Posted
    // again, for someone else: its own request is still done.
    EXPECT_TRUE(s.acked(g1));
    EXPECT_FALSE(s.acked(g2));
    ASSERT_EQ(s.service(log.fn()), ShootdownService::Flushed);
    EXPECT_TRUE(s.acked(g1));
    EXPECT_TRUE(s.acked(g2));
    EXPECT_FALSE(s.acked(g2 + 1)) << "a generation not posted yet is not acked";
}

TEST(ShootdownSlot, InvalidRangesAreRejectedWithoutAChange) {
    ShootdownSlot s;
    for (const ShootdownRange r : {ShootdownRange{0x40000000, 0}, ShootdownRange{0x40000001, 1},
                                   ShootdownRange{~std::uint64_t{0} - K4 + 1, 2}}) {
        const auto p = s.try_post(r);
        ASSERT_FALSE(p.ok());
        EXPECT_EQ(p.error(), ShootdownPostError::RejectedInvalid);
    }
    EXPECT_EQ(s.peek().generation, 0u);
    EXPECT_EQ(s.peek().phase, SlotPhase::Free);
    EXPECT_EQ(s.counters().posted, 0u);
    EXPECT_EQ(s.counters().busy, 0u) << "an invalid post is not contention";
    // An invalid post to a busy slot is reported as invalid, not busy.
    ASSERT_TRUE(s.try_post({0x40000000, 1}).ok());
    EXPECT_EQ(s.try_post({0x40000000, 0}).error(), ShootdownPostError::RejectedInvalid);
}

TEST(ShootdownSlot, AWholeTlbRequestTravelsAsIs) {
    ShootdownSlot s;
    FlushLog log;
    ASSERT_TRUE(s.try_post(ShootdownRange::all()).ok());
    ASSERT_EQ(s.service(log.fn()), ShootdownService::Flushed);
    ASSERT_EQ(log.ranges.size(), 1u);
    EXPECT_TRUE(log.ranges[0].flush_whole_tlb());
}

// --- ShootdownRequest ---------------------------------------------------------

TEST(ShootdownRequest, MakeDropsTheInitiatorAndChecksTheRange) {
    const auto r = ShootdownRequest::make(set_of({0, 1, 2}), CpuId(1), {0x40000000, 1});
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.value().targets(), set_of({0, 2}));
    EXPECT_EQ(r.value().unposted(), set_of({0, 2}));
    const auto bad = ShootdownRequest::make(set_of({0}), CpuId(1), {0x40000000, 0});
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error(), ShootdownPostError::RejectedInvalid);
}

TEST(ShootdownRequest, NoTargetsIsCompleteAtOnce) {
    ShootdownBoard board;
    ShootdownRequest req = ShootdownRequest::make(set_of({3}), CpuId(3), {0x40000000, 1}).value();
    EXPECT_TRUE(req.targets().empty());
    EXPECT_TRUE(req.complete(board));
    EXPECT_TRUE(req.post_pending(board).empty());
}

TEST(ShootdownRequest, CompleteExactlyWhenEveryTargetAcked) {
    ShootdownBoard board;
    FlushLog log;
    ShootdownRequest req = ShootdownRequest::make(set_of({0, 2, 3}), CpuId(1), {0x40000000, 2}).value();
    EXPECT_EQ(req.unacked(board), set_of({0, 2, 3})) << "unposted targets count as unacked";
    EXPECT_FALSE(req.complete(board));
    EXPECT_EQ(req.post_pending(board), set_of({0, 2, 3}));
    EXPECT_TRUE(req.unposted().empty());
    EXPECT_EQ(req.post_pending(board), CpuSet{}) << "nothing is posted twice";
    EXPECT_EQ(board.slot(CpuId(2)).counters().posted, 1u);
    EXPECT_EQ(req.unacked(board), set_of({0, 2, 3}));
    ASSERT_EQ(board.slot(CpuId(2)).service(log.fn()), ShootdownService::Flushed);
    EXPECT_EQ(req.unacked(board), set_of({0, 3}));
    ASSERT_EQ(board.slot(CpuId(0)).service(log.fn()), ShootdownService::Flushed);
    EXPECT_FALSE(req.complete(board));
    ASSERT_EQ(board.slot(CpuId(3)).service(log.fn()), ShootdownService::Flushed);
    EXPECT_TRUE(req.complete(board));
    EXPECT_EQ(log.ranges.size(), 3u);
    for (const auto& r : log.ranges) EXPECT_EQ(r, (ShootdownRange{0x40000000, 2}));
    EXPECT_EQ(board.slot(CpuId(1)).counters().posted, 0u) << "the initiator's own slot was not used";
}

TEST(ShootdownRequest, ABusyTargetStaysPendingWhileTheOthersProceed) {
    ShootdownBoard board;
    FlushLog log;
    // Another initiator got to CPU 2 first.
    ASSERT_TRUE(board.slot(CpuId(2)).try_post({0x40100000, 1}).ok());
    ShootdownRequest req = ShootdownRequest::make(set_of({0, 2}), CpuId(1), {0x40000000, 1}).value();
    EXPECT_EQ(req.post_pending(board), set_of({0}));
    EXPECT_EQ(req.unposted(), set_of({2}));
    EXPECT_EQ(req.busy(), 1u);
    // CPU 0 acks; CPU 2's ack of the *other* request must not count for ours.
    ASSERT_EQ(board.slot(CpuId(0)).service(log.fn()), ShootdownService::Flushed);
    ASSERT_EQ(board.slot(CpuId(2)).service(log.fn()), ShootdownService::Flushed);
    EXPECT_FALSE(req.complete(board)) << "CPU 2 flushed someone else's range, not ours";
    EXPECT_EQ(req.unacked(board), set_of({2}));
    EXPECT_EQ(req.post_pending(board), set_of({2}));
    EXPECT_FALSE(req.complete(board));
    ASSERT_EQ(board.slot(CpuId(2)).service(log.fn()), ShootdownService::Flushed);
    EXPECT_TRUE(req.complete(board));
    EXPECT_EQ(log.ranges.back(), (ShootdownRange{0x40000000, 1}));
}

// A target that went offline after it was posted to: the kernel excuses it
// (it flushes everything when it starts again). The request completes
// without its ack, only its own targets count, and the posted slot still
// holds the request for its owner to serve late.
TEST(ShootdownRequest, AnExcusedTargetNoLongerHoldsTheRequestUp) {
    ShootdownBoard board;
    FlushLog log;
    ShootdownRequest req = ShootdownRequest::make(set_of({0, 2, 3}), CpuId(1), {0x40000000, 1}).value();
    EXPECT_EQ(req.post_pending(board), set_of({0, 2, 3}));
    ASSERT_EQ(board.slot(CpuId(0)).service(log.fn()), ShootdownService::Flushed);
    EXPECT_EQ(req.unacked(board), set_of({2, 3}));
    req.excuse(set_of({3}));
    EXPECT_EQ(req.targets(), set_of({0, 2}));
    EXPECT_EQ(req.unacked(board), set_of({2})) << "an excused target is not waited for";
    EXPECT_FALSE(req.complete(board)) << "excusing one target excuses no other";
    ASSERT_EQ(board.slot(CpuId(2)).service(log.fn()), ShootdownService::Flushed);
    EXPECT_TRUE(req.complete(board));
    EXPECT_EQ(board.slot(CpuId(3)).peek().phase, SlotPhase::Posted) << "the excused slot keeps its request";
    ASSERT_EQ(board.slot(CpuId(3)).service(log.fn()), ShootdownService::Flushed) << "and its owner serves it late";
    // Excusing an unposted (Busy) target: it is neither posted nor waited for.
    ASSERT_TRUE(board.slot(CpuId(2)).try_post({0x40100000, 1}).ok());
    ShootdownRequest busy = ShootdownRequest::make(set_of({2}), CpuId(1), {0x40000000, 1}).value();
    EXPECT_EQ(busy.post_pending(board), CpuSet{});
    busy.excuse(set_of({2}));
    EXPECT_TRUE(busy.unposted().empty());
    EXPECT_TRUE(busy.complete(board));
}

// Two CPUs shooting down at once target each other. Each one's request can
// only complete if the *other* serves its slot while it waits: the rule
// run_shootdown's wait() callback carries.
TEST(ShootdownRequest, TwoInitiatorsTargetingEachOtherCompleteByServingWhileWaiting) {
    ShootdownBoard board;
    FlushLog log_a, log_b;
    const CpuId a{0}, b{1};
    ShootdownRequest ra = ShootdownRequest::make(set_of({0, 1}), a, {0x40000000, 1}).value();
    ShootdownRequest rb = ShootdownRequest::make(set_of({0, 1}), b, {0x40001000, 1}).value();
    EXPECT_EQ(ra.post_pending(board), set_of({1}));
    EXPECT_EQ(rb.post_pending(board), set_of({0}));
    EXPECT_FALSE(ra.complete(board));
    EXPECT_FALSE(rb.complete(board));
    // A, waiting, serves its own slot: that is B's request.
    ASSERT_EQ(board.slot(a).service(log_a.fn()), ShootdownService::Flushed);
    EXPECT_TRUE(rb.complete(board));
    EXPECT_FALSE(ra.complete(board));
    ASSERT_EQ(board.slot(b).service(log_b.fn()), ShootdownService::Flushed);
    EXPECT_TRUE(ra.complete(board));
    EXPECT_EQ(log_a.ranges.at(0).va, 0x40001000u);
    EXPECT_EQ(log_b.ranges.at(0).va, 0x40000000u);
}

// --- run_shootdown ------------------------------------------------------------

TEST(RunShootdown, RingsEachTargetOnceAndCompletes) {
    ShootdownBoard board;
    const CpuId self{1};
    ShootdownRequest req = ShootdownRequest::make(set_of({0, 1, 2, 3}), self, {0x40000000, 1}).value();
    std::vector<CpuSet> rings;
    int waits = 0;
    FlushLog log;
    const ShootdownWait w = hb::run_shootdown(
        board, req, [&](CpuSet cpus) { rings.push_back(cpus); },
        [&] {
            ++waits;
            board.slot(self).service(log.fn());  // the rule: serve your own slot
            // The targets, played here one per wait: each serves its slot.
            board.slot(CpuId(static_cast<std::uint32_t>(waits % 4))).service(log.fn());
            return true;
        });
    EXPECT_EQ(w, ShootdownWait::Complete);
    ASSERT_EQ(rings.size(), 1u) << "one batch of doorbells";
    EXPECT_EQ(rings[0], set_of({0, 2, 3}));
    EXPECT_GE(waits, 3);
    EXPECT_TRUE(req.complete(board));
}

TEST(RunShootdown, NoTargetsNeedsNoRingAndNoWait) {
    ShootdownBoard board;
    ShootdownRequest req = ShootdownRequest::make(CpuSet{}, CpuId(0), ShootdownRange::all()).value();
    int rings = 0, waits = 0;
    EXPECT_EQ(hb::run_shootdown(
                  board, req, [&](CpuSet) { ++rings; },
                  [&] {
                      ++waits;
                      return true;
                  }),
              ShootdownWait::Complete);
    EXPECT_EQ(rings, 0);
    EXPECT_EQ(waits, 0);
}

TEST(RunShootdown, ABusyTargetIsRungOnlyOnceItsSlotIsFree) {
    ShootdownBoard board;
    FlushLog log;
    ASSERT_TRUE(board.slot(CpuId(2)).try_post({0x40100000, 1}).ok());  // someone else's
    ShootdownRequest req = ShootdownRequest::make(set_of({2}), CpuId(0), {0x40000000, 1}).value();
    std::vector<CpuSet> rings;
    int waits = 0;
    const ShootdownWait w = hb::run_shootdown(
        board, req, [&](CpuSet cpus) { rings.push_back(cpus); },
        [&] {
            ++waits;
            if (waits == 3) board.slot(CpuId(2)).service(log.fn());  // the other request
            if (waits == 5) board.slot(CpuId(2)).service(log.fn());  // ours
            return waits < 100;
        });
    EXPECT_EQ(w, ShootdownWait::Complete);
    ASSERT_EQ(rings.size(), 1u);
    EXPECT_EQ(rings[0], set_of({2}));
    EXPECT_EQ(waits, 5);
    EXPECT_EQ(req.busy(), 3u) << "refused at the start and after waits 1 and 2";
    EXPECT_EQ(log.ranges.at(1).va, 0x40000000u);
}

TEST(RunShootdown, GivesUpOnlyWhenTheWaitSaysSo) {
    ShootdownBoard board;
    ShootdownRequest req = ShootdownRequest::make(set_of({0, 2}), CpuId(1), {0x40000000, 1}).value();
    int waits = 0;
    const ShootdownWait w = hb::run_shootdown(
        board, req, [](CpuSet) {},
        [&] {
            ++waits;
            return waits < 10;  // a deadline; CPU 2 never answers
        });
    EXPECT_EQ(w, ShootdownWait::GaveUp);
    EXPECT_EQ(waits, 10);
    EXPECT_FALSE(req.complete(board));
    // The posts stay valid: the late target still finds and flushes them.
    FlushLog log;
    EXPECT_EQ(board.slot(CpuId(2)).service(log.fn()), ShootdownService::Flushed);
    EXPECT_EQ(board.slot(CpuId(0)).service(log.fn()), ShootdownService::Flushed);
    EXPECT_TRUE(req.complete(board));
}

TEST(ShootdownNames, EveryOutcomeHasItsOwnName) {
    std::set<std::string> post{hb::shootdown_post_error_name(ShootdownPostError::None),
                               hb::shootdown_post_error_name(ShootdownPostError::Busy),
                               hb::shootdown_post_error_name(ShootdownPostError::RejectedInvalid)};
    EXPECT_EQ(post.size(), 3u);
    EXPECT_EQ(post.count("?"), 0u);
    EXPECT_STREQ(hb::shootdown_post_error_name(static_cast<ShootdownPostError>(9)), "?");
    EXPECT_STRNE(hb::shootdown_wait_name(ShootdownWait::Complete), hb::shootdown_wait_name(ShootdownWait::GaveUp));
    EXPECT_STREQ(hb::shootdown_wait_name(static_cast<ShootdownWait>(9)), "?");
}

}  // namespace
