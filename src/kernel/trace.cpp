#include "kernel/trace.hpp"

#include "kernel/console.hpp"
#include "kernel/hartlocal.hpp"
#include "kernel/irqlock.hpp"
#include "kernel/wait.hpp"

namespace hb::trace {
namespace detail {
constinit std::atomic<bool> g_enabled{false};
}  // namespace detail

namespace {
constinit Ring g_rings[kMaxCpus]{};
}  // namespace

// [hb:region trace_record_slow]
void detail::record_slow(TraceEvent kind, std::uint32_t arg, std::uint16_t arg16) {
    // Masked: no migration between naming the CPU and writing its ring, and
    // no trap handler recording into the same ring halfway through (the ring
    // has one writer at a time by this, not by a lock).
    InterruptsOff off;
    const CpuId cpu = current_cpu();
    TraceRecord r;
    r.ticks = now_ticks();
    r.kind = kind;
    r.cpu = static_cast<std::uint8_t>(cpu.raw());
    r.arg16 = arg16;
    r.arg = arg;
    (void)g_rings[cpu.raw()].push(r);  // full: dropped and counted, the dump says so
}
// [hb:end trace_record_slow]

void start(std::uint32_t running_task) {
    for (Ring& r : g_rings) r.reset();
    // Release: a CPU that sees the flag (through a later IPI or lock) sees
    // the emptied rings.
    detail::g_enabled.store(true, std::memory_order_release);
    record(TraceEvent::Begin, running_task);
}

void stop() { detail::g_enabled.store(false, std::memory_order_release); }

bool enabled() { return detail::g_enabled.load(std::memory_order_relaxed); }

const Ring& ring(CpuId cpu) { return g_rings[cpu.raw()]; }

void dump(std::uint32_t cpus) {
    for (std::uint32_t c = 0; c < cpus && c < kMaxCpus; ++c) {
        const Ring& ring = g_rings[c];
        const std::size_t n = ring.published();
        for (std::size_t i = 0; i < n; ++i) {
            const TraceRecord& r = ring.at(i);
            const char* arg_name = trace_arg_name(r.kind);
            if (r.kind == TraceEvent::Steal) {
                console::println("TRACE: cpu", c, " t=", r.ticks, " steal victim=", r.arg, " tasks=", r.arg16);
            } else if (arg_name != nullptr) {
                console::println("TRACE: cpu", c, " t=", r.ticks, " ", trace_event_name(r.kind), " ", arg_name, "=",
                                 r.arg);
            } else {
                console::println("TRACE: cpu", c, " t=", r.ticks, " ", trace_event_name(r.kind));
            }
        }
        console::println("TRACE: cpu", c, " records=", n, " dropped=", ring.dropped());
    }
}

}  // namespace hb::trace
