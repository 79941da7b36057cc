// Kernel stacks: per CPU, three slots, each a guard page below a stack.
//
//   slot (64 KiB, 64 KiB aligned):  [ guard page 4 KiB | stack 60 KiB ... top ]
//
//   Kernel    the stack the CPU boots and runs its kernel code on
//   Trap      where a trap from user mode lands (chapter 03)
//   Emergency where a trap lands when the interrupted kernel stack has run
//             into its guard page, so the overflow can be reported
//
// The guard page is part of the slot so that, once paging is on
// (chapter 03), leaving it unmapped turns a stack overflow into a page
// fault on the hart that overflowed instead of silent corruption of the
// neighbour's stack. The seed project lost .bss to 16 KiB stacks; 60 KiB
// leaves room for the selftests' frames.
#pragma once

#include <cstddef>
#include <cstdint>

#include "lib/asm_abi.h"
#include "lib/ids.hpp"

namespace hb {

inline constexpr std::size_t kPageSize = HB_PAGE_SIZE;
inline constexpr std::size_t kStackSlotSize = HB_STACK_SLOT_SIZE;
inline constexpr std::size_t kStackSize = HB_STACK_SIZE;

// [hb:region stack_slot]
struct alignas(HB_STACK_SLOT_SIZE) StackSlot {
    std::uint8_t guard[kPageSize];
    std::uint8_t stack[kStackSize];
};
static_assert(sizeof(StackSlot) == HB_STACK_SLOT_SIZE, "start.S computes slot 0's top from this");
static_assert((kStackSlotSize & (kStackSlotSize - 1)) == 0, "trap entry masks sp with SLOT - 1");
// [hb:end stack_slot]

/// A user-mode stack: one page, placed in .user.stack (mapped U|R|W) by
/// whoever owns it (per CPU in chapter 03, per task in chapter 04).
struct alignas(HB_PAGE_SIZE) UserStack {
    std::uint8_t bytes[kPageSize];
};

enum class StackKind { Kernel, Trap, Emergency };
inline constexpr std::size_t kStackKinds = 3;

/// Lowest usable address of a stack (just above its guard page).
std::uintptr_t stack_bottom(StackKind kind, CpuId cpu);
/// One past the highest address: the initial sp.
std::uintptr_t stack_top(StackKind kind, CpuId cpu);
/// The guard page below a stack.
std::uintptr_t stack_guard(StackKind kind, CpuId cpu);

/// The kernel stack (the one a CPU boots on).
inline std::uintptr_t stack_top(CpuId cpu) { return stack_top(StackKind::Kernel, cpu); }
inline std::uintptr_t stack_bottom(CpuId cpu) { return stack_bottom(StackKind::Kernel, cpu); }

/// Which stack slot holds `addr`, if any: for reports ("guard page of cpu1's
/// kernel stack") and for the trap-stack checks.
struct StackLocation {
    bool found = false;
    StackKind kind = StackKind::Kernel;
    CpuId cpu{};
    bool in_guard = false;
};
StackLocation locate_stack(std::uintptr_t addr);

/// Bounds of all stack slots (for the page-table builder).
std::uintptr_t stacks_begin();
std::uintptr_t stacks_end();

const char* stack_kind_name(StackKind kind);

}  // namespace hb
