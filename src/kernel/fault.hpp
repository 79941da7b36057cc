// Fault injection for mutation tests: `-append "fault=<name>"` makes the
// kernel break one mechanism on purpose, so a test can show that the gate
// proving that mechanism fails. early_init announces the injected fault
// (`KINIT: fault injected: <name>`); a healthy boot has none.
#pragma once

#include "kernel/boot.hpp"

namespace hb {

/// True when the command line says `fault=<name>`.
inline bool fault_injected(const char* name) { return boot_info().args.has("fault", name); }

}  // namespace hb
