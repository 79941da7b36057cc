// Chapter 02 composition root: chapter 01's boot and selftests, then every
// other hart brought online through SBI HSM.
#include "01-newtypes/selftests.hpp"
#include "02-hart-boot/selftests.hpp"
#include "kernel/boot.hpp"
#include "kernel/power.hpp"
#include "kernel/smp.hpp"

using namespace hb;

// [hb:region kmain]
extern "C" [[noreturn]] void kmain(std::uint64_t hart, std::uintptr_t dtb) {
    const BootInfo& boot = early_init(HartId(hart), dtb, "02", "hart boot");
    smp::init_boot_cpu(boot);  // tp -> cpu0's HartLocal, FP off, cpu0 online
    ch01::selftest_newtypes(boot);
    const CpuSet started = smp::start_secondaries(boot);  // each runs kmain_secondary
    if (started.count() > 1) ch02::selftest_smp_online(boot, started);
    ch02::selftest_reject_foreign_online(boot);
    power_off(ExitStatus::Success);
}

/// Every other hart, once online (kernel/smp.cpp started it): nothing more
/// to do in this chapter, so it returns and the hart sleeps.
void hb::kmain_secondary(CpuId) {}
// [hb:end kmain]
