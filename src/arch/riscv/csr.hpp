// Control and status registers used by the kernel, by name.
#pragma once

#include <cstdint>

namespace hb::arch {

// sstatus / sie / sip bits (RISC-V privileged spec, supervisor level).
inline constexpr std::uint64_t kSstatusSie = 1ull << 1;   // S-mode interrupts enabled
inline constexpr std::uint64_t kSstatusSpie = 1ull << 5;
inline constexpr std::uint64_t kSstatusSpp = 1ull << 8;   // previous mode was S
inline constexpr std::uint64_t kSstatusSum = 1ull << 18;  // S may touch U pages
inline constexpr std::uint64_t kSieSsie = 1ull << 1;      // software (IPI) interrupt
inline constexpr std::uint64_t kSieStie = 1ull << 5;      // timer interrupt
inline constexpr std::uint64_t kSieSeie = 1ull << 9;      // external interrupt

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

/// Tells the hart to slow down in a busy loop (Zihintpause; a no-op hint
/// encoding on harts without it).
inline void cpu_relax() { asm volatile(".insn i 0x0f, 0, x0, x0, 0x010"); }

}  // namespace hb::arch
