// Chapter 03 selftests: every hart traps from user mode onto its own trap
// stack, stack overflows hit a guard page, the kernel map has exact
// permissions, and floating point is off. Reused by every later chapter.
#pragma once

#include <cstdint>

#include "kernel/boot.hpp"
#include "kernel/hartlocal.hpp"
#include "kernel/trap.hpp"

namespace hb::ch03 {

/// Why a trap context is wrong (or None).
enum class ContextProblem { None, TpNotSelf, NotFromUser, SpNotOwnTrapStack, UserSpNotOwn };
const char* context_problem_name(ContextProblem p);

/// The check the CHECK_CONTEXT system call runs: `hl` is what tp points at,
/// `sp` an address on the stack the handler is running on, `frame` the
/// trap frame. Independent evidence: the stack is identified by address
/// (which slot it is in), not by what HartLocal claims.
ContextProblem check_context(const HartLocal& hl, std::uintptr_t sp, const trap::TrapFrame& frame);

/// Before any other hart starts: the chapter's system calls, and which CPU
/// will overflow its stack on purpose (a secondary when there is one).
void init_selftests(const BootInfo& boot);

/// This CPU's share, run by every CPU (the boot CPU and each secondary in
/// its kmain_secondary): user-mode ecalls checked on the trap stack (first
/// one alone, CPUs taking turns in CPU order, then several with every CPU
/// at once), the floating-point probes, and the guard-page overflow on the
/// designated CPU. Records a report; prints only a FAIL, at once, when the
/// lone check finds a trap stack that is not this CPU's own.
void selftest_this_cpu(CpuId cpu);

/// On the boot CPU: waits for every CPU's report and prints the chapter's
/// markers (trap stack per-hart, test_reject_foreign_trap_stack, stack
/// guard, sv39 kernel map, fp off).
void check_reports(const BootInfo& boot);

/// Prints the U-mode ecall round-trip cost measured on this CPU.
void measure_round_trip();

}  // namespace hb::ch03
