#include "kernel/stacks.hpp"

// Slot 0 of hb_kernel_stacks is the boot hart's stack: start.S refers to it
// by name. All slots live in the NOLOAD .stacks section.
extern "C" {
[[gnu::section(".stacks")]] constinit hb::StackSlot hb_kernel_stacks[hb::kMaxCpus];
[[gnu::section(".stacks")]] constinit hb::StackSlot hb_trap_stacks[hb::kMaxCpus];
[[gnu::section(".stacks")]] constinit hb::StackSlot hb_emergency_stacks[hb::kMaxCpus];
}

namespace hb {
namespace {

StackSlot* slots(StackKind kind) {
    switch (kind) {
    case StackKind::Kernel: return hb_kernel_stacks;
    case StackKind::Trap: return hb_trap_stacks;
    case StackKind::Emergency: return hb_emergency_stacks;
    }
    return hb_kernel_stacks;
}

}  // namespace

std::uintptr_t stack_guard(StackKind kind, CpuId cpu) {
    return reinterpret_cast<std::uintptr_t>(&slots(kind)[cpu.raw()].guard[0]);
}
std::uintptr_t stack_bottom(StackKind kind, CpuId cpu) {
    return reinterpret_cast<std::uintptr_t>(&slots(kind)[cpu.raw()].stack[0]);
}
std::uintptr_t stack_top(StackKind kind, CpuId cpu) { return stack_bottom(kind, cpu) + kStackSize; }

StackLocation locate_stack(std::uintptr_t addr) {
    constexpr StackKind kKinds[] = {StackKind::Kernel, StackKind::Trap, StackKind::Emergency};
    for (StackKind kind : kKinds) {
        const auto base = reinterpret_cast<std::uintptr_t>(slots(kind));
        if (addr >= base && addr < base + kMaxCpus * kStackSlotSize) {
            const std::uintptr_t off = addr - base;
            return {true, kind, CpuId(static_cast<std::uint32_t>(off / kStackSlotSize)),
                    off % kStackSlotSize < kPageSize};
        }
    }
    return {};
}

std::uintptr_t stacks_begin() {
    const auto a = reinterpret_cast<std::uintptr_t>(hb_kernel_stacks);
    const auto b = reinterpret_cast<std::uintptr_t>(hb_trap_stacks);
    const auto c = reinterpret_cast<std::uintptr_t>(hb_emergency_stacks);
    return a < b ? (a < c ? a : c) : (b < c ? b : c);
}
std::uintptr_t stacks_end() {
    const auto a = reinterpret_cast<std::uintptr_t>(hb_kernel_stacks);
    const auto b = reinterpret_cast<std::uintptr_t>(hb_trap_stacks);
    const auto c = reinterpret_cast<std::uintptr_t>(hb_emergency_stacks);
    const auto hi = a > b ? (a > c ? a : c) : (b > c ? b : c);
    return hi + kMaxCpus * kStackSlotSize;
}

const char* stack_kind_name(StackKind kind) {
    switch (kind) {
    case StackKind::Kernel: return "kernel";
    case StackKind::Trap: return "trap";
    case StackKind::Emergency: return "emergency";
    }
    return "?";
}

}  // namespace hb
