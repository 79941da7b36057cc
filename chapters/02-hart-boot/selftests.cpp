#include "02-hart-boot/selftests.hpp"

#include "kernel/hartlocal.hpp"
#include "kernel/selftest.hpp"
#include "kernel/smp.hpp"
#include "kernel/stacks.hpp"

namespace hb::ch02 {

// [hb:region reject_foreign]
void selftest_reject_foreign_online(const BootInfo& boot) {
    constexpr const char* kName = "test_reject_foreign_online";
    OnlineMask& mask = smp::online_mask();
    const CpuSet before = mask.snapshot();

    // 1. The boot CPU (cpu0, per its tp block) claims to bring cpu1 online.
    //    The mask must refuse and stay unchanged.
    const OnlineError e = mask.mark_online(current_cpu(), CpuId(1));
    selftest::check(e == OnlineError::NotSelf, kName, "cpu0 marked cpu1 online: ", online_error_name(e));
    selftest::check(mask.snapshot() == before, kName, "mask changed by a rejected claim");

    // 2. A second "online" of the boot CPU itself is a double boot: refused.
    selftest::check(smp::mark_self_online() == OnlineError::AlreadyOnline, kName,
                    "cpu0 marked online twice");

    // 3. The bring-up check must not be fooled by a bit without a witness.
    //    Take the real mask and witnesses and forge one bit no hart vouched
    //    for: a CPU id that is not in use, set as if someone had set it; or,
    //    when every id is in use (kMaxCpus harts), a real secondary's bit
    //    with its witness taken away. Either way the check must name it.
    OnlineWitness w[kMaxCpus]{};
    for (std::uint32_t c = 0; c < kMaxCpus; ++c) w[c] = smp::witness(CpuId(c));
    CpuId ghost(boot.topology.cpu_count());
    if (ghost.raw() >= kMaxCpus) {
        ghost = CpuId(kMaxCpus - 1);
        w[ghost.raw()] = {};
    }
    const CpuSet forged = before.with(ghost);
    const BringupVerdict v = verify_bringup(forged, forged, w, boot.topology);
    selftest::check(v.problem == BringupVerdict::Problem::MissingWitness && v.cpu == ghost, kName,
                    "forged online bit of cpu", ghost, " was accepted: ", bringup_problem_name(v.problem));
    selftest::pass(kName);
}
// [hb:end reject_foreign]

// [hb:region smp_online]
void selftest_smp_online(const BootInfo& boot, CpuSet started) {
    constexpr const char* kName = "smp online";
    const CpuSet online = smp::online_mask().snapshot();
    OnlineWitness w[kMaxCpus]{};
    for (std::uint32_t c = 0; c < kMaxCpus; ++c) w[c] = smp::witness(CpuId(c));

    const BringupVerdict v = verify_bringup(online, started, w, boot.topology);
    selftest::check(v.problem == BringupVerdict::Problem::None, kName, "cpu", v.cpu, ": ",
                    bringup_problem_name(v.problem), " (online ", Hex{online.bits()}, ", started ",
                    Hex{started.bits()}, ")");
    selftest::check(online.count() == boot.topology.cpu_count(), kName, "online count ",
                    online.count(), " != cpus ", boot.topology.cpu_count());
    selftest::pass(kName);
}
// [hb:end smp_online]

}  // namespace hb::ch02
