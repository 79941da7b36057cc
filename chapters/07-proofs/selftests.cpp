#include "07-proofs/selftests.hpp"

#include "04-runqueues/selftests.hpp"
#include "kernel/console.hpp"
#include "kernel/hartlocal.hpp"
#include "kernel/ipi.hpp"
#include "kernel/percpu.hpp"
#include "kernel/process.hpp"
#include "kernel/sched.hpp"
#include "kernel/selftest.hpp"
#include "kernel/smp.hpp"

namespace hb::ch07 {
namespace {

constinit const BootInfo* g_boot = nullptr;
constexpr std::uint64_t kWaitUs = 5'000'000;

}  // namespace

void init_selftests(const BootInfo& boot) { g_boot = &boot; }

std::uint32_t other_live_tasks() {
    const sched::Task* self = sched::current_task();
    std::uint32_t n = 0;
    for (std::uint32_t i = 0; i < sched::kMaxTasks; ++i) {
        const sched::Task* t = sched::task_by_id(TaskId(i));
        if (t != self && t->state.load(std::memory_order_acquire) != static_cast<std::uint32_t>(sched::TaskState::Free)) {
            ++n;
        }
    }
    return n;
}

// [hb:region invariants]
void check_smp_invariants() {
    constexpr const char* kName = "smp invariants";
    const std::uint32_t n = g_boot->topology.cpu_count();
    const CpuId self = current_cpu();
    // 1. Quiescence: every task of every earlier test has exited, and every
    //    other CPU has gone back to sleep (nothing queued, nothing running).
    const bool drained = ch04::task_wait([] { return other_live_tasks() == 0; }, kWaitUs);
    selftest::check(drained, kName, other_live_tasks(), " tasks still in the task table 5 s after the last test");
    const bool asleep = ch04::task_wait(
        [&] {
            for (std::uint32_t c = 0; c < n; ++c) {
                if (CpuId(c) != self && smp::online_mask().snapshot().contains(CpuId(c)) &&
                    !sched::idle_tickless(CpuId(c))) {
                    return false;
                }
            }
            return true;
        },
        kWaitUs);
    selftest::check(asleep, kName, "some online cpu did not go back to tickless idle");

    // 2. Per CPU: the books of its runqueue, its IPI chain, its mailbox.
    std::uint64_t queued = 0, handed_out = 0, stolen_in = 0, stolen_out = 0;
    for (std::uint32_t c = 0; c < n; ++c) {
        const CpuId cpu(c);
        RunQueueCounters k{};
        std::uint32_t size = 0;
        sched::runqueue(cpu).with([&](const sched::RunQueue::Queue& q) {
            k = q.counters();
            size = q.size();
        });
        selftest::check(size == 0, kName, "cpu", cpu, "'s runqueue still holds ", size, " tasks");
        selftest::check(k.enqueued + k.stolen_in == k.dequeued + k.stolen_out, kName, "cpu", cpu,
                        "'s runqueue books: enqueued ", k.enqueued, " + stolen in ", k.stolen_in, " != dequeued ",
                        k.dequeued, " + stolen out ", k.stolen_out, " with the queue empty");
        queued += k.enqueued;
        handed_out += k.dequeued;
        stolen_in += k.stolen_in;
        stolen_out += k.stolen_out;

        const IpiCounterSnapshot s = ipi::counters(cpu);
        selftest::check(s.acked <= s.trapped && s.trapped <= s.sent && s.sent <= s.requested, kName, "cpu", cpu,
                        "'s ipi chain is not causal: requested ", s.requested, " sent ", s.sent, " trapped ",
                        s.trapped, " acked ", s.acked);
        selftest::check(s.acked == s.trapped, kName, "cpu", cpu, " trapped ", s.trapped, " ipis but acked ", s.acked,
                        " (a handler that did not finish)");
        selftest::check(percpu(cpu).ipi.mailbox.peek() == 0, kName, "cpu", cpu, "'s mailbox still holds reasons ",
                        Hex{percpu(cpu).ipi.mailbox.peek()});
        selftest::check(!proc::shootdown_pending(cpu), kName, "a tlb shootdown request to cpu", cpu,
                        " was never served");
    }
    // 3. Over all CPUs: no task was created or lost by moving it.
    selftest::check(stolen_in == stolen_out, kName, "tasks stolen in ", stolen_in, " != stolen out ", stolen_out);
    selftest::check(queued == handed_out, kName, "tasks queued ", queued, " != handed out ", handed_out);
    console::println("KINIT: smp invariants: ", n, n == 1 ? " cpu: " : " cpus: ", queued,
                     " enqueues (spawns, wake-ups, yields) each handed out once, ", stolen_out,
                     " tasks stolen; every queue, mailbox and shootdown slot empty");
    selftest::pass(kName);
}
// [hb:end invariants]

}  // namespace hb::ch07
