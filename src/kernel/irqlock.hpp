// Spinlocks that mask interrupts and check the lock rules themselves.
//
// A lock the timer interrupt handler may take (runqueues, the console)
// must disable interrupts: otherwise the tick could arrive while this hart
// holds the lock, and the handler would spin forever on a lock its own
// hart holds. The previous interrupt state is restored on unlock, so the
// lock nests correctly inside code that already runs with interrupts off.
//
// Every kernel spinlock is one of these, and each knows its class and the
// CPU that holds it. Each CPU counts the locks it holds (a LockDepth in its
// per-CPU block); an operation that breaks a lock rule panics and names the
// rule (lib/lockdep.hpp): a second runqueue lock, a print or another lock
// under a runqueue lock, interrupts enabled under an irq lock, a context
// switch with a lock held, an unlock by a CPU that does not hold the lock.
#pragma once

#include <cstdint>

#include "arch/riscv/csr.hpp"
#include "kernel/fault.hpp"
#include "lib/lockdep.hpp"
#include "lib/spinlock.hpp"

namespace hb {

struct PauseRelax {
    void operator()() const { arch::cpu_relax(); }
};

/// The checks behind every lock operation (kernel/irqlock.cpp). Before a hart
/// has its HartLocal (early boot: one hart, no other code running) there is
/// no per-CPU block to count in, and the checks are skipped.
namespace lockcheck {
/// This CPU's lock counts (in its PerCpu block), or null before the hart
/// has its HartLocal: early boot, one hart, nothing to count against.
LockDepth* depth_here();
/// Panics naming the broken rule.
[[noreturn]] void violated(LockRule rule, const char* what);
inline void check(LockRule rule, const char* what) {
    if (rule != LockRule::None) [[unlikely]] violated(rule, what);
}
/// A context switch, yield or preemption is about to happen: rule 6.
void assert_may_switch(const char* what);
/// A console line is about to be printed: rule 2.
void assert_may_print();
/// An interrupt was taken on this hart: rule 4.
void on_interrupt();
/// Locks this CPU holds now (all classes).
std::uint32_t held_here();
}  // namespace lockcheck

// [hb:region irq_spinlock]
template <LockClass Class>
class IrqSpinLockOf {
public:
    constexpr IrqSpinLockOf() = default;
    IrqSpinLockOf(const IrqSpinLockOf&) = delete;
    IrqSpinLockOf& operator=(const IrqSpinLockOf&) = delete;

    void lock() {
        const bool were_enabled = arch::save_and_disable_interrupts();
        if (HB_FAULT(IrqLockNoMask)) arch::restore_interrupts(were_enabled);  // [hb:fault]
        LockDepth* depth = lockcheck::depth_here();
        // Rules 1 and 2 before spinning: a second runqueue lock is reported, not hung.
        if (depth != nullptr) lockcheck::check(depth->check_acquire(Class), "lock taken under a runqueue lock");
        if (Class == LockClass::TaskTable && HB_FAULT(TaskTableUnlocked)) return arch::restore_interrupts(were_enabled);  // [hb:fault]
        m_lock.lock();
        m_owner = depth;  // written only by the holder
        m_were_enabled = were_enabled;
        if (depth != nullptr) depth->acquired(Class);
    }
    void unlock() {
        if (Class == LockClass::TaskTable && HB_FAULT(TaskTableUnlocked)) return;  // [hb:fault]
        // Rule 4: nothing may have turned interrupts back on while we held it.
        if (arch::interrupts_enabled()) lockcheck::violated(LockRule::InterruptsOff, "interrupts enabled at unlock");
        if (LockDepth* depth = m_owner) {
            if (depth != lockcheck::depth_here()) lockcheck::violated(LockRule::NotHeld, "another cpu holds it");
            lockcheck::check(depth->release(Class), "released more often than taken");
        }
        const bool were_enabled = m_were_enabled;
        m_owner = nullptr;
        m_lock.unlock();
        arch::restore_interrupts(were_enabled);
    }
    [[nodiscard]] bool held_by_this_cpu() const {
        return m_lock.is_locked() && m_owner == lockcheck::depth_here();
    }

    /// For the panic path only: no checks, no interrupt state (kernel/panic.cpp).
    bool try_lock_unchecked() { return m_lock.try_lock(); }
    void unlock_unchecked() { m_lock.unlock(); }

private:
    BasicSpinLock<PauseRelax> m_lock;
    LockDepth* m_owner = nullptr;  ///< the holder's lock counts (its CPU), null in early boot
    bool m_were_enabled = false;
};
// [hb:end irq_spinlock]

using IrqSpinLock = IrqSpinLockOf<LockClass::Leaf>;

// [hb:region interrupts_off]
/// Interrupts off for a scope, previous state restored after.
class InterruptsOff {
public:
    InterruptsOff() : m_were_enabled(arch::save_and_disable_interrupts()) {}
    ~InterruptsOff() { arch::restore_interrupts(m_were_enabled); }
    InterruptsOff(const InterruptsOff&) = delete;
    InterruptsOff& operator=(const InterruptsOff&) = delete;

private:
    bool m_were_enabled;
};
// [hb:end interrupts_off]

}  // namespace hb
