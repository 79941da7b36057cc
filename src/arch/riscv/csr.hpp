// Control and status registers used by the kernel, by name.
#pragma once

#include <cstdint>

namespace hb::arch {

// sstatus / sie / sip bits (RISC-V privileged spec, supervisor level).
inline constexpr std::uint64_t kSstatusSie = 1ull << 1;   // S-mode interrupts enabled
inline constexpr std::uint64_t kSstatusSpie = 1ull << 5;
inline constexpr std::uint64_t kSstatusSpp = 1ull << 8;   // previous mode was S
inline constexpr std::uint64_t kSstatusSum = 1ull << 18;  // S may touch U pages
inline constexpr std::uint64_t kSstatusFs = 3ull << 13;   // FP unit state: 0 = Off (FP traps)
inline constexpr std::uint64_t kSieSsie = 1ull << 1;      // software (IPI) interrupt
inline constexpr std::uint64_t kSieStie = 1ull << 5;      // timer interrupt
inline constexpr std::uint64_t kSieSeie = 1ull << 9;      // external interrupt
inline constexpr std::uint64_t kSipSsip = 1ull << 1;      // software interrupt pending
inline constexpr std::uint64_t kSipStip = 1ull << 5;      // timer interrupt pending (read-only in S)

#define HB_CSR_READ(name)                                      \
    ([] {                                                      \
        std::uint64_t v_;                                      \
        asm volatile("csrr %0, " #name : "=r"(v_)::"memory");  \
        return v_;                                             \
    }())
#define HB_CSR_WRITE(name, v) asm volatile("csrw " #name ", %0" ::"r"(std::uint64_t(v)) : "memory")
#define HB_CSR_SET(name, v) asm volatile("csrs " #name ", %0" ::"r"(std::uint64_t(v)) : "memory")
#define HB_CSR_CLEAR(name, v) asm volatile("csrc " #name ", %0" ::"r"(std::uint64_t(v)) : "memory")

/// The `time` counter (ticks at the device tree's timebase-frequency).
inline std::uint64_t read_time() {
    std::uint64_t t;
    asm volatile("rdtime %0" : "=r"(t));
    return t;
}

/// Waits for an interrupt. Returns when any interrupt enabled in `sie` is
/// pending, even with sstatus.SIE clear (then no trap is taken): that is what
/// lets a bounded wait sleep with interrupts off.
inline void wait_for_interrupt() { asm volatile("wfi" ::: "memory"); }

/// A full memory fence (fence rw, rw): every load and store before it is
/// ordered before every load and store after it, for this hart and as seen
/// by the others. The IPI handler needs one between clearing sip.SSIP and
/// reading the mailbox (lib/mailbox.hpp explains why).
inline void full_fence() { asm volatile("fence rw, rw" ::: "memory"); }

/// Clears this hart's pending supervisor software interrupt (the IPI
/// doorbell). S-mode may write sip.SSIP; the firmware's send_ipi sets it.
inline void clear_software_interrupt() { HB_CSR_CLEAR(sip, kSipSsip); }

/// Tells the hart to slow down in a busy loop (Zihintpause; a no-op hint
/// encoding on harts without it).
inline void cpu_relax() { asm volatile(".insn i 0x0f, 0, x0, x0, 0x010"); }

// [hb:region interrupt_helpers]
/// Is sstatus.SIE set (S-mode interrupts taken on this hart)?
inline bool interrupts_enabled() { return (HB_CSR_READ(sstatus) & kSstatusSie) != 0; }
inline void disable_interrupts() { HB_CSR_CLEAR(sstatus, kSstatusSie); }
inline void enable_interrupts() { HB_CSR_SET(sstatus, kSstatusSie); }
/// Clears SIE and returns whether it was set, for restore_interrupts.
inline bool save_and_disable_interrupts() {
    std::uint64_t prev;
    asm volatile("csrrc %0, sstatus, %1" : "=r"(prev) : "r"(kSstatusSie) : "memory");
    return (prev & kSstatusSie) != 0;
}
inline void restore_interrupts(bool were_enabled) {
    if (were_enabled) enable_interrupts();
}
// [hb:end interrupt_helpers]

// [hb:region tp_access]
/// The thread pointer: in kernel code it holds this hart's HartLocal
/// (the register rule in trap.S). Only kernel/hartlocal.cpp and the
/// selftest that corrupts it on purpose touch it.
inline std::uintptr_t read_tp() {
    std::uintptr_t v;
    asm volatile("mv %0, tp" : "=r"(v));
    return v;
}
inline void write_tp(std::uintptr_t v) { asm volatile("mv tp, %0" ::"r"(v) : "memory"); }
// [hb:end tp_access]

/// Drops every cached translation on this hart (after satp changes or a
/// page-table entry is removed).
inline void sfence_vma_all() { asm volatile("sfence.vma zero, zero" ::: "memory"); }

/// Installs an address space on this hart: satp, then drop every cached
/// translation (no ASIDs, so nothing of the old space may survive).
inline void install_satp(std::uint64_t value) {
    HB_CSR_WRITE(satp, value);
    sfence_vma_all();
}

/// Drops this hart's cached translations of one page.
inline void sfence_vma_page(std::uintptr_t va) { asm volatile("sfence.vma %0, zero" ::"r"(va) : "memory"); }

/// A 32-bit store to a device register (not cached, not merged, not elided).
inline void mmio_write32(std::uintptr_t address, std::uint32_t value) {
    *reinterpret_cast<volatile std::uint32_t*>(address) = value;
}

/// Turns the floating-point unit off on this hart (sstatus.FS = Off): any
/// FP instruction, in S-mode or U-mode, then traps as an illegal
/// instruction. OpenSBI leaves FS on, so every hart does this at entry.
inline void fp_off() { HB_CSR_CLEAR(sstatus, kSstatusFs); }
inline bool fp_is_off() { return (HB_CSR_READ(sstatus) & kSstatusFs) == 0; }
/// Executes one floating-point instruction (the FP selftest's probe): with
/// FS = Off it traps as an illegal instruction.
inline void fp_probe() { asm volatile("fmv.w.x ft0, zero" ::: "memory"); }

}  // namespace hb::arch
