// Chapter 04 composition root: chapters 01-03, then every CPU runs its own
// scheduler on its own runqueue.
#include "kernel/boot.hpp"
#include "sched_tests.hpp"
#include "selftest_newtypes.hpp"

// [hb:region kmain]
extern "C" [[noreturn]] void kmain(std::uint64_t hart, std::uintptr_t dtb) {
    const hb::BootInfo& boot = hb::early_init(hb::HartId(hart), dtb, "04", "runqueues");
    hb::ch01::selftest_newtypes(boot);
    hb::ch04::run(boot);  // chapters 02-03, the schedulers, the selftests; powers off
}
// [hb:end kmain]
