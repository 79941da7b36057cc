// The IPI mailbox and the causal counters under real concurrency (built
// twice: plain and under ThreadSanitizer as mailbox_stress_test_tsan).
//
// The scene is chapter 05's wake-up path with the hardware played by
// atomics. Several sender "CPUs" each queue work for one target (a counter
// per reason stands for the runqueue), post the reason, and, when post says
// MustSend, raise the target's SSIP (an atomic bool). The target thread is
// the trap handler: it does nothing until it sees SSIP, then clears SSIP,
// drains, and looks at the work of every reason it drained. It never peeks at
// the mailbox or the work otherwise, so a wake-up that does not reach it is
// lost for real, as in a tickless kernel. A monitor thread snapshots the
// target's IpiCounters all along.
//
// What must hold at the end, and why each would fail:
//  - No bit is left pending once SSIP is quiet. A lost doorbell (SSIP
//    cleared after the drain) leaves a bit set with nothing to deliver it.
//  - For each reason, the last drain that saw it also saw all work queued
//    for it: every post was followed by a drain that saw its work.
//  - Each reason was drained exactly as often as some post returned
//    MustSend for it: every 0 -> 1 of a bit is delivered once, and a drain
//    never sees a bit nobody turned on (no invented reason). A reason that
//    is known but never posted is never seen, nor is an unknown bit.
//  - MustSend + Coalesced == posts, and the mailbox's coalesced count agrees.
//  - Every snapshot the monitor took was causal (ack <= trap <= send <=
//    request) and never went backwards; at the end trapped == acked and
//    sent == the number of MustSend outcomes.
#include "lib/ipi_counters.hpp"
#include "lib/mailbox.hpp"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <thread>
#include <vector>

#include "tsan.hpp"

