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
inline constexpr std::uint32_t kNoOwner = ~std::uint32_t{0};
/// The validated current CPU's raw id, or kNoOwner before it has a HartLocal.
std::uint32_t owner_id();
void before_acquire(LockClass c);
void after_acquire(LockClass c);
/// Checks the caller owns the lock and that interrupts are still off.
void before_release(LockClass c, std::uint32_t owner);
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
        lockcheck::before_acquire(Class);  // rules 1 and 2, before spinning
        if (Class == LockClass::TaskTable && HB_FAULT(TaskTableUnlocked)) return arch::restore_interrupts(were_enabled);  // [hb:fault]
        m_lock.lock();
        m_owner = lockcheck::owner_id();  // written only by the holder
        m_were_enabled = were_enabled;
        lockcheck::after_acquire(Class);
    }
    void unlock() {
        if (Class == LockClass::TaskTable && HB_FAULT(TaskTableUnlocked)) return;  // [hb:fault]
        lockcheck::before_release(Class, m_owner);  // ours? interrupts still off (rule 4)?
        const bool were_enabled = m_were_enabled;
        m_owner = lockcheck::kNoOwner;
        m_lock.unlock();
        arch::restore_interrupts(were_enabled);
    }
    [[nodiscard]] bool held_by_this_cpu() const {
        return m_lock.is_locked() && m_owner == lockcheck::owner_id();
    }

    /// For the panic path only: no checks, no interrupt state (kernel/panic.cpp).
    bool try_lock_unchecked() { return m_lock.try_lock(); }
    void unlock_unchecked() { m_lock.unlock(); }

private:
    BasicSpinLock<PauseRelax> m_lock;
    std::uint32_t m_owner = lockcheck::kNoOwner;
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
