// Chapter 01 selftests, reused by every later chapter (the ladder is
// cumulative).
#pragma once

#include "kernel/boot.hpp"

namespace hb::ch01 {

/// `KSELFTEST: newtypes ok`: the identifier types, CPU sets and the
/// topology table behave on the target as the host tests say they do.
void selftest_newtypes(const BootInfo& boot);

}  // namespace hb::ch01
