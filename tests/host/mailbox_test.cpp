// The per-CPU IPI mailbox (lib/mailbox.hpp), one thread at a time.
//
// Rules under test: the first post of a reason asks for an interrupt, later
// posts of it coalesce (counted) until a drain; a drain takes every bit and
// leaves the word empty, so the next post asks again; posts of anything but
// one known reason are refused and change nothing; dispatch refuses a word
// with an unknown bit before handling any of it. The last test replays, step
// by step, the interleaving that loses an IPI when SSIP is cleared after the
// drain, and shows that clearing it first does not lose it.
#include "lib/mailbox.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace {

using hb::DispatchOutcome;
using hb::IpiMailbox;
using hb::IpiReason;
using hb::PostOutcome;

// A mailbox with more reasons than the kernel has yet, as a later chapter
// will: the generic template must handle several bits.
enum class TestReason : std::uint32_t { A = 1u << 0, B = 1u << 1, C = 1u << 4 };
constexpr std::uint32_t kTestKnown = 0b10011;
using TestMailbox = hb::BasicMailbox<TestReason, kTestKnown>;

TEST(IpiMailbox, FirstPostMustSendLaterPostsCoalesce) {
    IpiMailbox m;
    EXPECT_EQ(m.post(IpiReason::Resched), PostOutcome::MustSend);
    EXPECT_EQ(m.post(IpiReason::Resched), PostOutcome::Coalesced);
    EXPECT_EQ(m.post(IpiReason::Resched), PostOutcome::Coalesced);
    EXPECT_EQ(m.counters().coalesced, 2u);
    EXPECT_EQ(m.counters().rejected, 0u);
    EXPECT_EQ(m.peek(), hb::ipi_reason_bit(IpiReason::Resched));
}

TEST(IpiMailbox, DrainTakesEverythingAndReopens) {
    IpiMailbox m;
    ASSERT_EQ(m.post(IpiReason::Resched), PostOutcome::MustSend);
    ASSERT_EQ(m.post(IpiReason::Resched), PostOutcome::Coalesced);
    const hb::IpiDrained d = m.drain();
    EXPECT_TRUE(d.contains(IpiReason::Resched));
    EXPECT_EQ(d.unknown_bits(), 0u);
    EXPECT_EQ(m.peek(), 0u);
    EXPECT_TRUE(m.drain().empty()) << "a second drain finds nothing";
    EXPECT_EQ(m.post(IpiReason::Resched), PostOutcome::MustSend) << "after a drain the next post sends";
}

TEST(IpiMailbox, DistinctReasonsEachSendOnce) {
    TestMailbox m;
    EXPECT_EQ(m.post(TestReason::A), PostOutcome::MustSend);
    EXPECT_EQ(m.post(TestReason::B), PostOutcome::MustSend) << "another reason is another bit";
    EXPECT_EQ(m.post(TestReason::A), PostOutcome::Coalesced);
    EXPECT_EQ(m.post(TestReason::C), PostOutcome::MustSend);
    const auto d = m.drain();
    EXPECT_EQ(d.bits(), kTestKnown);
    EXPECT_EQ(m.counters().coalesced, 1u);
}

TEST(IpiMailbox, UnknownOrCompoundReasonsAreRefused) {
    IpiMailbox m;
    EXPECT_EQ(m.post(static_cast<IpiReason>(1u << 5)), PostOutcome::RejectedUnknown);
    EXPECT_EQ(m.post(static_cast<IpiReason>(0)), PostOutcome::RejectedUnknown) << "no bit at all";
    TestMailbox t;
    EXPECT_EQ(t.post(static_cast<TestReason>(0b11)), PostOutcome::RejectedUnknown)
        << "two reasons in one post would report one outcome for two bits";
    EXPECT_EQ(t.post(static_cast<TestReason>(1u << 2)), PostOutcome::RejectedUnknown) << "a hole in the mask";
    EXPECT_EQ(m.peek(), 0u);
    EXPECT_EQ(t.peek(), 0u);
    EXPECT_EQ(m.counters().rejected, 2u);
    EXPECT_EQ(t.counters().rejected, 2u);
    EXPECT_EQ(m.counters().coalesced, 0u);
}

