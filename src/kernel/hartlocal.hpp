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
    std::uintptr_t trap_stack_top; ///< this hart's kernel stack top (trap entry)
    std::uintptr_t scratch;        ///< trap entry parks the interrupted sp here
    std::uint32_t cpu;             ///< CpuId, raw
    std::uint32_t reserved;
    std::uint64_t hart;            ///< HartId, raw
};
static_assert(offsetof(HartLocal, self) == HB_HL_SELF);
static_assert(offsetof(HartLocal, trap_stack_top) == HB_HL_TRAP_STACK_TOP);
static_assert(offsetof(HartLocal, scratch) == HB_HL_SCRATCH);
static_assert(offsetof(HartLocal, cpu) == HB_HL_CPU);
static_assert(offsetof(HartLocal, hart) == HB_HL_HART);
static_assert(sizeof(HartLocal) == HB_HL_SIZE);
// [hb:end hartlocal]

/// The block of `cpu` (valid for every CpuId below kMaxCpus).
HartLocal& hart_local(CpuId cpu);

/// Fills `cpu`'s block. Called by the boot hart for every CPU before that
/// CPU's hart is started, so the block is complete before its owner runs.
void init_hart_local(CpuId cpu, HartId hart, std::uintptr_t stack_top);

/// Points this hart's tp at `cpu`'s block.
void install_hart_local(CpuId cpu);

/// This hart's block, through tp. Only valid after install_hart_local.
HartLocal& this_hart_local();
inline CpuId this_cpu() { return CpuId(this_hart_local().cpu); }

}  // namespace hb
