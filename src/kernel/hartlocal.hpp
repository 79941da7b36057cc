// The assembly-visible per-hart block.
//
// Each hart's `tp` register points at its own HartLocal while it runs kernel
// code (set once at hart entry). It is deliberately tiny: the fields trap
// entry (chapter 03) needs before any C++ can run, at offsets fixed in
// lib/asm_abi.h and checked here. Richer per-CPU state (runqueues, counters)
// lives elsewhere and is reached from here.
#pragma once

#include <cstddef>
#include <cstdint>

#include "lib/ids.hpp"
#include "lib/percpu_layout.hpp"

namespace hb {

// HartLocal itself is defined in lib/percpu_layout.hpp (a plain layout
// shared with assembly and checked by host tests).

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

/// This hart's block, through tp. Only valid after install_hart_local.
HartLocal& this_hart_local();
inline CpuId this_cpu() { return CpuId(this_hart_local().cpu); }

}  // namespace hb
