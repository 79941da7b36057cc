// Chapter 02 selftests.
#pragma once

#include "kernel/boot.hpp"
#include "kernel/smp.hpp"
#include "lib/cpuset.hpp"

namespace hb::ch02 {

/// `KSELFTEST: test_reject_foreign_online ok`: a CPU cannot mark another CPU
/// online, and a forged bit without the hart's own witness is caught.
void selftest_reject_foreign_online(const BootInfo& boot);

/// `KSELFTEST: smp online ok` (SMP only): the online mask equals the set of
/// CPUs started, and each bit is backed by that hart's own witness.
void selftest_smp_online(const BootInfo& boot, CpuSet expected);

}  // namespace hb::ch02

namespace hb::ch02 {

/// Chapter 02's whole contribution, for this and every later chapter:
/// the boot CPU's HartLocal, every other hart started (each then runs
/// `then`), and both chapter-02 selftests. Returns the CPUs online.
CpuSet bring_up(const BootInfo& boot, smp::SecondaryWork then = nullptr);

}  // namespace hb::ch02
