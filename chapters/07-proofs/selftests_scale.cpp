#include "07-proofs/selftests_scale.hpp"

#include <atomic>

#include "kernel/console.hpp"
#include "kernel/fault.hpp"
#include "kernel/hartlocal.hpp"
#include "kernel/process.hpp"
#include "kernel/sched.hpp"
#include "kernel/selftest.hpp"
#include "kernel/thread.hpp"
#include "kernel/wait.hpp"
#include "lib/overlap.hpp"
#include "lib/primes.hpp"

// The user program (src/user/programs.cpp).
extern "C" void hb_user_primes(std::uint64_t arg);

namespace hb::ch07 {
namespace {

constinit const BootArgs* g_args = nullptr;
constinit ScaleMode g_mode = ScaleMode::Off;
constexpr std::uint64_t kJoinTimeoutUs = 300'000'000;  ///< a 1-CPU run under a loaded TCG host takes seconds, not minutes
/// A quick thread's join (block 0 only: milliseconds): well inside the gate's
/// 60 s, so a thread that never publishes its exit fails the selftest with
/// "thread did not exit in time" instead of running the gate out of time.
constexpr std::uint64_t kQuickJoinUs = 20'000'000;
constexpr std::uint32_t kMaxWorkers = 8;

std::uint32_t cpu_count() { return boot_info().topology.cpu_count(); }

std::uint64_t total_ticks() {
    std::uint64_t t = 0;
    for (std::uint32_t c = 0; c < cpu_count(); ++c) t += sched::stats(CpuId(c)).ticks;
    return t;
}

/// a0 of worker `w` of `workers` (hb_user_primes).
std::uint64_t worker_arg(std::uint64_t w, std::uint64_t workers) {
    if (HB_FAULT(ScaleWrongShare)) ++workers;  // [hb:fault] one share of the blocks is dealt to nobody
    return (w << 32) | workers;
}

/// What a run measured.
struct Run {
    std::uint32_t workers = 0;
    std::uint64_t checksum = 0;
    Interval sections[kMaxWorkers]{};  ///< each worker's timed section, in ticks
    std::uint32_t ended = 0;
    CpuSet cpus_used;

