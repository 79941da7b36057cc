#include "kernel/sched.hpp"

#include "arch/riscv/csr.hpp"
#include "arch/riscv/sbi.hpp"
#include "kernel/audit.hpp"
#include "kernel/console.hpp"
#include "kernel/fault.hpp"
#include "kernel/hartlocal.hpp"
#include "kernel/panic.hpp"
#include "kernel/percpu.hpp"
#include "kernel/smp.hpp"
#include "kernel/stacks.hpp"
#include "kernel/trace.hpp"
#include "kernel/trap.hpp"
#include "kernel/vm.hpp"
#include "kernel/wait.hpp"

extern "C" void hb_context_switch(hb::sched::Context* from, hb::sched::Context* to);
// Fault switch-drops-s7's switch (arch/riscv/regcheck.S): s7 neither saved nor restored.
extern "C" void hb_context_switch_lossy(hb::sched::Context* from, hb::sched::Context* to);
extern "C" char hb_task_trampoline[];

// Every task owns a kernel stack and a trap stack (guard pages included,
// mapped by vm like every slot in .stacks) and one user stack page.
extern "C" {
[[gnu::section(".stacks")]] constinit hb::StackSlot hb_task_stacks[hb::sched::kMaxTasks];
[[gnu::section(".stacks")]] constinit hb::StackSlot hb_task_trap_stacks[hb::sched::kMaxTasks];
[[gnu::section(".user.stack")]] constinit hb::UserStack hb_task_user_stacks[hb::sched::kMaxTasks];
}

