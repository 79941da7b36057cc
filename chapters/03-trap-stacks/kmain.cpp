// Chapter 03 composition root: chapters 01-02, then paging with guard
// pages, per-hart trap stacks, user mode on every hart, FP off.
#include "01-newtypes/selftests.hpp"
#include "02-hart-boot/selftests.hpp"
#include "03-trap-stacks/selftests.hpp"
#include "kernel/boot.hpp"
#include "kernel/power.hpp"
#include "kernel/smp.hpp"
#include "kernel/trap.hpp"
#include "kernel/vm.hpp"

using namespace hb;

// [hb:region kmain]
extern "C" [[noreturn]] void kmain(std::uint64_t hart, std::uintptr_t dtb) {
    const BootInfo& boot = early_init(HartId(hart), dtb, "03", "trap stacks");
    smp::init_boot_cpu(boot);        // tp -> cpu0's HartLocal, FP off, cpu0 online
    trap::install_on_this_hart();    // stvec -> trap entry, sscratch = 0 (relies on tp)
    vm::build_kernel_space(boot);    // once, before any other hart needs it
    vm::enable_on_this_hart();
    ch01::selftest_newtypes(boot);
    ch03::init_selftests(boot);
    const CpuSet started = smp::start_secondaries(boot);  // each runs kmain_secondary
    if (started.count() > 1) ch02::selftest_smp_online(boot, started);
    ch02::selftest_reject_foreign_online(boot);
    ch03::selftest_this_cpu(CpuId(0));
    ch03::check_reports(boot);
    ch03::measure_round_trip();
    power_off(ExitStatus::Success);
}

/// Every other hart, once online.
void hb::kmain_secondary(CpuId cpu) {
    vm::enable_on_this_hart();
    trap::install_on_this_hart();
    ch03::selftest_this_cpu(cpu);
}
// [hb:end kmain]
