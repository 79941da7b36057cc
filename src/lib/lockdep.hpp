// The lock rules, executable: per-CPU lock accounting that names the rule a
// lock operation breaks.
//
// Pure logic (a per-CPU counter block and the rule checks), so the host tests
// can break every rule on purpose. The kernel keeps one LockDepth per CPU in
// its per-CPU block and turns a violation into a panic that names the rule
// (kernel/irqlock.hpp). The rules are the ones written in runqueue.hpp's
// lock-order comment and in the book:
//
//   rule 1  at most one runqueue lock at a time;
//   rule 2  a runqueue lock is a leaf: no other lock and no console print
//           while one is held (and, from chapter 05, no IPI send);
//   rule 4  an interrupt-masking lock keeps interrupts off while held;
//   rule 6  no spinlock is held across a context switch (yield, preemption,
//           the scheduler switching to a task).
#pragma once

#include <cstdint>

namespace hb {

// [hb:region lock_class]
enum class LockClass : std::uint8_t { Leaf, Console, RunQueue, TaskTable };
inline constexpr std::uint32_t kLockClassCount = 4;
// [hb:end lock_class]

/// Which rule an operation breaks (None: it is fine).
enum class LockRule : std::uint8_t {
    None,
    OneRunQueue,          ///< rule 1: a second runqueue lock
    RunQueueIsLeaf,       ///< rule 2: another lock, or a print, under a runqueue lock
    InterruptsOff,        ///< rule 4: interrupts enabled while an irq lock is held
    NoLockAcrossSwitch,   ///< rule 6: a context switch with a lock held
    NotHeld,              ///< releasing a lock this CPU does not hold
};

constexpr const char* lock_rule_name(LockRule r) {
    switch (r) {
    case LockRule::None: return "none";
    case LockRule::OneRunQueue: return "lock rule 1 (at most one runqueue lock)";
    case LockRule::RunQueueIsLeaf: return "lock rule 2 (a runqueue lock is a leaf)";
    case LockRule::InterruptsOff: return "lock rule 4 (interrupts stay off under an irq lock)";
    case LockRule::NoLockAcrossSwitch: return "lock rule 6 (no lock held across a context switch)";
    case LockRule::NotHeld: return "unlock of a lock this cpu does not hold";
    }
    return "?";
}

// [hb:region lock_depth]
/// The locks one CPU holds, by class. Only that CPU touches its block
/// (with interrupts off, since every kernel spinlock masks them), so plain
/// counters suffice.
class LockDepth {
public:
    /// Before spinning on a lock of class `c`: may this CPU take it now?
    /// (Checked before spinning, so a rule-1 self-deadlock is reported, not hung.)
    [[nodiscard]] constexpr LockRule check_acquire(LockClass c) const {
        if (held(LockClass::RunQueue) != 0) {
            return c == LockClass::RunQueue ? LockRule::OneRunQueue : LockRule::RunQueueIsLeaf;
        }
        return LockRule::None;
    }
    constexpr void acquired(LockClass c) { ++m_held[index(c)]; }
    [[nodiscard]] constexpr LockRule release(LockClass c) {
        if (m_held[index(c)] == 0) return LockRule::NotHeld;
        --m_held[index(c)];
        return LockRule::None;
    }
    /// A console print: not under a runqueue lock.
    [[nodiscard]] constexpr LockRule check_print() const {
        return held(LockClass::RunQueue) != 0 ? LockRule::RunQueueIsLeaf : LockRule::None;
    }
    /// A context switch (or yield, or preemption): no lock at all.
    [[nodiscard]] constexpr LockRule check_switch() const {
        return total() != 0 ? LockRule::NoLockAcrossSwitch : LockRule::None;
    }
    /// An interrupt was taken (so interrupts were on): no irq lock may be held.
    [[nodiscard]] constexpr LockRule check_interrupt() const {
        return total() != 0 ? LockRule::InterruptsOff : LockRule::None;
    }

    [[nodiscard]] constexpr std::uint32_t held(LockClass c) const { return m_held[index(c)]; }
    [[nodiscard]] constexpr std::uint32_t total() const {
        std::uint32_t n = 0;
        for (std::uint32_t h : m_held) n += h;
        return n;
    }

private:
    static constexpr std::uint32_t index(LockClass c) { return static_cast<std::uint32_t>(c); }
    std::uint32_t m_held[kLockClassCount]{};
};
// [hb:end lock_depth]

}  // namespace hb
