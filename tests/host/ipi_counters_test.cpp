// Causal IPI counters and the audit log (lib/ipi_counters.hpp).
//
// Rules under test: check_causal names the first broken inequality of
// ack <= trap <= send <= request, reading from the end of the chain; delta
// refuses a pair in which any counter went backwards and otherwise reports
// what moved; the counters move one step at a time. The audit log numbers
// every event, records the caller's own CPU, refuses ids out of range
// without spending a number, and when full drops the newest event, counts
// it and leaves a visible gap in the sequence numbers.
#include "lib/ipi_counters.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace {

using hb::AuditEvent;
using hb::AuditOutcome;
using hb::AuditRecord;
using hb::CpuId;
using hb::IpiCounterCheck;
using hb::IpiCounters;
using hb::IpiCounterSnapshot;

IpiCounterSnapshot snap(std::uint64_t req, std::uint64_t sent, std::uint64_t trap, std::uint64_t ack) {
    return IpiCounterSnapshot{req, sent, trap, ack, 0};
}

TEST(IpiCheckCausal, HealthyChains) {
    EXPECT_EQ(hb::check_causal(snap(0, 0, 0, 0)), IpiCounterCheck::Ok);
    EXPECT_EQ(hb::check_causal(snap(5, 5, 5, 5)), IpiCounterCheck::Ok);
    EXPECT_EQ(hb::check_causal(snap(9, 4, 3, 2)), IpiCounterCheck::Ok) << "coalescing and in-flight IPIs";
}

TEST(IpiCheckCausal, NamesEachBrokenInequality) {
    EXPECT_EQ(hb::check_causal(snap(1, 1, 1, 2)), IpiCounterCheck::AckAboveTrap);
    EXPECT_EQ(hb::check_causal(snap(1, 1, 2, 0)), IpiCounterCheck::TrapAboveSend);
    EXPECT_EQ(hb::check_causal(snap(1, 2, 0, 0)), IpiCounterCheck::SendAboveRequest);
    // A polling target (acks without any send) is caught at its first link.
    EXPECT_EQ(hb::check_causal(snap(1, 0, 1, 1)), IpiCounterCheck::TrapAboveSend);
    // Several broken at once: the end of the chain is reported first.
    EXPECT_EQ(hb::check_causal(snap(0, 1, 2, 3)), IpiCounterCheck::AckAboveTrap);
}

TEST(IpiDelta, ReportsWhatMoved) {
    const auto d = hb::delta(snap(3, 2, 2, 1), snap(5, 3, 3, 3));
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(d.value(), snap(2, 1, 1, 2));
}

TEST(IpiDelta, RefusesACounterThatWentBackwards) {
    EXPECT_EQ(hb::delta(snap(3, 2, 2, 1), snap(3, 2, 2, 0)).error(), IpiCounterCheck::WentBackwards);
    EXPECT_EQ(hb::delta(snap(3, 2, 2, 1), snap(2, 2, 2, 1)).error(), IpiCounterCheck::WentBackwards);
    IpiCounterSnapshot failed_before = snap(1, 1, 1, 1);
    failed_before.send_failed = 1;
    EXPECT_FALSE(hb::delta(failed_before, snap(1, 1, 1, 1)).ok());
}

TEST(IpiCounters, OneIpiMovesEachCounterOnceInOrder) {
    IpiCounters c;
    const IpiCounterSnapshot before = c.snapshot();
    c.note_requested();
    EXPECT_EQ(hb::check_causal(c.snapshot()), IpiCounterCheck::Ok);
    c.note_sent();
    EXPECT_EQ(hb::check_causal(c.snapshot()), IpiCounterCheck::Ok);
    c.note_trapped();
    EXPECT_EQ(hb::check_causal(c.snapshot()), IpiCounterCheck::Ok);
    c.note_acked();
    const auto d = hb::delta(before, c.snapshot());
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(d.value(), snap(1, 1, 1, 1));
}

TEST(IpiCounters, ACoalescedRequestMovesOnlyRequested) {
    IpiCounters c;
    c.note_requested();
    c.note_sent();
    c.note_requested();  // the second post coalesced: no send
    c.note_trapped();
    c.note_acked();
    EXPECT_EQ(c.snapshot(), snap(2, 1, 1, 1));
    EXPECT_EQ(hb::check_causal(c.snapshot()), IpiCounterCheck::Ok);
}

