// The kernel's event trace (chapter 07): one bounded ring per CPU
// (lib/trace_ring.hpp) recording task switches, idle, steals, IPIs and TLB
// shootdowns, dumped as `TRACE:` lines after a run and drawn as a timeline
// by tools/timeline.py.
//
// Off by default: every hook is one relaxed load of the enable flag and a
// not-taken branch, so the kernels of chapters 01-06 behave exactly as
// before. Chapter 07's selftest switches it on for one window.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "lib/ids.hpp"
#include "lib/trace_ring.hpp"

namespace hb::trace {

/// Records per CPU. A window of a few hundred events per CPU is what the
/// chapter 07 selftest and one timeline figure need; 256 x 16 bytes x
/// kMaxCpus = 32 KiB of .bss. A longer run keeps its beginning and counts
/// the rest as dropped (see lib/trace_ring.hpp for why not the end).
inline constexpr std::size_t kRecordsPerCpu = 256;
using Ring = TraceRing<kRecordsPerCpu>;

namespace detail {
/// Read by every hook; written only by start()/stop().
extern std::atomic<bool> g_enabled;
void record_slow(TraceEvent kind, std::uint32_t arg, std::uint16_t arg16);
}  // namespace detail

// [hb:region trace_record_api]
/// Records `kind` by the calling CPU at now_ticks(), if tracing is on.
/// Safe from any context, trap handlers included: the record is written
/// with interrupts masked, so a trap cannot interleave with it on this
/// CPU, and only this CPU writes its own ring.
inline void record(TraceEvent kind, std::uint32_t arg = 0, std::uint16_t arg16 = 0) {
    // Relaxed: a hook that misses the flag by a moment records one event
    // less at the edge of the window; start()/stop() are called while the
    // other CPUs sleep, so inside a selftest there is no such edge.
    if (!detail::g_enabled.load(std::memory_order_relaxed)) return;
    detail::record_slow(kind, arg, arg16);
}
// [hb:end trace_record_api]

/// Empties every ring and turns tracing on, then records Begin with
/// `running_task` on this CPU: the task already running when the window
/// opened (no switch to it will be traced). Call while no other CPU records
/// (they sleep, or tracing was off): reset is not concurrent-safe.
void start(std::uint32_t running_task);
/// Turns tracing off. Records made already stay readable.
void stop();
/// Is tracing on?
bool enabled();

/// `cpu`'s ring, for selftests (read it with published()/at()/for_each).
const Ring& ring(CpuId cpu);

/// Prints every record of CPUs [0, cpus) as
/// `TRACE: cpu1 t=123456 switch task=5`, then per CPU
/// `TRACE: cpu1 records=N dropped=D`. At most kRecordsPerCpu + 1 lines per CPU.
void dump(std::uint32_t cpus);

}  // namespace hb::trace
