#include "kernel/smp.hpp"

#include "arch/riscv/csr.hpp"
#include "arch/riscv/sbi.hpp"
#include "kernel/console.hpp"
#include "kernel/fault.hpp"
#include "kernel/hartlocal.hpp"
#include "kernel/power.hpp"
#include "kernel/stacks.hpp"
#include "kernel/wait.hpp"

extern "C" char hb_secondary_entry[];

namespace hb::smp {
namespace {

constinit OnlineMask g_online;
constinit SecondaryBoot g_boot_blocks[kMaxCpus]{};

/// How long one hart may take from hart_start to "online". Generous: under
/// single-threaded TCG with four harts on a loaded two-core host a start
/// takes milliseconds; a hart that needs a second is broken.
constexpr std::uint64_t kOnlineTimeoutUs = 2'000'000;

[[noreturn]] void bringup_fail(CpuId cpu, HartId hart, const char* what, const char* detail) {
    console::println("KINIT: FAIL cpu", cpu, " (hart", hart, ") ", what, ": ", detail);
    power_off(ExitStatus::Failure);
}

}  // namespace

OnlineMask& online_mask() { return g_online; }

OnlineWitness witness(CpuId cpu) {
    const SecondaryBoot& b = g_boot_blocks[cpu.raw()];
    if (b.state.load(std::memory_order_acquire) != static_cast<std::uint32_t>(BootState::Online)) {
        return {};
    }
    return {true, HartId(b.witness_hart)};
}

OnlineError mark_self_online() {
    const CpuId self = this_cpu();
    return g_online.mark_online(self, self);
}

void install_boot_hart_local(const BootInfo& boot) {
    init_hart_local(CpuId(0), boot.boot_hart);
    install_hart_local(CpuId(0));
}

void init_boot_cpu(const BootInfo& boot) {
    install_boot_hart_local(boot);
    if (mark_self_online() != OnlineError::None) {
        console::println("KINIT: FAIL boot cpu could not mark itself online");
        power_off(ExitStatus::Failure);
    }
}

// [hb:region start_secondaries]
CpuSet start_secondaries(const BootInfo& boot, SecondaryWork then) {
    const Topology& topo = boot.topology;
    CpuSet expected = CpuSet{}.with(CpuId(0));
    for (std::size_t i = 0; i < topo.parked_count(); ++i) {
        console::println("KINIT: hart", topo.parked(i), " parked (cpu limit ", topo.cpu_count(), ")");
    }
    if (topo.cpu_count() == 1) return expected;

    // No HSM, no SMP: say so and stop. A silent fallback to one hart would
    // let every later SMP proof "pass" on a machine that never ran SMP.
    // (fault `no-hsm` pretends the probe said no, to test this path.)
    if (!sbi::probe(sbi::Extension::Hsm) || fault_injected("no-hsm")) {
        console::println("KINIT: FAIL sbi hsm extension missing: cannot start ", topo.cpu_count() - 1,
                         " secondary harts");
        power_off(ExitStatus::Failure);
    }
    const bool skip_start = fault_injected("skip-hart-start");
    const bool forge = fault_injected("forge-online");
    const std::uint64_t t0 = now_ticks();

    // One hart at a time: start it, then wait (sleeping) until it reports.
    // Starting them in a batch lost harts in the seed project.
    for (std::uint32_t c = 1; c < topo.cpu_count(); ++c) {
        const CpuId cpu(c);
        const HartId hart = topo.hart_of(cpu);
        init_hart_local(cpu, hart);
        SecondaryBoot& b = g_boot_blocks[c];
        b.stack_top = stack_top(cpu);
        b.cpu = c;
        b.expected_hart = hart.raw();
        b.witness_hart = ~std::uint64_t{0};
        b.then = then;
        // release: the block's contents are complete before the hart can run.
        b.state.store(static_cast<std::uint32_t>(BootState::Pending), std::memory_order_release);
        expected = expected.with(cpu);

        if (forge) {
            g_online.forge_for_counterfactual(cpu);  // and never start the hart
            continue;
        }
        if (!skip_start) {
            const auto r = sbi::hart_start(hart, reinterpret_cast<std::uintptr_t>(hb_secondary_entry),
                                           reinterpret_cast<std::uintptr_t>(&b));
            // "already available" means the hart is running code we did not
            // start: that is a failure, not a success.
            if (!r.ok()) bringup_fail(cpu, hart, "hart_start failed", sbi::error_name(r.error));
        }
        const auto outcome = wait_until(
            [&] {
                return b.state.load(std::memory_order_acquire) ==
                       static_cast<std::uint32_t>(BootState::Online);
            },
            kOnlineTimeoutUs);
        if (outcome == WaitOutcome::TimedOut) {
            const auto st = sbi::hart_status(hart);
            bringup_fail(cpu, hart, "did not come online within 2000 ms, hsm status",
                         st.ok() ? sbi::hart_state_name(st.value) : sbi::error_name(st.error));
        }
    }
    console::println("KINIT: smp: ", topo.cpu_count() - 1, " secondary harts online in ",
                     ticks_to_us(now_ticks() - t0), " us");
    return expected;
}
// [hb:end start_secondaries]

}  // namespace hb::smp

// [hb:region secondary_main]
/// First C++ on a secondary hart: a0 = its hart id (from the firmware),
/// a1 = its boot block. It has its own stack (secondary.S loaded it).
extern "C" [[noreturn]] void hb_secondary_main(std::uint64_t hart, hb::smp::SecondaryBoot* b) {
    using namespace hb;
    // acquire: pairs with the boot hart's release store of Pending, so this
    // hart sees its boot block and HartLocal fully written.
    if (b->state.load(std::memory_order_acquire) != static_cast<std::uint32_t>(smp::BootState::Pending)) {
        console::println("KINIT: FAIL hart", hart, " entered with an unpublished boot block");
        power_off(ExitStatus::Failure);
    }
    const CpuId cpu(b->cpu);
    install_hart_local(cpu);
    if (hart != b->expected_hart) {
        console::println("KINIT: FAIL cpu", cpu, " entered on hart", hart, ", expected hart",
                         b->expected_hart);
        power_off(ExitStatus::Failure);
    }
    b->witness_hart = hart;
    // Publish the online bit first, then say so, then report to the boot
    // hart: the boot hart waits for the report, so the lines come out in
    // CpuId order and the bit is set before anyone is told.
    const OnlineError e = smp::mark_self_online();
    if (e != OnlineError::None) {
        console::println("KINIT: FAIL cpu", cpu, " mark online: ", online_error_name(e));
        power_off(ExitStatus::Failure);
    }
    console::println("KINIT: cpu", cpu, " online");
    const smp::SecondaryWork then = b->then;
    b->state.store(static_cast<std::uint32_t>(smp::BootState::Online), std::memory_order_release);
    if (then != nullptr) then(cpu);
    // Chapter 02 gives a secondary nothing more to do: it sleeps. Later
    // chapters pass their per-CPU program as `then`.
    for (;;) arch::wait_for_interrupt();
}
// [hb:end secondary_main]
