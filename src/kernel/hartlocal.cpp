#include "kernel/hartlocal.hpp"

namespace hb {
namespace {
constinit HartLocal g_hart_local[kMaxCpus]{};
}

HartLocal& hart_local(CpuId cpu) { return g_hart_local[cpu.raw()]; }

void init_hart_local(CpuId cpu, HartId hart, std::uintptr_t stack_top) {
    HartLocal& hl = g_hart_local[cpu.raw()];
    hl.self = &hl;
    hl.trap_stack_top = stack_top;
    hl.scratch = 0;
    hl.cpu = cpu.raw();
    hl.hart = hart.raw();
}

void install_hart_local(CpuId cpu) {
    HartLocal* hl = &g_hart_local[cpu.raw()];
    asm volatile("mv tp, %0" ::"r"(hl) : "memory");
}

HartLocal& this_hart_local() {
    HartLocal* hl;
    asm volatile("mv %0, tp" : "=r"(hl));
    return *hl;
}

}  // namespace hb
