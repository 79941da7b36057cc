// Chapter 03: every hart traps from user mode onto its own trap stack, and
// stack overflows hit a guard page.
#pragma once

#include <cstdint>

#include "kernel/boot.hpp"
#include "kernel/hartlocal.hpp"
#include "kernel/smp.hpp"
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

/// Before any hart starts: build and enable the kernel address space on
/// the boot hart, install its trap vector and the chapter's system calls.
void prepare(const BootInfo& boot);

/// The per-CPU program: paging and trap vector on, user-mode probe, the
/// guard-page overflow on the designated CPU. Secondaries run it as their
/// `then`; the boot CPU calls it directly. Returns when done.
void cpu_program(CpuId cpu);

/// Waits for every CPU's report and prints the chapter's markers.
void check_reports(const BootInfo& boot);

/// Prints the U-mode ecall round-trip cost measured on this CPU.
void measure_round_trip();

/// Everything above in order: chapter 03's contribution to later chapters.
/// Secondaries run cpu_program and then `after` (null: sleep), which is how
/// a later chapter hands them its own per-CPU loop.
void run(const BootInfo& boot, smp::SecondaryWork after = nullptr);

}  // namespace hb::ch03
