// Fault injection for the mutation gates (the registry is lib/faults.hpp).
//
// `fault=<name>` on the kernel command line is looked up once, by
// early_init, through fault::init. Code asks `HB_FAULT(Name)` at a site that
// is one short line tagged `// [hb:fault]`; nothing else in the kernel knows
// fault names, and the book's code quotes leave tagged lines out.
#pragma once

#include <cstdint>

#include "lib/bootargs.hpp"
#include "lib/faults.hpp"

namespace hb::fault {

/// Reads `fault=` from the command line, announces it
/// (`KINIT: fault injected: <name>`) and arms it. An unknown name panics:
/// a mistyped mutation line must not boot a healthy kernel and "pass".
void init(const BootArgs& args);

/// Bit i set: Fault i is armed. Written once by fault::init on the boot hart
/// before any other hart starts; each boot block's release store publishes
/// it. Read inline: sites sit on hot paths (every lock, every switch).
extern std::uint64_t g_active;

/// Is fault `f` armed in this boot?
inline bool active(Fault f) { return (g_active >> static_cast<unsigned>(f)) & 1u; }

}  // namespace hb::fault

/// The one way code asks about a fault: `if (HB_FAULT(NoPreempt)) ...; // [hb:fault]`
#define HB_FAULT(name) (::hb::fault::active(::hb::Fault::name))
