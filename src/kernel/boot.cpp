#include "kernel/boot.hpp"

#include "kernel/console.hpp"
#include "kernel/power.hpp"
#include "kernel/wait.hpp"

namespace hb {
namespace {
constinit BootInfo g_boot{};
}

const BootInfo& boot_info() { return g_boot; }

const BootInfo& early_init(HartId boot_hart, std::uintptr_t dtb, const char* chapter,
                           const char* title) {
    console::println("Hartbook chapter ", chapter, ": ", title);
    g_boot.boot_hart = boot_hart;
    // The boot hart id is a0 from the firmware, not 0: OpenSBI picks the
    // boot hart by lottery.
    console::println("KINIT: boot hart", boot_hart);

    const void* blob = reinterpret_cast<const void*>(dtb);
    const std::size_t size = fdt::total_size(blob);
    auto parsed = fdt::parse(blob, size);
    if (!parsed.ok()) {
        console::println("KINIT: FAIL device tree at ", Hex{dtb}, ": ", fdt::error_name(parsed.error()));
        power_off(ExitStatus::Failure);
    }
    g_boot.platform = parsed.value();
    init_wait(g_boot.platform.timebase_hz);
    g_boot.args = BootArgs(g_boot.platform.bootargs, g_boot.platform.bootargs_len);
    const char* fault = nullptr;
    std::size_t fault_len = 0;
    if (g_boot.args.value("fault", fault, fault_len)) {
        console::Line line;
        line.append("KINIT: fault injected: ");
        for (std::size_t i = 0; i < fault_len; ++i) line.append(fault[i]);
        console::write_line(line);
    }

    const auto limit = static_cast<std::uint32_t>(g_boot.args.number("maxcpus", kMaxCpus));
    auto topo = Topology::build(boot_hart, g_boot.platform.harts, g_boot.platform.hart_count, limit);
    if (!topo.ok()) {
        console::println("KINIT: FAIL topology: ", topology_error_name(topo.error()));
        power_off(ExitStatus::Failure);
    }
    g_boot.topology = topo.value();
    if (g_boot.args.has("fault", "early-fault")) {
        // Mutation test: a wild load before any trap entry is installed must
        // be reported by the early trap vector (start.S), not hang the hart.
        volatile std::uintptr_t wild = 8;  // volatile: the compiler may not know it is bad
        (void)*reinterpret_cast<volatile std::uint64_t*>(wild);
    }
    return g_boot;
}

}  // namespace hb
