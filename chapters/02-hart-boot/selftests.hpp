// Chapter 02 selftests, reused by every later chapter (the ladder is
// cumulative).
#pragma once

#include "kernel/boot.hpp"
#include "lib/cpuset.hpp"

namespace hb::ch02 {

/// `KSELFTEST: smp online ok` (SMP only): the online mask equals the set of
/// CPUs started, and each bit is backed by that hart's own witness.
void selftest_smp_online(const BootInfo& boot, CpuSet started);

/// `KSELFTEST: test_reject_foreign_online ok`: a CPU cannot mark another CPU
/// online, and a bit without the hart's own witness is caught.
void selftest_reject_foreign_online(const BootInfo& boot);

}  // namespace hb::ch02
