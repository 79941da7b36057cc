// Chapter 03 composition root: chapters 01-02, then paging with guard
// pages, per-hart trap stacks and user mode on every hart.
#include "kernel/boot.hpp"
#include "kernel/power.hpp"
#include "selftest_newtypes.hpp"
#include "traps.hpp"

// [hb:region kmain]
extern "C" [[noreturn]] void kmain(std::uint64_t hart, std::uintptr_t dtb) {
    const hb::BootInfo& boot = hb::early_init(hb::HartId(hart), dtb, "03", "trap stacks");
    hb::ch01::selftest_newtypes(boot);
    hb::ch03::run(boot);  // includes chapter 02's bring-up
    hb::power_off(hb::ExitStatus::Success);
}
// [hb:end kmain]
