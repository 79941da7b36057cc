#include "kernel/boot.hpp"

#include "kernel/console.hpp"
#include "kernel/fault.hpp"
#include "kernel/panic.hpp"
#include "kernel/wait.hpp"

namespace hb {
namespace {
constinit BootInfo g_boot{};
// Fault early-fault's target. volatile: the compiler may not know it is bad.
volatile std::uintptr_t g_wild_address = 8;
}

const BootInfo& boot_info() { return g_boot; }

const BootInfo& early_init(HartId boot_hart, std::uintptr_t dtb, const char* chapter,
                           const char* title) {
    console::println("Hartbook chapter ", chapter, ": ", title);
    g_boot.boot_hart = boot_hart;
    const void* blob = reinterpret_cast<const void*>(dtb);
    const std::size_t size = fdt::total_size(blob);
    auto parsed = fdt::parse(blob, size);
    HB_ASSERT(parsed.ok(), "device tree at ", Hex{dtb}, ": ", fdt::error_name(parsed.error()));
    g_boot.platform = parsed.value();
    init_wait(g_boot.platform.timebase_hz);
    g_boot.args = BootArgs(g_boot.platform.bootargs, g_boot.platform.bootargs_len);
    fault::init(g_boot.args);
    // A grading run's nonce (labs, `make grade`): set before the first marker.
    const char* nonce = nullptr;
    std::size_t nonce_len = 0;
    if (g_boot.args.value("nonce", nonce, nonce_len)) {
        HB_ASSERT(valid_nonce(nonce, nonce_len), "nonce= on the command line must be 1..", kNonceMax,
                  " characters of 0-9 and a-z");
        console::set_marker_nonce(nonce, nonce_len);
    }
    // The boot hart id is a0 from the firmware, not 0: OpenSBI picks the
    // boot hart by lottery.
    console::println("KINIT: boot hart", boot_hart);

    const auto limit = static_cast<std::uint32_t>(g_boot.args.number("maxcpus", kMaxCpus));
    auto topo = Topology::build(boot_hart, g_boot.platform.harts, g_boot.platform.hart_count, limit);
    HB_ASSERT(topo.ok(), "topology: ", topology_error_name(topo.error()));
    g_boot.topology = topo.value();
    // Fault early-fault: a wild load before any trap entry is installed must
    // be reported by the early trap vector (start.S), not hang the hart.
    if (HB_FAULT(EarlyFault)) (void)*reinterpret_cast<volatile std::uint64_t*>(g_wild_address);  // [hb:fault]
    return g_boot;
}

}  // namespace hb
