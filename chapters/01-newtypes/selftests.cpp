#include "selftests.hpp"

#include "kernel/selftest.hpp"
#include "lib/cpuset.hpp"
#include "lib/ids.hpp"

namespace hb::ch01 {

// [hb:region selftest]
void selftest_newtypes(const BootInfo& boot) {
    constexpr const char* kName = "newtypes";

    // The value goes in explicitly and comes out only through raw().
    const CpuId c3(3);
    selftest::check(c3.raw() == 3 && CpuId(3) == c3 && CpuId(2) < c3, kName, "CpuId compare");

    // CpuSet: membership, count, ascending iteration, range guard.
    CpuSet s = CpuSet{}.with(CpuId(5)).with(CpuId(0)).with(CpuId(2));
    selftest::check(s.count() == 3 && s.contains(CpuId(2)) && !s.contains(CpuId(1)), kName,
                    "CpuSet membership");
    std::uint32_t order[3]{};
    std::uint32_t n = 0;
    s.for_each([&](CpuId c) { order[n++] = c.raw(); });
    selftest::check(n == 3 && order[0] == 0 && order[1] == 2 && order[2] == 5, kName,
                    "CpuSet order");
    selftest::check(s.with(CpuId(kMaxCpus)) == s, kName, "CpuSet accepted an out-of-range cpu");

    // AtomicCpuSet on the target's AMO instructions: a second insert of the
    // same CPU reports "already a member"; out of range is refused.
    AtomicCpuSet online;
    selftest::check(online.insert(CpuId(1)) && !online.insert(CpuId(1)), kName,
                    "AtomicCpuSet double insert not reported");
    selftest::check(!online.insert(CpuId(kMaxCpus)) && online.count() == 1, kName,
                    "AtomicCpuSet out of range");
    selftest::check(online.erase(CpuId(1)) && online.load().empty(), kName, "AtomicCpuSet erase");

    // QoS order is the enum order, most urgent first.
    selftest::check(qos_more_urgent(QosClass::Realtime, QosClass::Interactive) &&
                        qos_more_urgent(QosClass::Normal, QosClass::Background) &&
                        !qos_more_urgent(QosClass::Normal, QosClass::Normal),
                    kName, "QoS order");

    // The topology table: CpuId 0 is the hart we booted on, whatever its
    // number, and the map works both ways.
    const Topology& t = boot.topology;
    CpuId back{};
    selftest::check(t.hart_of(CpuId(0)) == boot.boot_hart, kName, "cpu0 is not the boot hart");
    selftest::check(t.cpu_of(boot.boot_hart, back) && back == CpuId(0), kName,
                    "boot hart does not map back to cpu0");

    selftest::pass(kName);
}
// [hb:end selftest]

}  // namespace hb::ch01
