// The online mask and the rule that guards it: only a CPU may mark itself
// online.
//
// Why the rule: "cpu1 is online" is the boot hart's evidence that hart_start
// worked. If the boot hart (or any other code) could set cpu1's bit, the
// evidence would prove nothing; the seed project once passed its
// offline-CPU test only because a hart had failed to boot. So the bit carries
// a second, independent piece of evidence, a witness the hart leaves in its
// own boot block (the hart id it received in a0), and the bring-up check
// accepts a bit only together with a matching witness.
#pragma once

#include <cstdint>

#include "lib/cpuset.hpp"
#include "lib/ids.hpp"
#include "lib/topology.hpp"

namespace hb {

enum class OnlineError {
    None,
    NotSelf,        ///< a CPU tried to mark another CPU online
    AlreadyOnline,  ///< the bit was already set: a second boot of the same CPU
    AlreadyOffline, ///< the bit was already clear: a second offline of the same CPU
    OutOfRange,     ///< not a CPU this kernel has
};
inline const char* online_error_name(OnlineError e) {
    switch (e) {
    case OnlineError::None: return "none";
    case OnlineError::NotSelf: return "not-self";
    case OnlineError::AlreadyOnline: return "already-online";
    case OnlineError::AlreadyOffline: return "already-offline";
    case OnlineError::OutOfRange: return "out-of-range";
    }
    return "unknown";
}

// [hb:region online_mask]
class OnlineMask {
public:
    /// Marks `claimed` online. `self` must be the caller's own CpuId as its
    /// hart-local block records it (the kernel wrapper reads it through tp),
    /// never a value the caller chose.
    OnlineError mark_online(CpuId self, CpuId claimed) {
        if (claimed.raw() >= kMaxCpus) return OnlineError::OutOfRange;
        if (self != claimed) return OnlineError::NotSelf;
        return m_set.insert(claimed) ? OnlineError::None : OnlineError::AlreadyOnline;
    }
    /// Marks `claimed` offline (chapter 05). Same rule as mark_online: only
    /// a CPU takes itself offline, from its own offline path, so a bit that
    /// goes out is the CPU's own statement that it stopped taking work.
    OnlineError mark_offline(CpuId self, CpuId claimed) {
        if (claimed.raw() >= kMaxCpus) return OnlineError::OutOfRange;
        if (self != claimed) return OnlineError::NotSelf;
        return m_set.erase(claimed) ? OnlineError::None : OnlineError::AlreadyOffline;
    }
    [[nodiscard]] CpuSet snapshot() const { return m_set.load(); }

private:
    AtomicCpuSet m_set;
};
// [hb:end online_mask]

/// What a secondary hart leaves behind as its own proof of life.
struct OnlineWitness {
    bool present = false;
    HartId hart{};  ///< the id the hart received in a0 from the firmware
};

/// The result of checking the online mask after bring-up.
struct BringupVerdict {
    enum class Problem { None, MaskMismatch, MissingWitness, WrongHart } problem = Problem::None;
    CpuId cpu{};  ///< the first offending CPU
};
inline const char* bringup_problem_name(BringupVerdict::Problem p) {
    switch (p) {
    case BringupVerdict::Problem::None: return "none";
    case BringupVerdict::Problem::MaskMismatch: return "online mask differs from the started set";
    case BringupVerdict::Problem::MissingWitness: return "online bit without the hart's own witness";
    case BringupVerdict::Problem::WrongHart: return "witness names a different hart";
    }
    return "unknown";
}

// [hb:region verify_bringup]
/// Bring-up is correct when the online mask is exactly the set of CPUs we
/// started plus the boot CPU, and every secondary's bit is backed by a
/// witness naming the hart the topology assigned to that CPU.
inline BringupVerdict verify_bringup(CpuSet online, CpuSet expected, const OnlineWitness* witness,
                                     const Topology& topo) {
    BringupVerdict v;
    if (online != expected) {
        const CpuSet diff = CpuSet::from_bits(online.bits() ^ expected.bits());
        diff.for_each([&](CpuId c) {
            if (v.problem == BringupVerdict::Problem::None) v = {BringupVerdict::Problem::MaskMismatch, c};
        });
        return v;
    }
    online.for_each([&](CpuId c) {
        if (v.problem != BringupVerdict::Problem::None || c == CpuId(0)) return;
        if (!witness[c.raw()].present) {
            v = {BringupVerdict::Problem::MissingWitness, c};
        } else if (witness[c.raw()].hart != topo.hart_of(c)) {
            v = {BringupVerdict::Problem::WrongHart, c};
        }
    });
    return v;
}
// [hb:end verify_bringup]

}  // namespace hb
