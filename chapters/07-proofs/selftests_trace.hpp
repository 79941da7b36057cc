// Chapter 07: seeing the machine. The per-CPU trace (kernel/trace.hpp) is
// switched on around a short real workload and then checked against the
// counters the kernel keeps anyway, before it is dumped for the timeline.
#pragma once

#include "kernel/boot.hpp"

namespace hb::ch07 {

/// KSELFTEST: trace ring ok. With every other CPU asleep, tracing on, free
/// tasks queued on this (busy) CPU so that idle CPUs are kicked by IPI and
/// steal them, then everything asleep again and tracing off. Checks, per
/// CPU: nothing dropped, timestamps never go backwards, switch records ==
/// the `switches` delta, steal records == the `steals` delta, receive
/// records == the `trapped` delta; per target: send records (on every CPU)
/// == the `sent` delta, and every receive on a CPU is preceded by at least
/// as many sends to it; shootdown starts == the shootdown count delta. At
/// SMP=1 the same checks hold with switches only. Then dumps the trace as
/// TRACE lines (tools/timeline.py draws them).
void selftest_trace_ring(const BootInfo& boot);

}  // namespace hb::ch07