namespace hb::sched {
namespace {

constinit Task g_tasks[kMaxTasks]{};
constinit IrqSpinLockOf<LockClass::TaskTable> g_task_table_lock;
constinit std::uint32_t g_cpu_count = 1;
constinit Config g_config{};
/// The timer's "never": set_timer to it disarms (and clears a pending tick).
constexpr std::uint64_t kNoTimer = ~std::uint64_t{0};
// Fault serialize-scheduler: one big lock around every CPU's task execution.
constinit BasicSpinLock<PauseRelax> g_big_lock;

CpuSched& this_cpu_sched() { return this_percpu().sched; }

// [hb:region build_context]
/// A fresh context: the first switch to it "returns" into the trampoline,
/// on an empty kernel stack, with s0 = the task.
void build_context(Task& t, std::uintptr_t kernel_stack_top, std::uintptr_t trap_stack_top) {
    t.ctx = Context{};
    t.ctx.ra = reinterpret_cast<std::uintptr_t>(hb_task_trampoline);
    t.ctx.sp = kernel_stack_top;
    t.ctx.s[0] = reinterpret_cast<std::uintptr_t>(&t);
    t.trap_stack_top = trap_stack_top;
    t.kernel_context = 0;
}

void build_context(Task& t) {
    const auto index = static_cast<std::size_t>(&t - g_tasks);  // t is in the table
    build_context(t, reinterpret_cast<std::uintptr_t>(&hb_task_stacks[index].stack[0]) + kStackSize,
                  reinterpret_cast<std::uintptr_t>(&hb_task_trap_stacks[index].stack[0]) + kStackSize);
}
// [hb:end build_context]

/// The first Free slot of the task table, marked Runnable (so no other
/// spawn can take it), or null. Caller holds g_task_table_lock.
// [hb:region claim_free_task]
Task* claim_free_task() {
    for (auto& cand : g_tasks) {
        if (cand.state.load(std::memory_order_relaxed) == static_cast<std::uint32_t>(TaskState::Free)) {
            if (HB_FAULT(TaskTableUnlocked)) for (auto t = now_ticks() + us_to_ticks(5); now_ticks() < t;) arch::cpu_relax();  // [hb:fault] widen the race
            cand.state.store(static_cast<std::uint32_t>(TaskState::Runnable), std::memory_order_relaxed);
            return &cand;
        }
    }
    return nullptr;
}
// [hb:end claim_free_task]

/// Every switch between a task and the scheduler goes through here: no
/// spinlock may be held across it (lock rule 6).
void context_switch(Context* from, Context* to, const char* what) {
    lockcheck::assert_may_switch(what);
    if (HB_FAULT(SwitchDropsS7)) return hb_context_switch_lossy(from, to);  // [hb:fault]
    hb_context_switch(from, to);
}

// [hb:region switch_space]
/// Chapter 06: run `t` in its address space. A CPU joins the space's
/// ActiveSet *before* it installs it (lib/shootdown.hpp: from then on every
/// unmap in that space shoots this CPU down too), then writes satp and drops
/// every cached translation (no ASIDs: one space's entries must not serve
/// another). Nothing is written when the space does not change.
void switch_space(CpuSched& pc, Task& t, CpuId cpu) {
    const std::uint64_t want = t.satp != 0 ? t.satp : vm::kernel_space().satp();
    if (want == pc.satp_now) return;
    if (t.active != nullptr) t.active->note_active(cpu);
    arch::install_satp(want);
    pc.satp_now = want;
}
// [hb:end switch_space]

// [hb:region switch_to]
/// Runs `t` on this CPU until it gives the CPU back (yield, preemption,
/// exit). The per-task halves of HartLocal go with it: where its user-mode
/// traps land, and its parked kernel context while it is in user mode.
void switch_to(CpuSched& pc, Task& t, CpuId cpu) {
    HartLocal& hl = hart_local(cpu);
    switch_space(pc, t, cpu);
    t.state.store(static_cast<std::uint32_t>(TaskState::Running), std::memory_order_relaxed);
    t.on_cpu.store(cpu.raw(), std::memory_order_relaxed);
    ++t.switches_in;
    pc.switches.fetch_add(1, std::memory_order_relaxed);
    // [hb:region trace_switch]
    // One record per switch counted above, so the trace can be checked
    // against `switches` (chapter 07).
    if (&t == &pc.idle) {
        trace::record(TraceEvent::IdleEnter);
    } else {
        trace::record(TraceEvent::Switch, t.id.raw());
    }
    // [hb:end trace_switch]
    pc.current = &t;
    hl.trap_stack_top = t.trap_stack_top;
    hl.kernel_context = t.kernel_context;
    if (HB_FAULT(SharedKernelContext)) hl.kernel_context = 0;  // [hb:fault]
    context_switch(&pc.scheduler, &t.ctx, "the scheduler switching to a task");
    t.kernel_context = hl.kernel_context;
    pc.current = nullptr;
    t.on_cpu.store(kMaxCpus, std::memory_order_relaxed);
    if (&t == &pc.idle) trace::record(TraceEvent::IdleLeave);  // chapter 07
}
// [hb:end switch_to]

/// Back to the scheduler loop from the running task (interrupts are off).
void switch_to_scheduler(CpuSched& pc, const char* why) {
    Task* t = pc.current;
    HB_ASSERT(t != nullptr, "switch to the scheduler (", why, ") with no task running on this cpu");
    context_switch(&t->ctx, &pc.scheduler, why);
}

// [hb:region tick_policy]
/// Does this CPU need a tick now? Periodic: always. Tickless: only while
/// another task waits on its runqueue, i.e. while there is someone to
/// preempt the running task for. (Idle never has anyone waiting: its queue
/// is empty, or it would not be idle.)
bool want_tick(CpuSched& pc) {
    if (g_config.tick == TickPolicy::Periodic) return true;
    if (HB_FAULT(TicklessOff)) return true;  // [hb:fault]
    return pc.rq.size() != 0;
}

/// Arms or stops this CPU's tick to match want_tick: one SBI call per change,
/// none when nothing changes. Own CPU, interrupts off.
void tick_update(CpuSched& pc) {
    const bool want = want_tick(pc);
    if (want == pc.tick_armed) return;
    if (want) {
        sbi::set_timer(now_ticks() + us_to_ticks(kTickUs));
    } else {
        sbi::set_timer(kNoTimer);
        pc.tick_stops.fetch_add(1, std::memory_order_relaxed);
    }
    pc.tick_armed = want;
}
// [hb:end tick_policy]

// [hb:region tick]
void on_tick(trap::TrapFrame& f) {
    CpuSched& pc = this_cpu_sched();
    pc.ticks.fetch_add(1, std::memory_order_relaxed);
    if (trap::from_user(f) && pc.current != nullptr) {
        // A tick in user mode: trap entry must have put the frame on the
        // running task's own trap stack (HartLocal.trap_stack_top follows
        // the task). Checked on every such tick, not sampled.
        Task& t = *pc.current;
        const auto frame = reinterpret_cast<std::uintptr_t>(&f);
        HB_ASSERT(frame >= task_trap_stack_bottom(t) && frame < t.trap_stack_top,
                  "user-mode tick frame not on the trap stack of task ", t.id);
        ++t.user_preemptions;
        pc.user_ticks.fetch_add(1, std::memory_order_relaxed);
    }
    // Re-arm (or, with nobody waiting under the tickless policy, stop): the
    // set_timer call also clears this tick.
    const bool share = want_tick(pc);
    sbi::set_timer(share ? now_ticks() + us_to_ticks(kTickUs) : kNoTimer);
    pc.tick_armed = share;
    if (!share) {
        pc.tick_stops.fetch_add(1, std::memory_order_relaxed);
        return;  // nobody to preempt for: the task keeps its CPU, tickless
    }
    // Preemption: the interrupted task, whether it was in user or kernel
    // mode, goes back to the scheduler; its trap frame stays on its own
    // stack until it is resumed and returns from this trap.
    if (HB_FAULT(NoPreempt)) return;  // [hb:fault]
    if (pc.current != nullptr) switch_to_scheduler(pc, "preemption");
}
// [hb:end tick]

// [hb:region idle]
void idle_main(std::uint64_t) {
    CpuSched& pc = this_cpu_sched();  // idle never leaves its CPU
    for (;;) {
        pc.idle_wakeups.fetch_add(1, std::memory_order_relaxed);
        {
            // The look at the queue and the WFI happen with interrupts off,
            // so no interrupt can be taken between them: a task queued after
            // the look raises SSIP (its reschedule IPI) after the look, and
            // WFI returns for a pending interrupt even with sstatus.SIE clear.
            // With interrupts on, the IPI's trap could be taken between the
            // look and the WFI and clear SSIP; idle would then be safe only
            // as long as every handler that can run there switches idle out
            // (on_resched does, today). One that returned to idle would leave
            // this CPU asleep, with no tick, next to a queued task: the lost
            // wake-up (models/ipi_idle.pml). The order here needs no such
            // promise from anybody.
            InterruptsOff off;
            tick_update(pc);  // tickless: no tick while idle
            if (pc.rq.size() == 0 && !pc.offline_requested.load(std::memory_order_acquire)) {
                pc.sleeping_tickless.store(!pc.tick_armed, std::memory_order_relaxed);
                arch::wait_for_interrupt();
                pc.sleeping_tickless.store(false, std::memory_order_relaxed);
            }
        }  // interrupts on again: the pending IPI (or tick) is taken here
        yield();  // the scheduler looks at the runqueue again
    }
}
// [hb:end idle]

// [hb:region kick]
/// Chapter 06: free work was queued on `busy`, which is running something
/// else. An idle CPU sleeps tickless and never wakes to look for work on
/// its own, so wake one (the first idle online CPU after `busy`, round
/// robin): its scheduler loop finds its own queue empty and steals.
void kick_idle(CpuId self, CpuId busy) {
    for (std::uint32_t k = 1; k < g_cpu_count; ++k) {
        const CpuId c((busy.raw() + k) % g_cpu_count);
        if (c == self || !percpu(c).sched.in_idle.load(std::memory_order_relaxed)) continue;
        if (!smp::online_mask().snapshot().contains(c)) continue;
        percpu(self).sched.kicks.fetch_add(1, std::memory_order_relaxed);
        g_config.wake_remote(c);
        return;
    }
}
// [hb:end kick]

// [hb:region wake]
/// A task was just queued on `target` (the runqueue lock released): make
/// sure `target` will look at its queue, and, for a free task that
/// `target` cannot run now, that an idle CPU comes to take it.
void wake(CpuId target, Mobility mobility) {
    InterruptsOff off;  // this CPU's tick state, and no migration meanwhile
    const CpuId self = current_cpu();
    if (target != self) {
        if (g_config.wake_remote != nullptr) g_config.wake_remote(target);
    } else {
        // Queued here, beside the running task: now there is someone to
        // share the CPU with, so the tick must run. (Boot code, before this
        // CPU's scheduler runs, has no current task and nothing to update.)
        CpuSched& pc = percpu(self).sched;
        if (pc.current != nullptr) tick_update(pc);
    }
    // The task is queued (its lock released); only now look at who idles.
    // Pairs with the fence in the scheduler loop: see there.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    const bool busy = !percpu(target).sched.in_idle.load(std::memory_order_relaxed);
    if (HB_FAULT(NoKick)) return;  // [hb:fault]
    if (g_config.steal && mobility == Mobility::Free && busy) kick_idle(self, target);
}

/// Queues `t` on `cpu` if `cpu` is online, in one critical section of that
/// runqueue's lock. The offline path clears the online bit under the same
/// lock before it empties the queue, so a task either lands before the
/// drain (and is moved) or is refused here: none is stranded.
EnqueueOutcome enqueue_if_online(Task& t, CpuId cpu, QosClass qos, bool& offline) {
    Mobility mobility = t.mobility;
    if (HB_FAULT(StealPinned)) mobility = Mobility::Free;  // [hb:fault]
    return runqueue(cpu).with([&](RunQueue::Queue& q) {
        offline = !smp::online_mask().snapshot().contains(cpu);
        return offline ? EnqueueOutcome::RejectedInvalid : q.enqueue(t.id, qos, mobility);
    });
}
// [hb:end wake]

// [hb:region offline]
/// This CPU's way out, from its scheduler loop (interrupts off, no task on
/// it): clear its own online bit and empty its runqueue in one critical
/// section, move the tasks to another online CPU and wake it, stop the
/// tick and the software interrupt, then stop the hart (smp::stop_this_cpu).
[[noreturn]] void go_offline(CpuSched& pc, CpuId cpu) {
    RunnableTask moved[kMaxTasks];
    std::uint32_t n = 0;
    OnlineError e = OnlineError::None;
    pc.rq.with([&](RunQueue::Queue& q) {
        e = smp::mark_self_offline();
        while (n < kMaxTasks && q.pick_next(moved[n])) ++n;
    });
    HB_ASSERT(e == OnlineError::None, "cpu", cpu, " going offline: ", online_error_name(e));
    const CpuSet rest = smp::online_mask().snapshot();
    HB_ASSERT(!rest.empty(), "cpu", cpu, " was the last online cpu");
    CpuId dest{};
    bool found = false;
    rest.for_each([&](CpuId c) {
        if (!found) dest = c;
        found = true;
    });
    for (std::uint32_t i = 0; i < n; ++i) {
        Task& t = *task_by_id(moved[i].task);
        t.home = dest;  // queued, not running: published by dest's runqueue lock
        bool offline = false;
        const EnqueueOutcome o = enqueue_if_online(t, dest, moved[i].qos, offline);
        HB_ASSERT(o == EnqueueOutcome::Accepted, "cpu", cpu, " going offline could not move task ", t.id,
                  " to cpu", dest, offline ? " (offline too)" : " (queue refused)");
    }
    if (n > 0) wake(dest, Mobility::Pinned);  // no kick on the way out
    sbi::set_timer(kNoTimer);
    pc.tick_armed = false;
    HB_CSR_CLEAR(sie, arch::kSieStie | arch::kSieSsie);
    pc.offline_requested.store(false, std::memory_order_relaxed);
    smp::stop_this_cpu(n);
}
// [hb:end offline]

}  // namespace

const char* spawn_error_name(SpawnError e) {
    switch (e) {
    case SpawnError::NoFreeTask: return "no-free-task";
    case SpawnError::BadCpu: return "bad-cpu";
    case SpawnError::Offline: return "offline";
    case SpawnError::QueueFull: return "queue-full";
    case SpawnError::InvalidQos: return "invalid-qos";
    }
    return "?";
}

RunQueue& runqueue(CpuId cpu) { return percpu(cpu).sched.rq; }
Task* current_task() { return this_cpu_sched().current; }
Task* task_by_id(TaskId id) { return id.raw() < kMaxTasks ? &g_tasks[id.raw()] : nullptr; }

CpuStats stats(CpuId cpu) {
    const CpuSched& pc = percpu(cpu).sched;
    return {pc.ticks.load(std::memory_order_relaxed),        pc.user_ticks.load(std::memory_order_relaxed),
            pc.switches.load(std::memory_order_relaxed),     pc.idle_wakeups.load(std::memory_order_relaxed),
            pc.resched_ipis.load(std::memory_order_relaxed), pc.tick_stops.load(std::memory_order_relaxed),
            pc.steals.load(std::memory_order_relaxed),       pc.stolen.load(std::memory_order_relaxed),
            pc.kicks.load(std::memory_order_relaxed)};
}

bool idle_tickless(CpuId cpu) {
    return cpu.raw() < g_cpu_count && percpu(cpu).sched.sleeping_tickless.load(std::memory_order_relaxed);
}

// [hb:region on_resched]
void on_resched(trap::TrapFrame&) {
    CpuSched& pc = this_cpu_sched();
    pc.resched_ipis.fetch_add(1, std::memory_order_relaxed);
    // Idle (or a CPU asked to go offline) goes to the scheduler loop now. A
    // busy CPU keeps its task and gets its tick back instead, if it ran its
    // only task tickless: the new task waits at most one tick, exactly as
    // under chapter 4's periodic tick, and an IPI never preempts a task
    // that a tick would not have preempted.
    if (pc.current == &pc.idle || pc.offline_requested.load(std::memory_order_acquire)) {
        switch_to_scheduler(pc, "reschedule IPI");
        return;
    }
    tick_update(pc);
}
// [hb:end on_resched]

bool request_offline(CpuId cpu) {
    if (cpu.raw() >= g_cpu_count || cpu == current_cpu()) return false;
    if (!smp::online_mask().snapshot().contains(cpu)) return false;
    percpu(cpu).sched.offline_requested.store(true, std::memory_order_release);
    wake(cpu, Mobility::Pinned);
    return true;
}

std::uintptr_t task_user_stack_bottom(const Task& t) {
    return reinterpret_cast<std::uintptr_t>(&hb_task_user_stacks[&t - g_tasks]);
}
std::uintptr_t task_user_stack_top(const Task& t) { return task_user_stack_bottom(t) + sizeof(hb::UserStack); }
std::uintptr_t task_trap_stack_bottom(const Task& t) {
    return reinterpret_cast<std::uintptr_t>(&hb_task_trap_stacks[&t - g_tasks].stack[0]);
}

bool locate_task_stack(std::uintptr_t addr, Task*& task, bool& trap_stack) {
    const auto k = reinterpret_cast<std::uintptr_t>(hb_task_stacks);
    const auto tr = reinterpret_cast<std::uintptr_t>(hb_task_trap_stacks);
    const std::uintptr_t span = kMaxTasks * kStackSlotSize;
    if (addr >= k && addr < k + span) {
        task = &g_tasks[(addr - k) / kStackSlotSize];
        trap_stack = false;
        return true;
    }
    if (addr >= tr && addr < tr + span) {
        task = &g_tasks[(addr - tr) / kStackSlotSize];
        trap_stack = true;
        return true;
    }
    return false;
}

/// current_cpu()'s second source of evidence: the CPU running on the task
/// stack that holds `addr` (set by switch_to on that CPU).
bool cpu_of_task_stack(std::uintptr_t addr, CpuId& cpu) {
    Task* task = nullptr;
    bool trap_stack = false;
    if (!locate_task_stack(addr, task, trap_stack)) return false;
    const std::uint32_t on = task->on_cpu.load(std::memory_order_relaxed);
    if (on >= kMaxCpus) return false;
    cpu = CpuId(on);
    return true;
}

void init(const BootInfo& boot, Config config) {
    g_cpu_count = boot.topology.cpu_count();
    g_config = config;
    if (config.tick == TickPolicy::Tickless && config.wake_remote == nullptr) {
        HB_PANIC("tickless scheduling without a way to wake another cpu: work queued there would never run");
    }
    for (std::uint32_t c = 0; c < g_cpu_count; ++c) {
        // The idle tasks live outside the task table; they are built like any
        // task but never queued: the scheduler picks idle when the queue is empty.
        Task& idle = percpu(CpuId(c)).sched.idle;
        idle.id = TaskId(kMaxTasks + c);
        idle.qos = QosClass::Background;
        idle.home = CpuId(c);
        idle.entry = &idle_main;
        idle.name = "idle";
    }
    trap::set_interrupt_handler(trap::Interrupt::Timer, &on_tick);
    set_task_stack_locator(&cpu_of_task_stack);
}

// [hb:region spawn]
Result<Task*, SpawnError> spawn(const char* name, void (*entry)(std::uint64_t), std::uint64_t arg, QosClass qos,
                                CpuId home, Mobility mobility, SpawnSpace space) {
    using R = Result<Task*, SpawnError>;
    if (home.raw() >= g_cpu_count) return R::failure(SpawnError::BadCpu);
    Task* t = nullptr;
    {
        LockGuard guard(g_task_table_lock);
        t = claim_free_task();
    }
    if (t == nullptr) return R::failure(SpawnError::NoFreeTask);
    t->id = TaskId(static_cast<std::uint32_t>(t - g_tasks));
    t->qos = qos;
    t->home = home;
    t->mobility = mobility;
    t->satp = space.satp;
    t->active = space.active;
    t->entry = entry;
    t->arg = arg;
    t->name = name;
    t->switches_in = 0;
    t->user_preemptions = 0;
    t->on_cpu.store(kMaxCpus, std::memory_order_relaxed);
    build_context(*t);
    // The runqueue lock's release publishes the task's fields to the home
    // CPU, whose pick_next takes the same lock.
    CpuId queue_cpu = home;
    QosClass queue_qos = qos;
    if (HB_FAULT(WrongHome) && home != CpuId(0)) queue_cpu = CpuId((home.raw() + 1) % g_cpu_count);  // [hb:fault]
    if (HB_FAULT(IgnoreQos)) queue_qos = QosClass::Normal;  // [hb:fault]
    bool offline = false;
    const EnqueueOutcome outcome = enqueue_if_online(*t, queue_cpu, queue_qos, offline);
    if (outcome != EnqueueOutcome::Accepted) {
        t->state.store(static_cast<std::uint32_t>(TaskState::Free), std::memory_order_release);
        if (offline) return R::failure(SpawnError::Offline);
        return R::failure(outcome == EnqueueOutcome::RejectedFull ? SpawnError::QueueFull : SpawnError::InvalidQos);
    }
    wake(queue_cpu, t->mobility);  // after the lock: a remote CPU gets its reschedule IPI
    return R::success(t);
}
// [hb:end spawn]

// [hb:region yield_exit]
void yield() {
    InterruptsOff off;  // no tick while we switch
    switch_to_scheduler(this_cpu_sched(), "yield");
}

void exit_task() {
    arch::disable_interrupts();
    CpuSched& pc = this_cpu_sched();
    pc.current->state.store(static_cast<std::uint32_t>(TaskState::Exited), std::memory_order_release);
    switch_to_scheduler(pc, "exit");
    for (;;) {
    }
}
// [hb:end yield_exit]

// [hb:region steal_from]
StealOutcome steal_from(RunQueue& victim, QosClass q, std::uint32_t n, StealBatch& out) {
    if (HB_FAULT(StealNoBound) && n > kStealMax) n = kStealMax;  // [hb:fault]
    if (HB_FAULT(StealAnyQos)) q = QosClass::Realtime;  // [hb:fault]
    return victim.steal(q, n, out);
}
// [hb:end steal_from]

namespace {

// [hb:region try_steal]
/// This CPU is about to go idle: try the other online CPUs in round-robin
/// order, starting after itself, one runqueue lock at a time: the victim's
/// to take (one critical section: look and take cannot be separated), then,
/// released, its own to queue what it took. At most one attempt per CPU.
/// True if it queued anything.
bool try_steal(CpuSched& pc, CpuId self) {
    for (std::uint32_t k = 1; k < g_cpu_count; ++k) {
        const CpuId victim((self.raw() + k) % g_cpu_count);
        if (!smp::online_mask().snapshot().contains(victim)) continue;
        StealBatch batch;
        StealOutcome o = StealOutcome::NothingEligible;
        if (HB_FAULT(StealHoldingOwnLock)) {  // [hb:fault]
            pc.rq.with([&](RunQueue::Queue&) { o = steal_from(runqueue(victim), QosClass::Realtime, kStealMax, batch); });  // [hb:fault]
        } else {  // [hb:fault]
            o = steal_from(runqueue(victim), QosClass::Realtime, kStealMax, batch);
        }  // [hb:fault]
        if (o != StealOutcome::Stolen) continue;
        // [hb:lab 06 steal_thief]
        // The batch comes newest first (taken from the tail); queue it
        // oldest first, so the stolen tasks keep their order here.
        for (std::uint32_t j = batch.count; j-- > 0;) {
            Task& t = *task_by_id(batch.tasks[j].task);
            t.home = self;  // queued, not running: published by this runqueue's lock
            // Cannot be refused: kMaxTasks <= capacity (static_assert in sched.hpp).
            const EnqueueOutcome in = pc.rq.enqueue_stolen(batch.tasks[j]);
            HB_ASSERT(in == EnqueueOutcome::Accepted, "stolen task ", t.id, " refused by cpu", self, "'s queue");
            audit::record(AuditEvent::Migration, victim, t.id);
        }
        pc.steals.fetch_add(1, std::memory_order_relaxed);
        pc.stolen.fetch_add(batch.count, std::memory_order_relaxed);
        trace::record(TraceEvent::Steal, victim.raw(), static_cast<std::uint16_t>(batch.count));
        return true;
        // [hb:stub steal_thief]
        //| // Lab 06: the batch is yours now: queue it here (oldest first), make this
        //| // CPU each task's home, record the migrations, count the steal, return true.
        //| (void)batch;
        //| (void)pc;
        //| return false;
        // [hb:end steal_thief]
    }
    return false;
}
// [hb:end try_steal]

}  // namespace

// [hb:region scheduler_loop]
void run_scheduler() {
    const CpuId cpu = current_cpu();
    CpuSched& pc = percpu(cpu).sched;
    // The idle task has no table slot. It runs on this CPU's chapter-3 trap
    // stack, which no trap uses any more (tasks bring their own), and it
    // never enters user mode, so it needs no trap stack of its own: a trap
    // that interrupts idle comes from the kernel and stays on that stack.
    build_context(pc.idle, stack_top(StackKind::Trap, cpu), stack_top(StackKind::Trap, cpu));

    HB_CSR_SET(sie, arch::kSieStie);
    pc.satp_now = 0;  // unknown after (re)start: the first switch writes it
    pc.tick_armed = false;
    tick_update(pc);
    for (;;) {
        if (pc.offline_requested.load(std::memory_order_acquire)) go_offline(pc, cpu);
        RunnableTask next{};
        Task* t = &pc.idle;
        if (pc.rq.pick_next(next)) {
            t = task_by_id(next.task);
        } else if (g_config.steal) {
            // About to go idle. Say so *before* the last look at the other
            // queues: a CPU that queues free work after that look sees the
            // flag and kicks this one (wake), and one that queued before it
            // is found by the look. The fences order each side's store
            // before its load (the store-buffering pattern of the kick).
            pc.in_idle.store(true, std::memory_order_relaxed);
            std::atomic_thread_fence(std::memory_order_seq_cst);
            if (try_steal(pc, cpu) && pc.rq.pick_next(next)) t = task_by_id(next.task);
        }
        // Tick while someone else waits here; the idle task decides for itself.
        if (t != &pc.idle) tick_update(pc);
        pc.in_idle.store(t == &pc.idle, std::memory_order_relaxed);
        if (HB_FAULT(SerializeScheduler)) g_big_lock.lock();  // [hb:fault]
        switch_to(pc, *t, cpu);
        if (HB_FAULT(SerializeScheduler)) g_big_lock.unlock();  // [hb:fault]
        if (t == &pc.idle) continue;
        const auto state = static_cast<TaskState>(t->state.load(std::memory_order_relaxed));
        if (state == TaskState::Exited) {
            // Its stacks are no longer in use: the slot can be reused.
            t->state.store(static_cast<std::uint32_t>(TaskState::Free), std::memory_order_release);
        } else if (state == TaskState::Running) {
            t->state.store(static_cast<std::uint32_t>(TaskState::Runnable), std::memory_order_relaxed);
            // Cannot be refused: kMaxTasks <= capacity (static_assert in sched.hpp).
            const EnqueueOutcome requeued = pc.rq.enqueue(t->id, t->qos, t->mobility);
            HB_ASSERT(requeued == EnqueueOutcome::Accepted, "requeue of task ", t->id, " refused");
        }
    }
}
// [hb:end scheduler_loop]

}  // namespace hb::sched

// [hb:region task_start]
// First C++ of every task (switch.S's trampoline jumps here).
extern "C" [[noreturn]] void hb_task_start(hb::sched::Task* t) {
    hb::arch::enable_interrupts();  // tasks run with interrupts on
    t->entry(t->arg);
    hb::sched::exit_task();
}
// [hb:end task_start]