TEST(IpiCounters, OutOfOrderNotesAreCaught) {
    IpiCounters c;
    c.note_trapped();  // a trap nobody sent: what a bug in the counting would look like
    EXPECT_EQ(hb::check_causal(c.snapshot()), IpiCounterCheck::TrapAboveSend);
    c.note_send_failed();
    EXPECT_EQ(c.snapshot().send_failed, 1u);
}

// --- Audit log ---------------------------------------------------------------

using SmallLog = hb::AuditLog<hb::BasicSpinLock<>, 4>;

std::vector<AuditRecord> records_of(SmallLog& log) {
    std::vector<AuditRecord> out;
    log.for_each([&](const AuditRecord& r) { out.push_back(r); });
    return out;
}

TEST(AuditLog, NumbersEventsAndKeepsTheirAuthor) {
    SmallLog log;
    EXPECT_EQ(log.record(AuditEvent::CpuOnline, CpuId(1), CpuId(1)), AuditOutcome::Recorded);
    EXPECT_EQ(log.record(AuditEvent::IpiSend, CpuId(0), CpuId(1)), AuditOutcome::Recorded);
    const auto recs = records_of(log);
    ASSERT_EQ(recs.size(), 2u);
    EXPECT_EQ(recs[0].seq, 0u);
    EXPECT_EQ(recs[0].kind, AuditEvent::CpuOnline);
    EXPECT_EQ(recs[0].cpu, CpuId(1));
    EXPECT_EQ(recs[1].seq, 1u);
    EXPECT_EQ(recs[1].kind, AuditEvent::IpiSend);
    EXPECT_EQ(recs[1].cpu, CpuId(0));
    EXPECT_EQ(recs[1].target, CpuId(1));
    EXPECT_EQ(log.counters().recorded, 2u);
}

TEST(AuditLog, RefusesIdsOutOfRangeWithoutSpendingANumber) {
    SmallLog log;
    EXPECT_EQ(log.record(AuditEvent::IpiSend, CpuId(hb::kMaxCpus), CpuId(0)), AuditOutcome::Invalid);
    EXPECT_EQ(log.record(AuditEvent::IpiSend, CpuId(0), CpuId(hb::kMaxCpus)), AuditOutcome::Invalid);
    EXPECT_EQ(log.record(static_cast<AuditEvent>(hb::kAuditEventCount), CpuId(0), CpuId(1)),
              AuditOutcome::Invalid);
    EXPECT_EQ(log.counters().invalid, 3u);
    EXPECT_EQ(log.size(), 0u);
    ASSERT_EQ(log.record(AuditEvent::CpuOffline, CpuId(2), CpuId(2)), AuditOutcome::Recorded);
    EXPECT_EQ(records_of(log)[0].seq, 0u) << "refused events leave no gap";
}

TEST(AuditLog, WhenFullDropsTheNewestAndLeavesAGap) {
    SmallLog log;
    for (std::uint32_t i = 0; i < 6; ++i) {
        const AuditOutcome o = log.record(AuditEvent::IpiSend, CpuId(0), CpuId(1));
        EXPECT_EQ(o, i < 4 ? AuditOutcome::Recorded : AuditOutcome::DroppedFull) << i;
    }
    EXPECT_EQ(log.counters().dropped, 2u);
    EXPECT_EQ(log.size(), 4u);
    // The earliest records are the ones kept.
    const auto kept = records_of(log);
    for (std::uint64_t i = 0; i < kept.size(); ++i) EXPECT_EQ(kept[i].seq, i);
    // A reader frees room; the next record shows the two numbers that were dropped.
    AuditRecord r;
    ASSERT_TRUE(log.pop(r));
    EXPECT_EQ(r.seq, 0u);
    ASSERT_EQ(log.record(AuditEvent::CpuOffline, CpuId(1), CpuId(1)), AuditOutcome::Recorded);
    const auto now = records_of(log);
    ASSERT_EQ(now.size(), 4u);
    EXPECT_EQ(now.back().seq, 6u) << "seq 4 and 5 were dropped: the gap says so";
    EXPECT_EQ(now[now.size() - 2].seq, 3u);
}

TEST(AuditLog, KernelCapacityIsTheDocumentedOne) {
    static_assert(hb::AuditLog<>::capacity() == hb::kAuditLogCapacity);
    static_assert(hb::kAuditLogCapacity >= hb::kMaxCpus * 2, "room for every CPU's online and offline");
    SUCCEED();
}

}  // namespace
