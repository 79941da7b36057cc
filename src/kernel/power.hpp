// Power-off with a verdict. QEMU's exit status carries it: SBI SRST with
// reason "none" makes QEMU exit 0, reason "system failure" makes it exit
// non-zero, so a gate learns the verdict even without reading the log.
#pragma once

namespace hb {

enum class ExitStatus { Success, Failure };

[[noreturn]] void power_off(ExitStatus status);

}  // namespace hb
