#include "03-trap-stacks/selftests.hpp"

#include <atomic>

#include "arch/riscv/csr.hpp"
#include "kernel/console.hpp"
#include "kernel/selftest.hpp"
#include "kernel/stacks.hpp"
#include "kernel/vm.hpp"
#include "kernel/wait.hpp"

extern "C" void hb_user_check();
extern "C" void hb_user_nop();
extern "C" void hb_user_fp();

namespace hb::ch03 {
namespace {

constexpr std::uint64_t kProbeChecks = 1;  ///< the lone check each CPU makes in its turn
constexpr std::uint64_t kChecksPerCpu = 8;  ///< then the checks all CPUs make at once
constexpr std::uint64_t kRoundTrips = 20000;
constexpr std::uint64_t kReportTimeoutUs = 5'000'000;

// [hb:region report]
/// What one CPU found. Written only by that CPU; `done` (release) publishes
/// it to the boot CPU, which reads it after an acquire load of `done`.
struct CpuReport {
    std::atomic<std::uint32_t> done{0};
    std::uint32_t checks_ok = 0;
    std::uint32_t checks_bad = 0;
    ContextProblem first_problem = ContextProblem::None;
    std::uintptr_t first_bad_sp = 0;
    std::uint64_t probe_exit = ~std::uint64_t{0};  ///< the lone check's run_user result
    std::uint64_t exit_value = ~std::uint64_t{0};  ///< the concurrent checks' run_user result
    bool guard_ran = false;
    bool guard_no_fault = false;
    trap::CaughtFault guard{};
    bool fp_state_off = false;      ///< sstatus.FS read as Off on this CPU
    bool fp_kernel_ran = false;     ///< a kernel FP instruction executed without a trap
    trap::CaughtFault fp_kernel{};  ///< the trap it took instead
    std::uint64_t fp_user_exit = 0; ///< run_user's result for the user FP probe
    trap::CaughtFault fp_user{};    ///< the user fault it took
};
constinit CpuReport g_reports[kMaxCpus]{};
constinit std::uint32_t g_guard_cpu = 0;
constinit std::uint32_t g_cpu_count = 1;
/// Whose turn it is to trap alone; equal to the CPU count once all have.
constinit std::atomic<std::uint32_t> g_turn{0};
// [hb:end report]

// [hb:region syscall]
std::uint64_t syscall(trap::TrapFrame& f) {
    switch (f.x[17]) {
    case HB_SYS_CHECK_CONTEXT: {
        // An address in this handler's own frame: where are we running?
        volatile std::uint8_t probe = 0;
        const auto sp = reinterpret_cast<std::uintptr_t>(&probe);
        HartLocal& hl = hart_local(current_cpu());
        CpuReport& r = g_reports[hl.cpu];
        const ContextProblem p = check_context(hl, sp, f);
        if (p == ContextProblem::None) {
            ++r.checks_ok;
        } else if (r.checks_bad++ == 0) {
            r.first_problem = p;
            r.first_bad_sp = sp;
        }
        return p == ContextProblem::None ? 0 : 1;
    }
    case HB_SYS_NOP: return 0;
    default: return ~std::uint64_t{0};  // unknown system call
    }
}
// [hb:end syscall]

// [hb:region overflow]
/// Recurses until the stack runs into its guard page. With the guard page
/// unmapped the store faults first; if the frame address gets `limit` deep
/// into the guard page without a fault, the guard is not there.
[[gnu::noinline]] std::uint64_t overflow(std::uintptr_t limit, std::uint64_t depth) {
    volatile std::uint8_t buf[512];
    buf[0] = static_cast<std::uint8_t>(depth);
    buf[sizeof(buf) - 1] = buf[0];
    if (reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0)) < limit) return depth;
    return overflow(limit, depth + 1) + buf[0];  // not a tail call: each level keeps its frame
}
// [hb:end overflow]

// [hb:region guard_test]
void guard_test(CpuId cpu, CpuReport& r) {
    static trap::JumpBuffer jb[kMaxCpus];
    r.guard_ran = true;
    trap::arm_recovery(&jb[cpu.raw()]);
    if (hb_setjmp(&jb[cpu.raw()]) == 0) {
        // Stop halfway into the guard page: far enough to prove there was
        // no fault, not so far that a mapped guard page (mutation test)
        // would let us scribble over the next slot.
        overflow(stack_guard(StackKind::Kernel, cpu) + kPageSize / 2, 0);
        trap::disarm_recovery();
        r.guard_no_fault = true;
        return;
    }
    r.guard = trap::last_fault(cpu);  // we came back through hb_longjmp
}
// [hb:end guard_test]

