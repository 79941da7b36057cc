#include "kernel/hartlocal.hpp"

#include <atomic>

#include "arch/riscv/csr.hpp"
#include "kernel/fault.hpp"
#include "kernel/panic.hpp"
#include "kernel/stacks.hpp"

namespace hb {
namespace {
constinit HartLocal g_hart_local[kMaxCpus]{};
constinit std::atomic<std::uint64_t> g_fallbacks{0};
constinit TaskStackLocator g_task_stack_locator = nullptr;
}  // namespace

HartLocal& hart_local(CpuId cpu) { return g_hart_local[cpu.raw()]; }

// [hb:region init_hart_local]
void init_hart_local(CpuId cpu, HartId hart) {
    HartLocal& hl = g_hart_local[cpu.raw()];
    hl.self = &hl;
    // Each CPU's own trap stack: two harts trapping at once never share one.
    hl.trap_stack_top = stack_top(StackKind::Trap, cpu);
    if (HB_FAULT(SharedTrapStack)) hl.trap_stack_top = stack_top(StackKind::Trap, CpuId(0));  // [hb:fault]
    hl.emergency_stack_top = stack_top(StackKind::Emergency, cpu);
    hl.kernel_context = 0;
    hl.scratch = 0;
    hl.cpu = cpu.raw();
    hl.hart = hart.raw();
}
// [hb:end init_hart_local]

// [hb:region install_hart_local]
void install_hart_local(CpuId cpu) { arch::write_tp(reinterpret_cast<std::uintptr_t>(&g_hart_local[cpu.raw()])); }
// [hb:end install_hart_local]

// [hb:region is_hart_local]
bool is_hart_local(const HartLocal* hl) {
    const auto p = reinterpret_cast<std::uintptr_t>(hl);
    const auto base = reinterpret_cast<std::uintptr_t>(&g_hart_local[0]);
    if (p < base || p >= base + sizeof(g_hart_local) || (p - base) % sizeof(HartLocal) != 0) return false;
    return hl->self == hl;
}
// [hb:end is_hart_local]

const HartLocal* hart_local_if_valid() {
    const auto* hl = reinterpret_cast<const HartLocal*>(arch::read_tp());
    return is_hart_local(hl) ? hl : nullptr;
}

void set_task_stack_locator(TaskStackLocator locate) { g_task_stack_locator = locate; }

// [hb:region current_cpu_impl]
CpuId current_cpu() {
    if (const HartLocal* hl = hart_local_if_valid()) return CpuId(hl->cpu);  // the fast path

    // Fallback: work out the CPU from the stack we are running on.
    volatile std::uint8_t probe = 0;
    const auto sp = reinterpret_cast<std::uintptr_t>(&probe);
    CpuId cpu{};
    const StackLocation where = locate_stack(sp);
    if (where.found) {
        cpu = where.cpu;  // a per-CPU stack names its CPU
    } else if (g_task_stack_locator == nullptr || !g_task_stack_locator(sp, cpu)) {
        HB_PANIC("current_cpu: tp ", Hex{arch::read_tp()}, " is no HartLocal and sp ", Hex{sp},
                 " is on no known stack");
    }
    install_hart_local(cpu);  // repair tp
    // relaxed: a statistic; the selftest reads it on the same CPU.
    g_fallbacks.fetch_add(1, std::memory_order_relaxed);
    return cpu;
}
std::uint64_t cpuid_fallbacks() { return g_fallbacks.load(std::memory_order_relaxed); }
// [hb:end current_cpu_impl]

}  // namespace hb
