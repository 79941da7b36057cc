// Kernel stacks: one slot per CPU, each a guard page followed by the stack.
//
//   slot k:  [ guard page (4 KiB) | stack (64 KiB) ... top ]
//
// The guard page is part of the slot so that, once paging is on
// (chapter 03), leaving it unmapped turns a stack overflow into a page
// fault on the hart that overflowed instead of silent corruption of the
// neighbour's stack. The seed project lost .bss to 16 KiB stacks; 64 KiB
// leaves room for the selftests' frames.
#pragma once

#include <cstddef>
#include <cstdint>

#include "arch/riscv/asm_offsets.h"
#include "lib/ids.hpp"

namespace hb {

inline constexpr std::size_t kPageSize = HB_PAGE_SIZE;
inline constexpr std::size_t kStackSize = HB_STACK_SIZE;

struct alignas(HB_PAGE_SIZE) StackSlot {
    std::uint8_t guard[kPageSize];
    std::uint8_t stack[kStackSize];
};
static_assert(sizeof(StackSlot) == HB_STACK_SLOT_SIZE, "start.S computes slot 0's top from this");

/// Lowest usable address of `cpu`'s stack (just above its guard page).
std::uintptr_t stack_bottom(CpuId cpu);
/// One past the highest address: the initial sp.
std::uintptr_t stack_top(CpuId cpu);
/// The guard page below `cpu`'s stack.
std::uintptr_t stack_guard(CpuId cpu);

}  // namespace hb
