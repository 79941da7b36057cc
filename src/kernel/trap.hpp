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
    IllegalInstruction = 2,
    EcallFromU = 8,
    InstructionPageFault = 12,
    LoadPageFault = 13,
    StorePageFault = 15,
    SupervisorSoftware = kInterruptBit | 1,
    SupervisorTimer = kInterruptBit | 5,
};

inline bool from_user(const TrapFrame& f) { return (f.sstatus & HB_SSTATUS_SPP) == 0; }

/// Handles a system call (other than EXIT) and returns its result (into a0).
using SyscallHandler = std::uint64_t (*)(TrapFrame& frame);
/// Handles one interrupt cause.
using InterruptHandler = void (*)(TrapFrame& frame);

void set_syscall_handler(SyscallHandler h);
/// Interrupts are dispatched by cause: one handler per cause (the timer from
/// chapter 04, the software interrupt from chapter 05). An interrupt whose
/// cause has no handler panics.
enum class Interrupt : std::uint8_t { Software, Timer };
void set_interrupt_handler(Interrupt cause, InterruptHandler h);

/// Points this hart's stvec at the trap entry and sets sscratch = 0
/// (the register rule: in the kernel, sscratch is 0).
void install_on_this_hart();

/// What run_user returns when the user program faulted (any exception other
/// than an ecall); the fault itself is in last_fault(cpu).
inline constexpr std::uint64_t kUserFaulted = ~std::uint64_t{0} - 1;

/// Runs user code (in .user.text) with a0 = arg on `user_sp`; returns the
/// EXIT value, or kUserFaulted. See hb_user_enter in trap.S.
std::uint64_t run_user(void (*entry)(), std::uintptr_t user_sp, std::uint64_t arg);

// [hb:region guard_fault]
/// A fault the trap handler caught on purpose: a user program's fault, or a
/// kernel fault while a selftest had armed recovery (the guard-page overflow,
/// a floating-point instruction with the FP unit off).
struct CaughtFault {
    bool seen = false;
    std::uint64_t scause = 0;
    std::uint64_t stval = 0;
    std::uint64_t sepc = 0;
    CpuId cpu{};                       ///< the hart that faulted, from its tp
    std::uintptr_t frame_address = 0;  ///< where trap entry put the frame
    bool from_user = false;
};

/// setjmp-style recovery point for selftests: when armed on a CPU, the next
/// kernel exception on that CPU jumps back here instead of panicking.
struct JumpBuffer {
    std::uint64_t regs[14];
};
extern "C" [[gnu::returns_twice]] int hb_setjmp(JumpBuffer* buf);
extern "C" [[noreturn]] void hb_longjmp(JumpBuffer* buf, int value);

void arm_recovery(JumpBuffer* buf);
void disarm_recovery();
CaughtFault last_fault(CpuId cpu);
// [hb:end guard_fault]

/// This CPU's trap state (a section of its PerCpu block, kernel/percpu.hpp).
struct CpuTrap {
    CaughtFault last_fault{};
    JumpBuffer* recover = nullptr;
};

}  // namespace hb::trap
