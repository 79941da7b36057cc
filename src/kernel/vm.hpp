// The kernel's Sv39 address space (chapter 03): identity-mapped, with the
// guard page of every stack slot left unmapped.
#pragma once

#include <cstdint>

#include "kernel/boot.hpp"
#include "lib/sv39.hpp"

namespace hb::vm {

/// Builds the kernel address space once, on the boot hart, before any
/// other hart starts. Fails loudly (FAIL line, power-off) on error.
void build_kernel_space(const BootInfo& boot);

/// Turns on Sv39 on this hart with the kernel space. Each hart calls it.
void enable_on_this_hart();

/// The built space, for selftests that walk it.
const sv39::AddressSpace& kernel_space();

/// This CPU's user stack (one page, mapped U|R|W).
std::uintptr_t user_stack_top(CpuId cpu);
std::uintptr_t user_stack_bottom(CpuId cpu);

}  // namespace hb::vm
