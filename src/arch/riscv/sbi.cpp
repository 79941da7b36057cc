#include "arch/riscv/sbi.hpp"

namespace hb::sbi {
namespace {

struct Raw {
    std::int64_t error;
    std::int64_t value;
};

// [hb:region sbi_call]
// The SBI calling convention: a7 = extension, a6 = function, a0-a5 = args;
// the firmware returns error in a0 and value in a1.
Raw call(Extension ext, std::int64_t fid, std::uint64_t a0 = 0, std::uint64_t a1 = 0,
         std::uint64_t a2 = 0) {
    register std::uint64_t r_a0 asm("a0") = a0;
    register std::uint64_t r_a1 asm("a1") = a1;
    register std::uint64_t r_a2 asm("a2") = a2;
    register std::int64_t r_a6 asm("a6") = fid;
    register std::int64_t r_a7 asm("a7") = static_cast<std::int64_t>(ext);
    asm volatile("ecall"
                 : "+r"(r_a0), "+r"(r_a1)
                 : "r"(r_a2), "r"(r_a6), "r"(r_a7)
                 : "memory");
    return {static_cast<std::int64_t>(r_a0), static_cast<std::int64_t>(r_a1)};
}
// [hb:end sbi_call]

template <typename T>
SbiRet<T> wrap(Raw r) {
    return {static_cast<Error>(r.error), static_cast<T>(r.value)};
}

}  // namespace

const char* error_name(Error e) {
    switch (e) {
    case Error::Success: return "success";
    case Error::Failed: return "failed";
    case Error::NotSupported: return "not-supported";
    case Error::InvalidParam: return "invalid-param";
    case Error::Denied: return "denied";
    case Error::InvalidAddress: return "invalid-address";
    case Error::AlreadyAvailable: return "already-available";
    case Error::AlreadyStarted: return "already-started";
    case Error::AlreadyStopped: return "already-stopped";
    }
    return "unknown-error";
}

const char* hart_state_name(HartState s) {
    switch (s) {
    case HartState::Started: return "started";
    case HartState::Stopped: return "stopped";
    case HartState::StartPending: return "start-pending";
    case HartState::StopPending: return "stop-pending";
    case HartState::Suspended: return "suspended";
    case HartState::SuspendPending: return "suspend-pending";
    case HartState::ResumePending: return "resume-pending";
    }
    return "unknown-state";
}

bool probe(Extension ext) {
    // Base extension, function 3: returns 0 when the extension is absent.
    Raw r = call(Extension::Base, 3, static_cast<std::uint64_t>(ext));
    return r.error == 0 && r.value != 0;
}

SbiRet<std::int64_t> spec_version() { return wrap<std::int64_t>(call(Extension::Base, 0)); }

void console_putchar(char c) {
    call(Extension::LegacyConsolePutchar, 0, static_cast<unsigned char>(c));
}

void set_timer(std::uint64_t stime_value) { call(Extension::Time, 0, stime_value); }

SbiRet<std::int64_t> hart_start(HartId hart, std::uintptr_t entry, std::uintptr_t opaque) {
    return wrap<std::int64_t>(call(Extension::Hsm, 0, hart.raw(), entry, opaque));
}

SbiRet<HartState> hart_status(HartId hart) {
    return wrap<HartState>(call(Extension::Hsm, 2, hart.raw()));
}

SbiRet<std::int64_t> hart_stop() { return wrap<std::int64_t>(call(Extension::Hsm, 1)); }

SbiRet<std::int64_t> send_ipi(std::uint64_t mask, std::uint64_t base) {
    return wrap<std::int64_t>(call(Extension::Ipi, 0, mask, base));
}

SbiRet<std::int64_t> system_reset(ResetType type, ResetReason reason) {
    return wrap<std::int64_t>(call(Extension::SystemReset, 0, static_cast<std::uint64_t>(type),
                                   static_cast<std::uint64_t>(reason)));
}

}  // namespace hb::sbi
