#include "kernel/thread.hpp"

#include <atomic>

#include "kernel/fault.hpp"
#include "kernel/hartlocal.hpp"
#include "kernel/irqlock.hpp"
#include "kernel/sched.hpp"
#include "kernel/trap.hpp"
#include "kernel/wait.hpp"

namespace hb::proc {
namespace {

struct Thread {
    Process* process = nullptr;
    void (*program)() = nullptr;
    std::uint64_t arg = 0;
    ThreadExit exit{};
    /// Set by the thread last, after `exit` is written (release); the joiner
    /// reads `exit` only after seeing it (acquire).
    std::atomic<std::uint32_t> done{0};
};

// [hb:region thread_table]
constinit IrqSpinLock g_lock;                   ///< guards g_handles and a slot's fields until its task starts
constinit HandleTable<kMaxThreads> g_handles;
constinit Thread g_threads[kMaxThreads]{};

/// Every thread's task: the user program, timed around user mode.
void thread_main(std::uint64_t index) {
    Thread& t = g_threads[index];
    sched::Task& self = *sched::current_task();
    t.exit.cpu = current_cpu();
    t.exit.start_ticks = now_ticks();
    t.exit.value = trap::run_user(t.program, sched::task_user_stack_top(self), t.arg);
    t.exit.end_ticks = now_ticks();
    // [hb:lab 07 thread_exit_publish]
    t.done.store(1, std::memory_order_release);  // the slot is the joiner's from here on
    // [hb:stub thread_exit_publish]
    //| // Lab 07: publish the exit record to the joiner (which ordering?).
    // [hb:end thread_exit_publish]
}
// [hb:end thread_table]

}  // namespace

const char* thread_error_name(ThreadError e) {
    switch (e) {
        case ThreadError::None: return "none";
        case ThreadError::TableFull: return "thread table full";
        case ThreadError::NoTask: return "no task for the thread";
        case ThreadError::Stale: return "stale thread handle";
        case ThreadError::OutOfRange: return "thread handle out of range";
        case ThreadError::TimedOut: return "thread did not exit in time";
    }
    return "?";
}

// [hb:region thread_create]
Result<ThreadHandle, ThreadError> thread_create(Process& p, void (*program)(), std::uint64_t arg, CpuId cpu) {
    using R = Result<ThreadHandle, ThreadError>;
    // [hb:lab 07 thread_create_body]
    ThreadHandle h{};
    {
        LockGuard guard(g_lock);
        const auto slot = g_handles.allocate();
        if (!slot.ok()) return R::failure(ThreadError::TableFull);
        h = slot.value();
        Thread& t = g_threads[h.index];
        t.process = &p;
        t.program = program;
        t.arg = arg;
        t.exit = ThreadExit{};
        t.done.store(0, std::memory_order_relaxed);
    }
    // Spawn outside g_lock (lock rule: no lock held into the scheduler's).
    // The spawn publishes the slot's fields to the thread's CPU.
    const auto task = sched::spawn("thread", &thread_main, h.index, QosClass::Normal, cpu, Mobility::Pinned, space_of(p));
    if (!task.ok()) {
        LockGuard guard(g_lock);
        (void)g_handles.release(h);  // nothing half-created: the slot goes back
        return R::failure(ThreadError::NoTask);
    }
    return R::success(h);
    // [hb:stub thread_create_body]
    //| // Lab 07: take a slot (and its handle) under g_lock and fill it; spawn the
    //| // thread's task outside the lock; if that fails, give the slot back.
    //| (void)p;
    //| (void)program;
    //| (void)arg;
    //| (void)cpu;
    //| (void)&thread_main;  // the task every thread runs: spawn it
    //| return R::failure(ThreadError::NoTask);
    // [hb:end thread_create_body]
}
// [hb:end thread_create]

// [hb:region thread_join]
Result<ThreadExit, ThreadError> thread_join(ThreadHandle h, std::uint64_t timeout_us) {
    using R = Result<ThreadExit, ThreadError>;
    const auto refused = [](HandleError e) {
        return R::failure(e == HandleError::OutOfRange ? ThreadError::OutOfRange : ThreadError::Stale);
    };
    {
        LockGuard guard(g_lock);
        if (HB_FAULT(JoinIgnoresGeneration)) h.generation = g_handles.generation_of(h.index);  // [hb:fault]
        if (const HandleError e = g_handles.check(h); e != HandleError::None) return refused(e);
    }
    // Only the holder of a live handle gets here; the slot cannot be reused
    // until this join (or a racing one with a copy of the handle) releases it.
    Thread& t = g_threads[h.index];
    // [hb:lab 07 thread_join_wait]
    const std::uint64_t deadline = now_ticks() + us_to_ticks(timeout_us);
    while (t.done.load(std::memory_order_acquire) == 0) {
        if (now_ticks() >= deadline) return R::failure(ThreadError::TimedOut);
        sched::yield();
    }
    // [hb:stub thread_join_wait]
    //| // Lab 07: wait (bounded by timeout_us, yielding the CPU) until the
    //| // thread has published its exit; give up with ThreadError::TimedOut.
    //| (void)timeout_us;
    // [hb:end thread_join_wait]
    LockGuard guard(g_lock);
    if (HB_FAULT(JoinIgnoresGeneration)) h.generation = g_handles.generation_of(h.index);  // [hb:fault]
    // Two joins with copies of one handle: the first to get here wins.
    if (const HandleError e = g_handles.release(h); e != HandleError::None) return refused(e);
    return R::success(t.exit);
}
// [hb:end thread_join]

std::uint32_t threads_alive() {
    LockGuard guard(g_lock);
    return g_handles.live();
}

}  // namespace hb::proc
