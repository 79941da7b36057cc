// The one fatal path: hb::panic and HB_ASSERT.
//
// A kernel that finds one of its invariants broken stops at once: it prints
// one line that names the CPU, the place and the reason,
//
//   KPANIC: cpu1 sched.cpp:212: lock rule 6: context switch with 1 lock(s) held
//
// and powers off with a failure status, so QEMU's exit status carries the
// verdict too. The harness treats any line containing "panic" as a failed
// gate. Selftest verdicts are not panics: they print their own
// `KSELFTEST: <name> FAIL <reason>` line (kernel/selftest.hpp) and then end
// the same way.
#pragma once

#include "kernel/console.hpp"

namespace hb {

/// Where a panic was raised: the file's base name and the line.
struct Place {
    const char* file;
    int line;
};
#define HB_HERE (::hb::Place{__FILE_NAME__, __LINE__})

namespace detail {
[[noreturn]] void panic_line(Place where, const console::Line& reason);
}

// [hb:region panic]
/// Prints `KPANIC: cpu<N> <file>:<line>: <reason...>` and powers off with a
/// failure status. Safe with interrupts in any state, with the console lock
/// held by this hart, and before this hart has its HartLocal.
template <typename... Reason>
[[noreturn]] void panic(Place where, const Reason&... reason) {
    console::Line line;
    append_all(line, reason...);
    detail::panic_line(where, line);
}

#define HB_PANIC(...) ::hb::panic(HB_HERE, __VA_ARGS__)
/// Panics with the condition's text and the reason when `cond` is false.
#define HB_ASSERT(cond, ...) \
    ((cond) ? static_cast<void>(0) : ::hb::panic(HB_HERE, "assertion '" #cond "' failed: ", __VA_ARGS__))
// [hb:end panic]

}  // namespace hb
