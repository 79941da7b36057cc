#include "04-runqueues/selftests.hpp"

#include <atomic>

#include "arch/riscv/csr.hpp"
#include "kernel/console.hpp"
#include "kernel/fault.hpp"
#include "kernel/hartlocal.hpp"
#include "kernel/irqlock.hpp"
#include "kernel/selftest.hpp"
#include "kernel/trap.hpp"
#include "kernel/wait.hpp"
#include "lib/percpu_layout.hpp"
#include "lib/primes.hpp"

extern "C" void hb_user_worker();

namespace hb::ch04 {
namespace {

using sched::Task;

constexpr std::uint32_t kPinnedRounds = 40;
constexpr std::uint64_t kUserRounds = 6;
constexpr std::uint64_t kTestTimeoutUs = 20'000'000;
// Generous bounds: they only matter when something is broken, and a loaded
// host (four harts on two cores, other gates running) can stall a hart for
// a long while. Success never waits for them.
constexpr std::uint64_t kExecWindowUs = 5'000'000;
constexpr std::uint64_t kHogWindowUs = 10'000'000;
constexpr std::uint64_t kHogTicks = 3;
constexpr std::uint32_t kPingPongYields = 2000;

constinit const BootInfo* g_boot = nullptr;

std::uint32_t cpu_count() { return g_boot->topology.cpu_count(); }

// ---------------------------------------------------------------- QoS order
constinit std::atomic<std::uint32_t> g_seq{0};
constinit std::atomic<std::uint32_t> g_qos_seen[kQosClassCount]{};
constinit std::atomic<std::uint32_t> g_qos_done{0};

void qos_probe(std::uint64_t qos) {
    g_qos_seen[qos].store(g_seq.fetch_add(1) + 1, std::memory_order_relaxed);
    g_qos_done.fetch_add(1, std::memory_order_release);
}

// ------------------------------------------------------- pinned + user tasks
// [hb:region pinned]
struct PinnedResult {
    std::atomic<std::uint32_t> done{0};
    std::uint32_t home = 0;
    std::uint32_t runs = 0;
    std::uint32_t wrong_cpu = 0;
    std::uint64_t user_exit = ~std::uint64_t{0};
    std::uint32_t user_checks_ok = 0;
    std::uint32_t user_checks_bad = 0;
};
// Two kernel tasks and two user tasks per CPU. Two user tasks on one CPU,
// preempted in user mode, interleave: that exercises the per-task trap stack
// and kernel_context that the switch carries.
constexpr std::uint32_t kPinnedPerCpu = 4;
constexpr bool is_user_slot(std::uint32_t idx) { return idx % kPinnedPerCpu >= 2; }
constinit PinnedResult g_pinned[kMaxCpus * kPinnedPerCpu]{};

void pinned_kernel(std::uint64_t idx) {
    PinnedResult& r = g_pinned[idx];
    for (std::uint32_t i = 0; i < kPinnedRounds; ++i) {
        if (current_cpu().raw() != r.home) ++r.wrong_cpu;
        ++r.runs;
        sched::yield();
    }
    r.done.store(1, std::memory_order_release);
}

void pinned_user(std::uint64_t idx) {
    PinnedResult& r = g_pinned[idx];
    Task* self = sched::current_task();
    r.user_exit = trap::run_user(&hb_user_worker, sched::task_user_stack_top(*self), kUserRounds);
    if (current_cpu().raw() != r.home) ++r.wrong_cpu;
    r.done.store(1, std::memory_order_release);
}
// [hb:end pinned]

// [hb:region user_syscall]
/// Chapter 04's system calls: CHECK_CONTEXT now asks "am I on the trap
/// stack of the task that is running?" (the hart's trap stack follows the
/// task at every switch), and YIELD.
std::uint64_t syscall(trap::TrapFrame& f) {
    Task* t = sched::current_task();
    if (f.x[17] == HB_SYS_YIELD) {
        sched::yield();
        return 0;
    }
    if (f.x[17] != HB_SYS_CHECK_CONTEXT || t == nullptr) return ~std::uint64_t{0};
    volatile std::uint8_t probe = 0;
    const auto sp = reinterpret_cast<std::uintptr_t>(&probe);
    PinnedResult& r = g_pinned[t->arg];
    const bool on_trap_stack = sp >= sched::task_trap_stack_bottom(*t) && sp < t->trap_stack_top;
    const bool user_sp_own =
        f.x[2] > sched::task_user_stack_bottom(*t) && f.x[2] <= sched::task_user_stack_top(*t);
    const bool right_cpu = current_cpu().raw() == r.home;
    if (on_trap_stack && user_sp_own && right_cpu) {
        ++r.user_checks_ok;
        return t->user_preemptions > 0 ? 0 : 2;  // 2: good, but not yet preempted in user mode
    }
    ++r.user_checks_bad;
    return 1;
}
// [hb:end user_syscall]

// ------------------------------------------------------------------ smp exec
// [hb:region exec_probe]
constinit std::atomic<std::uint32_t> g_inside{0};
constinit std::atomic<std::uint32_t> g_all_inside{0};
constinit std::atomic<std::uint32_t> g_exec_done{0};
constinit std::uint32_t g_exec_max[kMaxCpus]{};

/// One per CPU. With interrupts off the probe cannot be preempted, so
/// "inside" means "running on its CPU right now". It waits (bounded by
/// time) until it sees every CPU's probe inside at the same instant.
void exec_probe(std::uint64_t cpu) {
    {
        InterruptsOff off;
        const std::uint32_t n = cpu_count();
        g_inside.fetch_add(1, std::memory_order_acq_rel);
        const std::uint64_t deadline = now_ticks() + us_to_ticks(kExecWindowUs);
        std::uint32_t max = 0;
        while (now_ticks() < deadline) {
            const std::uint32_t v = g_inside.load(std::memory_order_acquire);
            if (v > max) max = v;
            if (v == n) g_all_inside.store(1, std::memory_order_release);
            if (g_all_inside.load(std::memory_order_acquire) != 0) break;
            arch::cpu_relax();
        }
        g_exec_max[cpu] = max;
        g_inside.fetch_sub(1, std::memory_order_acq_rel);
    }
    g_exec_done.fetch_add(1, std::memory_order_release);
}
// [hb:end exec_probe]

// ------------------------------------------------------------ preemption
// [hb:region hog]
constinit std::atomic<std::uint64_t> g_witness[kMaxCpus]{};
constinit std::atomic<std::uint32_t> g_hog_done[kMaxCpus]{};
constinit bool g_hog_preempted[kMaxCpus]{};

/// Times `t` was switched in (written by the scheduler on this CPU).
std::uint32_t switched_in(const Task& t) { return *static_cast<const volatile std::uint32_t*>(&t.switches_in); }

/// Never yields. So if it is ever switched in again, a tick took the CPU
/// away from it; and the witness (same CPU, same class) can only make
/// progress then. Either is evidence of preemption. (The witness alone is not
/// enough on a loaded host: when the hart runs late, every tick is overdue, a
/// task resumed by the scheduler takes the next one at once, and the witness
/// can be preempted again before it counts.) The verdict counts ticks, not
/// time: if kHogTicks ticks hit this CPU while the hog spun and neither
/// happened, the ticks did not preempt. (A time window would be flaky: a
/// host that stalls this hart lets the deadline pass before the pending tick
/// is even delivered.)
void hog(std::uint64_t cpu) {
    const Task& self = *sched::current_task();
    const std::uint32_t in0 = switched_in(self);
    const std::uint64_t start = g_witness[cpu].load(std::memory_order_relaxed);
    const std::uint64_t ticks0 = sched::stats(CpuId(static_cast<std::uint32_t>(cpu))).ticks;
    const std::uint64_t deadline = now_ticks() + us_to_ticks(kHogWindowUs);
    const auto preempted = [&] {
        return switched_in(self) != in0 || g_witness[cpu].load(std::memory_order_relaxed) != start;
    };
    while (now_ticks() < deadline && !preempted() &&
           sched::stats(CpuId(static_cast<std::uint32_t>(cpu))).ticks - ticks0 < kHogTicks) {
        arch::cpu_relax();
    }
    g_hog_preempted[cpu] = preempted();
    g_hog_done[cpu].store(1, std::memory_order_release);
}

void witness(std::uint64_t cpu) {
    while (g_hog_done[cpu].load(std::memory_order_acquire) == 0) {
        g_witness[cpu].fetch_add(1, std::memory_order_relaxed);
        sched::yield();
    }
}
// [hb:end hog]

// --------------------------------------------------------- measurements
constinit std::atomic<std::uint32_t> g_pingpong_done{0};
constinit std::uint64_t g_pingpong_start = 0;
constinit std::uint64_t g_pingpong_end = 0;

void pingpong(std::uint64_t) {
    if (g_pingpong_start == 0) g_pingpong_start = now_ticks();
    for (std::uint32_t i = 0; i < kPingPongYields; ++i) sched::yield();
    if (g_pingpong_done.fetch_add(1) + 1 == 2) g_pingpong_end = now_ticks();
}

// [hb:region primes]
// The scaling workload (the seed's, lib/primes.hpp): count primes in
// [2, 3,000,000) in blocks of 10,000 dealt round-robin to one task per CPU.
constinit std::atomic<std::uint64_t> g_prime_total{0};
constinit std::atomic<std::uint32_t> g_prime_done{0};

[[HB_PRIMES_HOT]] void prime_worker(std::uint64_t idx) {
    const std::uint64_t count = primes::count_share(idx, cpu_count());
    g_prime_total.fetch_add(count, std::memory_order_relaxed);
    g_prime_done.fetch_add(1, std::memory_order_release);
}
// [hb:end primes]

}  // namespace

// [hb:region company]
constinit std::atomic<std::uint32_t> g_company_release{0};
constinit std::atomic<std::uint32_t> g_company_live{0};

void company(std::uint64_t) {
    while (g_company_release.load(std::memory_order_acquire) == 0) sched::yield();
    g_company_live.fetch_sub(1, std::memory_order_release);
}

void company_begin(const char* test, CpuSet cpus) {
    g_company_release.store(0, std::memory_order_relaxed);
    cpus.for_each([&](CpuId c) {
        g_company_live.fetch_add(1, std::memory_order_relaxed);
        spawn_or_fail(test, "company", &company, 0, QosClass::Background, c);
    });
}

void company_end(const char* test) {
    g_company_release.store(1, std::memory_order_release);
    const bool gone = task_wait([] { return g_company_live.load(std::memory_order_acquire) == 0; }, kTestTimeoutUs);
    selftest::check(gone, test, g_company_live.load(), " company tasks did not finish");
}
// [hb:end company]

// A batch of spawns is made with interrupts off: the controller is the least
// urgent task, so a tick in the middle of a batch would hand its CPU to the
// first task it spawned there, which may wait for a task the controller has
// not spawned yet (a probe waiting for its peers, a hog for its witness).
void spawn_or_fail(const char* test, const char* name, void (*fn)(std::uint64_t), std::uint64_t arg,
                   QosClass qos, CpuId cpu, Mobility mobility) {
    const auto spawned = sched::spawn(name, fn, arg, qos, cpu, mobility);
    selftest::check(spawned.ok(), test, "spawn ", name, " on cpu", cpu, ": ", sched::spawn_error_name(spawned.error()));
}

void init_selftests(const BootInfo& boot) { g_boot = &boot; }

void check_qos_order() {
    constexpr const char* kName = "qos order";
    selftest::check(task_wait([] { return g_qos_done.load(std::memory_order_acquire) == kQosClassCount; },
                              kTestTimeoutUs),
                    kName, "qos probes did not all run");
    for (std::uint32_t q = 1; q < kQosClassCount; ++q) {
        selftest::check(g_qos_seen[q - 1].load() < g_qos_seen[q].load(), kName, qos_name(static_cast<QosClass>(q - 1)),
                        " ran as number ", g_qos_seen[q - 1].load(), ", after ", qos_name(static_cast<QosClass>(q)),
                        " (number ", g_qos_seen[q].load(), ")");
    }
    selftest::pass(kName);
}

void check_runqueue_percpu() {
    constexpr const char* kName = "runqueue percpu";
    const std::uint32_t n = cpu_count();
    trap::set_syscall_handler(&syscall);
    company_begin(kName, CpuSet::first_n(n));  // user tasks must be preempted, even the last one left
    {
    InterruptsOff batch;
    for (std::uint32_t c = 0; c < n; ++c) {
        for (std::uint32_t k = 0; k < kPinnedPerCpu; ++k) {
            const std::uint32_t idx = c * kPinnedPerCpu + k;
            g_pinned[idx].home = c;
            spawn_or_fail(kName, is_user_slot(idx) ? "user" : "pinned",
                          is_user_slot(idx) ? &pinned_user : &pinned_kernel, idx, QosClass::Normal, CpuId(c));
        }
    }
    }
    const bool all = task_wait(
        [&] {
            for (std::uint32_t i = 0; i < n * kPinnedPerCpu; ++i) {
                if (g_pinned[i].done.load(std::memory_order_acquire) == 0) return false;
            }
            return true;
        },
        kTestTimeoutUs);
    selftest::check(all, kName, "not every pinned task finished within 20 s");
    std::uint64_t user_ticks = 0;
    for (std::uint32_t i = 0; i < n * kPinnedPerCpu; ++i) {
        const PinnedResult& r = g_pinned[i];
        selftest::check(r.wrong_cpu == 0, kName, "a task of cpu", r.home, " ran on another cpu ", r.wrong_cpu, " times");
        if (is_user_slot(i)) {
            selftest::check(r.user_exit == 0 && r.user_checks_ok >= kUserRounds && r.user_checks_bad == 0, kName,
                            "user task on cpu", r.home, ": ", r.user_checks_ok, " good and ", r.user_checks_bad,
                            " bad trap contexts, exit ", r.user_exit);
        } else {
            selftest::check(r.runs == kPinnedRounds, kName, "task on cpu", r.home, " ran ", r.runs, " rounds");
        }
    }
    for (std::uint32_t c = 0; c < n; ++c) user_ticks += sched::stats(CpuId(c)).user_ticks;
    company_end(kName);
    console::println("KINIT: sched: ", n * kPinnedPerCpu, " pinned tasks ran only on their cpus; ", user_ticks,
                     " ticks preempted user mode, each frame on its task's trap stack");
    selftest::pass(kName);
}

void check_smp_exec() {
    constexpr const char* kName = "smp exec";
    const std::uint32_t n = cpu_count();
    {
        InterruptsOff batch;
        for (std::uint32_t c = 0; c < n; ++c) spawn_or_fail(kName, "exec", &exec_probe, c, QosClass::Interactive, CpuId(c));
    }
    // If the CPUs took turns (the bug this test exists for), each probe used
    // up its whole window one after the other: wait long enough for that too,
    // so the verdict names the real failure.
    selftest::check(task_wait([&] { return g_exec_done.load(std::memory_order_acquire) == n; },
                              kTestTimeoutUs + n * kExecWindowUs),
                    kName, "exec probes did not finish");
    std::uint32_t max = 0;
    for (std::uint32_t c = 0; c < n; ++c) max = g_exec_max[c] > max ? g_exec_max[c] : max;
    selftest::check(g_all_inside.load() != 0 && max == n, kName, "at most ", max, " of ", n,
                    " cpus ran their probe at the same time");
    selftest::pass(kName);
}

void check_ticks() {
    constexpr const char* kName = "per-hart ticks";
    const std::uint32_t n = cpu_count();
    std::uint64_t before[kMaxCpus]{};
    for (std::uint32_t c = 0; c < n; ++c) before[c] = sched::stats(CpuId(c)).ticks;
    {
        InterruptsOff batch;
        // Witness first: it is ahead of the hog in its class's FIFO, so it is
        // already on the CPU's queue when the hog starts counting ticks, even
        // if this (remote) spawn loop stalls between the two spawns.
        for (std::uint32_t c = 0; c < n; ++c) {
            spawn_or_fail(kName, "witness", &witness, c, QosClass::Normal, CpuId(c));
            spawn_or_fail(kName, "hog", &hog, c, QosClass::Normal, CpuId(c));
        }
    }
    const bool done = task_wait(
        [&] {
            for (std::uint32_t c = 0; c < n; ++c) {
                if (g_hog_done[c].load(std::memory_order_acquire) == 0) return false;
            }
            return true;
        },
        kTestTimeoutUs);
    selftest::check(done, kName, "hogs did not finish");
    // Every hart took ticks of its own while its two tasks shared it (the
    // counter is per CPU, bumped by that CPU's handler). Counted, not timed:
    // a loaded host delivers late ticks coalesced into one. (From chapter 05
    // on, a CPU with nobody waiting takes no ticks at all, so the count is
    // taken while the pair ran, not afterwards.)
    for (std::uint32_t c = 0; c < n; ++c) {
        const std::uint64_t got = sched::stats(CpuId(c)).ticks - before[c];
        selftest::check(got >= 1, kName, "cpu", c, " took no timer tick of its own while two tasks shared it");
        selftest::check(g_hog_preempted[c], kName, "cpu", c, ": a task that never yields was not preempted by ",
                        kHogTicks, " ticks");
    }
    selftest::pass(kName);
}

// [hb:region cpuid_counterfactual]
void check_cpuid_fallback() {
    constexpr const char* kName = "cpuid fallback counterfactual";
    const std::uint64_t before = cpuid_fallbacks();
    selftest::check(before == 0, kName, "the fallback fired ", before, " times in normal operation");
    CpuId first{};
    CpuId second{};
    HartLocal* tp_after = nullptr;
    const CpuId expected = sched::current_task()->home;
    {
        // Interrupts off: trap entry relies on tp, and it is garbage now.
        InterruptsOff off;
        arch::write_tp(0x1000);  // corrupt the fast path once
        first = current_cpu();   // must fall back, and repair tp
        second = current_cpu();  // must take the fast path again
        tp_after = reinterpret_cast<HartLocal*>(arch::read_tp());
    }
    const std::uint64_t fired = cpuid_fallbacks() - before;
    selftest::check(first == expected && second == expected, kName, "got cpu", first, " then cpu", second,
                    ", expected cpu", expected);
    selftest::check(fired == 1, kName, "fallback fired ", fired, " times, expected exactly 1");
    selftest::check(tp_after == &hart_local(expected), kName, "tp was not repaired");
    selftest::pass(kName);
}
// [hb:end cpuid_counterfactual]

void measure() {
    {
        InterruptsOff batch;
        spawn_or_fail("measure", "ping", &pingpong, 0, QosClass::Realtime, CpuId(0));
        spawn_or_fail("measure", "pong", &pingpong, 1, QosClass::Realtime, CpuId(0));
    }
    if (task_wait([] { return g_pingpong_done.load() == 2; }, kTestTimeoutUs)) {
        console::println("KINIT: context switch: ", ticks_to_ns(g_pingpong_end - g_pingpong_start) / (2 * kPingPongYields),
                         " ns per yield (task -> scheduler -> task, ", 2 * kPingPongYields, " yields on cpu0)");
    }
    if (!g_boot->args.has("bench", "primes")) return;
    const std::uint32_t n = cpu_count();
    std::uint64_t ticks0[kMaxCpus]{};
    for (std::uint32_t c = 0; c < n; ++c) ticks0[c] = sched::stats(CpuId(c)).ticks;
    const std::uint64_t t0 = now_ticks();
    {
        InterruptsOff batch;
        for (std::uint32_t c = 0; c < n; ++c) spawn_or_fail("bench", "primes", &prime_worker, c, QosClass::Normal, CpuId(c));
    }
    task_wait([&] { return g_prime_done.load(std::memory_order_acquire) == n; }, 600'000'000);
    const std::uint64_t us = ticks_to_us(now_ticks() - t0);
    const std::uint64_t total = g_prime_total.load();
    std::uint64_t ticks = 0;  // timer ticks taken by all CPUs, selftests' included
    for (std::uint32_t c = 0; c < n; ++c) ticks += sched::stats(CpuId(c)).ticks - ticks0[c];
    console::println("KINIT: bench primes: cpus=", n, " count=", total, total == primes::kExpected ? " (correct)" : " (WRONG)",
                     " ticks=", ticks, " us=", us);
}

// [hb:region lock_rules]
void check_lock_rules() {
    constexpr const char* kName = "lock rules";
    const CpuId self = current_cpu();
    const CpuId other(self.raw() + 1 < cpu_count() ? self.raw() + 1 : 0);
    bool sie_inside = true;
    std::uint32_t held_inside = 0;
    {
        // Interrupts on, as in any task; the runqueue lock must turn them off
        // and this CPU must count exactly one lock held.
        arch::enable_interrupts();
        sched::runqueue(self).with([&](auto&) {
            sie_inside = arch::interrupts_enabled();
            held_inside = lockcheck::held_here();
            if (HB_FAULT(LockTwoRunQueues)) (void)sched::runqueue(other).size();  // [hb:fault] rule 1
            if (HB_FAULT(LockPrintUnderRq)) console::println("KINIT: printing under a runqueue lock");  // [hb:fault] rule 2
            return 0;
        });
        IrqSpinLock leaf;
        leaf.lock();
        if (HB_FAULT(LockYieldUnderLock)) sched::yield();  // [hb:fault] rule 6
        leaf.unlock();
    }
    selftest::check(!sie_inside, kName, "interrupts were enabled under a runqueue lock");
    selftest::check(held_inside == 1, kName, held_inside, " locks counted under one runqueue lock");
    selftest::check(lockcheck::held_here() == 0 && arch::interrupts_enabled(), kName,
                    "lock count or interrupt state not restored after unlock");
    selftest::pass(kName);
}
// [hb:end lock_rules]

// [hb:region reject_full]
void selftest_reject_enqueue_full() {
    constexpr const char* kName = "test_reject_enqueue_full";
    sched::RunQueue& rq = sched::runqueue(CpuId(0));
    const RunQueueCounters c0 = rq.counters();
    const std::uint32_t cap = static_cast<std::uint32_t>(kRunQueueCapacityPerClass);
    // Identities beyond the task table: nothing can ever run them, and the
    // boot CPU's scheduler has not started, so nothing dequeues them.
    for (std::uint32_t i = 0; i < cap; ++i) {
        selftest::check(rq.enqueue(TaskId(1000 + i), QosClass::Background) == EnqueueOutcome::Accepted, kName,
                        "enqueue ", i, " of ", cap, " refused");
    }
    const EnqueueOutcome over = rq.enqueue(TaskId(9999), QosClass::Background);
    selftest::check(over == EnqueueOutcome::RejectedFull, kName, "enqueue past capacity: ", enqueue_outcome_name(over));
    selftest::check(rq.counters().rejected == c0.rejected + 1, kName, "rejection not counted");
    // Nothing lost, nothing duplicated: exactly the accepted ones, in order.
    for (std::uint32_t i = 0; i < cap; ++i) {
        RunnableTask t{};
        selftest::check(rq.pick_next(t) && t.task == TaskId(1000 + i), kName, "drain ", i, " got task ", t.task);
    }
    RunnableTask extra{};
    selftest::check(!rq.pick_next(extra), kName, "the rejected task was queued anyway");
    selftest::pass(kName);
}
// [hb:end reject_full]

// [hb:region qos_probes]
void spawn_qos_probes() {
    // On the boot CPU before its scheduler starts, least urgent first: if
    // the queue ignored QoS they would run in this order.
    for (std::uint32_t q = kQosClassCount; q-- > 0;) {
        spawn_or_fail("qos order", "qos", &qos_probe, q, static_cast<QosClass>(q), CpuId(0));
    }
}
// [hb:end qos_probes]

}  // namespace hb::ch04
