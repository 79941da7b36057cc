// Chapter 02 composition root: chapter 01's boot and selftests, then every
// other hart brought online through SBI HSM.
#include "kernel/boot.hpp"
#include "kernel/power.hpp"
#include "selftest_newtypes.hpp"
#include "selftest_smp.hpp"

// [hb:region kmain]
extern "C" [[noreturn]] void kmain(std::uint64_t hart, std::uintptr_t dtb) {
    const hb::BootInfo& boot = hb::early_init(hb::HartId(hart), dtb, "02", "hart boot");
    hb::ch01::selftest_newtypes(boot);
    hb::ch02::bring_up(boot);  // secondaries come online and sleep
    hb::power_off(hb::ExitStatus::Success);
}
// [hb:end kmain]
