// The kernel's audit log of SMP events (chapter 05): CPUs going online and
// offline, reschedule IPIs sent. One bounded log for the whole kernel
// (lib/ipi_counters.hpp defines it and its drop-the-newest rule).
//
// The author of a record is always the calling CPU as its hart-local block
// names it (current_cpu()), never an argument: a caller cannot make a record
// claim another CPU did something.
#pragma once

#include "kernel/irqlock.hpp"
#include "lib/ipi_counters.hpp"

namespace hb::audit {

using Log = AuditLog<IrqSpinLock>;

/// Appends `kind` by this CPU about `target` (and `task`, for a migration).
AuditOutcome record(AuditEvent kind, CpuId target, TaskId task = kNoAuditTask);
/// The log itself, for selftests and dumps (read it with for_each; never
/// record or print from inside for_each).
Log& log();

}  // namespace hb::audit
