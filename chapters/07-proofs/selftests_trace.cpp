#include "07-proofs/selftests_trace.hpp"

#include <atomic>

#include "04-runqueues/selftests.hpp"
#include "06-stealing/selftests.hpp"
#include "07-proofs/selftests.hpp"
#include "arch/riscv/csr.hpp"
#include "kernel/console.hpp"
#include "kernel/hartlocal.hpp"
#include "kernel/ipi.hpp"
#include "kernel/irqlock.hpp"
#include "kernel/process.hpp"
#include "kernel/sched.hpp"
#include "kernel/selftest.hpp"
#include "kernel/smp.hpp"
#include "kernel/thread.hpp"
#include "kernel/trace.hpp"
#include "kernel/wait.hpp"
#include "lib/primes.hpp"
#include "lib/user_memory.hpp"

extern "C" void hb_user_primes(std::uint64_t arg);  // src/user/programs.cpp

namespace hb::ch07 {
namespace {

constexpr const char* kName = "trace ring";
constexpr std::uint64_t kWaitUs = 5'000'000;

// [hb:region trace_workload]
// The workload: free tasks that each compute a little, yield once (a second
// switch on whichever CPU runs them) and exit. Few enough that every CPU's
// share fits its ring with room to spare: the checks below compare exact
// counts, which a dropped record would make impossible.
constexpr std::uint32_t kTraceTasks = 6;
constexpr std::uint64_t kSpinUs = 200;
constinit std::atomic<std::uint32_t> g_done{0};

void traced_task(std::uint64_t) {
    for (const std::uint64_t end = now_ticks() + us_to_ticks(kSpinUs); now_ticks() < end;) arch::cpu_relax();
    sched::yield();
    g_done.fetch_add(1, std::memory_order_release);
}
// [hb:end trace_workload]

/// Spins with interrupts off: this CPU stays busy and switches nothing, so
/// its own waiting leaves no records (a yield loop would fill the ring).
template <typename Pred>
bool busy_wait(Pred&& ready, std::uint64_t timeout_us) {
    InterruptsOff busy;
    return ch06::busy_wait(ready, timeout_us);
}

/// Every other online CPU asleep in tickless idle: it records nothing until
/// someone wakes it, so the window's edges cut no event in half.
bool others_asleep(std::uint32_t n, CpuId self) {
    for (std::uint32_t c = 0; c < n; ++c) {
        const CpuId cpu(c);
        if (cpu != self && smp::online_mask().snapshot().contains(cpu) && !sched::idle_tickless(cpu)) return false;
    }
    return true;
}

/// The counters the trace is checked against, for CPUs [0, n).
struct Books {
    sched::CpuStats sched[kMaxCpus]{};
    IpiCounterSnapshot ipi[kMaxCpus]{};
    std::uint64_t shootdowns = 0;
    std::uint64_t shootdown_targets = 0;
};

Books take_books(std::uint32_t n) {
    Books b;
    for (std::uint32_t c = 0; c < n; ++c) {
        b.sched[c] = sched::stats(CpuId(c));
        b.ipi[c] = ipi::counters(CpuId(c));
    }
    b.shootdowns = proc::stats().shootdowns;
    b.shootdown_targets = proc::stats().targets;
    return b;
}

/// Records of `kind` on `cpu`'s ring (arg == `arg` unless arg is kAny).
constexpr std::uint32_t kAny = ~std::uint32_t{0};
std::uint64_t count(CpuId cpu, TraceEvent kind, std::uint32_t arg = kAny) {
    std::uint64_t k = 0;
    trace::ring(cpu).for_each([&](const TraceRecord& r) { k += r.kind == kind && (arg == kAny || r.arg == arg); });
    return k;
}

/// Sends to `target` recorded by any CPU at or before `ticks`.
std::uint64_t sends_to_by(std::uint32_t n, CpuId target, std::uint64_t ticks) {
    std::uint64_t k = 0;
    for (std::uint32_t c = 0; c < n; ++c) {
        trace::ring(CpuId(c)).for_each([&](const TraceRecord& r) {
            k += r.kind == TraceEvent::IpiSend && r.arg == target.raw() && r.ticks <= ticks;
        });
    }
    return k;
}

/// SMP: a process whose space was active on another CPU (a thread of it ran
/// there and was joined), with one page mapped: unmapping that page inside
/// the window shoots it down on that CPU, so the shootdown hooks are traced.
struct Shootee {
    proc::Process* process = nullptr;
    std::uint64_t va = 0;
};
Shootee prepare_shootdown(CpuId self, std::uint32_t n) {
    Shootee s;
    const auto p = proc::create();
    selftest::check(p.ok(), kName, "create a process: ", p.ok() ? "" : proc::proc_error_name(p.error()));
    s.process = p.value();
    s.va = kUserBase + 0x3000;
    const auto mapped = proc::map_page(*s.process, s.va);
    selftest::check(mapped.ok(), kName, "map a page: ", mapped.ok() ? "" : proc::proc_error_name(mapped.error()));
    const CpuId other((self.raw() + 1) % n);
    const auto t = proc::thread_create(*s.process, reinterpret_cast<void (*)()>(&hb_user_primes),
                                       primes::kBlocks, other);  // worker 0 of kBlocks: block 0 only
    selftest::check(t.ok(), kName, "start a thread on cpu", other, ": ", t.ok() ? "" : proc::thread_error_name(t.error()));
    const auto e = proc::thread_join(t.value(), kWaitUs);
    selftest::check(e.ok(), kName, "join the thread: ", e.ok() ? "" : proc::thread_error_name(e.error()));
    return s;
}

}  // namespace

// [hb:region trace_selftest]
void selftest_trace_ring(const BootInfo& boot) {
    const std::uint32_t n = boot.topology.cpu_count();
    const bool smp = n > 1;
    const CpuId self = current_cpu();
    g_done.store(0, std::memory_order_relaxed);
    const Shootee shootee = smp ? prepare_shootdown(self, n) : Shootee{};

    // 1. A quiet start: the earlier tests' tasks gone, every other CPU asleep.
    const bool drained = ch04::task_wait([] { return other_live_tasks() == 0; }, kWaitUs);
    selftest::check(drained, kName, other_live_tasks(), " tasks still live before the trace window");
    selftest::check(busy_wait([&] { return others_asleep(n, self); }, kWaitUs), kName,
                    "some online cpu did not go to tickless idle before the trace window");
    const Books before = take_books(n);
    trace::start(sched::current_task()->id.raw());

    // 2. The workload. SMP: this CPU stays busy (interrupts off) while it
    //    queues free tasks on itself, so each enqueue kicks an idle CPU by
    //    IPI and the tasks are stolen. SMP=1: it yields until they are done.
    if (smp) {
        InterruptsOff busy;
        for (std::uint32_t k = 0; k < kTraceTasks; ++k) {
            const auto t = sched::spawn("traced", &traced_task, k, QosClass::Normal, self, Mobility::Free);
            selftest::check(t.ok(), kName, "spawn traced task ", k, ": ", sched::spawn_error_name(t.error()));
        }
        const bool stolen = busy_wait([] { return g_done.load(std::memory_order_acquire) == kTraceTasks; }, kWaitUs);
        selftest::check(stolen, kName, g_done.load(std::memory_order_acquire), " of ", kTraceTasks,
                        " traced tasks ran within 5 s on the other cpus");
    }
    if (smp) {  // a TLB shootdown to the CPU the thread ran on
        const proc::ProcError e = proc::unmap_page(*shootee.process, shootee.va);
        selftest::check(e == proc::ProcError::None, kName, "unmap: ", proc::proc_error_name(e));
    } else {
        for (std::uint32_t k = 0; k < kTraceTasks; ++k) {
            const auto t = sched::spawn("traced", &traced_task, k, QosClass::Normal, self, Mobility::Free);
            selftest::check(t.ok(), kName, "spawn traced task ", k, ": ", sched::spawn_error_name(t.error()));
        }
    }
    const bool done = ch04::task_wait(
        [] { return g_done.load(std::memory_order_acquire) == kTraceTasks && other_live_tasks() == 0; }, kWaitUs);
    selftest::check(done, kName, g_done.load(std::memory_order_acquire), " of ", kTraceTasks,
                    " traced tasks finished within 5 s");
    selftest::check(busy_wait([&] { return others_asleep(n, self); }, kWaitUs), kName,
                    "some online cpu did not go back to tickless idle after the workload");

    // 3. A quiet end, then the books again.
    trace::stop();
    const Books after = take_books(n);

    // 4. The trace against the books.
    std::uint64_t steals = 0, sends = 0, receives = 0, shootdown_starts = 0, shootdown_acks = 0;
    for (std::uint32_t c = 0; c < n; ++c) {
        const CpuId cpu(c);
        const trace::Ring& ring = trace::ring(cpu);
        selftest::check(ring.dropped() == 0, kName, "cpu", cpu, " dropped ", ring.dropped(), " records of a window sized to fit ",
                        trace::kRecordsPerCpu);
        std::uint64_t last = 0;
        bool monotonic = true, own = true;
        ring.for_each([&](const TraceRecord& r) {
            monotonic = monotonic && r.ticks >= last;
            last = r.ticks;
            own = own && r.cpu == c;
        });
        selftest::check(monotonic, kName, "cpu", cpu, "'s timestamps go backwards");
        selftest::check(own, kName, "cpu", cpu, "'s ring holds a record written by another cpu");

        const std::uint64_t switched = count(cpu, TraceEvent::Switch) + count(cpu, TraceEvent::IdleEnter);
        const std::uint64_t d_switches = after.sched[c].switches - before.sched[c].switches;
        selftest::check(switched == d_switches, kName, "cpu", cpu, ": ", d_switches, " switches counted but ", switched,
                        " traced");
        const std::uint64_t stole = count(cpu, TraceEvent::Steal);
        const std::uint64_t d_steals = after.sched[c].steals - before.sched[c].steals;
        selftest::check(stole == d_steals, kName, "cpu", cpu, ": ", d_steals, " steals counted but ", stole, " traced");
        steals += stole;

        std::uint64_t sent_here = 0;
        for (std::uint32_t s = 0; s < n; ++s) sent_here += count(CpuId(s), TraceEvent::IpiSend, c);
        const std::uint64_t d_sent = after.ipi[c].sent - before.ipi[c].sent;
        selftest::check(sent_here == d_sent, kName, "cpu", cpu, ": ", d_sent, " ipi sends to it counted but ", sent_here,
                        " traced");
        sends += sent_here;
        const std::uint64_t received = count(cpu, TraceEvent::IpiRecv);
        const std::uint64_t d_trapped = after.ipi[c].trapped - before.ipi[c].trapped;
        selftest::check(received == d_trapped, kName, "cpu", cpu, ": ", d_trapped, " ipi traps counted but ", received,
                        " traced");
        receives += received;
        shootdown_starts += count(cpu, TraceEvent::ShootdownStart);
        shootdown_acks += count(cpu, TraceEvent::ShootdownAck);

        // Causality: the k-th receive on this CPU comes after at least k
        // sends to it (one time CSR for all harts: stamps compare across CPUs).
        std::uint64_t k = 0;
        bool causal = true;
        std::uint64_t bad_at = 0;
        ring.for_each([&](const TraceRecord& r) {
            if (r.kind != TraceEvent::IpiRecv || !causal) return;
            ++k;
            if (sends_to_by(n, cpu, r.ticks) < k) {
                causal = false;
                bad_at = r.ticks;
            }
        });
        selftest::check(causal, kName, "cpu", cpu, "'s receive ", k, " at t=", bad_at, " has no send to it before it");
    }
    selftest::check(shootdown_starts == after.shootdowns - before.shootdowns, kName, after.shootdowns - before.shootdowns,
                    " shootdowns counted but ", shootdown_starts, " traced");
    selftest::check(shootdown_acks == after.shootdown_targets - before.shootdown_targets, kName,
                    after.shootdown_targets - before.shootdown_targets, " shootdown acks counted but ", shootdown_acks,
                    " traced");
    // The workload must have done what it is for, or the checks above were
    // comparing zeros: a task switch at SMP=1; kicks and steals with SMP.
    selftest::check(count(self, TraceEvent::Switch) > 0 || smp, kName, "no task switch traced on cpu", self);
    if (smp) {
        selftest::check(steals > 0, kName, "no steal traced: the tasks were not stolen");
        selftest::check(sends > 0 && receives > 0, kName, "no ipi traced (", sends, " sends, ", receives, " receives)");
        selftest::check(shootdown_starts > 0 && shootdown_acks > 0, kName, "no shootdown traced (", shootdown_starts,
                        " starts, ", shootdown_acks, " acks)");
    }
    trace::dump(n);
    console::println("KINIT: trace ring: ", n, n == 1 ? " cpu, " : " cpus, ", kTraceTasks, " free tasks, ", steals,
                     " steals, ", sends, " ipi sends, ", receives, " receives, ", shootdown_starts, " shootdowns (",
                     shootdown_acks, " acks) traced; each matches its counter");
    selftest::pass(kName);
}
// [hb:end trace_selftest]

}  // namespace hb::ch07
