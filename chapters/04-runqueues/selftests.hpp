// Chapter 04 selftests: the scheduler's, on the boot CPU before its
// scheduler starts and then from the chapter's selftest task (kmain.cpp).
// Reused by every later chapter.
#pragma once

#include "kernel/boot.hpp"
#include "kernel/sched.hpp"
#include "kernel/wait.hpp"

namespace hb::ch04 {

/// Waits as a task: yield until `ready()` or the deadline. The CPU runs other
/// tasks or its idle task (WFI) meanwhile; the timer belongs to the scheduler
/// now, so wait_until (which re-arms it) is for boot code only.
template <typename Pred>
bool task_wait(Pred&& ready, std::uint64_t timeout_us) {
    const std::uint64_t deadline = now_ticks() + us_to_ticks(timeout_us);
    while (!ready()) {
        if (now_ticks() >= deadline) return ready();
        sched::yield();
    }
    return true;
}

/// Spawns task `name` or fails selftest `test` with the reason.
void spawn_or_fail(const char* test, const char* name, void (*fn)(std::uint64_t), std::uint64_t arg,
                   QosClass qos, CpuId cpu, Mobility mobility = Mobility::Pinned);

/// A test that needs preemption ticks on `cpus` keeps a Background task
/// queued on each of them until company_end(): with a task waiting, a CPU
/// ticks under every tick policy (from chapter 05 on, a CPU running its
/// only task takes none). Being the least urgent class, the company runs
/// only once the test's tasks there are done.
void company_begin(const char* test, CpuSet cpus);
void company_end(const char* test);

/// A quick benchmark's time budget. Every gate boots the quick run,
/// single-threaded TCG too, where one sample can cost a host time slice
/// (about 100 ms): after 1 s, with at least one sample, a quick run stops
/// and its line says so. A full run (bench=...) takes every sample.
class QuickBudget {
public:
    explicit QuickBudget(bool full) : m_full(full), m_end(now_ticks() + us_to_ticks(1'000'000)) {}
    /// Is the quick run, holding `samples` samples, out of time? Once true, stays true.
    bool spent(std::uint32_t samples) {
        if (!m_full && samples > 0 && now_ticks() >= m_end) m_cut = true;
        return m_cut;
    }
    [[nodiscard]] bool cut() const { return m_cut; }
    /// The end of the figures line: ")" or ", cut short at 1 s)".
    [[nodiscard]] const char* line_end() const { return m_cut ? ", cut short at 1 s)" : ")"; }

private:
    bool m_full;
    std::uint64_t m_end;
    bool m_cut = false;
};

/// Before any other hart starts.
void init_selftests(const BootInfo& boot);

/// `KSELFTEST: test_reject_enqueue_full ok`, on the boot CPU's real
/// runqueue before its scheduler starts.
void selftest_reject_enqueue_full();

/// The four QoS-order probes, spawned on the boot CPU before its scheduler
/// starts, least urgent first (after the selftest task, the least urgent of all).
void spawn_qos_probes();

// Run by the selftest task, in this order (the ladder's):
void check_qos_order();         ///< `qos order ok`
void check_runqueue_percpu();   ///< `runqueue percpu ok`
void check_smp_exec();          ///< `smp exec ok` (SMP only)
void check_ticks();             ///< `per-hart ticks ok`
void check_cpuid_fallback();    ///< `cpuid fallback counterfactual ok`
/// `lock rules ok`: a runqueue lock masks interrupts and is counted; the
/// faults lock-two-runqueues, lock-print-under-runqueue and
/// lock-yield-under-lock break rules 1, 2 and 6 here and must panic.
void check_lock_rules();
/// Prints the context-switch cost, and with `bench=primes` on the command
/// line the prime-counting benchmark.
void measure();

}  // namespace hb::ch04
