// Secondary hart bring-up through SBI HSM (chapter 02).
#pragma once

#include <atomic>
#include <cstdint>

#include "lib/asm_abi.h"
#include "kernel/boot.hpp"
#include "lib/cpuset.hpp"
#include "lib/online.hpp"

namespace hb::smp {

/// An SBI error code as a plain number (arch/riscv/sbi.hpp's Error), so
/// that this header needs no arch include.
using sbi_error_t = std::int64_t;

// [hb:region secondary_boot]
/// Per-hart boot block: written by the boot hart before hart_start, read by
/// the new hart in its first instructions (stack_top, via a1), then used by
/// the new hart to report back. One per CPU, never shared.
struct SecondaryBoot {
    std::uintptr_t stack_top;  ///< offset 0: loaded into sp by secondary.S
    std::uint32_t cpu;         ///< the CpuId this hart becomes
    /// Set (to 1) by start.S when this hart arrived at the kernel's entry
    /// point instead of hb_secondary_entry, and was sent on from there.
    std::uint32_t misdirected;
    std::uint64_t expected_hart;
    /// Pending -> Online. Set by the hart itself after it has published its
    /// online bit and printed its line (release), read by the boot hart
    /// (acquire), so everything the hart wrote before is visible.
    std::atomic<std::uint32_t> state;
    /// The hart's proof of life: the id it received in a0.
    std::uint64_t witness_hart;
};
static_assert(offsetof(SecondaryBoot, stack_top) == HB_SECONDARY_BOOT_STACK_TOP);
static_assert(offsetof(SecondaryBoot, misdirected) == HB_SECONDARY_BOOT_MISDIRECTED);
static_assert(offsetof(SecondaryBoot, expected_hart) == HB_SECONDARY_BOOT_EXPECTED_HART);
static_assert(offsetof(SecondaryBoot, state) == HB_SECONDARY_BOOT_STATE);
static_assert(sizeof(SecondaryBoot) == HB_SECONDARY_BOOT_SIZE);
static_assert(kMaxCpus == HB_MAX_CPUS);
// [hb:end secondary_boot]

/// Unused is 0, the value of a block nobody wrote: a hart that finds it has
/// no published block. Pending is what the boot hart publishes (release).
enum class BootState : std::uint32_t { Unused = 0, Pending = 1, Online = 2, Offline = 3 };
static_assert(static_cast<std::uint32_t>(BootState::Pending) == HB_BOOT_STATE_PENDING);

/// The boot hart becomes CPU 0: its HartLocal is filled and installed in tp
/// (trap entry and current_cpu() rely on it), its FP unit is turned off,
/// and it marks itself online. First thing in every chapter from 02 on.
void init_boot_cpu(const BootInfo& boot);

/// Starts every other CPU in the topology, one at a time, each with a
/// time-bounded wait. Each one, once online, runs the chapter's
/// kmain_secondary. Returns the set of CPUs started (boot CPU included).
/// Panics if HSM is missing or a hart does not come up.
CpuSet start_secondaries(const BootInfo& boot);

/// The online mask and the witnesses, for the selftests.
OnlineMask& online_mask();
OnlineWitness witness(CpuId cpu);

/// This hart marks itself online (its CpuId comes from tp, not an argument),
/// and the audit log records it.
OnlineError mark_self_online();

// [hb:region hotplug]
/// Chapter 05, CPU offlining. This hart clears its own online bit (the
/// scheduler's offline path calls it under its runqueue lock).
OnlineError mark_self_offline();
/// The offline path's last step, on the CPU going offline, interrupts off,
/// its online bit already clear and its runqueue empty (`moved` tasks went
/// elsewhere): audit record, `KINIT: cpuN offline`, boot block Offline,
/// then SBI HSM hart_stop. Never returns.
[[noreturn]] void stop_this_cpu(std::uint32_t moved);
/// Has `cpu` finished going offline: its boot block says Offline and the
/// firmware reports its hart stopped?
bool is_stopped(CpuId cpu);
/// Starts a stopped CPU again through HSM hart_start, into the same entry
/// as at boot (hb_secondary_main, then kmain_secondary). Returns the SBI
/// error (Success when the start was accepted); the caller then waits, time
/// bounded, for is_back_online.
sbi_error_t restart_cpu(CpuId cpu);
bool is_back_online(CpuId cpu);
/// How many times `cpu` has come online in this boot (1 after bring-up).
std::uint32_t online_count(CpuId cpu);
// [hb:end hotplug]

}  // namespace hb::smp

namespace hb {
/// What a secondary CPU does once it is online: each chapter's kmain.cpp
/// defines it, next to kmain, as the flat list of its per-CPU steps. When
/// it returns, the hart sleeps for good.
void kmain_secondary(CpuId cpu);
}  // namespace hb
