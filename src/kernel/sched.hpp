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
#include "kernel/trap.hpp"
#include "lib/asm_abi.h"
#include "lib/cpuset.hpp"
#include "lib/ids.hpp"
#include "lib/result.hpp"
#include "lib/runqueue.hpp"
#include "lib/shootdown.hpp"

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
    /// The CPU whose runqueue holds it or that runs it. A pinned task never
    /// leaves it; a free one (chapter 06) goes wherever it is stolen to.
    CpuId home{};
    Mobility mobility = Mobility::Pinned;
    /// Chapter 06: the address space it runs in (a process's satp; 0 = the
    /// kernel space) and that space's record of the CPUs it was active on.
    std::uint64_t satp = 0;
    ActiveSet* active = nullptr;
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

enum class SpawnError { NoFreeTask, BadCpu, Offline, QueueFull, InvalidQos };
const char* spawn_error_name(SpawnError e);

/// Creates a task running entry(arg) on `home` and makes it runnable there,
/// then wakes `home` if it is another CPU (Config::wake_remote, after the
/// runqueue lock is released). Returns the task, or why not: Offline means
/// `home` is not online (checked under its runqueue lock, so a CPU going
/// offline never strands it); QueueFull / InvalidQos mean the runqueue
/// refused it; the task is released again, nothing is half-created, and the
/// caller decides what to do.
/// The address space a task runs in (chapter 06): a process's satp and its
/// ActiveSet. The default is the kernel space.
struct SpawnSpace {
    std::uint64_t satp = 0;
    ActiveSet* active = nullptr;
};
Result<Task*, SpawnError> spawn(const char* name, void (*entry)(std::uint64_t), std::uint64_t arg, QosClass qos,
                                CpuId home, Mobility mobility = Mobility::Pinned, SpawnSpace space = {});

/// Gives up the CPU; the task stays runnable (back of its class).
void yield();
/// Ends the calling task.
[[noreturn]] void exit_task();

// [hb:region config]
/// When a CPU takes timer ticks.
enum class TickPolicy : std::uint8_t {
    /// Chapter 04: every CPU ticks every kTickUs, busy or idle. A CPU finds
    /// work queued by another CPU at its next tick, so no IPI is needed.
    Periodic,
    /// Chapter 05: a CPU ticks only while another task waits on its
    /// runqueue (someone to share with). Idle CPUs and CPUs running their
    /// only task take no ticks, so work queued from elsewhere reaches them
    /// only through `wake_remote`: a missing wake-up is a task that never
    /// runs, not a 1 ms delay.
    Tickless,
};

/// How the scheduler is composed (each chapter's kmain chooses).
struct Config {
    TickPolicy tick = TickPolicy::Periodic;
    /// Called after a task was queued on another CPU's runqueue (the lock
    /// released): make that CPU look at its queue. Null in chapter 04, where
    /// the tick does it; chapter 05 passes the reschedule IPI.
    void (*wake_remote)(CpuId target) = nullptr;
    /// Chapter 06: a CPU about to go idle steals free tasks from the others,
    /// and free work queued where it cannot run now kicks an idle CPU.
    bool steal = false;
};
// [hb:end config]

/// The kernel's one door to a steal (the scheduler's policy and the
/// selftests both go through it): Queue::steal under the victim's lock.
/// The caller must hold no runqueue lock (lock rule 1 checks it).
StealOutcome steal_from(RunQueue& victim, QosClass q, std::uint32_t n, StealBatch& out);

/// Boot-time setup of every CPU's scheduler state (boot CPU, before any task).
/// Tickless needs wake_remote (panics otherwise).
void init(const BootInfo& boot, Config config = {});

/// The reschedule IPI's work on the CPU that took it (kernel/ipi.cpp calls
/// it after the ack): idle (or a CPU asked to go offline) goes back to the
/// scheduler loop; a busy CPU ticks again if someone now waits here.
void on_resched(trap::TrapFrame& frame);

/// Asks `cpu` to go offline: its scheduler loop moves every queued task to
/// another online CPU, clears its own online bit, stops its tick and stops
/// the hart (smp::stop_this_cpu). False if `cpu` is not online or is the
/// caller's own CPU. Then wait (time-bounded) for smp::is_stopped.
bool request_offline(CpuId cpu);

/// Is `cpu` sleeping in its idle task with no tick armed? (Set by idle just
/// before WFI, with interrupts off; cleared when it wakes.) Then only an IPI
/// can make it run anything.
bool idle_tickless(CpuId cpu);
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
    std::uint64_t resched_ipis;  ///< reschedule IPIs handled
    std::uint64_t tick_stops;    ///< times the tick was stopped (nobody to share with)
    std::uint64_t steals;        ///< chapter 06: successful steals by this CPU
    std::uint64_t stolen;        ///< tasks this CPU took in them
    std::uint64_t kicks;         ///< idle CPUs this CPU woke to steal
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
    std::atomic<std::uint64_t> resched_ipis{0};
    std::atomic<std::uint64_t> tick_stops{0};
    /// Chapter 05. Is this CPU's timer armed for a tick? (own CPU only)
    bool tick_armed = false;
    /// Idle is in WFI with no tick armed (other CPUs read it).
    std::atomic<bool> sleeping_tickless{false};
    /// Chapter 06: the satp this CPU runs with now (0: not set yet).
    std::uint64_t satp_now = 0;
    /// Another CPU asked this one to go offline.
    std::atomic<bool> offline_requested{false};
    /// Chapter 06. The scheduler loop is running idle (other CPUs read it to
    /// pick a CPU to kick), and the steal statistics.
    std::atomic<bool> in_idle{false};
    std::atomic<std::uint64_t> steals{0};
    std::atomic<std::uint64_t> stolen{0};
    std::atomic<std::uint64_t> kicks{0};
};
// [hb:end cpu_sched]

/// Where an address is, if it is on a task's stack.
bool locate_task_stack(std::uintptr_t addr, Task*& task, bool& trap_stack);
std::uintptr_t task_user_stack_top(const Task& t);
std::uintptr_t task_user_stack_bottom(const Task& t);
std::uintptr_t task_trap_stack_bottom(const Task& t);

}  // namespace hb::sched
