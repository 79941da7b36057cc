// Chapter 04: the scheduler's selftests and the controller task that runs
// them once every CPU is scheduling.
#pragma once

#include "kernel/boot.hpp"
#include "kernel/sched.hpp"

namespace hb::ch04 {

/// `KSELFTEST: test_reject_enqueue_full ok`, on the boot CPU's real
/// runqueue before its scheduler starts.
void selftest_reject_enqueue_full();

/// Spawns the controller and the QoS-order probes on the boot CPU. The
/// controller runs the chapter's remaining selftests, then calls `next`
/// (a later chapter's tests; null: none) and powers off.
using Continuation = void (*)(const BootInfo& boot);
void spawn_controller(const BootInfo& boot, Continuation next = nullptr);

/// Chapter 04 in full, for this and later chapters: chapters 02-03 with
/// every secondary entering its scheduler, the selftests, and the boot CPU
/// becoming a scheduler too. Never returns.
[[noreturn]] void run(const BootInfo& boot, Continuation next = nullptr);

}  // namespace hb::ch04
