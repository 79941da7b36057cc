// Chapter 07 composition root: the final kernel. It composes the same
// subsystems as chapter 06 and runs every earlier chapter's proofs, in the
// seed's marker order, then checks what must hold of the whole boot
// (ch07::check_smp_invariants). The seed's proof commands boot this kernel.
#include "01-newtypes/selftests.hpp"
#include "02-hart-boot/selftests.hpp"
#include "03-trap-stacks/selftests.hpp"
#include "04-runqueues/selftests.hpp"
#include "04-runqueues/selftests_proofs.hpp"
#include "05-ipis/selftests.hpp"
#include "06-stealing/selftests.hpp"
#include "07-proofs/selftests_scale.hpp"
#include "07-proofs/selftests.hpp"
#include "07-proofs/selftests_trace.hpp"
#include "kernel/boot.hpp"
#include "kernel/ipi.hpp"
#include "kernel/power.hpp"
#include "kernel/process.hpp"
#include "kernel/sched.hpp"
#include "kernel/selftest.hpp"
#include "kernel/smp.hpp"
#include "kernel/trap.hpp"
#include "kernel/vm.hpp"

using namespace hb;

namespace {

// [hb:region selftest_task]
void selftest_task(std::uint64_t) {
    const bool smp = boot_info().topology.cpu_count() > 1;
    // Chapter 04: tasks, runqueues, preemption.
    ch04::check_qos_order();
    ch04::check_runqueue_percpu();
    if (smp) ch04::check_smp_exec();
    ch04::check_ticks();
    ch04::check_cpuid_fallback();
    ch04::selftest_irqlock_masks();
    ch04::selftest_switch_registers();
    ch04::selftest_preempt_registers();
    ch04::selftest_spawn_stress();
    ch04::check_lock_rules();
    // Chapter 05: the four IPI markers of the seed, in its order.
    if (smp) ch05::selftest_ipi_counterfactual();
    if (smp) ch05::selftest_ipi_resched();
    ch05::selftest_reject_invalid_ipi_target();
    if (smp) ch05::selftest_reject_offline_resched();
    ch05::check_counters_causal();
    // Chapter 06: stealing, then processes and TLB shootdown.
    if (smp) ch06::selftest_work_stealing();
    ch06::selftest_reject_steal_above_bound();
    ch06::selftest_reject_steal_higher_qos();
    ch06::selftest_reject_steal_pinned();
    if (smp) ch06::selftest_steal_conservation();
    ch06::selftest_user_mappings();
    if (smp) ch06::selftest_tlb_shootdown();
    if (smp) ch06::selftest_tlb_shootdown_counterfactual();
    ch04::measure();
    ch05::measure();
    ch06::measure();
    // Chapter 07: threads' handles, one traced window checked against the
    // counters, then the whole boot, at rest.
    ch07::selftest_thread_handles();
    ch07::selftest_trace_ring(boot_info());
    ch07::check_smp_invariants();
    power_off(ExitStatus::Success);
}
// [hb:end selftest_task]

}  // namespace

// [hb:region kmain]
extern "C" [[noreturn]] void kmain(std::uint64_t hart, std::uintptr_t dtb) {
    const BootInfo& boot = early_init(HartId(hart), dtb, "07", "proofs");
    smp::init_boot_cpu(boot);        // tp -> cpu0's HartLocal, FP off, cpu0 online
    trap::install_on_this_hart();    // stvec -> trap entry, sscratch = 0
    vm::build_kernel_space(boot);
    vm::enable_on_this_hart();
    ipi::init(boot);                 // probe SBI IPI, the S_SOFT handler
    ipi::enable_on_this_hart();      // sie.SSIE
    sched::init(boot, {sched::TickPolicy::Tickless, &ipi::wake, /*steal=*/true});
    proc::init(boot);                // the TLB-shootdown IPI reason
    ch01::selftest_newtypes(boot);
    ch03::init_selftests(boot);
    ch04::init_selftests(boot);
    ch05::init_selftests(boot);
    ch06::init_selftests(boot);
    ch07::init_selftests(boot);
    const ch07::ScaleMode scale = ch07::scale_mode(boot.args);  // a scaling demo instead of the proofs?
    const CpuSet started = smp::start_secondaries(boot);  // each runs kmain_secondary
    if (scale == ch07::ScaleMode::Limit) ch07::run_limit(started);  // bare harts, no scheduler
    if (started.count() > 1) ch02::selftest_smp_online(boot, started);
    ch02::selftest_reject_foreign_online(boot);
    ch03::selftest_this_cpu(CpuId(0));
    ch03::check_reports(boot);
    ch04::selftest_reject_enqueue_full();
    if (scale != ch07::ScaleMode::Off) {  // scale=process|thread: the demo's parent task
        const auto parent = sched::spawn("scale", &ch07::scale_task, 0, QosClass::Background, CpuId(0));
        selftest::check(parent.ok(), "scale", "spawn the parent task: ", sched::spawn_error_name(parent.error()));
        sched::run_scheduler();
    }
    const auto task = sched::spawn("selftests", &selftest_task, 0, QosClass::Background, CpuId(0));
    selftest::check(task.ok(), "qos order", "spawn the selftest task: ", sched::spawn_error_name(task.error()));
    ch04::spawn_qos_probes();
    sched::run_scheduler();  // the boot CPU schedules too; the selftest task powers off
}

/// Every other hart, each time it comes online (at boot, and again after
/// it was taken offline and restarted).
void hb::kmain_secondary(CpuId cpu) {
    vm::enable_on_this_hart();
    trap::install_on_this_hart();
    ipi::enable_on_this_hart();
    ch07::limit_on_secondary(cpu);   // scale=limit: compute this hart's share, never return
    if (smp::online_count(cpu) == 1) ch03::selftest_this_cpu(cpu);  // once per boot
    sched::run_scheduler();
}
// [hb:end kmain]
