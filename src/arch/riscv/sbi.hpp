// The Supervisor Binary Interface: the kernel's only way to ask the firmware
// (OpenSBI, in M-mode) for a console, timers, other harts and power-off.
// Raw hart numbers and hart masks exist only inside this wrapper; callers
// speak HartId and CpuSet-derived HartIds.
#pragma once

#include <cstdint>

#include "lib/ids.hpp"

namespace hb::sbi {

/// SBI error codes (SBI spec, "Standard SBI Errors").
enum class Error : std::int64_t {
    Success = 0,
    Failed = -1,
    NotSupported = -2,
    InvalidParam = -3,
    Denied = -4,
    InvalidAddress = -5,
    AlreadyAvailable = -6,
    AlreadyStarted = -7,
    AlreadyStopped = -8,
};

/// What every SBI call returns: the specification's `struct sbiret
/// { long error; long value; }`, with the value typed. `value` means
/// something only when `error` is Success.
template <typename T>
struct SbiRet {
    Error error;
    T value;
    [[nodiscard]] bool ok() const { return error == Error::Success; }
};

const char* error_name(Error e);

/// Extension ids (SBI spec chapter per extension).
enum class Extension : std::int64_t {
    LegacyConsolePutchar = 0x01,
    Base = 0x10,
    Time = 0x54494D45,     // "TIME"
    Ipi = 0x735049,        // "sPI"
    Hsm = 0x48534D,        // "HSM"
    SystemReset = 0x53525354,  // "SRST"
};

/// Base extension: is `ext` implemented by this firmware?
bool probe(Extension ext);
SbiRet<std::int64_t> spec_version();

/// Legacy console: one byte to the firmware's UART. Blocking, slow, and the
/// only console every SBI implementation has.
void console_putchar(char c);

/// TIME: raise the timer interrupt at `stime_value` (and clear a pending one).
void set_timer(std::uint64_t stime_value);

/// HSM hart states (SBI spec, HSM extension).
enum class HartState : std::int64_t {
    Started = 0,
    Stopped = 1,
    StartPending = 2,
    StopPending = 3,
    Suspended = 4,
    SuspendPending = 5,
    ResumePending = 6,
};
const char* hart_state_name(HartState s);

/// HSM: start `hart` at physical address `entry` in S-mode with a0 = hart id
/// and a1 = `opaque`.
SbiRet<std::int64_t> hart_start(HartId hart, std::uintptr_t entry, std::uintptr_t opaque);
SbiRet<HartState> hart_status(HartId hart);
/// HSM: stops the calling hart (must be called with S-mode interrupts off).
/// Does not return on success; the hart can be started again by hart_start.
SbiRet<std::int64_t> hart_stop();

/// IPI: raise the supervisor software interrupt on the harts of a window:
/// hart `base + i` for every bit i of `mask` (the spec's hart_mask and
/// hart_mask_base). Built from a CpuSet through the topology, in one place:
/// kernel/ipi.cpp with lib/hartmask.hpp.
SbiRet<std::int64_t> send_ipi(std::uint64_t mask, std::uint64_t base);

enum class ResetType : std::uint32_t { Shutdown = 0, ColdReboot = 1, WarmReboot = 2 };
enum class ResetReason : std::uint32_t { None = 0, SystemFailure = 1 };
/// SRST: does not return on success.
SbiRet<std::int64_t> system_reset(ResetType type, ResetReason reason);

}  // namespace hb::sbi
