#include "kernel/irqlock.hpp"

#include "kernel/hartlocal.hpp"
#include "kernel/panic.hpp"
#include "kernel/percpu.hpp"

namespace hb::lockcheck {

LockDepth* depth_here() {
    const HartLocal* hl = hart_local_if_valid();
    return hl != nullptr ? &percpu(CpuId(hl->cpu)).locks : nullptr;
}

void violated(LockRule rule, const char* what) { HB_PANIC(lock_rule_name(rule), ": ", what); }

void assert_may_switch(const char* what) {
    if (LockDepth* d = depth_here()) check(d->check_switch(), what);
}

void assert_may_print() {
    if (LockDepth* d = depth_here()) check(d->check_print(), "console print");
}

void on_interrupt() {
    if (LockDepth* d = depth_here()) check(d->check_interrupt(), "interrupt taken");
}

std::uint32_t held_here() {
    const LockDepth* d = depth_here();
    return d != nullptr ? d->total() : 0;
}

}  // namespace hb::lockcheck