TEST(IpiDispatch, HandlesEachKnownBitLowestFirst) {
    TestMailbox m;
    ASSERT_EQ(m.post(TestReason::C), PostOutcome::MustSend);
    ASSERT_EQ(m.post(TestReason::A), PostOutcome::MustSend);
    std::vector<TestReason> seen;
    EXPECT_EQ(hb::dispatch_reasons<TestReason>(m.drain(), [&](TestReason r) { seen.push_back(r); }),
              DispatchOutcome::Handled);
    EXPECT_EQ(seen, (std::vector<TestReason>{TestReason::A, TestReason::C}));
}

TEST(IpiDispatch, EmptyDrainIsHandledWithoutCalls) {
    IpiMailbox m;
    int calls = 0;
    EXPECT_EQ(hb::dispatch_ipi(m.drain(), [&](IpiReason) { ++calls; }), DispatchOutcome::Handled);
    EXPECT_EQ(calls, 0);
}

TEST(IpiDispatch, UnknownBitIsAnErrorAndNothingIsHandled) {
    // A corrupt word, as if memory had been scribbled on: the mailbox itself
    // has no way to write an unknown bit (post refuses one).
    const hb::IpiDrained d(static_cast<std::uint32_t>(IpiReason::Resched) | (1u << 31));
    EXPECT_EQ(d.unknown_bits(), 1u << 31);
    int calls = 0;
    EXPECT_EQ(hb::dispatch_ipi(d, [&](IpiReason) { ++calls; }), DispatchOutcome::UnknownReason);
    EXPECT_EQ(calls, 0) << "the good Resched bit of a corrupt word is not acted on either";
}

TEST(IpiDispatch, WorksAtCompileTime) {
    constexpr auto count = [] {
        int n = 0;
        const auto out = hb::dispatch_reasons<TestReason>(hb::BasicDrained<kTestKnown>(kTestKnown),
                                                          [&](TestReason) { ++n; });
        return out == DispatchOutcome::Handled ? n : -1;
    }();
    static_assert(count == 3);
    SUCCEED();
}

// --- Why SSIP is cleared before the drain -----------------------------------
//
// The hardware side, as the kernel sees it: `ssip` is the target's
// sip.SSIP, raised by the sender's SBI call and cleared by the target's trap
// handler. `queued` stands for the runqueue. Each test plays one fixed
// interleaving of a trap handler with a sender that posts in the middle of it.

struct Scene {
    IpiMailbox mailbox;
    bool ssip = false;
    int queued = 0;

    void sender_wakes_target() {
        ++queued;  // enqueue first, then post
        if (mailbox.post(IpiReason::Resched) == PostOutcome::MustSend) ssip = true;
    }
    /// The target may sleep only if nothing will wake it: "stuck" means work
    /// is queued, no interrupt is pending, and every future post coalesces.
    [[nodiscard]] bool target_deaf() const { return !ssip && mailbox.peek() != 0; }
};

TEST(SsipOrder, ClearingAfterTheDrainLosesTheWakeup) {
    Scene s;
    s.sender_wakes_target();  // first IPI: ssip raised
    ASSERT_TRUE(s.ssip);
    // Target traps. Naive handler: drain, then clear SSIP.
    const hb::IpiDrained first = s.mailbox.drain();
    EXPECT_TRUE(first.contains(IpiReason::Resched));
    s.sender_wakes_target();  // lands between the drain and the clear: MustSend, ssip already 1
    s.ssip = false;           // the clear erases the second doorbell
    EXPECT_TRUE(s.target_deaf()) << "bit pending, no interrupt: the second wakeup is lost";
    // And for good: every later post coalesces and raises nothing.
    s.sender_wakes_target();
    EXPECT_FALSE(s.ssip);
    EXPECT_EQ(s.queued, 3);
}

TEST(SsipOrder, ClearingBeforeTheDrainKeepsTheWakeup) {
    Scene s;
    s.sender_wakes_target();
    ASSERT_TRUE(s.ssip);
    // Target traps. Real handler: clear SSIP, then drain.
    s.ssip = false;
    s.sender_wakes_target();  // lands between the clear and the drain: coalesces into the pending bit
    const hb::IpiDrained first = s.mailbox.drain();
    EXPECT_TRUE(first.contains(IpiReason::Resched)) << "this drain covers both posts";
    EXPECT_FALSE(s.target_deaf());
    // A post after the drain raises SSIP again: at worst one extra trap.
    s.sender_wakes_target();
    EXPECT_TRUE(s.ssip);
    EXPECT_FALSE(s.target_deaf());
}

}  // namespace
