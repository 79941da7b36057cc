// Chapter 02 composition root: chapter 01's boot and selftests, then every
// other hart brought online through SBI HSM.
#include "kernel/boot.hpp"
#include "kernel/power.hpp"
#include "kernel/smp.hpp"
#include "selftest_newtypes.hpp"
#include "selftest_smp.hpp"

// [hb:region kmain]
extern "C" [[noreturn]] void kmain(std::uint64_t hart, std::uintptr_t dtb) {
    const hb::BootInfo& boot = hb::early_init(hb::HartId(hart), dtb, "02", "hart boot");
    hb::ch01::selftest_newtypes(boot);

    hb::smp::init_boot_cpu(boot);  // tp -> cpu0's HartLocal, cpu0 online
    const hb::CpuSet expected = hb::smp::start_secondaries(boot);

    if (boot.topology.cpu_count() > 1) hb::ch02::selftest_smp_online(boot, expected);
    hb::ch02::selftest_reject_foreign_online(boot);
    hb::power_off(hb::ExitStatus::Success);
}
// [hb:end kmain]
