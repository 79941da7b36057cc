// Traps: the C++ side of trap entry (arch/riscv/trap.S), user mode, and the
// hooks a chapter plugs its system calls and interrupt handlers into.
#pragma once

#include <cstdint>

#include "lib/ids.hpp"
#include "lib/percpu_layout.hpp"

namespace hb::trap {

// TrapFrame is defined in lib/percpu_layout.hpp (shared with trap.S).

inline constexpr std::uint64_t kInterruptBit = std::uint64_t{1} << 63;
enum class Cause : std::uint64_t {
    InstructionPageFault = 12,
    LoadPageFault = 13,
    StorePageFault = 15,
    EcallFromU = 8,
    SupervisorSoftware = kInterruptBit | 1,
    SupervisorTimer = kInterruptBit | 5,
};

inline bool from_user(const TrapFrame& f) { return (f.sstatus & HB_SSTATUS_SPP) == 0; }

/// Handles a system call (other than EXIT) and returns its result (into a0).
using SyscallHandler = std::uint64_t (*)(TrapFrame& frame);
/// Handles an interrupt; returns false if it was not one it expected.
using InterruptHandler = bool (*)(TrapFrame& frame);

void set_syscall_handler(SyscallHandler h);
void set_interrupt_handler(InterruptHandler h);

/// Points this hart's stvec at the trap entry and sets sscratch = 0
/// (the register rule: in the kernel, sscratch is 0).
void install_on_this_hart();

/// Runs user code (in .user.text) with a0 = arg on `user_sp`; returns the
/// EXIT value. See hb_user_enter in trap.S.
std::uint64_t run_user(void (*entry)(), std::uintptr_t user_sp, std::uint64_t arg);

// [hb:region guard_fault]
/// What the trap handler saw of a page fault on a guard page.
struct GuardFault {
    bool seen = false;
    std::uint64_t scause = 0;
    std::uint64_t stval = 0;
    CpuId cpu{};                    ///< the hart that faulted, from its tp
    std::uintptr_t frame_address = 0;  ///< where trap entry put the frame
};

/// setjmp-style recovery point for the guard-page selftest: when armed on a
/// hart, a guard-page fault on that hart jumps back here instead of
/// powering off.
struct JumpBuffer {
    std::uint64_t regs[14];
};
extern "C" [[gnu::returns_twice]] int hb_setjmp(JumpBuffer* buf);
extern "C" [[noreturn]] void hb_longjmp(JumpBuffer* buf, int value);

void arm_guard_recovery(JumpBuffer* buf);
void disarm_guard_recovery();
GuardFault last_guard_fault(CpuId cpu);
// [hb:end guard_fault]

}  // namespace hb::trap
