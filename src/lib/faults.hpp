// The fault registry: every fault the kernel can inject on purpose.
//
// A mutation gate boots a chapter kernel with `fault=<name>` on its command
// line; the kernel then breaks exactly one mechanism, and the gate must fail
// for the reason its `mutations` line states. That shows each proof can fail.
//
// This table is the only place a fault name exists. The kernel looks the
// command line up here once at boot (kernel/fault.cpp) and afterwards asks
// `HB_FAULT(Name)`, a compile-time enumerator, never a string. Every site
// that consults a fault is one short line tagged `// [hb:fault]`; the book's
// code quotes drop tagged lines, so the taught code reads as if the fault
// did not exist. A host test (tests/host/faults_test.cpp) checks that every
// entry is used by some chapter's `mutations` file and that every name a
// mutations file uses is here.
//
// Pure data, no hardware access: also compiled for the host.
#pragma once

#include <cstddef>
#include <cstdint>

namespace hb {

// [hb:region fault_registry]
enum class Fault : std::uint8_t {
    EarlyFault,           ///< ch01: a wild load before any trap entry exists
    SkipHartStart,        ///< ch02: the boot hart never calls hart_start
    ForgeOnline,          ///< ch02: the boot hart sets cpu1's online bit itself
    NoHsm,                ///< ch02: the HSM probe "says no"
    MisdirectSecondary,   ///< ch02: hart_start sends a hart to _start (a firmware race, made certain)
    SharedTrapStack,      ///< ch03: every CPU's trap stack is cpu0's
    MapGuardPages,        ///< ch03: guard pages mapped like the stack
    WritableText,         ///< ch03: kernel text mapped RWX
    FpLeftOn,             ///< ch03: sstatus.FS left as the firmware set it
    SerializeScheduler,   ///< ch04: one big lock around every CPU's task
    NoPreempt,            ///< ch04: the tick does not preempt
    SharedKernelContext,  ///< ch04: the switch does not carry kernel_context
    IgnoreQos,            ///< ch04: every task queued as Normal
    WrongHome,            ///< ch04: tasks of cpu k >= 1 queued on cpu k+1
    SwitchDropsS7,        ///< ch04: the context switch neither saves nor restores s7
    TaskTableUnlocked,    ///< ch04: spawn claims a task slot without the table lock
    IrqLockNoMask,        ///< ch04: IrqSpinLock::lock() leaves interrupts on
    TrapDropsT6,          ///< ch04: an interrupt from user mode returns with t6 lost
    LockTwoRunQueues,     ///< ch04: the lock-rules test takes a second runqueue lock
    LockPrintUnderRq,     ///< ch04: the lock-rules test prints under a runqueue lock
    LockYieldUnderLock,   ///< ch04: the lock-rules test yields holding a lock
    NoIpiProbe,           ///< ch05: the SBI IPI probe "says no"
    NoSbiSend,            ///< ch05: a resched is counted as sent, but SBI send_ipi is never called
    ReschedToOffline,     ///< ch05: the target check lets a resched to an offline CPU through
    AckWithoutTrap,       ///< ch05: the sender counts the target's ack itself, without a trap
    TicklessOff,          ///< ch05: idle keeps its timer armed (the periodic tick of chapter 04)
    StealNoBound,         ///< ch06: a steal above kStealMax is clamped to it instead of refused
    StealAnyQos,          ///< ch06: a thief takes tasks of any class, more urgent ones too
    StealPinned,          ///< ch06: pinned tasks are queued as free, so thieves take them
    NoKick,               ///< ch06: queued free work never wakes an idle CPU to steal it
    StealHoldingOwnLock,  ///< ch06: a thief steals while holding its own runqueue lock
    NoShootdown,          ///< ch06: unmap flushes only its own CPU, no other CPU is shot down
    JoinIgnoresGeneration,  ///< ch07: a thread join takes any handle to a slot as the slot's current one
    TraceDropsIpiSend,    ///< ch07: the IPI send hook records nothing (the trace misses every send)
    ScaleWrongShare,      ///< ch07: the scaling demos deal the blocks to one worker more than there are
    Count
};

struct FaultSpec {
    Fault fault;
    const char* name;  ///< the word after `fault=`, and the mutations-file name
};

inline constexpr FaultSpec kFaultSpecs[] = {
    {Fault::EarlyFault, "early-fault"},
    {Fault::SkipHartStart, "skip-hart-start"},
    {Fault::ForgeOnline, "forge-online"},
    {Fault::NoHsm, "no-hsm"},
    {Fault::MisdirectSecondary, "misdirect-secondary"},
    {Fault::SharedTrapStack, "shared-trap-stack"},
    {Fault::MapGuardPages, "map-guard-pages"},
    {Fault::WritableText, "writable-text"},
    {Fault::FpLeftOn, "fp-left-on"},
    {Fault::SerializeScheduler, "serialize-scheduler"},
    {Fault::NoPreempt, "no-preempt"},
    {Fault::SharedKernelContext, "shared-kernel-context"},
    {Fault::IgnoreQos, "ignore-qos"},
    {Fault::WrongHome, "wrong-home"},
    {Fault::SwitchDropsS7, "switch-drops-s7"},
    {Fault::TaskTableUnlocked, "task-table-unlocked"},
    {Fault::IrqLockNoMask, "irqlock-no-mask"},
    {Fault::TrapDropsT6, "trap-drops-t6"},
    {Fault::LockTwoRunQueues, "lock-two-runqueues"},
    {Fault::LockPrintUnderRq, "lock-print-under-runqueue"},
    {Fault::LockYieldUnderLock, "lock-yield-under-lock"},
    {Fault::NoIpiProbe, "no-ipi"},
    {Fault::NoSbiSend, "no-sbi-send"},
    {Fault::ReschedToOffline, "resched-to-offline"},
    {Fault::AckWithoutTrap, "ack-without-trap"},
    {Fault::TicklessOff, "tickless-off"},
    {Fault::StealNoBound, "steal-no-bound"},
    {Fault::StealAnyQos, "steal-any-qos"},
    {Fault::StealPinned, "steal-pinned"},
    {Fault::NoKick, "no-kick"},
    {Fault::StealHoldingOwnLock, "steal-holding-own-lock"},
    {Fault::NoShootdown, "no-shootdown"},
    {Fault::JoinIgnoresGeneration, "join-ignores-generation"},
    {Fault::TraceDropsIpiSend, "trace-drops-ipi-send"},
    {Fault::ScaleWrongShare, "scale-wrong-share"},
};
// [hb:end fault_registry]

inline constexpr std::size_t kFaultCount = static_cast<std::size_t>(Fault::Count);
static_assert(sizeof(kFaultSpecs) / sizeof(kFaultSpecs[0]) == kFaultCount, "one spec per Fault");
static_assert(kFaultCount <= 64, "active faults are kept in one 64-bit mask");

/// The spec of `f` (its name), in enum order.
constexpr const FaultSpec& fault_spec(Fault f) { return kFaultSpecs[static_cast<std::size_t>(f)]; }

/// Looks up a name of `len` bytes (not NUL-terminated). False if unknown.
constexpr bool fault_by_name(const char* name, std::size_t len, Fault& out) {
    for (const FaultSpec& s : kFaultSpecs) {
        std::size_t i = 0;
        while (i < len && s.name[i] != '\0' && s.name[i] == name[i]) ++i;
        if (i == len && s.name[i] == '\0') {
            out = s.fault;
            return true;
        }
    }
    return false;
}

namespace detail {
constexpr bool specs_in_enum_order() {
    for (std::size_t i = 0; i < kFaultCount; ++i) {
        if (static_cast<std::size_t>(kFaultSpecs[i].fault) != i) return false;
    }
    return true;
}
}  // namespace detail
static_assert(detail::specs_in_enum_order(), "fault_spec() indexes the table by enumerator");

}  // namespace hb
