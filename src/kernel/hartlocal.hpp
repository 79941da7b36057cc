// The assembly-visible per-hart block.
//
// Each hart's `tp` register points at its own HartLocal while it runs kernel
// code (set once at hart entry). It is deliberately tiny: the fields trap
// entry (chapter 03) needs before any C++ can run, at offsets fixed in
// asm_offsets.h and checked here. Richer per-CPU state (runqueues, counters)
// lives elsewhere and is reached from here.
#pragma once

#include <cstddef>
#include <cstdint>

#include "arch/riscv/asm_offsets.h"
#include "lib/ids.hpp"

namespace hb {

// [hb:region hartlocal]
struct HartLocal {
    HartLocal* self;               ///< points at itself: `ld t0, 0(tp)` checks tp
    std::uintptr_t trap_stack_top; ///< where a trap from U-mode starts its stack
    std::uintptr_t scratch;        ///< trap entry parks a register here
    std::uint32_t cpu;             ///< CpuId, raw
    std::uint32_t reserved;
    std::uint64_t hart;            ///< HartId, raw
    std::uintptr_t scratch2;       ///< a second parking slot for trap entry
    std::uintptr_t emergency_stack_top;  ///< for a trap taken on an overflowed stack
    std::uintptr_t kernel_context; ///< sp of the kernel context that entered U-mode
};
static_assert(offsetof(HartLocal, self) == HB_HL_SELF);
static_assert(offsetof(HartLocal, trap_stack_top) == HB_HL_TRAP_STACK_TOP);
static_assert(offsetof(HartLocal, scratch) == HB_HL_SCRATCH);
static_assert(offsetof(HartLocal, cpu) == HB_HL_CPU);
static_assert(offsetof(HartLocal, hart) == HB_HL_HART);
static_assert(offsetof(HartLocal, scratch2) == HB_HL_SCRATCH2);
static_assert(offsetof(HartLocal, emergency_stack_top) == HB_HL_EMERGENCY_STACK_TOP);
static_assert(offsetof(HartLocal, kernel_context) == HB_HL_KERNEL_CONTEXT);
static_assert(sizeof(HartLocal) == HB_HL_SIZE);
// [hb:end hartlocal]

/// The block of `cpu` (valid for every CpuId below kMaxCpus).
HartLocal& hart_local(CpuId cpu);

/// Fills `cpu`'s block: identity, this CPU's own trap stack and emergency
/// stack. Called by the boot hart for every CPU before that CPU's hart is
/// started; the boot block's release store (kernel/smp.cpp) publishes it.
void init_hart_local(CpuId cpu, HartId hart);

/// Points this hart's tp at `cpu`'s block.
void install_hart_local(CpuId cpu);

/// This hart's block, through tp. Only valid after install_hart_local.
HartLocal& this_hart_local();
inline CpuId this_cpu() { return CpuId(this_hart_local().cpu); }

}  // namespace hb