// [hb:region fp_test]
/// Floating point is off on this CPU: sstatus.FS reads Off, an FP
/// instruction in the kernel traps as an illegal instruction (caught with
/// armed recovery), and so does one in user mode (the user program's fault
/// ends it; run_user reports kUserFaulted).
void fp_test(CpuId cpu, CpuReport& r) {
    static trap::JumpBuffer jb[kMaxCpus];
    r.fp_state_off = arch::fp_is_off();
    trap::arm_recovery(&jb[cpu.raw()]);
    if (hb_setjmp(&jb[cpu.raw()]) == 0) {
        arch::fp_probe();  // traps when FS is Off
        trap::disarm_recovery();
        r.fp_kernel_ran = true;
    } else {
        r.fp_kernel = trap::last_fault(cpu);
    }
    r.fp_user_exit = trap::run_user(&hb_user_fp, vm::user_stack_top(cpu), 0);
    r.fp_user = trap::last_fault(cpu);
}
// [hb:end fp_test]

}  // namespace

const char* context_problem_name(ContextProblem p) {
    switch (p) {
    case ContextProblem::None: return "none";
    case ContextProblem::TpNotSelf: return "tp does not point at this hart's HartLocal";
    case ContextProblem::NotFromUser: return "trap did not come from user mode";
    case ContextProblem::SpNotOwnTrapStack: return "handler not on this hart's own trap stack";
    case ContextProblem::UserSpNotOwn: return "user sp not on this hart's user stack";
    }
    return "?";
}

// [hb:region check_context]
ContextProblem check_context(const HartLocal& hl, std::uintptr_t sp, const trap::TrapFrame& frame) {
    const CpuId cpu(hl.cpu);
    if (hl.self != &hl || cpu.raw() >= kMaxCpus || &hart_local(cpu) != &hl) return ContextProblem::TpNotSelf;
    if (!trap::from_user(frame)) return ContextProblem::NotFromUser;
    const StackLocation where = locate_stack(sp);
    if (!where.found || where.kind != StackKind::Trap || where.cpu != cpu || where.in_guard) {
        return ContextProblem::SpNotOwnTrapStack;
    }
    const std::uint64_t user_sp = frame.x[2];
    if (user_sp <= vm::user_stack_bottom(cpu) || user_sp > vm::user_stack_top(cpu)) {
        return ContextProblem::UserSpNotOwn;
    }
    return ContextProblem::None;
}
// [hb:end check_context]

void init_selftests(const BootInfo& boot) {
    g_cpu_count = boot.topology.cpu_count();
    g_guard_cpu = g_cpu_count - 1;  // a secondary when there is one
    trap::set_syscall_handler(&syscall);
}

// [hb:region cpu_program]
/// Fails the gate if CPU `c` has seen a bad trap context (the first one is named).
void check_no_bad_context(std::uint32_t c, const CpuReport& r) {
    selftest::check(r.checks_bad == 0, "trap stack per-hart", "cpu", c, ": ", context_problem_name(r.first_problem),
                    " (sp ", Hex{r.first_bad_sp}, ")");
}

/// Waits (timer + WFI, bounded) until `g_turn` reaches `turn`.
void wait_for_turn(CpuId cpu, std::uint32_t turn) {
    const auto reached = [turn] { return g_turn.load(std::memory_order_acquire) >= turn; };
    if (wait_until(reached, kReportTimeoutUs) == WaitOutcome::TimedOut) {
        selftest::fail("trap stack per-hart", "cpu", cpu, " waited ", kReportTimeoutUs / 1000, " ms for turn ", turn,
                       " (turn is ", g_turn.load(std::memory_order_acquire), ")");
    }
}

