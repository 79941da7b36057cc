// Fault injection for mutation tests: `-append "fault=<name>"` makes the
// kernel break one mechanism on purpose, so a test can show that the gate
// proving that mechanism fails. The kernel announces an injected fault in
// its transcript; a healthy boot has none.
#pragma once

#include "kernel/boot.hpp"
#include "kernel/console.hpp"

namespace hb {

/// True when the command line says `fault=<name>`; announces it once per call site.
inline bool fault_injected(const char* name) {
    if (!boot_info().args.has("fault", name)) return false;
    console::println("KINIT: fault injected: ", name);
    return true;
}

}  // namespace hb