namespace {

using hb::IpiCounterCheck;
using hb::IpiCounterSnapshot;
using hb::PostOutcome;

enum class Reason : std::uint32_t { A = 1u << 0, B = 1u << 1, C = 1u << 2, NeverPosted = 1u << 3 };
constexpr std::uint32_t kKnown = 0b1111;
using Mailbox = hb::BasicMailbox<Reason, kKnown>;

constexpr std::array<Reason, 3> kPosted = {Reason::A, Reason::B, Reason::C};
constexpr std::size_t kReasons = kPosted.size();
constexpr std::size_t kSenders = 3;
constexpr std::uint32_t kPostsPerSender = kUnderTsan ? 20000 : 60000;
constexpr std::uint32_t kYieldEvery = 2;

std::size_t index_of(Reason r) {
    for (std::size_t i = 0; i < kReasons; ++i) {
        if (kPosted[i] == r) return i;
    }
    return kReasons;  // NeverPosted or anything else
}

struct SenderLog {
    std::array<std::uint64_t, kReasons> posts{};
    std::array<std::uint64_t, kReasons> must_send{};
    std::array<std::uint64_t, kReasons> coalesced{};
    std::uint64_t other = 0;  ///< RejectedUnknown: must stay 0
};

struct TargetLog {
    std::array<std::uint64_t, kReasons> drains_with{};  ///< drains that contained the reason
    std::array<std::uint64_t, kReasons> work_seen{};    ///< work counter read after the last such drain
    std::uint64_t traps = 0;
    std::uint64_t empty_drains = 0;  ///< a trap whose bits an earlier drain already took
    std::uint64_t never_posted_seen = 0;
    std::uint64_t unknown_seen = 0;
};

// The two full barriers of the path: between the target's SSIP clear and its
// drain, and in the sender's SBI call between post() and SSIP rising.
// ThreadSanitizer does not model stand-alone fences, so both sides meet on
// one word instead: read-modify-writes of one location are totally ordered,
// and acq_rel makes whichever comes first happen-before the other, which
// forbids the lost-wake-up outcome just as two seq_cst fences would.
std::atomic<std::uint32_t> g_barrier{0};
void full_barrier() { g_barrier.fetch_add(1, std::memory_order_acq_rel); }

struct MonitorLog {
    std::uint64_t snapshots = 0;
    std::uint64_t causal_violations = 0;
    std::uint64_t went_backwards = 0;
    IpiCounterCheck first_violation = IpiCounterCheck::Ok;
};

TEST(IpiMailboxStress, ManySendersOneDrainingTargetLoseNothing) {
    Mailbox mailbox;
    hb::IpiCounters counters;
    std::atomic<bool> ssip{false};  // the target's sip.SSIP
    std::array<std::atomic<std::uint64_t>, kReasons> work{};  // the "runqueue", per reason
    std::atomic<bool> senders_done{false};
    std::atomic<bool> monitor_stop{false};

    std::vector<SenderLog> sender_logs(kSenders);
    TargetLog target_log;
    MonitorLog monitor_log;

    std::thread target([&] {
        for (;;) {
            if (!ssip.load(std::memory_order_acquire)) {
                // Quiet. Leave only when no sender is left and SSIP is still
                // quiet after seeing that (acquire: all their stores are visible).
                if (senders_done.load(std::memory_order_acquire) && !ssip.load(std::memory_order_acquire)) break;
                std::this_thread::yield();  // "WFI"
                continue;
            }
            // The S_SOFT trap handler, in the kernel's order.
            counters.note_trapped();
            ++target_log.traps;
            ssip.store(false, std::memory_order_relaxed);  // clear SSIP first...
            // ...and keep the clear before the drain: without a full fence a
            // drain could read the word before the clear is visible, which is
            // the lost-wakeup order again. (The kernel needs the same fence
            // between `csrc sip` and the amoswap; Linux's RISC-V IPI handler
            // has an mb() there.)
            full_barrier();
            const Mailbox::Drained d = mailbox.drain();
            if (d.empty()) ++target_log.empty_drains;
            if (d.contains(Reason::NeverPosted)) ++target_log.never_posted_seen;
            if (d.unknown_bits() != 0) ++target_log.unknown_seen;
            const auto outcome = hb::dispatch_reasons<Reason>(d, [&](Reason r) {
                const std::size_t i = index_of(r);
                if (i == kReasons) return;
                ++target_log.drains_with[i];
                // The drain's acquire makes every work item queued before the
                // post that set this bit visible here.
                target_log.work_seen[i] = work[i].load(std::memory_order_relaxed);
            });
            if (outcome == hb::DispatchOutcome::Handled) counters.note_acked();
        }
    });

    std::thread monitor([&] {
        IpiCounterSnapshot prev = counters.snapshot();
        while (!monitor_stop.load(std::memory_order_acquire)) {
            const IpiCounterSnapshot now = counters.snapshot();
            ++monitor_log.snapshots;
            const IpiCounterCheck c = hb::check_causal(now);
            if (c != IpiCounterCheck::Ok) {
                if (monitor_log.causal_violations++ == 0) monitor_log.first_violation = c;
            }
            if (!hb::delta(prev, now).ok()) ++monitor_log.went_backwards;
            prev = now;
            std::this_thread::yield();
        }
    });

    std::vector<std::thread> senders;
    for (std::size_t s = 0; s < kSenders; ++s) {
        senders.emplace_back([&, s] {
            SenderLog& log = sender_logs[s];
            for (std::uint32_t i = 0; i < kPostsPerSender; ++i) {
                // Senders cycle through the reasons out of phase, so every
                // reason is posted by several senders at once.
                const std::size_t r = (i + s) % kReasons;
                // Queue the work, then post (relaxed: the post releases it).
                work[r].fetch_add(1, std::memory_order_relaxed);
                counters.note_requested();
                ++log.posts[r];
                switch (mailbox.post(kPosted[r])) {
                case PostOutcome::MustSend:
                    ++log.must_send[r];
                    counters.note_sent();  // before the doorbell, as in the kernel
                    // The SBI call: a full barrier, then SSIP rises.
                    full_barrier();
                    ssip.store(true, std::memory_order_release);
                    break;
                case PostOutcome::Coalesced: ++log.coalesced[r]; break;
                case PostOutcome::RejectedUnknown: ++log.other; break;
                }
                // Let the target run now and then, or the senders outrun it
                // and nearly every post coalesces: the interesting cases are
                // posts that land while a drain is in progress.
                if (i % kYieldEvery == 0) std::this_thread::yield();
            }
        });
    }
    for (std::thread& t : senders) t.join();
    senders_done.store(true, std::memory_order_release);
    target.join();
    monitor_stop.store(true, std::memory_order_release);
    monitor.join();

    SenderLog total;
    for (const SenderLog& l : sender_logs) {
        for (std::size_t r = 0; r < kReasons; ++r) {
            total.posts[r] += l.posts[r];
            total.must_send[r] += l.must_send[r];
            total.coalesced[r] += l.coalesced[r];
        }
        total.other += l.other;
    }

    EXPECT_EQ(mailbox.peek(), 0u) << "a bit is pending with SSIP quiet: a lost wake-up";
    EXPECT_EQ(total.other, 0u);
    std::uint64_t all_posts = 0;
    std::uint64_t all_must_send = 0;
    std::uint64_t all_coalesced = 0;
    for (std::size_t r = 0; r < kReasons; ++r) {
        SCOPED_TRACE(testing::Message() << "reason index " << r);
        EXPECT_EQ(total.posts[r], work[r].load(std::memory_order_relaxed));
        EXPECT_EQ(target_log.work_seen[r], total.posts[r]) << "work queued with no drain after it";
        EXPECT_EQ(target_log.drains_with[r], total.must_send[r])
            << "each 0 -> 1 of a bit is delivered exactly once";
        EXPECT_EQ(total.must_send[r] + total.coalesced[r], total.posts[r]);
        EXPECT_GT(total.must_send[r], 0u);
        all_posts += total.posts[r];
        all_must_send += total.must_send[r];
        all_coalesced += total.coalesced[r];
    }
    EXPECT_EQ(target_log.never_posted_seen, 0u) << "an invented reason";
    EXPECT_EQ(target_log.unknown_seen, 0u) << "an invented bit";
    EXPECT_EQ(mailbox.counters().coalesced, all_coalesced);
    EXPECT_EQ(mailbox.counters().rejected, 0u);

    EXPECT_EQ(monitor_log.causal_violations, 0u)
        << "first: " << hb::ipi_counter_check_name(monitor_log.first_violation);
    EXPECT_EQ(monitor_log.went_backwards, 0u);
    EXPECT_GT(monitor_log.snapshots, 0u);
    const IpiCounterSnapshot end = counters.snapshot();
    EXPECT_EQ(hb::check_causal(end), IpiCounterCheck::Ok);
    EXPECT_EQ(end.requested, all_posts);
    EXPECT_EQ(end.sent, all_must_send);
    EXPECT_EQ(end.trapped, target_log.traps);
    EXPECT_EQ(end.acked, end.trapped) << "every trap was handled";
    EXPECT_LE(end.trapped, end.sent);

    // Not assertions, but worth seeing: how much the mailbox saved.
    std::printf("posts %llu, must-send %llu, coalesced %llu, traps %llu (empty %llu), snapshots %llu\n",
                static_cast<unsigned long long>(all_posts), static_cast<unsigned long long>(all_must_send),
                static_cast<unsigned long long>(all_coalesced), static_cast<unsigned long long>(target_log.traps),
                static_cast<unsigned long long>(target_log.empty_drains),
                static_cast<unsigned long long>(monitor_log.snapshots));
}

}  // namespace
