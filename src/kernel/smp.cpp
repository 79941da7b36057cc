#include "kernel/smp.hpp"

#include "arch/riscv/csr.hpp"
#include "arch/riscv/sbi.hpp"
#include "kernel/audit.hpp"
#include "kernel/console.hpp"
#include "kernel/fault.hpp"
#include "kernel/hartlocal.hpp"
#include "kernel/panic.hpp"
#include "kernel/stacks.hpp"
#include "kernel/wait.hpp"

extern "C" char hb_secondary_entry[];
extern "C" char _start[];

// The boot blocks, one per CpuId. extern "C": start.S looks a misdirected
// hart's block up here by hart id (see the comment there).
extern "C" {
constinit hb::smp::SecondaryBoot hb_boot_blocks[hb::kMaxCpus]{};
}

namespace hb::smp {
namespace {

constinit OnlineMask g_online;
constinit std::atomic<std::uint32_t> g_online_count[kMaxCpus]{};

/// How long one hart may take from hart_start to "online". Generous: under
/// single-threaded TCG with four harts on a loaded two-core host a start
/// takes milliseconds; a hart that needs a second is broken.
constexpr std::uint64_t kOnlineTimeoutUs = 2'000'000;

/// Per-hart setup every CPU does first: the FP unit off, so a
/// floating-point instruction in the kernel or in user mode traps
/// (OpenSBI leaves sstatus.FS on).
void init_this_hart() {
    arch::fp_off();
    if (HB_FAULT(FpLeftOn)) HB_CSR_SET(sstatus, std::uint64_t{1} << 13);  // [hb:fault]
}

}  // namespace

OnlineMask& online_mask() { return g_online; }

// [hb:region witness]
OnlineWitness witness(CpuId cpu) {
    const SecondaryBoot& b = hb_boot_blocks[cpu.raw()];
    if (b.state.load(std::memory_order_acquire) != static_cast<std::uint32_t>(BootState::Online)) {
        return {};
    }
    return {true, HartId(b.witness_hart)};
}
// [hb:end witness]

// [hb:region mark_self_online]
OnlineError mark_self_online() {
    const CpuId self = current_cpu();
    const OnlineError e = g_online.mark_online(self, self);
    if (e == OnlineError::None) {
        g_online_count[self.raw()].fetch_add(1, std::memory_order_relaxed);
        audit::record(AuditEvent::CpuOnline, self);
    }
    return e;
}
// [hb:end mark_self_online]

OnlineError mark_self_offline() {
    const CpuId self = current_cpu();
    return g_online.mark_offline(self, self);
}

std::uint32_t online_count(CpuId cpu) {
    return cpu.raw() < kMaxCpus ? g_online_count[cpu.raw()].load(std::memory_order_relaxed) : 0;
}

// [hb:region stop_this_cpu]
void stop_this_cpu(std::uint32_t moved) {
    const CpuId self = current_cpu();
    audit::record(AuditEvent::CpuOffline, self);
    console::println("KINIT: cpu", self, " offline (", moved, " queued tasks moved)");
    // release: everything this CPU did is visible to whoever sees Offline.
    hb_boot_blocks[self.raw()].state.store(static_cast<std::uint32_t>(BootState::Offline), std::memory_order_release);
    const auto r = sbi::hart_stop();  // interrupts are off, as HSM requires
    HB_PANIC("cpu", self, " hart_stop returned: ", sbi::error_name(r.error));
}
// [hb:end stop_this_cpu]

bool is_stopped(CpuId cpu) {
    if (cpu.raw() == 0 || cpu.raw() >= kMaxCpus) return false;
    const SecondaryBoot& b = hb_boot_blocks[cpu.raw()];
    if (b.state.load(std::memory_order_acquire) != static_cast<std::uint32_t>(BootState::Offline)) return false;
    const auto st = sbi::hart_status(HartId(b.expected_hart));
    return st.ok() && st.value == sbi::HartState::Stopped;
}

// [hb:region restart_cpu]
sbi_error_t restart_cpu(CpuId cpu) {
    if (!is_stopped(cpu)) return static_cast<sbi_error_t>(sbi::Error::AlreadyAvailable);
    SecondaryBoot& b = hb_boot_blocks[cpu.raw()];
    b.witness_hart = ~std::uint64_t{0};
    b.misdirected = 0;
    b.state.store(static_cast<std::uint32_t>(BootState::Pending), std::memory_order_release);
    const auto r = sbi::hart_start(HartId(b.expected_hart), reinterpret_cast<std::uintptr_t>(hb_secondary_entry),
                                   reinterpret_cast<std::uintptr_t>(&b));
    return static_cast<sbi_error_t>(r.error);
}
// [hb:end restart_cpu]

bool is_back_online(CpuId cpu) {
    if (cpu.raw() >= kMaxCpus) return false;
    return hb_boot_blocks[cpu.raw()].state.load(std::memory_order_acquire) ==
               static_cast<std::uint32_t>(BootState::Online) &&
           g_online.snapshot().contains(cpu);
}

// [hb:region init_boot_cpu]
void init_boot_cpu(const BootInfo& boot) {
    init_hart_local(CpuId(0), boot.boot_hart);
    install_hart_local(CpuId(0));
    init_this_hart();
    const OnlineError e = mark_self_online();
    HB_ASSERT(e == OnlineError::None, "boot cpu could not mark itself online: ", online_error_name(e));
}
// [hb:end init_boot_cpu]

namespace {

/// Asks the firmware to start `hart` at hb_secondary_entry with its boot block.
void start_hart(CpuId cpu, HartId hart, SecondaryBoot& b) {
    auto entry = reinterpret_cast<std::uintptr_t>(hb_secondary_entry);
    if (HB_FAULT(MisdirectSecondary)) entry = reinterpret_cast<std::uintptr_t>(_start);  // [hb:fault]
    const auto r = sbi::hart_start(hart, entry, reinterpret_cast<std::uintptr_t>(&b));
    // "already available" means the hart is running code we did not
    // start: that is a failure, not a success.
    HB_ASSERT(r.ok(), "cpu", cpu, " (hart", hart, ") hart_start failed: ", sbi::error_name(r.error));
}

// [hb:region await_online]
/// Sleeps (time-bounded) until the hart reports Online in its boot block.
void await_online(CpuId cpu, HartId hart, SecondaryBoot& b) {
    const auto outcome = wait_until(
        [&] { return b.state.load(std::memory_order_acquire) == static_cast<std::uint32_t>(BootState::Online); },
        kOnlineTimeoutUs);
    if (outcome == WaitOutcome::TimedOut) {
        const auto st = sbi::hart_status(hart);
        HB_PANIC("cpu", cpu, " (hart", hart, ") did not come online within ", kOnlineTimeoutUs / 1000,
                 " ms, hsm status ", st.ok() ? sbi::hart_state_name(st.value) : sbi::error_name(st.error));
    }
}
// [hb:end await_online]

}  // namespace

// [hb:region start_secondaries]
CpuSet start_secondaries(const BootInfo& boot) {
    const Topology& topo = boot.topology;
    CpuSet expected = CpuSet{}.with(CpuId(0));
    for (std::size_t i = 0; i < topo.parked_count(); ++i) {
        console::println("KINIT: hart", topo.parked(i), " parked (cpu limit ", topo.cpu_count(), ")");
    }
    if (topo.cpu_count() == 1) return expected;

    // No HSM, no SMP: say so and stop. A silent fallback to one hart would
    // let every later SMP proof "pass" on a machine that never ran SMP.
    bool have_hsm = sbi::probe(sbi::Extension::Hsm);
    if (HB_FAULT(NoHsm)) have_hsm = false;  // [hb:fault]
    if (!have_hsm) HB_PANIC("sbi hsm extension missing: cannot start ", topo.cpu_count() - 1, " secondary harts");
    const std::uint64_t t0 = now_ticks();

    // One hart at a time: start it, then wait (sleeping) until it reports.
    // Starting them in a batch lost harts in the seed project.
    for (std::uint32_t c = 1; c < topo.cpu_count(); ++c) {
        const CpuId cpu(c);
        const HartId hart = topo.hart_of(cpu);
        SecondaryBoot& b = hb_boot_blocks[c];
        // [hb:lab 02 publish_boot_block]
        init_hart_local(cpu, hart);
        b.stack_top = stack_top(cpu);
        b.cpu = c;
        b.expected_hart = hart.raw();
        b.witness_hart = ~std::uint64_t{0};
        b.misdirected = 0;
        // release: the block's contents are complete before the hart can run.
        b.state.store(static_cast<std::uint32_t>(BootState::Pending), std::memory_order_release);
        // [hb:stub publish_boot_block]
        //| // Lab 02: fill cpu's HartLocal and boot block b, then publish it.
        // [hb:end publish_boot_block]
        expected = expected.with(cpu);

        if (HB_FAULT(ForgeOnline) && g_online.mark_online(cpu, cpu) == OnlineError::None) continue;  // [hb:fault]
        if (HB_FAULT(SkipHartStart)) { await_online(cpu, hart, b); continue; }  // [hb:fault]
        start_hart(cpu, hart, b);
        await_online(cpu, hart, b);
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
    // [hb:lab 02 secondary_handshake]
    // acquire: pairs with the boot hart's release store of Pending, so this
    // hart sees its boot block and HartLocal fully written.
    const auto state = b->state.load(std::memory_order_acquire);
    HB_ASSERT(state == static_cast<std::uint32_t>(smp::BootState::Pending), "hart", hart,
              " entered with an unpublished boot block");
    const CpuId cpu(b->cpu);
    install_hart_local(cpu);
    HB_ASSERT(hart == b->expected_hart, "cpu", cpu, " entered on hart", hart, ", expected hart", b->expected_hart);
    b->witness_hart = hart;
    smp::init_this_hart();
    // Publish the online bit first, then say so, then report to the boot
    // hart: the boot hart waits for the report, so the lines come out in
    // CpuId order and the bit is set before anyone is told.
    const OnlineError e = smp::mark_self_online();
    HB_ASSERT(e == OnlineError::None, "cpu", cpu, " mark online: ", online_error_name(e));
    console::println("KINIT: cpu", cpu, " online");
    if (b->misdirected != 0) {
        console::println("KINIT: cpu", cpu, " (hart", hart, ") was sent to the kernel entry point by the firmware;",
                         " start.S passed it on");
    }
    b->state.store(static_cast<std::uint32_t>(smp::BootState::Online), std::memory_order_release);
    // [hb:stub secondary_handshake]
    //| // Lab 02: check the boot block, become cpu b->cpu, come online, report.
    //| (void)hart;
    //| const CpuId cpu(b->cpu);
    // [hb:end secondary_handshake]
    kmain_secondary(cpu);  // the chapter's per-CPU steps (its kmain.cpp)
    for (;;) arch::wait_for_interrupt();
}
// [hb:end secondary_main]
