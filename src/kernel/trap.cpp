#include "kernel/trap.hpp"

#include "arch/riscv/csr.hpp"
#include "kernel/console.hpp"
#include "kernel/hartlocal.hpp"
#include "kernel/power.hpp"
#include "kernel/stacks.hpp"

extern "C" char hb_trap_entry[];
extern "C" std::uint64_t hb_user_enter(std::uintptr_t entry, std::uintptr_t user_sp, std::uint64_t arg);
extern "C" [[noreturn]] void hb_user_return_to_kernel(std::uint64_t value);

namespace hb::trap {
namespace {

constinit SyscallHandler g_syscall = nullptr;
constinit InterruptHandler g_interrupt = nullptr;
// Per CPU: written only by that CPU's trap handler, read by the selftest
// after the CPU reported done (release/acquire on its result flag).
constinit GuardFault g_guard_fault[kMaxCpus]{};
constinit JumpBuffer* g_recover[kMaxCpus]{};

[[noreturn]] void fatal(const TrapFrame& f, const char* what) {
    console::println("KINIT: FAIL ", what, " on cpu", this_cpu(), ": scause=", Hex{f.scause},
                     " sepc=", Hex{f.sepc}, " stval=", Hex{f.stval}, from_user(f) ? " (user)" : " (kernel)");
    power_off(ExitStatus::Failure);
}

bool is_page_fault(std::uint64_t scause) {
    return scause == static_cast<std::uint64_t>(Cause::InstructionPageFault) ||
           scause == static_cast<std::uint64_t>(Cause::LoadPageFault) ||
           scause == static_cast<std::uint64_t>(Cause::StorePageFault);
}

// [hb:region kernel_fault]
void kernel_fault(TrapFrame& f) {
    const StackLocation where = locate_stack(f.stval);
    if (is_page_fault(f.scause) && where.found && where.in_guard) {
        const CpuId cpu = this_cpu();
        g_guard_fault[cpu.raw()] = {true, f.scause, f.stval, cpu, reinterpret_cast<std::uintptr_t>(&f)};
        if (JumpBuffer* jb = g_recover[cpu.raw()]) {
            g_recover[cpu.raw()] = nullptr;
            hb_longjmp(jb, 1);  // back into the selftest, off this stack
        }
        console::println("KINIT: FAIL stack overflow on cpu", cpu, ": hit the guard page of cpu",
                         where.cpu, "'s ", stack_kind_name(where.kind), " stack at ", Hex{f.stval});
        power_off(ExitStatus::Failure);
    }
    fatal(f, "unexpected kernel trap");
}
// [hb:end kernel_fault]

}  // namespace

void set_syscall_handler(SyscallHandler h) { g_syscall = h; }
void set_interrupt_handler(InterruptHandler h) { g_interrupt = h; }

void install_on_this_hart() {
    HB_CSR_WRITE(sscratch, 0);
    HB_CSR_WRITE(stvec, reinterpret_cast<std::uintptr_t>(hb_trap_entry));  // direct mode
}

std::uint64_t run_user(void (*entry)(), std::uintptr_t user_sp, std::uint64_t arg) {
    return hb_user_enter(reinterpret_cast<std::uintptr_t>(entry), user_sp, arg);
}

void arm_guard_recovery(JumpBuffer* buf) {
    const CpuId cpu = this_cpu();
    g_guard_fault[cpu.raw()] = {};
    g_recover[cpu.raw()] = buf;
}
void disarm_guard_recovery() { g_recover[this_cpu().raw()] = nullptr; }
GuardFault last_guard_fault(CpuId cpu) { return g_guard_fault[cpu.raw()]; }

}  // namespace hb::trap

// [hb:region dispatch]
extern "C" void hb_trap_dispatch(hb::trap::TrapFrame* frame) {
    using namespace hb::trap;
    TrapFrame& f = *frame;
    if ((f.scause & kInterruptBit) != 0) {
        if (g_interrupt == nullptr || !g_interrupt(f)) fatal(f, "unexpected interrupt");
        return;
    }
    if (!from_user(f)) {
        kernel_fault(f);
        return;
    }
    if (f.scause != static_cast<std::uint64_t>(Cause::EcallFromU)) fatal(f, "user fault");
    f.sepc += 4;  // resume after the ecall
    if (f.x[17] == HB_SYS_EXIT) {
        // The kernel context parked by hb_user_enter is where EXIT resumes;
        // zero means it was lost (or taken by another task's exit).
        if (hb::this_hart_local().kernel_context == 0) fatal(f, "EXIT with no parked kernel context");
        hb_user_return_to_kernel(f.x[10]);
    }
    if (g_syscall == nullptr) fatal(f, "system call with no handler");
    f.x[10] = g_syscall(f);
}
// [hb:end dispatch]
