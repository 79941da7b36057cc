// The executable lock rules (lib/lockdep.hpp): each rule broken on purpose
// is named, and legal sequences pass.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "lib/lockdep.hpp"

using hb::LockClass;
using hb::LockDepth;
using hb::LockRule;

TEST(LockDepth, FreshCpuMayDoAnything) {
    const LockDepth d;
    EXPECT_EQ(d.check_acquire(LockClass::RunQueue), LockRule::None);
    EXPECT_EQ(d.check_acquire(LockClass::Console), LockRule::None);
    EXPECT_EQ(d.check_print(), LockRule::None);
    EXPECT_EQ(d.check_switch(), LockRule::None);
    EXPECT_EQ(d.check_interrupt(), LockRule::None);
    EXPECT_EQ(d.total(), 0u);
}

TEST(LockDepth, SecondRunQueueLockBreaksRule1) {
    LockDepth d;
    d.acquired(LockClass::RunQueue);
    EXPECT_EQ(d.check_acquire(LockClass::RunQueue), LockRule::OneRunQueue);
}

TEST(LockDepth, AnyOtherLockOrPrintUnderRunQueueBreaksRule2) {
    LockDepth d;
    d.acquired(LockClass::RunQueue);
    EXPECT_EQ(d.check_acquire(LockClass::Console), LockRule::RunQueueIsLeaf);
    EXPECT_EQ(d.check_acquire(LockClass::TaskTable), LockRule::RunQueueIsLeaf);
    EXPECT_EQ(d.check_acquire(LockClass::Leaf), LockRule::RunQueueIsLeaf);
    EXPECT_EQ(d.check_print(), LockRule::RunQueueIsLeaf);
}

TEST(LockDepth, TaskTableThenRunQueueIsTheLegalOrder) {
    // Rule 3: locks above the runqueue are taken before it, never after.
    LockDepth d;
    d.acquired(LockClass::TaskTable);
    EXPECT_EQ(d.check_acquire(LockClass::RunQueue), LockRule::None);
    d.acquired(LockClass::RunQueue);
    EXPECT_EQ(d.release(LockClass::RunQueue), LockRule::None);
    EXPECT_EQ(d.release(LockClass::TaskTable), LockRule::None);
    EXPECT_EQ(d.total(), 0u);
}

TEST(LockDepth, PrintUnderConsoleOrTaskTableIsAllowedByRule2) {
    LockDepth d;
    d.acquired(LockClass::TaskTable);
    EXPECT_EQ(d.check_print(), LockRule::None);
}

TEST(LockDepth, AnyLockAcrossASwitchBreaksRule6) {
    for (LockClass c : {LockClass::Leaf, LockClass::Console, LockClass::RunQueue, LockClass::TaskTable}) {
        LockDepth d;
        d.acquired(c);
        EXPECT_EQ(d.check_switch(), LockRule::NoLockAcrossSwitch);
        EXPECT_EQ(d.release(c), LockRule::None);
        EXPECT_EQ(d.check_switch(), LockRule::None);
    }
}

TEST(LockDepth, AnInterruptUnderAnyLockBreaksRule4) {
    LockDepth d;
    d.acquired(LockClass::Console);
    EXPECT_EQ(d.check_interrupt(), LockRule::InterruptsOff);
}

TEST(LockDepth, ReleasingWhatIsNotHeldIsRefusedAndChangesNothing) {
    LockDepth d;
    EXPECT_EQ(d.release(LockClass::RunQueue), LockRule::NotHeld);
    d.acquired(LockClass::Console);
    EXPECT_EQ(d.release(LockClass::RunQueue), LockRule::NotHeld);
    EXPECT_EQ(d.held(LockClass::Console), 1u);
    EXPECT_EQ(d.total(), 1u);
}

TEST(LockDepth, RuleNamesAreDistinctAndNumbered) {
    std::set<std::string> names;
    for (LockRule r : {LockRule::OneRunQueue, LockRule::RunQueueIsLeaf, LockRule::InterruptsOff,
                       LockRule::NoLockAcrossSwitch, LockRule::NotHeld}) {
        names.insert(hb::lock_rule_name(r));
    }
    EXPECT_EQ(names.size(), 5u);
    EXPECT_NE(std::string(hb::lock_rule_name(LockRule::OneRunQueue)).find("rule 1"), std::string::npos);
    EXPECT_NE(std::string(hb::lock_rule_name(LockRule::NoLockAcrossSwitch)).find("rule 6"), std::string::npos);
}
