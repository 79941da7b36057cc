#include "kernel/audit.hpp"

#include "kernel/hartlocal.hpp"

namespace hb::audit {
namespace {
constinit Log g_log;
}  // namespace

AuditOutcome record(AuditEvent kind, CpuId target, TaskId task) {
    return g_log.record(kind, current_cpu(), target, task);
}
Log& log() { return g_log; }

}  // namespace hb::audit
