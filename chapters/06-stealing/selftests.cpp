#include "06-stealing/selftests.hpp"

#include <algorithm>
#include <atomic>

#include "04-runqueues/selftests.hpp"
#include "arch/riscv/csr.hpp"
#include "kernel/audit.hpp"
#include "kernel/console.hpp"
#include "kernel/hartlocal.hpp"
#include "kernel/irqlock.hpp"
#include "kernel/process.hpp"
#include "kernel/trap.hpp"
#include "lib/asm_abi.h"
#include "kernel/sched.hpp"
#include "kernel/selftest.hpp"
#include "kernel/wait.hpp"

namespace hb::ch06 {
namespace {

using ch04::spawn_or_fail;
using ch04::task_wait;
using ch04::QuickBudget;

constexpr std::uint64_t kWaitUs = 5'000'000;

constinit const BootInfo* g_boot = nullptr;
std::uint32_t cpu_count() { return g_boot->topology.cpu_count(); }

/// A runqueue of the kernel's own type that no CPU schedules from: the
/// refusal tests fill it with made-up task ids and steal from it through
/// the kernel's one door, sched::steal_from.
constinit sched::RunQueue g_probe_rq;

/// Empties the probe queue (after a test, whatever it left).
void drain_probe() {
    RunnableTask t{};
    while (g_probe_rq.pick_next(t)) {
    }
}

std::uint64_t total_steals() {
    std::uint64_t n = 0;
    for (std::uint32_t c = 0; c < cpu_count(); ++c) n += sched::stats(CpuId(c)).steals;
    return n;
}

// [hb:region stealable]
// Free tasks for the stealing test: each records where it ran and how often.
constexpr std::uint32_t kStealTasks = 12;
constinit std::atomic<std::uint32_t> g_runs[kStealTasks]{};
constinit std::atomic<std::uint32_t> g_ran_on[kStealTasks]{};
constinit std::atomic<std::uint32_t> g_done{0};

void stealable(std::uint64_t k) {
    g_ran_on[k].store(current_cpu().raw(), std::memory_order_relaxed);
    g_runs[k].fetch_add(1, std::memory_order_relaxed);
    g_done.fetch_add(1, std::memory_order_release);
}
// [hb:end stealable]

// Pinned-task probes for the real path.
constinit std::atomic<std::uint32_t> g_pinned_ran_on[2]{};
constinit std::atomic<std::uint32_t> g_pinned_done{0};
constinit std::atomic<std::uint32_t> g_sentinel_ran_on{0};
constinit std::atomic<std::uint32_t> g_sentinel_done{0};

void pinned_probe(std::uint64_t k) {
    g_pinned_ran_on[k].store(current_cpu().raw(), std::memory_order_relaxed);
    g_pinned_done.fetch_add(1, std::memory_order_release);
}
void sentinel(std::uint64_t) {
    g_sentinel_ran_on.store(current_cpu().raw(), std::memory_order_relaxed);
    g_sentinel_done.store(1, std::memory_order_release);
}

// Conservation stress.
constexpr std::uint32_t kStressTasks = 3000;
constinit std::atomic<std::uint32_t> g_stress_runs[kStressTasks]{};  // words: RV64 has no 1-byte atomic add
constinit std::atomic<std::uint32_t> g_stress_done{0};

void stress_task(std::uint64_t seq) {
    // A little work, so thieves find queues that are not already empty.
    const std::uint64_t until = now_ticks() + us_to_ticks(20);
    while (now_ticks() < until) arch::cpu_relax();
    g_stress_runs[seq].fetch_add(1, std::memory_order_relaxed);
    g_stress_done.fetch_add(1, std::memory_order_release);
}

}  // namespace

void init_selftests(const BootInfo& boot) { g_boot = &boot; }

// [hb:region work_stealing]
void selftest_work_stealing() {
    constexpr const char* kName = "work stealing";
    const CpuId self = current_cpu();
    for (std::uint32_t k = 0; k < kStealTasks; ++k) {
        g_runs[k].store(0, std::memory_order_relaxed);
        g_ran_on[k].store(kMaxCpus, std::memory_order_relaxed);
    }
    g_done.store(0, std::memory_order_relaxed);
    const std::uint64_t steals0 = total_steals();
    AuditRecord dropped{};
    while (audit::log().pop(dropped)) {
    }  // room for this test's migration records
    bool all = false;
    std::uint32_t done_in_window = 0;
    {
        // This CPU is the victim: it is busy running this task, interrupts
        // off, for the whole test. It queues free tasks on itself, which it
        // cannot run now; each enqueue kicks an idle CPU, which steals.
        InterruptsOff busy;
        for (std::uint32_t k = 0; k < kStealTasks; ++k) {
            spawn_or_fail(kName, "stealable", &stealable, k, QosClass::Normal, self, Mobility::Free);
        }
        all = busy_wait([] { return g_done.load(std::memory_order_acquire) == kStealTasks; }, kWaitUs);
        done_in_window = g_done.load(std::memory_order_acquire);  // before this CPU could run any
    }
    selftest::check(all, kName, done_in_window, " of ", kStealTasks, " free tasks queued on busy cpu", self,
                    " ran within 5 s: no idle cpu came to steal them");
    std::uint32_t elsewhere = 0;
    for (std::uint32_t k = 0; k < kStealTasks; ++k) {
        const std::uint32_t runs = g_runs[k].load(std::memory_order_relaxed);
        selftest::check(runs == 1, kName, "free task ", k, " ran ", runs, " times");
        const std::uint32_t on = g_ran_on[k].load(std::memory_order_relaxed);
        selftest::check(on != self.raw(), kName, "free task ", k, " ran on the busy cpu", on);
        elsewhere += on != self.raw() ? 1 : 0;
    }
    const std::uint64_t steals = total_steals() - steals0;
    selftest::check(steals > 0, kName, "the tasks ran elsewhere but no steal was counted");
    // The audit log names each move: a thief took a task from another CPU.
    // At least one move is from the victim; with three or more CPUs a task
    // can move twice (a second idle CPU steals from the first thief's queue),
    // but never by the victim, which is busy with interrupts off.
    std::uint32_t migrations = 0, from_victim = 0;
    bool wrong = false;
    audit::log().for_each([&](const AuditRecord& rec) {
        if (rec.kind != AuditEvent::Migration) return;
        ++migrations;
        from_victim += rec.target == self ? 1 : 0;
        wrong = wrong || rec.cpu == self || rec.cpu == rec.target;
    });
    selftest::check(from_victim > 0 && !wrong, kName, migrations, " migration records, ", from_victim,
                    " from the busy cpu", self, wrong ? ", one by the busy cpu or by a cpu from itself" : "");
    console::println("KINIT: work stealing: ", elsewhere, " free tasks queued on busy cpu", self, " ran on idle cpus after ",
                     steals, " steals (at most ", kStealMax, " tasks each)");
    selftest::pass(kName);
}
// [hb:end work_stealing]

// [hb:region reject_above_bound]
void selftest_reject_steal_above_bound() {
    constexpr const char* kName = "test_reject_steal_above_bound";
    drain_probe();
    for (std::uint32_t i = 0; i < 2 * kStealMax; ++i) {
        const EnqueueOutcome o = g_probe_rq.enqueue(TaskId(1000 + i), QosClass::Normal, Mobility::Free);
        selftest::check(o == EnqueueOutcome::Accepted, kName, "probe enqueue ", i, ": ", enqueue_outcome_name(o));
    }
    const RunQueueCounters before = g_probe_rq.counters();
    const std::size_t size_before = g_probe_rq.size();
    StealBatch batch;
    const StealOutcome over = sched::steal_from(g_probe_rq, QosClass::Realtime, kStealMax + 1, batch);
    const RunQueueCounters after = g_probe_rq.counters();
    selftest::check(over == StealOutcome::RejectedAboveBound, kName, "a steal of ", kStealMax + 1, ": ",
                    steal_outcome_name(over), " with ", batch.count, " tasks");
    selftest::check(batch.count == 0 && g_probe_rq.size() == size_before && after.stolen_out == before.stolen_out,
                    kName, "the refused steal changed the victim (", size_before, " -> ", g_probe_rq.size(), " tasks)");
    selftest::check(after.steal_refused == before.steal_refused + 1, kName, "the refusal was not counted");
    // The bound itself is allowed: exactly kStealMax, newest first.
    const StealOutcome at = sched::steal_from(g_probe_rq, QosClass::Realtime, kStealMax, batch);
    selftest::check(at == StealOutcome::Stolen && batch.count == kStealMax, kName, "a steal of ", kStealMax, ": ",
                    steal_outcome_name(at), " with ", batch.count, " tasks");
    selftest::check(batch.tasks[0].task == TaskId(1000 + 2 * kStealMax - 1), kName, "the steal did not take the tail");
    drain_probe();
    selftest::pass(kName);
}
// [hb:end reject_above_bound]

// [hb:region reject_higher_qos]
void selftest_reject_steal_higher_qos() {
    constexpr const char* kName = "test_reject_steal_higher_qos";
    drain_probe();
    const QosClass classes[] = {QosClass::Realtime, QosClass::Interactive, QosClass::Normal};
    for (std::uint32_t i = 0; i < 3; ++i) {
        const EnqueueOutcome o = g_probe_rq.enqueue(TaskId(2000 + i), classes[i], Mobility::Free);
        selftest::check(o == EnqueueOutcome::Accepted, kName, "probe enqueue: ", enqueue_outcome_name(o));
    }
    StealBatch batch;
    // A thief stealing for Background may take nothing more urgent.
    const StealOutcome bg = sched::steal_from(g_probe_rq, QosClass::Background, kStealMax, batch);
    selftest::check(bg == StealOutcome::NothingEligible && batch.count == 0, kName, "a steal for background: ",
                    steal_outcome_name(bg), ", took ", batch.count, " more urgent tasks");
    // For Normal: the Normal task only.
    const StealOutcome normal = sched::steal_from(g_probe_rq, QosClass::Normal, kStealMax, batch);
    selftest::check(normal == StealOutcome::Stolen && batch.count == 1 && batch.tasks[0].task == TaskId(2002), kName,
                    "a steal for normal: ", steal_outcome_name(normal), ", ", batch.count, " tasks");
    // For Realtime: the rest, most urgent first.
    const StealOutcome rt = sched::steal_from(g_probe_rq, QosClass::Realtime, kStealMax, batch);
    selftest::check(rt == StealOutcome::Stolen && batch.count == 2 && batch.tasks[0].task == TaskId(2000) &&
                        batch.tasks[1].task == TaskId(2001),
                    kName, "a steal for realtime: ", steal_outcome_name(rt), ", ", batch.count, " tasks");
    drain_probe();
    selftest::pass(kName);
}
// [hb:end reject_higher_qos]

// [hb:region reject_pinned]
void selftest_reject_steal_pinned() {
    constexpr const char* kName = "test_reject_steal_pinned";
    // On the probe queue: pinned tasks are no candidates, even alone.
    drain_probe();
    for (std::uint32_t i = 0; i < 3; ++i) {
        const EnqueueOutcome o = g_probe_rq.enqueue(TaskId(3000 + i), QosClass::Normal, Mobility::Pinned);
        selftest::check(o == EnqueueOutcome::Accepted, kName, "probe enqueue: ", enqueue_outcome_name(o));
    }
    StealBatch batch;
    const StealOutcome o = sched::steal_from(g_probe_rq, QosClass::Realtime, kStealMax, batch);
    selftest::check(o == StealOutcome::NothingEligible && g_probe_rq.size() == 3, kName, "a steal from pinned tasks: ",
                    steal_outcome_name(o), ", took ", batch.count);
    drain_probe();
    if (cpu_count() < 2) return selftest::pass(kName);

    // The real path: two pinned tasks and then one free sentinel, queued on
    // this busy CPU. A thief takes from the tail, so it meets the sentinel
    // first and the pinned tasks right behind it, in the same steal.
    const CpuId self = current_cpu();
    g_pinned_done.store(0, std::memory_order_relaxed);
    g_sentinel_done.store(0, std::memory_order_relaxed);
    std::size_t left = 0;
    bool sentinel_ran = false;
    {
        InterruptsOff busy;
        for (std::uint32_t k = 0; k < 2; ++k) spawn_or_fail(kName, "pinned", &pinned_probe, k, QosClass::Normal, self);
        spawn_or_fail(kName, "sentinel", &sentinel, 0, QosClass::Normal, self, Mobility::Free);
        sentinel_ran = busy_wait([] { return g_sentinel_done.load(std::memory_order_acquire) != 0; }, kWaitUs);
        left = sched::runqueue(self).size();
    }
    selftest::check(sentinel_ran, kName, "the free sentinel was not stolen from busy cpu", self);
    selftest::check(g_sentinel_ran_on.load() != self.raw(), kName, "the sentinel ran on the busy cpu");
    selftest::check(left == 2, kName, "busy cpu", self, " kept ", left, " of its 2 pinned tasks after a thief came");
    selftest::check(task_wait([] { return g_pinned_done.load(std::memory_order_acquire) == 2; }, kWaitUs), kName,
                    "the pinned tasks did not run");
    for (std::uint32_t k = 0; k < 2; ++k) {
        selftest::check(g_pinned_ran_on[k].load() == self.raw(), kName, "pinned task ", k, " ran on cpu",
                        g_pinned_ran_on[k].load(), ", not its cpu", self);
    }
    selftest::pass(kName);
}
// [hb:end reject_pinned]

// [hb:region conservation]
void selftest_steal_conservation() {
    constexpr const char* kName = "steal conservation";
    const CpuId self = current_cpu();
    for (auto& r : g_stress_runs) r.store(0, std::memory_order_relaxed);
    g_stress_done.store(0, std::memory_order_relaxed);
    std::uint64_t stolen0 = 0;
    for (std::uint32_t c = 0; c < cpu_count(); ++c) stolen0 += sched::stats(CpuId(c)).stolen;
    const std::uint64_t steals0 = total_steals();
    const std::uint64_t t0 = now_ticks();
    // Uneven on purpose: every task is queued on this CPU. When the task
    // table is full, yield: this CPU then runs some of its own queue too.
    std::uint32_t table_full = 0;
    for (std::uint32_t seq = 0; seq < kStressTasks; ++seq) {
        for (;;) {
            const auto spawned = sched::spawn("stress", &stress_task, seq, QosClass::Normal, self, Mobility::Free);
            if (spawned.ok()) break;
            selftest::check(spawned.error() == sched::SpawnError::NoFreeTask, kName, "spawn: ",
                            sched::spawn_error_name(spawned.error()));
            ++table_full;
            selftest::check(now_ticks() - t0 < us_to_ticks(4 * kWaitUs), kName, "the task table stayed full");
            sched::yield();
        }
    }
    const bool done = task_wait([] { return g_stress_done.load(std::memory_order_acquire) == kStressTasks; },
                                4 * kWaitUs);
    selftest::check(done, kName, g_stress_done.load(), " of ", kStressTasks, " free tasks ran within 20 s");
    for (std::uint32_t seq = 0; seq < kStressTasks; ++seq) {
        const std::uint32_t runs = g_stress_runs[seq].load(std::memory_order_relaxed);
        selftest::check(runs == 1, kName, "free task #", seq, " ran ", runs, " times");
    }
    // Every queue balances, and what was stolen out arrived somewhere.
    std::uint64_t out = 0;
    std::uint64_t in = 0;
    for (std::uint32_t c = 0; c < cpu_count(); ++c) {
        bool balanced = false;
        RunQueueCounters k{};
        sched::runqueue(CpuId(c)).with([&](const sched::RunQueue::Queue& q) {
            k = q.counters();
            balanced = k.enqueued + k.stolen_in - k.dequeued - k.stolen_out == q.size();
        });
        selftest::check(balanced, kName, "cpu", c, "'s queue counters do not balance: enqueued ", k.enqueued,
                        " + stolen in ", k.stolen_in, " - dequeued ", k.dequeued, " - stolen out ", k.stolen_out);
        out += k.stolen_out;
        in += k.stolen_in;
    }
    selftest::check(in == out, kName, in, " tasks stolen in, ", out, " stolen out");
    std::uint64_t stolen = 0;
    for (std::uint32_t c = 0; c < cpu_count(); ++c) stolen += sched::stats(CpuId(c)).stolen;
    selftest::check(stolen - stolen0 > 0, kName, "no task migrated");
    console::println("KINIT: steal stress: ", kStressTasks, " free tasks queued on cpu", self, ", ", stolen - stolen0,
                     " migrations in ", total_steals() - steals0, " steals, ", table_full, " table-full retries, ",
                     ticks_to_us(now_ticks() - t0), " us");
    selftest::pass(kName);
}
// [hb:end conservation]

// --------------------------------------------------- processes and shootdown
namespace {

// The chapter's user programs (src/user/programs.cpp), entered by run_user.
extern "C" void hb_user_mm_probe(std::uint64_t page);
extern "C" void hb_user_reader(std::uint64_t va);

constexpr std::uint64_t kMagicLive = 0x11ee'11ee'11ee'11eeULL;   ///< the page's value while mapped
constexpr std::uint64_t kMagicFreed = 0xdead'0000'dead'0000ULL;  ///< written into the frame after the unmap

// [hb:region syscalls]
/// What the chapter's system calls saw, per CPU (each reader has its own).
struct ReaderSeen {
    std::atomic<std::uint64_t> reports{0};
    std::atomic<std::uint64_t> last{0};
    std::atomic<std::uint64_t> freed_reads{0};  ///< reports of kMagicFreed: a read through a stale translation
};
constinit ReaderSeen g_reader[kMaxCpus]{};
constinit std::atomic<std::uint32_t> g_reader_stop{0};
constinit proc::ProcError g_refusals[4]{};
constinit std::atomic<std::uint32_t> g_refusal_count{0};

std::uint64_t syscall(trap::TrapFrame& f) {
    const std::uint64_t nr = f.x[17];
    if (nr == HB_SYS_YIELD) {
        sched::yield();
        return 0;
    }
    if (nr == HB_SYS_REPORT) {
        ReaderSeen& r = g_reader[current_cpu().raw()];
        r.last.store(f.x[10], std::memory_order_relaxed);
        if (f.x[10] == kMagicFreed) r.freed_reads.fetch_add(1, std::memory_order_relaxed);
        r.reports.fetch_add(1, std::memory_order_release);
        return g_reader_stop.load(std::memory_order_acquire);
    }
    proc::Process* p = proc::current();
    if (p == nullptr || (nr != HB_SYS_MAP && nr != HB_SYS_UNMAP)) return ~std::uint64_t{0};
    proc::ProcError e = proc::ProcError::None;
    if (nr == HB_SYS_MAP) {
        const auto mapped = proc::map_page(*p, f.x[10]);
        e = mapped.ok() ? proc::ProcError::None : mapped.error();
    } else {
        e = proc::unmap_page(*p, f.x[10]);
    }
    if (e != proc::ProcError::None) {
        const std::uint32_t i = g_refusal_count.fetch_add(1, std::memory_order_relaxed);
        if (i < 4) g_refusals[i] = e;
    }
    return static_cast<std::uint64_t>(e);
}
// [hb:end syscalls]

/// A thread of a process: runs `program` in user mode on this task's user
/// stack with a0 = `va`, and records how it ended.
struct ThreadEnd {
    std::atomic<std::uint32_t> done{0};
    std::uint64_t result = 0;
    trap::CaughtFault fault{};
};
constinit ThreadEnd g_end[kMaxCpus]{};
constinit std::uint64_t g_va = 0;
using UserProgram = void (*)();
constinit UserProgram g_program = nullptr;

void user_thread(std::uint64_t cpu) {
    sched::Task& self = *sched::current_task();
    ThreadEnd& end = g_end[cpu];
    end.result = trap::run_user(g_program, sched::task_user_stack_top(self), g_va);
    end.fault = trap::last_fault(current_cpu());
    end.done.store(1, std::memory_order_release);
}

/// The CPUs a shootdown test runs readers on: every CPU but this one, at most 3.
CpuSet reader_cpus() {
    CpuSet s;
    for (std::uint32_t c = cpu_count(); c-- > 0 && s.count() < 3;) {
        if (CpuId(c) != current_cpu()) s = s.with(CpuId(c));
    }
    return s;
}

/// Shared by the shootdown test and its counterfactual: readers of one
/// process on `readers`, reading page `va`, which holds kMagicLive.
struct Readers {
    proc::Process* process = nullptr;
    std::uintptr_t frame = 0;  ///< the page's kernel (identity) address
};

Readers start_readers(const char* test, CpuSet readers, std::uint64_t va) {
    const auto created = proc::create();
    selftest::check(created.ok(), test, "create a process: ", created.ok() ? "" : proc::proc_error_name(created.error()));
    Readers r{created.value(), 0};
    const auto mapped = proc::map_page(*r.process, va);
    selftest::check(mapped.ok(), test, "map ", Hex{va}, ": ", mapped.ok() ? "" : proc::proc_error_name(mapped.error()));
    r.frame = mapped.value();
    *reinterpret_cast<volatile std::uint64_t*>(r.frame) = kMagicLive;
    g_reader_stop.store(0, std::memory_order_relaxed);
    g_va = va;
    g_program = reinterpret_cast<UserProgram>(&hb_user_reader);
    readers.for_each([&](CpuId c) {
        g_reader[c.raw()].reports.store(0, std::memory_order_relaxed);
        g_reader[c.raw()].last.store(0, std::memory_order_relaxed);
        g_reader[c.raw()].freed_reads.store(0, std::memory_order_relaxed);
        g_end[c.raw()].done.store(0, std::memory_order_relaxed);
        const auto t = sched::spawn("reader", &user_thread, c.raw(), QosClass::Normal, c, Mobility::Pinned,
                                    proc::space_of(*r.process));
        selftest::check(t.ok(), test, "spawn a reader on cpu", c, ": ", t.ok() ? "" : sched::spawn_error_name(t.error()));
    });
    // Every reader has read the live page many times: its CPU caches the translation.
    const bool reading = task_wait(
        [&] {
            bool all = true;
            readers.for_each([&](CpuId c) {
                all = all && g_reader[c.raw()].reports.load(std::memory_order_acquire) >= 100 &&
                      g_reader[c.raw()].last.load(std::memory_order_relaxed) == kMagicLive;
            });
            return all;
        },
        kWaitUs);
    selftest::check(reading, test, "the readers did not read the live page");
    return r;
}

bool readers_done(CpuSet readers) {
    return task_wait(
        [&] {
            bool all = true;
            readers.for_each([&](CpuId c) { all = all && g_end[c.raw()].done.load(std::memory_order_acquire) != 0; });
            return all;
        },
        kWaitUs);
}

}  // namespace

// [hb:region user_mappings]
void selftest_user_mappings() {
    constexpr const char* kName = "user mappings";
    trap::set_syscall_handler(&syscall);
    const auto created = proc::create();
    selftest::check(created.ok(), kName, "create a process: ", created.ok() ? "" : proc::proc_error_name(created.error()));
    const CpuId cpu = current_cpu();
    const std::uint64_t va = kUserBase + 0x1000;
    g_refusal_count.store(0, std::memory_order_relaxed);
    g_va = va;
    g_program = reinterpret_cast<UserProgram>(&hb_user_mm_probe);
    g_end[cpu.raw()].done.store(0, std::memory_order_relaxed);
    const auto t = sched::spawn("mm-probe", &user_thread, cpu.raw(), QosClass::Normal, cpu, Mobility::Pinned,
                                proc::space_of(*created.value()));
    selftest::check(t.ok(), kName, "spawn the probe: ", t.ok() ? "" : sched::spawn_error_name(t.error()));
    selftest::check(task_wait([&] { return g_end[cpu.raw()].done.load(std::memory_order_acquire) != 0; }, kWaitUs),
                    kName, "the probe did not end");
    const ThreadEnd& end = g_end[cpu.raw()];
    selftest::check(end.result == trap::kUserFaulted, kName, "the probe exited at step ", end.result,
                    " instead of faulting on the unmapped page (step 7 = it was still readable)");
    selftest::check(end.fault.from_user && end.fault.scause == 13 && end.fault.stval == va, kName,
                    "the probe's fault: scause ", end.fault.scause, " stval ", Hex{end.fault.stval}, ", want a load page fault at ",
                    Hex{va});
    const proc::ProcError want[] = {proc::ProcError::OutsideWindow, proc::ProcError::AlreadyMapped,
                                    proc::ProcError::NotMapped};
    selftest::check(g_refusal_count.load() == 3, kName, g_refusal_count.load(), " refusals, want 3");
    for (std::uint32_t i = 0; i < 3; ++i) {
        selftest::check(g_refusals[i] == want[i], kName, "refusal ", i, ": ", proc::proc_error_name(g_refusals[i]),
                        ", want ", proc::proc_error_name(want[i]));
    }
    console::println("KINIT: user mappings: a process mapped, used and unmapped ", Hex{va},
                     "; outside-window, already-mapped, not-mapped refused; its next read faulted");
    selftest::pass(kName);
}
// [hb:end user_mappings]

// [hb:region tlb_shootdown]
void selftest_tlb_shootdown() {
    constexpr const char* kName = "tlb shootdown";
    const CpuSet readers = reader_cpus();
    const std::uint64_t va = kUserBase + 0x10000;
    const Readers r = start_readers(kName, readers, va);
    const proc::Stats s0 = proc::stats();
    const proc::ProcError e = proc::unmap_page(*r.process, va);
    selftest::check(e == proc::ProcError::None, kName, "unmap: ", proc::proc_error_name(e));
    const proc::Stats s1 = proc::stats();
    // The frame is free now. Write into it through the kernel's own
    // mapping: a reader that still reached it would report this value.
    *reinterpret_cast<volatile std::uint64_t*>(r.frame) = kMagicFreed;
    // Until every reader has ended, or one has read the freed frame.
    task_wait(
        [&] {
            bool all = true;
            bool stale = false;
            readers.for_each([&](CpuId c) {
                all = all && g_end[c.raw()].done.load(std::memory_order_acquire) != 0;
                stale = stale || g_reader[c.raw()].freed_reads.load(std::memory_order_relaxed) != 0;
            });
            return all || stale;
        },
        kWaitUs);
    readers.for_each([&](CpuId c) {
        selftest::check(g_reader[c.raw()].freed_reads.load() == 0, kName, "the reader on cpu", c, " read the freed frame ",
                        g_reader[c.raw()].freed_reads.load(), " times after the unmap returned (stale translation)");
    });
    selftest::check(readers_done(readers), kName, "a reader went on running after its page was unmapped");
    readers.for_each([&](CpuId c) {
        const ThreadEnd& end = g_end[c.raw()];
        selftest::check(end.result == trap::kUserFaulted && end.fault.scause == 13 && end.fault.stval == va, kName,
                        "the reader on cpu", c, " ended with ", end.result, " scause ", end.fault.scause, " stval ",
                        Hex{end.fault.stval});
    });
    selftest::check(s1.targets - s0.targets == readers.count(), kName, "the unmap shot down ", s1.targets - s0.targets,
                    " cpus, want ", readers.count());
    console::println("KINIT: tlb shootdown: ", readers.count(), readers.count() == 1 ? " reader" : " readers",
                     " of one process; the unmap on cpu",
                     current_cpu(), " shot them down in ", s1.last_round_trip_ns, " ns and each next read faulted");
    selftest::pass(kName);
}
// [hb:end tlb_shootdown]

// [hb:region tlb_counterfactual]
void selftest_tlb_shootdown_counterfactual() {
    constexpr const char* kName = "tlb shootdown counterfactual";
    const CpuId target = CpuId(cpu_count() - 1);
    const CpuSet readers = CpuSet{}.with(target);
    const std::uint64_t va = kUserBase + 0x20000;
    const Readers r = start_readers(kName, readers, va);
    // The one change: the target acks this shootdown without flushing.
    proc::suppress_next_flush(target);
    const proc::ProcError e = proc::unmap_page(*r.process, va);
    selftest::check(e == proc::ProcError::None, kName, "unmap: ", proc::proc_error_name(e));
    *reinterpret_cast<volatile std::uint64_t*>(r.frame) = kMagicFreed;
    const bool stale = task_wait([&] { return g_reader[target.raw()].freed_reads.load() > 0; }, kWaitUs);
    const std::uint64_t suppressed = proc::stats().suppressed;
    // Clean up: stop the reader; its CPU switches away from the process's
    // space, which drops every translation of it.
    g_reader_stop.store(1, std::memory_order_release);
    selftest::check(readers_done(readers), kName, "the reader did not stop");
    selftest::check(suppressed > 0, kName, "the target's flush was not suppressed");
    selftest::check(stale, kName, "with its flush suppressed, the reader on cpu", target,
                    " still faulted: QEMU dropped the stale translation, so this boot cannot show the bug");
    console::println("KINIT: tlb shootdown counterfactual: with cpu", target, "'s flush skipped once, its reader read the freed frame ",
                     g_reader[target.raw()].freed_reads.load(), " times after the unmap returned");
    selftest::pass(kName);
}
// [hb:end tlb_counterfactual]

// [hb:region measure]
void measure() {
    if (cpu_count() < 2) return;
    // Readers of one process keep page `va` cached on their CPUs; another
    // page of the same process is mapped and unmapped again and again, and
    // every unmap shoots all of them down (they are in its ActiveSet).
    // A short run by default (every gate boots this, single-threaded TCG
    // too, where one unmap costs a host time slice); 200 with bench=shootdown.
    constexpr std::uint32_t kFullRounds = 200;
    constexpr std::uint32_t kQuickRounds = 20;
    const bool full = g_boot->args.has("bench", "shootdown");
    const std::uint32_t rounds = full ? kFullRounds : kQuickRounds;
    QuickBudget budget(full);  // the short run also stops after 1 s
    static std::uint32_t samples[kFullRounds];
    const CpuSet readers = reader_cpus();
    const std::uint64_t va = kUserBase + 0x30000;
    const Readers r = start_readers("measure", readers, va);
    const std::uint64_t other = kUserBase + 0x40000;
    std::uint32_t n = 0;
    for (; n < rounds; ++n) {
        if (budget.spent(n)) break;
        if (!proc::map_page(*r.process, other).ok()) break;
        if (proc::unmap_page(*r.process, other) != proc::ProcError::None) break;
        samples[n] = static_cast<std::uint32_t>(proc::stats().last_round_trip_ns);
    }
    g_reader_stop.store(1, std::memory_order_release);
    readers_done(readers);
    (void)proc::unmap_page(*r.process, va);
    if (n != rounds && !budget.cut()) return;
    std::sort(samples, samples + n);
    console::println("KINIT: bench shootdown: unmap to last ack median ", samples[n / 2], " ns p99 ",
                     samples[(n * 99) / 100], " ns (", n, " unmaps, ", readers.count(),
                     readers.count() == 1 ? " target cpu" : " target cpus", budget.line_end());
}
// [hb:end measure]

}  // namespace hb::ch06
