// The assembly-visible per-hart block, and "which CPU am I".
//
// Each hart's `tp` register points at its own HartLocal while it runs kernel
// code (set once at hart entry). It is deliberately tiny: the fields trap
// entry (chapter 03) needs before any C++ can run, at offsets fixed in
// lib/asm_abi.h and checked in lib/percpu_layout.hpp. Everything else a CPU
// owns is in its PerCpu block (kernel/percpu.hpp).
#pragma once

#include <cstddef>
#include <cstdint>

#include "lib/ids.hpp"
#include "lib/percpu_layout.hpp"

namespace hb {

/// The block of `cpu` (valid for every CpuId below kMaxCpus).
HartLocal& hart_local(CpuId cpu);

/// Fills `cpu`'s block: identity, this CPU's own trap stack and emergency
/// stack. Called by the boot hart for every CPU before that CPU's hart is
/// started; the boot block's release store (kernel/smp.cpp) publishes it.
void init_hart_local(CpuId cpu, HartId hart);

/// Points this hart's tp at `cpu`'s block.
void install_hart_local(CpuId cpu);

/// Is `hl` one of the HartLocal blocks (in range, aligned, self-pointing)?
bool is_hart_local(const HartLocal* hl);

/// This hart's block if tp holds a valid one, else null (before the hart
/// installed it, or tp is corrupt). Never repairs anything: for the lock
/// checks and the panic path, which must not depend on the fallback below.
const HartLocal* hart_local_if_valid();

// [hb:region current_cpu]
/// The CPU this code runs on: the one way to ask. Fast path: tp -> HartLocal,
/// validated (the pointer must be one of the HartLocal blocks and point at
/// itself). If the check fails, a fallback finds the CPU from independent
/// evidence: which stack sp is on (a per-CPU stack names its CPU; a task
/// stack names its task, whose CPU the scheduler recorded), repairs tp and
/// counts the event. If nothing names the CPU, it panics.
CpuId current_cpu();
std::uint64_t cpuid_fallbacks();

/// The fallback's second source of evidence: given an address, the CPU
/// currently running on the task stack that holds it, if any. The scheduler
/// (chapter 04) installs one; before that only per-CPU stacks count.
using TaskStackLocator = bool (*)(std::uintptr_t addr, CpuId& cpu);
void set_task_stack_locator(TaskStackLocator locate);
// [hb:end current_cpu]

}  // namespace hb
