// Threads of a process (chapter 07): sibling tasks in one address space.
//
// A thread is a task that runs a user program in its process's space
// (sched::SpawnSpace) on its own user stack, pinned to a CPU the creator
// chooses. Threads are named by generation-checked handles
// (lib/handle_table.hpp): joining ends the handle's life, so a second join,
// or a join with a handle kept across the slot's reuse, is refused as Stale
// and never reaches the thread that lives in the slot now.
#pragma once

#include <cstdint>

#include "kernel/process.hpp"
#include "lib/handle_table.hpp"
#include "lib/ids.hpp"
#include "lib/result.hpp"

namespace hb::proc {

/// Threads alive at once (over all processes).
inline constexpr std::uint32_t kMaxThreads = 8;

using ThreadHandle = Handle;

enum class ThreadError : std::uint8_t {
    None,
    TableFull,  ///< create: kMaxThreads threads are alive (created and not joined)
    NoTask,     ///< create: the scheduler refused the task (its SpawnError is logged by the caller)
    Stale,      ///< join: the handle's life has ended (joined already, or the slot was reused)
    OutOfRange, ///< join: the handle names no slot
    TimedOut,   ///< join: the thread did not exit within the wait
};
const char* thread_error_name(ThreadError e);

/// What a joined thread left behind.
struct ThreadExit {
    std::uint64_t value = 0;        ///< its EXIT value, or trap::kUserFaulted
    std::uint64_t start_ticks = 0;  ///< timer ticks when it entered user mode
    std::uint64_t end_ticks = 0;    ///< and when it came back
    CpuId cpu{};                    ///< where it ran
};

/// Starts a thread of `p` on `cpu` that runs `program` (in .user.text) with
/// a0 = `arg`. The caller is a task or the boot CPU; holds no lock.
Result<ThreadHandle, ThreadError> thread_create(Process& p, void (*program)(), std::uint64_t arg, CpuId cpu);

/// Waits (yielding, at most `timeout_us`) until the thread of `h` exited,
/// then ends the handle's life and returns what the thread left. A stale
/// handle is refused at once, and nothing changes.
Result<ThreadExit, ThreadError> thread_join(ThreadHandle h, std::uint64_t timeout_us);

/// Threads alive (created and not joined).
std::uint32_t threads_alive();

}  // namespace hb::proc
