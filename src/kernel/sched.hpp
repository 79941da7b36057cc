// Tasks and per-CPU scheduling (chapter 04).
//
// Every online CPU runs its own scheduler loop on its own runqueue, at the
// same time as the others. A task is pinned to a home CPU (chapter 06 adds
// stealing); the only cross-CPU operation is enqueueing onto another CPU's
// runqueue, through that runqueue's lock (the one documented boundary).
//
// Lock order (also in the book): a task may hold at most one runqueue lock,
// and a runqueue lock is a leaf: nothing else is taken, printed or
// allocated while it is held. Runqueue locks and the console lock keep
// interrupts off on their hart while held (IrqSpinLock).
#pragma once

#include <atomic>
#include <cstdint>

#include "kernel/boot.hpp"
#include "kernel/irqlock.hpp"
#include "lib/asm_abi.h"
#include "lib/cpuset.hpp"
#include "lib/ids.hpp"
#include "lib/runqueue.hpp"

namespace hb::sched {

// [hb:region task]
/// The registers a switch saves (see switch.S): ra, sp, s0..s11.
struct Context {
    std::uint64_t ra;
    std::uint64_t sp;
    std::uint64_t s[12];
};
static_assert(sizeof(Context) == HB_CTX_SIZE);

enum class TaskState : std::uint32_t { Free, Runnable, Running, Exited };

/// A task: a kernel thread with its own kernel stack and its own trap stack
/// (where its user-mode traps land), pinned to a home CPU.
struct Task {
    TaskId id{};
    QosClass qos = QosClass::Normal;
    CpuId home{};
    std::atomic<std::uint32_t> state{static_cast<std::uint32_t>(TaskState::Free)};
    Context ctx{};
    void (*entry)(std::uint64_t) = nullptr;
    std::uint64_t arg = 0;
    std::uintptr_t trap_stack_top = 0;
    /// While the task is in user mode: its parked kernel context (the
    /// HartLocal field of that name belongs to whichever task runs, so the
    /// switch saves and restores it per task).
    std::uintptr_t kernel_context = 0;
    /// The CPU running it now (kMaxCpus when none): the validated fallback
    /// of current_cpu() and the "ran only on its home CPU" check read it.
    std::atomic<std::uint32_t> on_cpu{kMaxCpus};
    std::uint32_t switches_in = 0;  ///< times a CPU switched to it
    /// Timer ticks that preempted it in user mode; each one's trap frame was
    /// checked to be on this task's own trap stack.
    std::uint32_t user_preemptions = 0;
    const char* name = "";
};
// [hb:end task]

// [hb:region limits]
/// Tasks the kernel can have at once. Each has two 64 KiB stack slots.
inline constexpr std::uint32_t kMaxTasks = 32;
static_assert(kMaxTasks <= kRunQueueCapacityPerClass,
              "a runqueue class can hold every task, so a requeue of a task "
              "that was just dequeued can never be refused");

/// Timer tick period: preemption granularity.
inline constexpr std::uint64_t kTickUs = 1000;

using RunQueue = LockedRunQueue<IrqSpinLock>;
// [hb:end limits]

enum class SpawnError { None, NoFreeTask, BadCpu, QueueFull, InvalidQos };
const char* spawn_error_name(SpawnError e);

/// Creates a task running entry(arg) on `home` and makes it runnable there.
/// QueueFull / InvalidQos: the runqueue refused it; the task is released
/// again, nothing is half-created, and the caller decides what to do.
SpawnError spawn(const char* name, void (*entry)(std::uint64_t), std::uint64_t arg, QosClass qos, CpuId home,
                 Task** out = nullptr);

/// Gives up the CPU; the task stays runnable (back of its class).
void yield();
/// Ends the calling task.
[[noreturn]] void exit_task();

/// Runs this CPU's scheduler loop forever. Call once per CPU after init.
[[noreturn]] void run_scheduler();
/// Boot-time setup of every CPU's scheduler state (boot CPU, before any task).
void init(const BootInfo& boot);

/// This CPU's runqueue (and another's, for the cross-CPU boundary).
RunQueue& runqueue(CpuId cpu);
Task* current_task();
Task* task_by_id(TaskId id);

// [hb:region current_cpu]
/// The CPU this code runs on. Fast path: tp -> HartLocal, validated (the
/// pointer must be one of the HartLocal blocks and point at itself). If the
/// check fails, a fallback finds the CPU from independent evidence: which
/// stack sp is on (a per-CPU stack names its CPU; a task stack names its
/// task, whose on_cpu the scheduler set), repairs tp and counts the event.
CpuId current_cpu();
std::uint64_t cpuid_fallbacks();
// [hb:end current_cpu]

/// Per-CPU statistics for the selftests.
struct CpuStats {
    std::uint64_t ticks;
    std::uint64_t user_ticks;  ///< ticks that interrupted user mode
    std::uint64_t switches;
    std::uint64_t idle_wakeups;
};
CpuStats stats(CpuId cpu);

/// Where an address is, if it is on a task's stack.
bool locate_task_stack(std::uintptr_t addr, Task*& task, bool& trap_stack);
std::uintptr_t task_user_stack_top(const Task& t);
std::uintptr_t task_user_stack_bottom(const Task& t);
std::uintptr_t task_trap_stack_bottom(const Task& t);

}  // namespace hb::sched
