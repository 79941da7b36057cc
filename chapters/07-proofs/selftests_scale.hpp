// Chapter 07's scaling demos (two milestones: processes, then threads), chosen
// by a boot argument of the same kernel image:
//
//   scale=process workers=N   N worker processes, one thread each
//   scale=thread  workers=N   one process, N sibling threads
//   scale=limit               every hart computes its share directly, in
//                             S-mode: no scheduler, no ticks, no user mode
//   scale_serial=yes          (thread) join each thread before creating the
//                             next: a serialized runtime, which must be refused
//
// Each run counts the primes of [2, 3,000,000) (lib/primes.hpp), verifies
// the sum, and prints one line, `SCALE: mode=... workers=... cpus=...
// ticks=... checksum=... compute_us=... peak=... parallel_us=...`, which
// tools/scale.py collects over alternating runs at -smp 1, 2 and 4.
#pragma once

#include <cstdint>

#include "kernel/boot.hpp"
#include "lib/cpuset.hpp"

namespace hb::ch07 {

enum class ScaleMode : std::uint8_t { Off, Process, Thread, Limit };
ScaleMode scale_mode(const BootArgs& args);

/// scale=process|thread: the demo's parent task (spawned on cpu0 instead of
/// the selftest task). Powers off: success after a verified run, failure
/// with `KSELFTEST: <mode> scale FAIL <reason>` otherwise.
void scale_task(std::uint64_t);

/// KSELFTEST: thread handles ok. A joined thread's handle is refused when
/// joined again, and after its slot was reused by a new thread (which it
/// must not reach); the new thread then joins normally. Uses one process.
void selftest_thread_handles();

/// scale=limit, on the boot CPU once the secondaries are started. Never
/// returns.
[[noreturn]] void run_limit(CpuSet started);
/// scale=limit, on every other hart before its scheduler loop: compute this
/// hart's share and park. Returns at once in every other mode.
void limit_on_secondary(CpuId cpu);

}  // namespace hb::ch07
