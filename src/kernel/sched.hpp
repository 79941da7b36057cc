// Tasks and per-CPU scheduling (chapter 04).
//
// Every online CPU runs its own scheduler loop on its own runqueue, at the
// same time as the others. A task is pinned to a home CPU (chapter 06 adds
// stealing); the only cross-CPU operation is enqueueing onto another CPU's
// runqueue, through that runqueue's lock (the one documented boundary).
//
// Lock order (lib/runqueue.hpp, the book): a task may hold at most one
// runqueue lock, and a runqueue lock is a leaf: nothing else is taken,
// printed or allocated while it is held; no lock is held across a context
// switch. Every kernel lock masks interrupts on its hart while held, and
// checks these rules itself (kernel/irqlock.hpp).
#pragma once

#include <atomic>
#include <cstdint>

#include "kernel/boot.hpp"
#include "kernel/irqlock.hpp"
#include "lib/asm_abi.h"
#include "lib/cpuset.hpp"
#include "lib/ids.hpp"
#include "lib/result.hpp"
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
/// Tasks the kernel can have at once. Each has two 64 KiB stack slots and a
/// user stack page (8.3 MiB of .stacks for all of them). 64, not 32: at
/// kMaxCpus CPUs, chapter 04's per-CPU test alone runs 4 tasks on each CPU
/// beside the selftest task, and 32 slots ran out at -smp 8.
inline constexpr std::uint32_t kMaxTasks = 64;
static_assert(kMaxTasks <= kRunQueueCapacityPerClass,
              "a runqueue class can hold every task, so a requeue of a task "
              "that was just dequeued can never be refused");

/// Timer tick period: preemption granularity.
inline constexpr std::uint64_t kTickUs = 1000;

using RunQueue = LockedRunQueue<IrqSpinLockOf<LockClass::RunQueue>>;
// [hb:end limits]

enum class SpawnError { NoFreeTask, BadCpu, QueueFull, InvalidQos };
const char* spawn_error_name(SpawnError e);

/// Creates a task running entry(arg) on `home` and makes it runnable there.
/// Returns the task, or why not: QueueFull / InvalidQos mean the runqueue
/// refused it; the task is released again, nothing is half-created, and the
/// caller decides what to do.
Result<Task*, SpawnError> spawn(const char* name, void (*entry)(std::uint64_t), std::uint64_t arg, QosClass qos,
                                CpuId home);

/// Gives up the CPU; the task stays runnable (back of its class).
void yield();
/// Ends the calling task.
[[noreturn]] void exit_task();

/// Boot-time setup of every CPU's scheduler state (boot CPU, before any task).
void init(const BootInfo& boot);
/// Runs this CPU's scheduler loop forever. Each CPU calls it last.
[[noreturn]] void run_scheduler();

/// This CPU's runqueue (and another's, for the cross-CPU boundary).
RunQueue& runqueue(CpuId cpu);
Task* current_task();
Task* task_by_id(TaskId id);

/// Per-CPU statistics for the selftests.
struct CpuStats {
    std::uint64_t ticks;
    std::uint64_t user_ticks;  ///< ticks that interrupted user mode
    std::uint64_t switches;
    std::uint64_t idle_wakeups;
};
CpuStats stats(CpuId cpu);

// [hb:region cpu_sched]
/// The scheduler's section of a CPU's PerCpu block (kernel/percpu.hpp).
/// Only its own CPU touches it, except `rq`, whose lock is the one
/// cross-CPU boundary (remote spawns enqueue through it), and the
/// statistics, which other CPUs read.
struct CpuSched {
    RunQueue rq;
    Task* current = nullptr;  ///< the task running on this CPU, or null in the scheduler loop
    Task idle;                ///< runs when the runqueue is empty; sleeps in WFI
    Context scheduler{};      ///< the scheduler loop's own context
    // Written only by this CPU, read by the selftests on others: atomics
    // (relaxed: they are statistics, nothing is published through them).
    std::atomic<std::uint64_t> ticks{0};
    std::atomic<std::uint64_t> user_ticks{0};
    std::atomic<std::uint64_t> switches{0};
    std::atomic<std::uint64_t> idle_wakeups{0};
};
// [hb:end cpu_sched]

/// Where an address is, if it is on a task's stack.
bool locate_task_stack(std::uintptr_t addr, Task*& task, bool& trap_stack);
std::uintptr_t task_user_stack_top(const Task& t);
std::uintptr_t task_user_stack_bottom(const Task& t);
std::uintptr_t task_trap_stack_bottom(const Task& t);

}  // namespace hb::sched
