#include "kernel/panic.hpp"

#include "arch/riscv/csr.hpp"
#include "kernel/hartlocal.hpp"
#include "kernel/power.hpp"

namespace hb::detail {

void panic_line(Place where, const console::Line& reason) {
    arch::disable_interrupts();  // nothing may preempt the last words
    console::Line line;
    line.append("KPANIC: cpu");
    // The unvalidated-but-checked view of tp: a panic must not "repair" tp
    // (that is current_cpu()'s fallback) nor trust a garbage one.
    if (const HartLocal* hl = hart_local_if_valid()) {
        line.append(hl->cpu);
    } else {
        line.append('?');
    }
    line.append(' ').append(where.file).append(':').append(where.line).append(": ").append(reason.c_str());
    console::write_line_panic(line);
    power_off(ExitStatus::Failure);
}

}  // namespace hb::detail

/// The course labs' stubs in assembly call this where a student's code is
/// still missing (tools/lab.py; the stub says which lab and where).
extern "C" [[noreturn]] void hb_lab_unimplemented(const char* what) {
    HB_PANIC(what, ": not written yet (the lab's stub is still in place)");
}
