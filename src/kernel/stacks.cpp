#include "kernel/stacks.hpp"

// Referenced by name from start.S (slot 0 is the boot hart's stack).
extern "C" {
[[gnu::section(".stacks")]] constinit hb::StackSlot hb_kernel_stacks[hb::kMaxCpus];
}

namespace hb {

std::uintptr_t stack_guard(CpuId cpu) {
    return reinterpret_cast<std::uintptr_t>(&hb_kernel_stacks[cpu.raw()].guard[0]);
}
std::uintptr_t stack_bottom(CpuId cpu) {
    return reinterpret_cast<std::uintptr_t>(&hb_kernel_stacks[cpu.raw()].stack[0]);
}
std::uintptr_t stack_top(CpuId cpu) { return stack_bottom(cpu) + kStackSize; }

}  // namespace hb
