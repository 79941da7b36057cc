#include "kernel/irqlock.hpp"

#include "kernel/hartlocal.hpp"
#include "kernel/panic.hpp"
#include "kernel/percpu.hpp"

namespace hb::lockcheck {
namespace {

LockDepth* depth_here() {
    const HartLocal* hl = hart_local_if_valid();
    return hl != nullptr ? &percpu(CpuId(hl->cpu)).locks : nullptr;
}

void check(LockRule r, const char* what) {
    if (r != LockRule::None) HB_PANIC(lock_rule_name(r), ": ", what);
}

}  // namespace

std::uint32_t owner_id() {
    const HartLocal* hl = hart_local_if_valid();
    return hl != nullptr ? hl->cpu : kNoOwner;
}

void before_acquire(LockClass c) {
    if (LockDepth* d = depth_here()) check(d->check_acquire(c), "lock taken under a runqueue lock");
}

void after_acquire(LockClass c) {
    if (LockDepth* d = depth_here()) d->acquired(c);
}

void before_release(LockClass c, std::uint32_t owner) {
    if (arch::interrupts_enabled()) check(LockRule::InterruptsOff, "interrupts enabled at unlock");
    LockDepth* d = depth_here();
    if (d == nullptr) return;
    if (owner != owner_id()) check(LockRule::NotHeld, "another cpu holds it");
    check(d->release(c), "released more often than taken");
}

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
