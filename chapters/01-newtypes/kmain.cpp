// Chapter 01 composition root: boot on whichever hart the firmware chose,
// check the identifier types, power off with a verdict.
#include "kernel/boot.hpp"
#include "kernel/power.hpp"
#include "selftests.hpp"

using namespace hb;

// [hb:region kmain]
/// The boot hart: a0 = its hart id (from OpenSBI: not always hart 0),
/// a1 = the device tree.
extern "C" [[noreturn]] void kmain(std::uint64_t hart, std::uintptr_t dtb) {
    const BootInfo& boot = early_init(HartId(hart), dtb, "01", "typed identifiers");
    ch01::selftest_newtypes(boot);
    power_off(ExitStatus::Success);
}
// [hb:end kmain]
