#include "kernel/trap.hpp"

#include "arch/riscv/csr.hpp"
#include "kernel/console.hpp"
#include "kernel/fault.hpp"
#include "kernel/hartlocal.hpp"
#include "kernel/irqlock.hpp"
#include "kernel/panic.hpp"
#include "kernel/percpu.hpp"
#include "kernel/stacks.hpp"

extern "C" char hb_trap_entry[];
extern "C" std::uint64_t hb_user_enter(std::uintptr_t entry, std::uintptr_t user_sp, std::uint64_t arg);
extern "C" [[noreturn]] void hb_user_return_to_kernel(std::uint64_t value);

namespace hb::trap {
namespace {

constinit SyscallHandler g_syscall = nullptr;
constinit InterruptHandler g_interrupt[2] = {nullptr, nullptr};  // by Interrupt

[[noreturn]] void unexpected(Place where, const TrapFrame& f, const char* what) {
    panic(where, what, ": scause=", Hex{f.scause}, " sepc=", Hex{f.sepc}, " stval=", Hex{f.stval},
             from_user(f) ? " (user)" : " (kernel)");
}

bool is_page_fault(std::uint64_t scause) {
    return scause == static_cast<std::uint64_t>(Cause::InstructionPageFault) ||
           scause == static_cast<std::uint64_t>(Cause::LoadPageFault) ||
           scause == static_cast<std::uint64_t>(Cause::StorePageFault);
}

CaughtFault record(const TrapFrame& f, CpuId cpu) {
    return {true, f.scause, f.stval, f.sepc, cpu, reinterpret_cast<std::uintptr_t>(&f), from_user(f)};
}

// [hb:region kernel_fault]
void kernel_fault(TrapFrame& f) {
    const CpuId cpu = current_cpu();
    CpuTrap& t = percpu(cpu).trap;
    if (JumpBuffer* jb = t.recover) {
        // A selftest armed recovery: it expects this fault and checks it.
        t.last_fault = record(f, cpu);
        t.recover = nullptr;
        hb_longjmp(jb, 1);  // back into the selftest, off this stack
    }
    const StackLocation where = locate_stack(f.stval);
    if (is_page_fault(f.scause) && where.found && where.in_guard) {
        HB_PANIC("stack overflow: hit the guard page of cpu", where.cpu, "'s ", stack_kind_name(where.kind),
                 " stack at ", Hex{f.stval});
    }
    unexpected(HB_HERE, f, "unexpected kernel trap");
}
// [hb:end kernel_fault]

}  // namespace

void set_syscall_handler(SyscallHandler h) { g_syscall = h; }
void set_interrupt_handler(Interrupt cause, InterruptHandler h) { g_interrupt[static_cast<int>(cause)] = h; }

void install_on_this_hart() {
    HB_CSR_WRITE(sscratch, 0);
    HB_CSR_WRITE(stvec, reinterpret_cast<std::uintptr_t>(hb_trap_entry));  // direct mode
}

std::uint64_t run_user(void (*entry)(), std::uintptr_t user_sp, std::uint64_t arg) {
    return hb_user_enter(reinterpret_cast<std::uintptr_t>(entry), user_sp, arg);
}

void arm_recovery(JumpBuffer* buf) {
    CpuTrap& t = this_percpu().trap;
    t.last_fault = {};
    t.recover = buf;
}
void disarm_recovery() { this_percpu().trap.recover = nullptr; }
CaughtFault last_fault(CpuId cpu) { return percpu(cpu).trap.last_fault; }

}  // namespace hb::trap

// [hb:region dispatch]
extern "C" void hb_trap_dispatch(hb::trap::TrapFrame* frame) {
    using namespace hb::trap;
    TrapFrame& f = *frame;
    if ((f.scause & kInterruptBit) != 0) {
        // An interrupt was taken, so interrupts were on: no irq lock may be
        // held on this hart (lock rule 4).
        hb::lockcheck::on_interrupt();
        InterruptHandler h = nullptr;
        if (f.scause == static_cast<std::uint64_t>(Cause::SupervisorTimer)) h = g_interrupt[1];
        if (f.scause == static_cast<std::uint64_t>(Cause::SupervisorSoftware)) h = g_interrupt[0];
        if (h == nullptr) unexpected(HB_HERE, f, "unexpected interrupt");
        if (HB_FAULT(TrapDropsT6) && from_user(f)) f.x[31] = 0;  // [hb:fault]
        h(f);
        return;
    }
    if (!from_user(f)) {
        kernel_fault(f);
        return;
    }
    if (f.scause != static_cast<std::uint64_t>(Cause::EcallFromU)) {
        // A user fault ends the user program, not the kernel: record it for
        // this CPU and resume the kernel context that entered user mode.
        const hb::CpuId cpu = hb::current_cpu();
        hb::percpu(cpu).trap.last_fault = record(f, cpu);
        if (hb::hart_local(cpu).kernel_context == 0) unexpected(HB_HERE, f, "user fault with no parked kernel context");
        hb_user_return_to_kernel(kUserFaulted);
    }
    f.sepc += 4;  // resume after the ecall
    if (f.x[17] == HB_SYS_EXIT) {
        // The kernel context parked by hb_user_enter is where EXIT resumes;
        // zero means it was lost (or taken by another task's exit).
        if (hb::hart_local(hb::current_cpu()).kernel_context == 0) {
            unexpected(HB_HERE, f, "EXIT with no parked kernel context");
        }
        hb_user_return_to_kernel(f.x[10]);
    }
    if (g_syscall == nullptr) unexpected(HB_HERE, f, "system call with no handler");
    f.x[10] = g_syscall(f);
}
// [hb:end dispatch]
