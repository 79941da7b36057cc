#include "kernel/power.hpp"

#include <cstdint>

#include "arch/riscv/csr.hpp"
#include "arch/riscv/sbi.hpp"
#include "kernel/boot.hpp"
#include "kernel/console.hpp"
#include "kernel/panic.hpp"

namespace hb {

// [hb:region power_off]
void power_off(ExitStatus status) {
    if (status == ExitStatus::Failure) {
        // OpenSBI 1.1 ignores SRST's reason and always reports "pass" to
        // QEMU, so a failure goes straight to QEMU virt's test finisher (found
        // in the device tree): 0x3333 = fail, with exit code 1 in bits 16+.
        const std::uint64_t finisher = boot_info().platform.test_finisher;
        if (finisher != 0) {
            arch::mmio_write32(finisher, 0x3333u | (1u << 16));
        }
    }
    const auto reason =
        status == ExitStatus::Success ? sbi::ResetReason::None : sbi::ResetReason::SystemFailure;
    auto r = sbi::system_reset(sbi::ResetType::Shutdown, reason);
    if (r.error == sbi::Error::NotSupported) {
        // A board without a power-off device. QEMU sifive_u (the HiFive
        // Unleashed) has only a GPIO wired to reset, which OpenSBI offers as
        // a reboot; the harness runs QEMU with -no-reboot, so QEMU then exits
        // (with status 0: a failure must be said on the UART, and is).
        if (status == ExitStatus::Success) {
            console::println("KINIT: power-off not supported by this board, resetting instead");
        } else {
            console::println("KINIT: FAIL power-off not supported by this board: exit status lost, resetting");
        }
        r = sbi::system_reset(sbi::ResetType::ColdReboot, reason);
    }
    // Only reached when the firmware has no SRST extension or refused.
    console::println("KINIT: power-off failed (sbi ", sbi::error_name(r.error), "), halting");
    for (;;) arch::wait_for_interrupt();
}
// [hb:end power_off]

}  // namespace hb

// Called by start.S's early trap vector.
extern "C" [[noreturn]] void hb_early_trap_report(std::uint64_t scause, std::uint64_t sepc, std::uint64_t stval) {
    HB_PANIC("early trap (no trap entry installed yet): scause=", hb::Hex{scause}, " sepc=", hb::Hex{sepc},
             " stval=", hb::Hex{stval});
}
