#include "05-ipis/selftests.hpp"

#include <algorithm>
#include <atomic>

#include "04-runqueues/selftests.hpp"
#include "arch/riscv/sbi.hpp"
#include "kernel/audit.hpp"
#include "kernel/console.hpp"
#include "kernel/hartlocal.hpp"
#include "kernel/ipi.hpp"
#include "kernel/percpu.hpp"
#include "kernel/sched.hpp"
#include "kernel/selftest.hpp"
#include "kernel/smp.hpp"
#include "kernel/wait.hpp"

namespace hb::ch05 {
namespace {

using ch04::spawn_or_fail;
using ch04::task_wait;
using ch04::QuickBudget;
using sched::Task;

constexpr std::uint64_t kWaitUs = 5'000'000;
/// How long the counterfactual watches a target that was given work without
/// an IPI. Its verdict does not depend on the length: an idle CPU without a
/// tick has nothing that could wake it, so the task would stay queued for
/// ever; the window only has to be long enough for a tick that should not be
/// there (tickless idle off) to show itself, many times over.
constexpr std::uint64_t kCounterfactualWindowUs = 50'000;

constinit const BootInfo* g_boot = nullptr;
std::uint32_t cpu_count() { return g_boot->topology.cpu_count(); }
/// The CPU the IPI tests aim at: the last one, never the boot CPU.
CpuId target_cpu() { return CpuId(cpu_count() - 1); }

// [hb:region probe]
/// What a probe task saw at its first instruction.
struct ProbeSeen {
    std::atomic<std::uint32_t> ran{0};
    std::uint32_t cpu = 0;
    std::uint64_t trapped_at_start = 0;  ///< its CPU's `trapped` when it started
    std::uint64_t started_at = 0;        ///< now_ticks() at its first instruction
};
constinit ProbeSeen g_probe;

void probe(std::uint64_t) {
    g_probe.started_at = now_ticks();
    const CpuId cpu = current_cpu();
    g_probe.cpu = cpu.raw();
    g_probe.trapped_at_start = ipi::counters(cpu).trapped;
    g_probe.ran.store(1, std::memory_order_release);
}

void reset_probe() {
    g_probe.cpu = kMaxCpus;
    g_probe.trapped_at_start = 0;
    g_probe.started_at = 0;
    g_probe.ran.store(0, std::memory_order_release);
}
// [hb:end probe]

/// Waits until `cpu` sleeps in its idle task with no tick armed.
bool await_idle_tickless(CpuId cpu) { return task_wait([&] { return sched::idle_tickless(cpu); }, kWaitUs); }

// Siblings: one task on every CPU but the target, counting while the
// target is watched ("the rest of the machine keeps running").
constinit std::atomic<std::uint64_t> g_sibling_count[kMaxCpus]{};
constinit std::atomic<std::uint32_t> g_siblings_stop{0};
constinit std::atomic<std::uint32_t> g_siblings_live{0};

void sibling(std::uint64_t cpu) {
    while (g_siblings_stop.load(std::memory_order_acquire) == 0) {
        g_sibling_count[cpu].fetch_add(1, std::memory_order_relaxed);
        sched::yield();
    }
    g_siblings_live.fetch_sub(1, std::memory_order_release);
}

/// The IPI path's record of `target` in the audit log: how many IpiSend
/// records by `author` to `target` it holds.
std::uint32_t audit_sends(CpuId author, CpuId target) {
    std::uint32_t n = 0;
    audit::log().for_each([&](const AuditRecord& r) {
        if (r.kind == AuditEvent::IpiSend && r.cpu == author && r.target == target) ++n;
    });
    return n;
}

/// Empties the audit log (a dump that frees room: chapter 04's spawn stress
/// sends hundreds of IPIs and fills it), so the next records are ours.
std::uint32_t drain_audit() {
    std::uint32_t n = 0;
    AuditRecord r;
    while (audit::log().pop(r)) ++n;
    return n;
}

// [hb:region movers]
// Work queued on a CPU when it goes offline: movers keep the target busy,
// yielding among themselves, until released; the offline path must move
// them to another CPU, where they finish.
constexpr std::uint32_t kMovers = 3;
constinit std::atomic<std::uint32_t> g_movers_started{0};
constinit std::atomic<std::uint32_t> g_movers_go{0};
constinit std::atomic<std::uint32_t> g_movers_done{0};
constinit std::uint32_t g_mover_start_cpu[kMovers]{};
constinit std::uint32_t g_mover_end_cpu[kMovers]{};

void mover(std::uint64_t k) {
    g_mover_start_cpu[k] = current_cpu().raw();
    g_movers_started.fetch_add(1, std::memory_order_release);
    while (g_movers_go.load(std::memory_order_acquire) == 0) sched::yield();
    g_mover_end_cpu[k] = current_cpu().raw();
    g_movers_done.fetch_add(1, std::memory_order_release);
}
// [hb:end movers]

}  // namespace

void init_selftests(const BootInfo& boot) { g_boot = &boot; }

// [hb:region counterfactual]
/// Waits until `cpu` sleeps tickless with nothing on its way to it: every
/// IPI sent to it trapped and acknowledged, its mailbox empty. A doorbell
/// can be in flight after its reason was handled (a post that lands between
/// a trap's SSIP clear and its drain is drained by that trap, and its own
/// interrupt arrives afterwards, as a spare): starting the window before it
/// lands would let it wake the target for a reason that is not the probe's.
/// (A kernel whose idle keeps its tick never sleeps tickless: `tickless`
/// false waives that part, so the watch still runs and shows the tick.)
bool await_quiet(CpuId cpu, bool tickless) {
    return task_wait(
        [&] {
            const IpiCounterSnapshot s = ipi::counters(cpu);
            return (sched::idle_tickless(cpu) || !tickless) && percpu(cpu).ipi.mailbox.peek() == 0 &&
                   s.sent == s.trapped && s.acked >= s.trapped;
        },
        kWaitUs);
}

/// What one watch of the target saw.
struct Watch {
    bool suppressed = false;    ///< the probe's post was the one that went unsent
    bool ran_in_window = false;
    bool pending = false;       ///< the resched still in the target's mailbox at the end
    bool siblings_ran = false;
    IpiCounterSnapshot before, during;
    std::uint64_t ticks = 0;    ///< the target's timer ticks in the window
    std::uint64_t window_us = 0;
    std::uint32_t other_sends = 0;  ///< IpiSend records to the target in the window
    std::uint32_t other_author = 0;
    /// Someone else's IPI reached the target in the window (or the probe's
    /// post coalesced into one): the watch says nothing about a missing IPI.
    bool void_watch() const { return !suppressed || during.sent != before.sent; }
};

/// Queues the probe on `t` with its IPI suppressed and watches `t` for the
/// window: at least 50 ms, and until every other CPU's sibling has counted
/// since the probe was queued (the rest of the machine ran meanwhile; a
/// host that stalls some vCPU only makes the window longer).
Watch watch_once(CpuId t, const char* name) {
    Watch w;
    reset_probe();
    drain_audit();
    w.before = ipi::counters(t);
    const std::uint64_t ticks0 = sched::stats(t).ticks;
    const std::uint64_t t0 = now_ticks();

    // The one change: this spawn's reschedule IPI is accepted and posted,
    // but not sent.
    ipi::suppress_next_send(t);
    spawn_or_fail(name, "probe", &probe, 0, QosClass::Normal, t);
    w.suppressed = !ipi::cancel_suppression();

    std::uint64_t sib0[kMaxCpus]{};
    for (std::uint32_t c = 0; c < cpu_count(); ++c) sib0[c] = g_sibling_count[c].load(std::memory_order_relaxed);
    const auto siblings_moved = [&] {
        for (std::uint32_t c = 0; c < cpu_count(); ++c) {
            if (CpuId(c) != t && g_sibling_count[c].load(std::memory_order_relaxed) == sib0[c]) return false;
        }
        return true;
    };
    task_wait([&] { return now_ticks() - t0 >= us_to_ticks(kCounterfactualWindowUs) && siblings_moved(); },
              kWaitUs);
    w.siblings_ran = siblings_moved();
    w.ran_in_window = g_probe.ran.load(std::memory_order_acquire) != 0;
    w.during = ipi::counters(t);
    w.ticks = sched::stats(t).ticks - ticks0;
    w.window_us = ticks_to_us(now_ticks() - t0);
    w.pending = (percpu(t).ipi.mailbox.peek() & ipi_reason_bit(IpiReason::Resched)) != 0;
    audit::log().for_each([&](const AuditRecord& r) {
        if (r.kind != AuditEvent::IpiSend || r.target != t) return;
        ++w.other_sends;
        w.other_author = r.cpu.raw();
    });
    return w;
}

void selftest_ipi_counterfactual() {
    constexpr const char* kName = "ipi counterfactual";
    /// Watches that someone else's IPI spoiled, before the test gives up.
    constexpr std::uint32_t kAttempts = 3;
    const CpuId self = current_cpu();
    const CpuId t = target_cpu();
    selftest::check(self != t, kName, "the selftest runs on the target cpu", t);
    const bool tickless = await_idle_tickless(t);
    // The rest of the machine: a counting task on every CPU but the target.
    g_siblings_stop.store(0, std::memory_order_relaxed);
    for (std::uint32_t c = 0; c < cpu_count(); ++c) {
        if (CpuId(c) == t) continue;
        g_sibling_count[c].store(0, std::memory_order_relaxed);
        g_siblings_live.fetch_add(1, std::memory_order_relaxed);
        spawn_or_fail(kName, "sibling", &sibling, c, QosClass::Background, CpuId(c));  // the selftest task's class: it must keep running
    }
    Watch w;
    std::uint32_t attempt = 0;
    bool quiet = false;
    ipi::ReschedOutcome rung = ipi::ReschedOutcome::Sent;
    bool ran_after = false;
    IpiCounterSnapshot after;
    for (;;) {
        ++attempt;
        quiet = await_quiet(t, tickless);
        if (!quiet) break;
        w = watch_once(t, kName);
        // Repair the suppressed send: ring the doorbell for the pending request.
        rung = w.pending ? ipi::ring_doorbell(t) : ipi::ReschedOutcome::Sent;
        ran_after = task_wait([] { return g_probe.ran.load(std::memory_order_acquire) != 0; }, kWaitUs);
        after = ipi::counters(t);
        if (!w.void_watch() || attempt == kAttempts) break;
        console::println("KINIT: ipi counterfactual: watch ", attempt, " void (",
                         w.suppressed ? "" : "the probe's post coalesced; ", w.other_sends,
                         " other sends to cpu", t, "), again");
    }
    g_siblings_stop.store(1, std::memory_order_release);
    task_wait([] { return g_siblings_live.load(std::memory_order_acquire) == 0; }, kWaitUs);

    const IpiCounterSnapshot q = ipi::counters(t);
    selftest::check(quiet, kName, "cpu", t, " never went quiet (idle tickless ", sched::idle_tickless(t), ", sent ",
                    q.sent, " trapped ", q.trapped, " acked ", q.acked, ")");
    selftest::check(!w.void_watch(), kName, kAttempts, " watches of cpu", t, " all saw another IPI: last one ",
                    w.suppressed ? "" : "had the probe's post coalesce, ", "sent +", w.during.sent - w.before.sent,
                    ", ", w.other_sends, " audited sends, last by cpu", w.other_author);
    if (w.ran_in_window) {
        selftest::check(w.ticks == 0, kName, "the probe ran on cpu", t, " without an IPI: cpu", t, " took ", w.ticks,
                        " timer ticks in the window, so its tick woke it (idle is not tickless)");
        selftest::fail(kName, "the probe ran on cpu", t, " without an IPI and without a tick (trapped +",
                       w.during.trapped - w.before.trapped, "): something else woke it");
    }
    selftest::check(tickless, kName, "cpu", t, " never slept without a tick armed (tickless idle off?)");
    selftest::check(w.during.requested == w.before.requested + 1 && w.during.sent == w.before.sent, kName,
                    "the suppressed request moved requested +", w.during.requested - w.before.requested, " sent +",
                    w.during.sent - w.before.sent, " (want +1, +0)");
    selftest::check(w.during.trapped == w.before.trapped && w.during.acked == w.before.acked, kName, "cpu", t,
                    " trapped +", w.during.trapped - w.before.trapped, " acked +", w.during.acked - w.before.acked,
                    " with no IPI sent (a target that polls, or counts without a trap)");
    selftest::check(w.ticks == 0, kName, "cpu", t, " took ", w.ticks, " ticks while idle (not tickless)");
    selftest::check(w.pending, kName, "the request is not pending in cpu", t, "'s mailbox");
    selftest::check(w.siblings_ran, kName, "the other cpus did not keep running while cpu", t, " was watched (",
                    w.window_us / 1000, " ms)");
    // The counterfactual's other half: the same request, really sent, works.
    selftest::check(rung == ipi::ReschedOutcome::Sent, kName, "doorbell: ", ipi::resched_outcome_name(rung));
    selftest::check(ran_after, kName, "after the real send the probe still did not run on cpu", t, " (trapped +",
                    after.trapped - w.during.trapped, ")");
    selftest::check(g_probe.cpu == t.raw(), kName, "the probe ran on cpu", g_probe.cpu, ", not cpu", t);
    selftest::check(after.trapped > w.during.trapped && after.acked > w.during.acked, kName,
                    "the real send moved trapped +", after.trapped - w.during.trapped, " acked +",
                    after.acked - w.during.acked);
    console::println("KINIT: ipi counterfactual: cpu", t, " slept ", w.window_us / 1000,
                     " ms with a queued task and 0 ticks, 0 traps while the other cpus ran; the real send woke it");
    selftest::pass(kName);
}
// [hb:end counterfactual]

// [hb:region resched]
void selftest_ipi_resched() {
    constexpr const char* kName = "ipi resched";
    const CpuId self = current_cpu();
    const CpuId t = target_cpu();
    selftest::check(await_idle_tickless(t), kName, "cpu", t, " never went idle without a tick");
    reset_probe();
    drain_audit();
    const IpiCounterSnapshot before = ipi::counters(t);
    const std::uint64_t ipis0 = sched::stats(t).resched_ipis;
    spawn_or_fail(kName, "probe", &probe, 0, QosClass::Normal, t);  // queues it, then resched(t)
    const bool ran = task_wait([] { return g_probe.ran.load(std::memory_order_acquire) != 0; }, kWaitUs);
    // The ack is the handler's last step; the task runs after the handler
    // switched to the scheduler, so by now it has been counted.
    const IpiCounterSnapshot after = ipi::counters(t);
    const auto d = delta(before, after);
    selftest::check(d.ok(), kName, "cpu", t, "'s counters: ", ipi_counter_check_name(d.error()));
    const IpiCounterSnapshot& m = d.value();
    selftest::check(ran, kName, "the probe did not run on cpu", t, " (requested +", m.requested, " sent +", m.sent,
                    " trapped +", m.trapped, " acked +", m.acked, ")");
    selftest::check(m.requested == 1 && m.sent == 1 && m.trapped == 1 && m.acked == 1 && m.send_failed == 0, kName,
                    "one resched moved requested +", m.requested, " sent +", m.sent, " trapped +", m.trapped,
                    " acked +", m.acked, " (want +1 each)");
    const IpiCounterCheck c = check_causal(after);
    selftest::check(c == IpiCounterCheck::Ok, kName, "cpu", t, "'s counters: ", ipi_counter_check_name(c));
    selftest::check(g_probe.cpu == t.raw(), kName, "the probe ran on cpu", g_probe.cpu, ", not cpu", t);
    selftest::check(g_probe.trapped_at_start == after.trapped, kName,
                    "the probe started before cpu", t, " took the IPI's trap");
    selftest::check(sched::stats(t).resched_ipis - ipis0 == 1, kName, "cpu", t, " handled ",
                    sched::stats(t).resched_ipis - ipis0, " resched reasons");
    const std::uint32_t records = audit_sends(self, t);
    selftest::check(records == 1, kName, "the audit log holds ", records, " ipi-send records cpu", self, " -> cpu", t);
    selftest::pass(kName);
}
// [hb:end resched]

// [hb:region reject_invalid]
void selftest_reject_invalid_ipi_target() {
    constexpr const char* kName = "test_reject_invalid_ipi_target_cpu";
    const CpuId self = current_cpu();
    IpiCounterSnapshot before[kMaxCpus];
    for (std::uint32_t c = 0; c < cpu_count(); ++c) before[c] = ipi::counters(CpuId(c));
    drain_audit();
    struct Case {
        CpuId target;
        ipi::ReschedOutcome want;
    };
    const Case cases[] = {
        {CpuId(cpu_count()), ipi::ReschedOutcome::RejectedOutOfRange},      // one past the last CPU
        {CpuId(kMaxCpus), ipi::ReschedOutcome::RejectedOutOfRange},         // past any per-CPU array
        {CpuId(kMaxCpus + 1000), ipi::ReschedOutcome::RejectedOutOfRange},  // garbage
        {CpuId(~std::uint32_t{0}), ipi::ReschedOutcome::RejectedOutOfRange},
        {self, ipi::ReschedOutcome::RejectedSelf},
    };
    for (const Case& k : cases) {
        const ipi::ReschedOutcome got = ipi::resched(k.target);
        selftest::check(got == k.want, kName, "resched to cpu", k.target, ": ", ipi::resched_outcome_name(got),
                        ", want ", ipi::resched_outcome_name(k.want));
    }
    // A set cannot even hold an id >= kMaxCpus; its out-of-range members are
    // refused one by one in the same way.
    const CpuSet bad = CpuSet{}.with(CpuId(cpu_count() < kMaxCpus ? cpu_count() : 0)).with(self);
    const CpuSet refused = ipi::resched_many(bad);
    selftest::check(refused == bad, kName, "resched_many refused ", refused.count(), " of ", bad.count(), " bad targets");
    for (std::uint32_t c = 0; c < cpu_count(); ++c) {
        const IpiCounterSnapshot now = ipi::counters(CpuId(c));
        selftest::check(now.requested == before[c].requested && now.sent == before[c].sent, kName,
                        "a refused target moved cpu", c, "'s counters: requested +", now.requested - before[c].requested,
                        " sent +", now.sent - before[c].sent);
    }
    std::uint32_t sends = 0;
    audit::log().for_each([&](const AuditRecord& r) { sends += r.kind == AuditEvent::IpiSend ? 1 : 0; });
    selftest::check(sends == 0, kName, "refused targets left ", sends, " ipi-send audit records");
    selftest::pass(kName);
}
// [hb:end reject_invalid]

// [hb:region reject_offline]
void selftest_reject_offline_resched() {
    constexpr const char* kName = "test_reject_offline_cpu_resched";
    const CpuId t = target_cpu();
    // Online earlier in this boot, with the hart's own witness.
    selftest::check(smp::online_mask().snapshot().contains(t) && smp::witness(t).present, kName, "cpu", t,
                    " was not online before the test");
    const std::uint32_t starts = smp::online_count(t);
    // Movers: Background, the selftest task's own class, so that on the CPU
    // they are moved to they take turns with it instead of starving it.
    g_movers_started.store(0, std::memory_order_relaxed);
    g_movers_go.store(0, std::memory_order_relaxed);
    g_movers_done.store(0, std::memory_order_relaxed);
    for (std::uint32_t k = 0; k < kMovers; ++k) spawn_or_fail(kName, "mover", &mover, k, QosClass::Background, t);
    selftest::check(task_wait([] { return g_movers_started.load(std::memory_order_acquire) == kMovers; }, kWaitUs),
                    kName, "the movers did not start on cpu", t);
    selftest::check(sched::request_offline(t), kName, "offline request for cpu", t, " refused");
    selftest::check(task_wait([&] { return smp::is_stopped(t); }, kWaitUs), kName, "cpu", t,
                    " did not stop within 5 s");
    selftest::check(!smp::online_mask().snapshot().contains(t), kName, "cpu", t, " stopped with its online bit set");

    const IpiCounterSnapshot before = ipi::counters(t);
    drain_audit();
    const ipi::ReschedOutcome refused = ipi::resched(t);
    const auto spawned = sched::spawn("offline-probe", &probe, 0, QosClass::Normal, t);
    const IpiCounterSnapshot during = ipi::counters(t);
    selftest::check(refused == ipi::ReschedOutcome::RejectedOffline, kName, "resched to offline cpu", t, ": ",
                    ipi::resched_outcome_name(refused));
    selftest::check(during == before, kName, "a refused resched to offline cpu", t, " moved requested +",
                    during.requested - before.requested, " sent +", during.sent - before.sent);
    selftest::check(!spawned.ok() && spawned.error() == sched::SpawnError::Offline, kName, "spawn on offline cpu", t,
                    ": ", spawned.ok() ? "accepted" : sched::spawn_error_name(spawned.error()));
    selftest::check(audit_sends(current_cpu(), t) == 0, kName, "an ipi-send record to offline cpu", t);
    // The queued work was moved, not lost: every mover, started on the
    // target, finishes on another CPU.
    g_movers_go.store(1, std::memory_order_release);
    selftest::check(task_wait([] { return g_movers_done.load(std::memory_order_acquire) == kMovers; }, kWaitUs),
                    kName, g_movers_done.load(), " of ", kMovers, " tasks queued on cpu", t, " ran after it went offline");
    for (std::uint32_t k = 0; k < kMovers; ++k) {
        selftest::check(g_mover_start_cpu[k] == t.raw() && g_mover_end_cpu[k] != t.raw(), kName, "mover ", k,
                        " started on cpu", g_mover_start_cpu[k], " and finished on cpu", g_mover_end_cpu[k]);
    }

    // Back online through HSM hart_start, then a resched is accepted and works.
    const smp::sbi_error_t e = smp::restart_cpu(t);
    selftest::check(e == 0, kName, "restart of cpu", t, ": ", sbi::error_name(static_cast<sbi::Error>(e)));
    selftest::check(task_wait([&] { return smp::is_back_online(t); }, kWaitUs), kName, "cpu", t,
                    " did not come back online within 5 s");
    selftest::check(smp::online_count(t) == starts + 1, kName, "cpu", t, " came online ",
                    smp::online_count(t) - starts, " times");
    selftest::check(await_idle_tickless(t), kName, "cpu", t, " back online never went idle");
    reset_probe();
    const IpiCounterSnapshot back = ipi::counters(t);
    spawn_or_fail(kName, "probe", &probe, 0, QosClass::Normal, t);
    const bool ran = task_wait([] { return g_probe.ran.load(std::memory_order_acquire) != 0; }, kWaitUs);
    const IpiCounterSnapshot last = ipi::counters(t);
    selftest::check(last.requested == back.requested + 1 && last.sent == back.sent + 1, kName,
                    "a resched to cpu", t, " back online moved requested +", last.requested - back.requested,
                    " sent +", last.sent - back.sent);
    selftest::check(ran && g_probe.cpu == t.raw(), kName, "the probe did not run on cpu", t, " back online");
    selftest::pass(kName);
}
// [hb:end reject_offline]

void check_counters_causal() {
    constexpr const char* kName = "ipi counters causal";
    for (std::uint32_t c = 0; c < cpu_count(); ++c) {
        const IpiCounterSnapshot s = ipi::counters(CpuId(c));
        const IpiCounterCheck k = check_causal(s);
        selftest::check(k == IpiCounterCheck::Ok, kName, "cpu", c, ": ", ipi_counter_check_name(k), " (requested ",
                        s.requested, " sent ", s.sent, " trapped ", s.trapped, " acked ", s.acked, ")");
        selftest::check(s.send_failed == 0, kName, "cpu", c, ": ", s.send_failed, " failed sends");
    }
    const AuditCounters a = audit::log().counters();
    console::println("KINIT: ipi: ", ipi::coalesced_total(), " posts coalesced; audit log ", a.recorded, " recorded, ",
                     a.dropped, " dropped (full), ", a.invalid, " invalid");
    selftest::pass(kName);
}

// ------------------------------------------------------------- measurement
namespace {

/// Samples per figure: a short run in every boot (so every gate's log and
/// the book's transcript show figures), the full run with `bench=ipi`.
constexpr std::uint32_t kTrips = 10'000;
constexpr std::uint32_t kWakes = 300;
constexpr std::uint32_t kQuickTrips = 1'000;
constexpr std::uint32_t kQuickWakes = 30;
constinit std::uint32_t g_samples[kTrips]{};

struct Figures {
    std::uint64_t median_ns;
    std::uint64_t p99_ns;
};

Figures figures(std::uint32_t n) {
    std::sort(g_samples, g_samples + n);
    return {ticks_to_ns(g_samples[n / 2]), ticks_to_ns(g_samples[(n * 99) / 100])};
}

/// `trips` round trips to `t`: send (through `send`), then spin until t's
/// ack counter moves. False if one did not come back within 100 ms.
template <typename Send>
bool round_trips(CpuId t, std::uint32_t trips, Send&& send) {
    for (std::uint32_t i = 0; i < trips; ++i) {
        const std::uint64_t acked0 = ipi::counters(t).acked;
        const std::uint64_t t0 = now_ticks();
        const std::uint64_t deadline = t0 + us_to_ticks(100'000);
        send();
        std::uint64_t t1 = t0;
        while (ipi::counters(t).acked == acked0) {
            t1 = now_ticks();
            if (t1 > deadline) return false;
        }
        g_samples[i] = static_cast<std::uint32_t>(now_ticks() - t0);
    }
    return true;
}

}  // namespace

// [hb:region measure]
void measure() {
    if (cpu_count() < 2) return;
    const CpuId t = target_cpu();
    if (!await_idle_tickless(t)) return;
    const bool full = g_boot->args.has("bench", "ipi");
    const std::uint32_t trips = full ? kTrips : kQuickTrips;
    const std::uint32_t wakes = full ? kWakes : kQuickWakes;
    // Bare: the doorbell alone (an SBI send_ipi and an empty drain on t).
    const bool bare_ok = round_trips(t, trips, [&] { (void)ipi::ring_doorbell(t); });
    const Figures bare = figures(trips);
    // Resched: the whole path (check, post, send; trap, drain, resched).
    const bool resched_ok = round_trips(t, trips, [&] { (void)ipi::resched(t); });
    const Figures resched = figures(trips);
    if (bare_ok && resched_ok) {
        console::println("KINIT: bench ipi: resched round trip median ", resched.median_ns, " ns p99 ",
                         resched.p99_ns, " ns; bare doorbell median ", bare.median_ns, " ns p99 ", bare.p99_ns,
                         " ns (", trips, " trips each, cpu", current_cpu(), " -> cpu", t, ")");
    } else {
        console::println("KINIT: bench ipi: a round trip did not come back within 100 ms");
    }
    // Idle wake latency: spawn onto a tickless idle CPU -> the task's first instruction.
    std::uint32_t n = 0;
    QuickBudget budget(full);  // the short run also stops after 1 s
    for (std::uint32_t i = 0; i < wakes; ++i) {
        if (budget.spent(n)) break;
        if (!await_idle_tickless(t)) break;
        reset_probe();
        const std::uint64_t t0 = now_ticks();
        if (!sched::spawn("wake", &probe, 0, QosClass::Normal, t).ok()) break;
        if (!task_wait([] { return g_probe.ran.load(std::memory_order_acquire) != 0; }, kWaitUs)) break;
        g_samples[n++] = static_cast<std::uint32_t>(g_probe.started_at - t0);
    }
    if (n == wakes || budget.cut()) {
        const Figures w = figures(n);
        console::println("KINIT: bench idle wake: spawn to first instruction median ", w.median_ns, " ns p99 ",
                         w.p99_ns, " ns (", n, " wakes of tickless idle cpu", t, budget.line_end());
    }
}
// [hb:end measure]

}  // namespace hb::ch05
