// Early boot on the boot hart: what every chapter kernel does first.
#pragma once

#include <cstdint>

#include "lib/bootargs.hpp"
#include "lib/fdt.hpp"
#include "lib/ids.hpp"
#include "lib/topology.hpp"

namespace hb {

/// Facts learned at boot, written once by the boot hart before any other
/// hart starts, read-only afterwards.
struct BootInfo {
    HartId boot_hart{};
    fdt::Platform platform{};
    Topology topology{};
    BootArgs args{};
};

/// Prints the banner and `KINIT: boot hart<N>`, parses the device tree and
/// builds the topology. Any failure is reported and powers off.
const BootInfo& early_init(HartId boot_hart, std::uintptr_t dtb, const char* chapter,
                           const char* title);

/// The BootInfo built by early_init.
const BootInfo& boot_info();

}  // namespace hb
