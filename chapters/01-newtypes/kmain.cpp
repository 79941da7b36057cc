// Chapter 01 composition root: boot on whichever hart the firmware chose,
// check the identifier types, power off with a verdict.
#include "kernel/boot.hpp"
#include "kernel/power.hpp"
#include "selftest_newtypes.hpp"

// [hb:region kmain]
extern "C" [[noreturn]] void kmain(std::uint64_t hart, std::uintptr_t dtb) {
    // a0 from OpenSBI is this hart's id: the boot hart is not always hart 0.
    const hb::BootInfo& boot = hb::early_init(hb::HartId(hart), dtb, "01", "typed identifiers");
    hb::ch01::selftest_newtypes(boot);
    hb::power_off(hb::ExitStatus::Success);
}
// [hb:end kmain]