void selftest_this_cpu(CpuId cpu) {
    CpuReport& r = g_reports[cpu.raw()];
    // 1. Alone, in CPU order: one CHECK_CONTEXT while every other CPU waits
    //    in the kernel, off its trap stack. A trap stack that is not this
    //    CPU's own is seen here by its address, and the gate fails at once,
    //    before two CPUs ever trap onto the same stack together (that would
    //    overwrite each other's frames and crash with a misleading reason).
    wait_for_turn(cpu, cpu.raw());
    r.probe_exit = trap::run_user(&hb_user_check, vm::user_stack_top(cpu), kProbeChecks);
    check_no_bad_context(cpu.raw(), r);
    g_turn.store(cpu.raw() + 1, std::memory_order_release);
    // 2. All at once: every CPU traps concurrently, each onto its own stack.
    wait_for_turn(cpu, g_cpu_count);
    r.exit_value = trap::run_user(&hb_user_check, vm::user_stack_top(cpu), kChecksPerCpu);
    fp_test(cpu, r);
    if (cpu.raw() == g_guard_cpu) guard_test(cpu, r);
    r.done.store(1, std::memory_order_release);
}
// [hb:end cpu_program]

void check_reports(const BootInfo& boot) {
    const std::uint32_t n = boot.topology.cpu_count();
    const auto all_done = [&] {
        for (std::uint32_t c = 0; c < n; ++c) {
            if (g_reports[c].done.load(std::memory_order_acquire) == 0) return false;
        }
        return true;
    };
    if (wait_until(all_done, kReportTimeoutUs) == WaitOutcome::TimedOut) {
        for (std::uint32_t c = 0; c < n; ++c) {
            if (g_reports[c].done.load(std::memory_order_acquire) == 0) {
                selftest::fail("trap stack per-hart", "cpu", c, " did not report within 5000 ms");
            }
        }
    }

    // [hb:region check_per_hart]
    for (std::uint32_t c = 0; c < n; ++c) {
        const CpuReport& r = g_reports[c];
        check_no_bad_context(c, r);
        selftest::check(r.checks_ok == kProbeChecks + kChecksPerCpu && r.probe_exit == 0 && r.exit_value == 0,
                        "trap stack per-hart", "cpu", c, ": ", r.checks_ok, " of ", kProbeChecks + kChecksPerCpu,
                        " checks, exit ", r.probe_exit, " then ", r.exit_value);
    }
    console::println("KINIT: traps: ", n, " cpus x (", kProbeChecks, " alone + ", kChecksPerCpu,
                     " together) user ecalls, each on its own trap stack");
    selftest::pass("trap stack per-hart");
    // [hb:end check_per_hart]

    // [hb:region reject_foreign_trap_stack]
    {
        // Negative test of the checker itself: a frame that looks right but a
        // handler stack that belongs to another CPU (or to this CPU's kernel
        // stack, not its trap stack) must be rejected.
        constexpr const char* kName = "test_reject_foreign_trap_stack";
        const CpuId self = current_cpu();
        const CpuId other((self.raw() + 1) % kMaxCpus);
        trap::TrapFrame f{};
        f.sstatus = 0;  // SPP = 0: from user mode
        f.x[2] = vm::user_stack_top(self) - 16;
        const HartLocal& hl = hart_local(self);
        const std::uintptr_t own = stack_top(StackKind::Trap, self) - 64;
        selftest::check(check_context(hl, own, f) == ContextProblem::None, kName, "own trap stack rejected");
        selftest::check(check_context(hl, stack_top(StackKind::Trap, other) - 64, f) ==
                            ContextProblem::SpNotOwnTrapStack,
                        kName, "another cpu's trap stack accepted");
        selftest::check(check_context(hl, stack_top(StackKind::Kernel, self) - 64, f) ==
                            ContextProblem::SpNotOwnTrapStack,
                        kName, "kernel stack accepted as trap stack");
        f.x[2] = vm::user_stack_top(other) - 16;
        selftest::check(check_context(hl, own, f) == ContextProblem::UserSpNotOwn, kName,
                        "another cpu's user stack accepted");
        selftest::pass(kName);
    }
    // [hb:end reject_foreign_trap_stack]

    // [hb:region check_guard]
    {
        constexpr const char* kName = "stack guard";
        const CpuId g(g_guard_cpu);
        const CpuReport& r = g_reports[g.raw()];
        const std::uintptr_t guard = stack_guard(StackKind::Kernel, g);
        selftest::check(r.guard_ran, kName, "cpu", g, " did not run the overflow");
        selftest::check(!r.guard_no_fault, kName, "cpu", g, " overflowed into its guard page at ",
                        Hex{guard}, " without a fault");
        selftest::check(r.guard.seen && r.guard.cpu == g, kName, "fault not seen on cpu", g);
        selftest::check(r.guard.stval >= guard && r.guard.stval < guard + kPageSize, kName,
                        "fault address ", Hex{r.guard.stval}, " not in cpu", g, "'s guard page");
        selftest::check(r.guard.scause == static_cast<std::uint64_t>(trap::Cause::StorePageFault) ||
                            r.guard.scause == static_cast<std::uint64_t>(trap::Cause::LoadPageFault),
                        kName, "unexpected scause ", Hex{r.guard.scause});
        const StackLocation frame_at = locate_stack(r.guard.frame_address);
        selftest::check(frame_at.found && frame_at.kind == StackKind::Emergency && frame_at.cpu == g, kName,
                        "the fault was not handled on cpu", g, "'s emergency stack");
        console::println("KINIT: guard: cpu", g, " overflow caught at ", Hex{r.guard.stval},
                         ", handled on its emergency stack");
        selftest::pass(kName);
    }
    // [hb:end check_guard]

    // [hb:region check_sv39]
    {
        constexpr const char* kName = "sv39 kernel map";
        using namespace sv39;
        const AddressSpace& as = vm::kernel_space();
        for (std::uint32_t c = 0; c < kMaxCpus; ++c) {
            for (StackKind k : {StackKind::Kernel, StackKind::Trap, StackKind::Emergency}) {
                const CpuId cpu(c);
                selftest::check(!as.translate(stack_guard(k, cpu)).mapped, kName, "guard page of cpu", c, "'s ",
                                stack_kind_name(k), " stack is mapped");
                const Translation t = as.translate(stack_bottom(k, cpu));
                selftest::check(t.mapped && (t.flags & kWrite) && !(t.flags & (kUser | kExec)), kName,
                                "stack of cpu", c, " not kernel read-write");
            }
        }
        const Translation text = as.translate(reinterpret_cast<std::uintptr_t>(&check_reports));
        selftest::check(text.mapped && (text.flags & kExec) && !(text.flags & (kWrite | kUser)), kName,
                        "kernel text not R-X kernel-only");
        const Translation utext = as.translate(reinterpret_cast<std::uintptr_t>(&hb_user_check));
        selftest::check(utext.mapped && (utext.flags & (kUser | kExec)) == (kUser | kExec) && !(utext.flags & kWrite),
                        kName, "user text not U R-X");
        const Translation data = as.translate(reinterpret_cast<std::uintptr_t>(&g_reports));
        selftest::check(data.mapped && (data.flags & kWrite) && !(data.flags & (kExec | kUser)), kName,
                        "kernel data not RW- kernel-only");
        selftest::check(!as.translate(boot.platform.memory_base).mapped, kName, "firmware memory is mapped");
        selftest::pass(kName);
    }
    // [hb:end check_sv39]

    // [hb:region check_fp]
    {
        constexpr const char* kName = "fp off";
        constexpr auto kIllegal = static_cast<std::uint64_t>(trap::Cause::IllegalInstruction);
        for (std::uint32_t c = 0; c < n; ++c) {
            const CpuReport& r = g_reports[c];
            selftest::check(r.fp_state_off, kName, "cpu", c, ": sstatus.FS is not Off");
            selftest::check(!r.fp_kernel_ran, kName, "cpu", c, ": a kernel FP instruction ran without a trap");
            selftest::check(r.fp_kernel.seen && r.fp_kernel.scause == kIllegal && !r.fp_kernel.from_user, kName,
                            "cpu", c, ": kernel FP instruction trapped with scause ", Hex{r.fp_kernel.scause});
            selftest::check(r.fp_user_exit == trap::kUserFaulted, kName, "cpu", c,
                            ": a user FP instruction ran without a trap (exit ", r.fp_user_exit, ")");
            selftest::check(r.fp_user.seen && r.fp_user.scause == kIllegal && r.fp_user.from_user, kName, "cpu",
                            c, ": user FP instruction trapped with scause ", Hex{r.fp_user.scause});
        }
        selftest::pass(kName);
    }
    // [hb:end check_fp]
}

void measure_round_trip() {
    const CpuId cpu = current_cpu();
    const std::uint64_t t0 = now_ticks();
    const std::uint64_t rc = trap::run_user(&hb_user_nop, vm::user_stack_top(cpu), kRoundTrips);
    const std::uint64_t ns = ticks_to_ns(now_ticks() - t0) / kRoundTrips;
    console::println("KINIT: trap round trip: ", ns, " ns per user ecall (", kRoundTrips, " ecalls on cpu", cpu,
                     rc == 0 ? ")" : ", bad exit)");
}

}  // namespace hb::ch03
