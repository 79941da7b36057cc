#include "kernel/percpu.hpp"

#include "kernel/hartlocal.hpp"

namespace hb {
namespace {
constinit PerCpu g_percpu[kMaxCpus]{};
}

PerCpu& percpu(CpuId cpu) { return g_percpu[cpu.raw()]; }
PerCpu& this_percpu() { return g_percpu[current_cpu().raw()]; }

}  // namespace hb
