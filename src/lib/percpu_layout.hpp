// The two structures assembly reads and writes by offset: the per-hart
// block that tp points at, and the trap frame. Only plain fields here, so
// the host tests check the same layout the kernel's assembly relies on
// (tests/host/layout_test.cpp), on top of the static_asserts below.
#pragma once

#include <cstddef>
#include <cstdint>

#include "lib/asm_abi.h"

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

namespace trap {

// [hb:region trap_frame]
/// Everything trap entry saves: x1..x31 (x[n] is register xn; x[0] unused),
/// then the trap CSRs. x[2] is the interrupted sp and x[4] the interrupted
/// tp, whichever mode the trap came from.
struct TrapFrame {
    std::uint64_t x[32];
    std::uint64_t sepc;
    std::uint64_t sstatus;
    std::uint64_t scause;
    std::uint64_t stval;
};
static_assert(sizeof(TrapFrame) == HB_TF_SIZE);
static_assert(offsetof(TrapFrame, sepc) == HB_TF_SEPC);
static_assert(offsetof(TrapFrame, sstatus) == HB_TF_SSTATUS);
static_assert(offsetof(TrapFrame, scause) == HB_TF_SCAUSE);
static_assert(offsetof(TrapFrame, stval) == HB_TF_STVAL);
static_assert(HB_TF_SIZE % 16 == 0, "the RISC-V ABI keeps sp 16-byte aligned");
// [hb:end trap_frame]

}  // namespace trap
}  // namespace hb
