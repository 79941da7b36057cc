// Selftest reporting: the only code that prints KSELFTEST lines.
//
// A marker is printed only after the caller's code has checked the behaviour
// it names. A failure prints `KSELFTEST: <name> FAIL <reason>` and powers off
// with a failure status at once: later tests may depend on this one, and the
// gate must see the first cause, not a cascade.
#pragma once

#include "kernel/console.hpp"
#include "kernel/power.hpp"

namespace hb::selftest {

// [hb:region selftest_report]
inline void pass(const char* name) { console::println("KSELFTEST: ", name, " ok"); }

template <typename... Reason>
[[noreturn]] void fail(const char* name, const Reason&... reason) {
    console::println("KSELFTEST: ", name, " FAIL ", reason...);
    power_off(ExitStatus::Failure);
}

/// Checks `cond`; on false, fails `name` with the reason.
template <typename... Reason>
void check(bool cond, const char* name, const Reason&... reason) {
    if (!cond) fail(name, reason...);
}
// [hb:end selftest_report]

}  // namespace hb::selftest
