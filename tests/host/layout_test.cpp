// The asm/C++ ABI (lib/asm_abi.h, lib/percpu_layout.hpp): the offsets and
// sizes assembly uses must match the C++ structures field for field.
//
// The kernel already static_asserts these; the host test repeats them as
// named test cases so a drift shows up in the test report with the field
// and both values, and so the host's view of the layout is checked too.
#include "lib/percpu_layout.hpp"

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <set>
#include <type_traits>

#include "lib/asm_abi.h"

namespace {

using hb::HartLocal;
using hb::trap::TrapFrame;

template <typename T, typename F>
std::size_t offset_of_member(const T& obj, const F& field) {
    return static_cast<std::size_t>(reinterpret_cast<const char*>(&field) - reinterpret_cast<const char*>(&obj));
}

constexpr bool power_of_two(std::uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }

// --- HartLocal -----------------------------------------------------------

TEST(HartLocalLayout, EveryFieldSitsAtItsAsmOffset) {
    EXPECT_EQ(offsetof(HartLocal, self), std::size_t{HB_HL_SELF});
    EXPECT_EQ(offsetof(HartLocal, trap_stack_top), std::size_t{HB_HL_TRAP_STACK_TOP});
    EXPECT_EQ(offsetof(HartLocal, scratch), std::size_t{HB_HL_SCRATCH});
    EXPECT_EQ(offsetof(HartLocal, cpu), std::size_t{HB_HL_CPU});
    EXPECT_EQ(offsetof(HartLocal, hart), std::size_t{HB_HL_HART});
    EXPECT_EQ(offsetof(HartLocal, scratch2), std::size_t{HB_HL_SCRATCH2});
    EXPECT_EQ(offsetof(HartLocal, emergency_stack_top), std::size_t{HB_HL_EMERGENCY_STACK_TOP});
    EXPECT_EQ(offsetof(HartLocal, kernel_context), std::size_t{HB_HL_KERNEL_CONTEXT});
    EXPECT_EQ(sizeof(HartLocal), std::size_t{HB_HL_SIZE});
}

TEST(HartLocalLayout, FieldWidthsMatchTheLoadsAssemblyUses) {
    // ld/sd for the pointer-sized fields and the hart id, lw/sw for the cpu.
    const HartLocal h{};
    EXPECT_EQ(sizeof(h.self), 8u);
    EXPECT_EQ(sizeof(h.trap_stack_top), 8u);
    EXPECT_EQ(sizeof(h.scratch), 8u);
    EXPECT_EQ(sizeof(h.cpu), 4u);
    EXPECT_EQ(sizeof(h.hart), 8u);
    EXPECT_EQ(sizeof(h.scratch2), 8u);
    EXPECT_EQ(sizeof(h.emergency_stack_top), 8u);
    EXPECT_EQ(sizeof(h.kernel_context), 8u);
    // Every 8-byte field is naturally aligned (a misaligned ld traps).
    for (std::size_t off : {HB_HL_SELF, HB_HL_TRAP_STACK_TOP, HB_HL_SCRATCH, HB_HL_HART, HB_HL_SCRATCH2,
                            HB_HL_EMERGENCY_STACK_TOP, HB_HL_KERNEL_CONTEXT}) {
        EXPECT_EQ(off % 8, 0u) << off;
    }
    EXPECT_EQ(HB_HL_CPU % 4, 0);
    EXPECT_EQ(HB_HL_SIZE % 8, 0);
}

TEST(HartLocalLayout, OffsetsAreDistinctAndInsideTheBlock) {
    const std::size_t offs[] = {HB_HL_SELF,     HB_HL_TRAP_STACK_TOP,      HB_HL_SCRATCH,
                                HB_HL_CPU,      HB_HL_HART,                HB_HL_SCRATCH2,
                                HB_HL_EMERGENCY_STACK_TOP, HB_HL_KERNEL_CONTEXT};
    EXPECT_EQ(std::set<std::size_t>(std::begin(offs), std::end(offs)).size(), std::size(offs));
    for (std::size_t o : offs) EXPECT_LT(o, std::size_t{HB_HL_SIZE});
    EXPECT_EQ(HB_HL_SELF, 0) << "`ld t0, 0(tp)` reads self";
}

TEST(HartLocalLayout, IsAPlainStructAssemblyCanAddress) {
    EXPECT_TRUE(std::is_standard_layout_v<HartLocal>);
    EXPECT_TRUE(std::is_trivially_copyable_v<HartLocal>);
    EXPECT_EQ(alignof(HartLocal), 8u);
}

// --- TrapFrame -----------------------------------------------------------

TEST(TrapFrameLayout, RegistersSitAtEightTimesTheirNumber) {
    const TrapFrame f{};
    for (int n = 0; n < 32; ++n) {
        EXPECT_EQ(offset_of_member(f, f.x[n]), std::size_t(HB_TF_REG(n))) << "x" << n;
    }
    EXPECT_EQ(HB_TF_REG(1), 8);
    EXPECT_EQ(HB_TF_REG(31), 248);
    EXPECT_EQ(offsetof(TrapFrame, x), 0u);
}

TEST(TrapFrameLayout, CsrsFollowTheRegisters) {
    EXPECT_EQ(offsetof(TrapFrame, sepc), std::size_t{HB_TF_SEPC});
    EXPECT_EQ(offsetof(TrapFrame, sstatus), std::size_t{HB_TF_SSTATUS});
    EXPECT_EQ(offsetof(TrapFrame, scause), std::size_t{HB_TF_SCAUSE});
    EXPECT_EQ(offsetof(TrapFrame, stval), std::size_t{HB_TF_STVAL});
    EXPECT_EQ(HB_TF_SEPC, HB_TF_REG(31) + 8);
    EXPECT_EQ(HB_TF_SSTATUS, HB_TF_SEPC + 8);
    EXPECT_EQ(HB_TF_SCAUSE, HB_TF_SSTATUS + 8);
    EXPECT_EQ(HB_TF_STVAL, HB_TF_SCAUSE + 8);
}

TEST(TrapFrameLayout, SizeKeepsTheStackAligned) {
    EXPECT_EQ(sizeof(TrapFrame), std::size_t{HB_TF_SIZE});
    EXPECT_EQ(HB_TF_SIZE, 32 * 8 + 4 * 8);
    EXPECT_EQ(HB_TF_SIZE % 16, 0) << "the RISC-V ABI keeps sp 16-byte aligned";
    EXPECT_GE(HB_TF_SIZE, HB_TF_STVAL + 8);
    EXPECT_TRUE(std::is_standard_layout_v<TrapFrame>);
    EXPECT_TRUE(std::is_trivially_copyable_v<TrapFrame>);
}

// --- Stacks --------------------------------------------------------------

TEST(StackLayout, SlotIsAPowerOfTwoLargerThanAPage) {
    EXPECT_EQ(HB_PAGE_SIZE, 4096);
    EXPECT_TRUE(power_of_two(HB_STACK_SLOT_SIZE)) << "trap entry masks sp with SLOT - 1";
    EXPECT_GT(HB_STACK_SLOT_SIZE, HB_PAGE_SIZE) << "a slot holds a guard page and a stack";
    EXPECT_EQ(HB_STACK_SLOT_SIZE % HB_PAGE_SIZE, 0);
}

TEST(StackLayout, StackIsTheSlotMinusItsGuardPage) {
    EXPECT_EQ(HB_STACK_SIZE, HB_STACK_SLOT_SIZE - HB_PAGE_SIZE);
    EXPECT_GT(HB_STACK_SIZE, 0);
    EXPECT_EQ(HB_STACK_SIZE % 16, 0) << "a stack top must be 16-byte aligned";
    EXPECT_GE(HB_STACK_SIZE, HB_TF_SIZE) << "a trap frame must fit on a stack";
}

TEST(StackLayout, SecondaryBootStackTopIsTheFirstWord) { EXPECT_EQ(HB_SECONDARY_BOOT_STACK_TOP, 0); }

// --- Switch contexts -----------------------------------------------------

/// The shape switch.S saves (mirrors kernel/sched.hpp's Context, which the
/// host cannot include): ra, sp, s0..s11.
struct ContextMirror {
    std::uint64_t ra;
    std::uint64_t sp;
    std::uint64_t s[12];
};

TEST(ContextLayout, FourteenWordsRaSpThenS0ToS11) {
    EXPECT_EQ(HB_CTX_RA, 0);
    EXPECT_EQ(HB_CTX_SP, 8);
    EXPECT_EQ(HB_CTX_SIZE, 14 * 8);
    EXPECT_EQ(HB_CTX_SIZE, 112);
    EXPECT_EQ(HB_CTX_SIZE % 16, 0);
    const ContextMirror c{};
    EXPECT_EQ(offsetof(ContextMirror, ra), std::size_t{HB_CTX_RA});
    EXPECT_EQ(offsetof(ContextMirror, sp), std::size_t{HB_CTX_SP});
    for (int n = 0; n < 12; ++n) {
        EXPECT_EQ(offset_of_member(c, c.s[n]), std::size_t(HB_CTX_S(n))) << "s" << n;
    }
    EXPECT_EQ(HB_CTX_S(0), HB_CTX_SP + 8);
    EXPECT_EQ(HB_CTX_S(11) + 8, HB_CTX_SIZE) << "s11 is the last word";
    EXPECT_EQ(sizeof(ContextMirror), std::size_t{HB_CTX_SIZE});
}

TEST(ContextLayout, KernelContextHoldsRaS0ToS11AndSieAligned) {
    constexpr int kWords = 14;  // ra, s0..s11, the caller's sstatus.SIE (offset 104 in trap.S)
    EXPECT_GE(HB_KCTX_SIZE, kWords * 8);
    EXPECT_EQ(HB_KCTX_SIZE % 16, 0);
    EXPECT_EQ(HB_KCTX_SIZE, (kWords * 8 + 15) / 16 * 16) << "14 words rounded up to 16 bytes, no more";
}

// --- Numbers -------------------------------------------------------------

TEST(SyscallNumbers, AreDistinct) {
    const long nums[] = {HB_SYS_EXIT, HB_SYS_CHECK_CONTEXT, HB_SYS_NOP, HB_SYS_YIELD};
    EXPECT_EQ(std::set<long>(std::begin(nums), std::end(nums)).size(), std::size(nums));
    for (long n : nums) EXPECT_GE(n, 0);
    EXPECT_EQ(HB_SYS_EXIT, 0) << "user.S and trap.cpp agree that 0 is exit";
}

TEST(SstatusBits, MatchThePrivilegedSpec) {
    EXPECT_EQ(HB_SSTATUS_SPP, 1 << 8);
    EXPECT_EQ(HB_SSTATUS_SPIE, 1 << 5);
    EXPECT_EQ(HB_SSTATUS_SIE, 1 << 1);
}

}  // namespace