    void add(const proc::ThreadExit& e) {
        checksum += e.value;
        if (ended < kMaxWorkers) sections[ended++] = {e.start_ticks, e.end_ticks};
        cpus_used = cpus_used.with(e.cpu);
    }
    std::uint64_t first_start() const {
        std::uint64_t first = ~std::uint64_t{0};
        for (std::uint32_t i = 0; i < ended; ++i) first = sections[i].start < first ? sections[i].start : first;
        return first;
    }
    /// From the first start to the last end.
    std::uint64_t compute_ticks() const {
        std::uint64_t last = 0;
        for (std::uint32_t i = 0; i < ended; ++i) last = sections[i].end > last ? sections[i].end : last;
        return ended == 0 ? 0 : last - first_start();
    }
    Overlap overlap() const { return overlap_of(sections, ended); }
};

void report(const char* mode, const Run& r, std::uint64_t ticks) {
    const Overlap o = r.overlap();
    const std::uint64_t first = r.first_start();
    for (std::uint32_t i = 0; i < r.ended; ++i) {  // at most kMaxWorkers lines
        console::println("KINIT: scale: section ", i, " from +", ticks_to_us(r.sections[i].start - first), " us to +",
                         ticks_to_us(r.sections[i].end - first), " us");
    }
    console::println("SCALE: mode=", mode, " workers=", r.workers, " cpus=", cpu_count(), " ticks=", ticks,
                     " checksum=", r.checksum, " compute_us=", ticks_to_us(r.compute_ticks()), " peak=", o.peak,
                     " parallel_us=", ticks_to_us(o.parallel));
}

// [hb:region stale_handle]
/// A thread of `p` that counts block 0 (quick), joined: its value checked.
proc::ThreadHandle run_one_thread(const char* name, proc::Process& p, std::uint64_t& value) {
    const auto t = proc::thread_create(p, reinterpret_cast<void (*)()>(&hb_user_primes), worker_arg(0, primes::kBlocks),
                                       current_cpu());
    selftest::check(t.ok(), name, "create a thread: ", t.ok() ? "" : proc::thread_error_name(t.error()));
    const auto e = proc::thread_join(t.value(), kQuickJoinUs);
    selftest::check(e.ok(), name, "join ", Hex{t.value().raw()}, ": ", e.ok() ? "" : proc::thread_error_name(e.error()));
    value = e.value().value;
    return t.value();
}
// [hb:end stale_handle]

// [hb:region scale_run]
void run_workers(ScaleMode mode) {
    const bool threads = mode == ScaleMode::Thread;
    const char* name = threads ? "thread scale" : "process scale";
    const std::uint32_t n = cpu_count();
    const std::uint64_t workers = g_args->number("workers", n);
    const std::uint32_t max = threads ? (n < kMaxWorkers ? n : kMaxWorkers) : proc::kMaxProcesses;
    selftest::check(workers >= 1 && workers <= max, name, "workers=", workers, ": must be 1..", max,
                    threads ? " (one thread per cpu)" : " (the process table)");
    const bool serial = threads && g_args->has("scale_serial", "yes");

    proc::Process* shared = nullptr;
    if (threads) {
        const auto p = proc::create();
        selftest::check(p.ok(), name, "create the process: ", p.ok() ? "" : proc::proc_error_name(p.error()));
        shared = p.value();
    }
    Run run;
    run.workers = static_cast<std::uint32_t>(workers);
    proc::ThreadHandle handles[kMaxWorkers]{};
    const auto join = [&](std::uint64_t w) {
        const auto e = proc::thread_join(handles[w], kJoinTimeoutUs);
        selftest::check(e.ok(), name, "join worker ", w, ": ", e.ok() ? "" : proc::thread_error_name(e.error()));
        selftest::check(e.value().value != trap::kUserFaulted, name, "worker ", w, " faulted in user mode");
        run.add(e.value());
    };
    const std::uint64_t ticks0 = total_ticks();
    for (std::uint64_t w = 0; w < workers; ++w) {
        proc::Process* p = shared;
        if (!threads) {  // a process of its own
            const auto created = proc::create();
            selftest::check(created.ok(), name, "create process ", w, ": ",
                            created.ok() ? "" : proc::proc_error_name(created.error()));
            p = created.value();
        }
        const auto t = proc::thread_create(*p, reinterpret_cast<void (*)()>(&hb_user_primes), worker_arg(w, workers),
                                           CpuId(static_cast<std::uint32_t>(w % n)));
        selftest::check(t.ok(), name, "start worker ", w, ": ", t.ok() ? "" : proc::thread_error_name(t.error()));
        handles[w] = t.value();
        if (serial) join(w);  // the serialized runtime the check below must refuse
    }
    if (!serial) {
        for (std::uint64_t w = 0; w < workers; ++w) join(w);
    }
    const std::uint64_t ticks = total_ticks() - ticks0;

    selftest::check(run.checksum == primes::kExpected, name, "checksum ", run.checksum, ", want ", primes::kExpected);
    // Sibling threads that never ran at the same time on different CPUs
    // prove nothing about parallelism, whatever the clock says.
    if (threads && workers >= 2) {
        const Overlap o = run.overlap();
        selftest::check(o.peak >= 2 && run.cpus_used.count() == workers, name, "the timed sections of ", workers,
                        " threads never overlapped (peak ", o.peak, " at once, on ", run.cpus_used.count(),
                        " cpus): the runtime serialized them");
    }
    report(threads ? "thread" : "process", run, ticks);
    if (threads) selftest_thread_handles();
    selftest::pass(name);
}
// [hb:end scale_run]

// ------------------------------------------------------------------- limit
constinit std::atomic<std::uint64_t> g_go{0};  ///< start instant (ticks), 0 = not yet
constinit std::atomic<std::uint32_t> g_limit_done{0};
constinit std::uint64_t g_limit_count[kMaxCpus]{};
constinit std::uint64_t g_limit_end[kMaxCpus]{};
constinit std::uint32_t g_limit_workers = 0;

// [hb:region limit]
/// One hart's share, in S-mode with interrupts as they are (no tick is
/// armed in this mode): the machine's own speed, nothing of ours around it.
[[HB_PRIMES_HOT]] void limit_share(CpuId cpu) {
    g_limit_count[cpu.raw()] = primes::count_share(cpu.raw(), g_limit_workers);
    g_limit_end[cpu.raw()] = now_ticks();
    g_limit_done.fetch_add(1, std::memory_order_release);
}
// [hb:end limit]

}  // namespace

// [hb:region thread_handles]
void selftest_thread_handles() {
    constexpr const char* kName = "thread handles";
    const auto created = proc::create();
    selftest::check(created.ok(), kName, "create a process: ",
                    created.ok() ? "" : proc::proc_error_name(created.error()));
    proc::Process& p = *created.value();
    std::uint64_t value = 0;
    const proc::ThreadHandle joined = run_one_thread(kName, p, value);
    selftest::check(value == primes::count_block(0), kName, "the thread exited with ", value, ", want ",
                    primes::count_block(0));
    // 1. Joined once: its life is over.
    const auto again = proc::thread_join(joined, kQuickJoinUs);
    selftest::check(!again.ok() && again.error() == proc::ThreadError::Stale, kName, "a second join of ",
                    Hex{joined.raw()}, " was not refused as stale");
    // 2. The slot lives again (every thread is joined, so a new one takes
    //    the lowest slot): the old handle must not reach the new thread.
    const auto fresh = proc::thread_create(p, reinterpret_cast<void (*)()>(&hb_user_primes),
                                           worker_arg(0, primes::kBlocks), current_cpu());
    selftest::check(fresh.ok(), kName, "create a thread: ", fresh.ok() ? "" : proc::thread_error_name(fresh.error()));
    const proc::ThreadHandle h = fresh.value();
    selftest::check(h.index == joined.index && h.generation != joined.generation, kName, "slot ", h.index,
                    " generation ", h.generation, " is not a new life of slot ", joined.index);
    const auto stale = proc::thread_join(joined, kQuickJoinUs);
    selftest::check(!stale.ok() && stale.error() == proc::ThreadError::Stale, kName, "the old handle ",
                    Hex{joined.raw()}, " reached the slot's new thread ", Hex{h.raw()});
    // 3. The refusals changed nothing: the new thread joins normally.
    const auto live = proc::thread_join(h, kQuickJoinUs);
    selftest::check(live.ok() && live.value().value == primes::count_block(0), kName, "join ", Hex{h.raw()},
                    " after the refusals: ", live.ok() ? "wrong value" : proc::thread_error_name(live.error()));
    selftest::check(proc::threads_alive() == 0, kName, proc::threads_alive(), " threads left alive");
    console::println("KINIT: thread handles: ", Hex{joined.raw()}, " refused after its join and after slot ", h.index,
                     " was reused as ", Hex{h.raw()});
    selftest::pass(kName);
}
// [hb:end thread_handles]

ScaleMode scale_mode(const BootArgs& args) {
    g_args = &args;
    if (args.has("scale", "process")) g_mode = ScaleMode::Process;
    else if (args.has("scale", "thread")) g_mode = ScaleMode::Thread;
    else if (args.has("scale", "limit")) g_mode = ScaleMode::Limit;
    else g_mode = ScaleMode::Off;
    return g_mode;
}

void scale_task(std::uint64_t) {
    run_workers(g_mode);
    power_off(ExitStatus::Success);
}

[[noreturn]] void run_limit(CpuSet started) {
    constexpr const char* kName = "scale limit";
    const std::uint32_t n = cpu_count();
    selftest::check(started.count() == n, kName, started.count(), " of ", n, " cpus online");
    g_limit_workers = n;
    if (HB_FAULT(ScaleWrongShare)) ++g_limit_workers;  // [hb:fault]
    const std::uint64_t ticks0 = total_ticks();
    const std::uint64_t go = now_ticks();
    g_go.store(go, std::memory_order_release);
    limit_share(CpuId(0));
    const bool all = wait_until([&] { return g_limit_done.load(std::memory_order_acquire) == n; }, kJoinTimeoutUs, 50) ==
                     WaitOutcome::Done;
    selftest::check(all, kName, g_limit_done.load(), " of ", n, " harts finished their share");
    Run run;
    run.workers = n;
    for (std::uint32_t c = 0; c < n; ++c) {
        run.add({g_limit_count[c], go, g_limit_end[c], CpuId(c)});
    }
    selftest::check(run.checksum == primes::kExpected, kName, "checksum ", run.checksum, ", want ", primes::kExpected);
    report("limit", run, total_ticks() - ticks0);
    selftest::pass(kName);
    power_off(ExitStatus::Success);
}

void limit_on_secondary(CpuId cpu) {
    if (g_mode != ScaleMode::Limit) return;
    // Sleep in WFI until the boot CPU gives the start; 20 us slices keep
    // the start skew far below the run's ~100 ms.
    if (wait_until([] { return g_go.load(std::memory_order_acquire) != 0; }, kJoinTimeoutUs, 20) ==
        WaitOutcome::Done) {
        limit_share(cpu);
    }
    for (;;) (void)wait_until([] { return false; }, 1'000'000, 1'000'000);  // the boot CPU powers off
}

}  // namespace hb::ch07
