// A spinlock that also keeps this hart's interrupts off while held.
//
// A lock the timer interrupt handler may take (runqueues, the console)
// must disable interrupts: otherwise the tick could arrive while this hart
// holds the lock, and the handler would spin forever on a lock its own
// hart holds. The previous interrupt state is restored on unlock, so the
// lock nests correctly inside code that already runs with interrupts off.
#pragma once

#include <cstdint>

#include "arch/riscv/csr.hpp"
#include "lib/spinlock.hpp"

namespace hb {

struct PauseRelax {
    void operator()() const { arch::cpu_relax(); }
};

// [hb:region irq_spinlock]
class IrqSpinLock {
public:
    constexpr IrqSpinLock() = default;
    void lock() {
        const std::uint64_t prev = HB_CSR_READ(sstatus) & arch::kSstatusSie;
        HB_CSR_CLEAR(sstatus, arch::kSstatusSie);
        m_lock.lock();
        m_saved = prev;  // written only by the holder
    }
    void unlock() {
        const std::uint64_t prev = m_saved;
        m_lock.unlock();
        if (prev != 0) HB_CSR_SET(sstatus, arch::kSstatusSie);
    }

private:
    BasicSpinLock<PauseRelax> m_lock;
    std::uint64_t m_saved = 0;
};
// [hb:end irq_spinlock]

/// Interrupts off for a scope, previous state restored after.
class InterruptsOff {
public:
    InterruptsOff() : m_prev(HB_CSR_READ(sstatus) & arch::kSstatusSie) { HB_CSR_CLEAR(sstatus, arch::kSstatusSie); }
    ~InterruptsOff() {
        if (m_prev != 0) HB_CSR_SET(sstatus, arch::kSstatusSie);
    }
    InterruptsOff(const InterruptsOff&) = delete;
    InterruptsOff& operator=(const InterruptsOff&) = delete;

private:
    std::uint64_t m_prev;
};

}  // namespace hb
