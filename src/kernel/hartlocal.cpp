#include "kernel/hartlocal.hpp"

#include "kernel/fault.hpp"
#include "kernel/stacks.hpp"

namespace hb {
namespace {
constinit HartLocal g_hart_local[kMaxCpus]{};
}

HartLocal& hart_local(CpuId cpu) { return g_hart_local[cpu.raw()]; }

// [hb:region init_hart_local]
void init_hart_local(CpuId cpu, HartId hart) {
    HartLocal& hl = g_hart_local[cpu.raw()];
    hl.self = &hl;
    // Each CPU's own trap stack. (The mutation test `shared-trap-stack`
    // points every CPU at cpu0's, which is exactly the bug this prevents.)
    hl.trap_stack_top = stack_top(StackKind::Trap, cpu);
    if (fault_injected("shared-trap-stack")) hl.trap_stack_top = stack_top(StackKind::Trap, CpuId(0));
    hl.emergency_stack_top = stack_top(StackKind::Emergency, cpu);
    hl.kernel_context = 0;
    hl.scratch = 0;
    hl.cpu = cpu.raw();
    hl.hart = hart.raw();
}
// [hb:end init_hart_local]

void install_hart_local(CpuId cpu) {
    HartLocal* hl = &g_hart_local[cpu.raw()];
    asm volatile("mv tp, %0" ::"r"(hl) : "memory");
}

// [hb:region is_hart_local]
bool is_hart_local(const HartLocal* hl) {
    const auto p = reinterpret_cast<std::uintptr_t>(hl);
    const auto base = reinterpret_cast<std::uintptr_t>(&g_hart_local[0]);
    if (p < base || p >= base + sizeof(g_hart_local) || (p - base) % sizeof(HartLocal) != 0) return false;
    return hl->self == hl;
}
// [hb:end is_hart_local]

HartLocal& this_hart_local() {
    HartLocal* hl;
    asm volatile("mv %0, tp" : "=r"(hl));
    return *hl;
}

}  // namespace hb
