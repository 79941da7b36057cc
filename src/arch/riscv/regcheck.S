/* Register-preservation probes (chapter 04's selftest_proofs).
 *
 * C++ cannot see registers, so it cannot prove that a context switch or a
 * trap keeps them: a compiler is free to keep nothing live across a call.
 * These routines put a per-task pattern in registers, let the scheduler take
 * the CPU away (a yield, or a timer tick), and compare every register with
 * its pattern when they get the CPU back.
 *
 * Pattern of register x<i> for a task with seed S: S ^ (i * 0x9E3779B97F4A7C15),
 * so every register of every task holds a different value.
 *
 * The frame (on the caller's stack, below sp) keeps what must survive while
 * every register holds a pattern: the saved callee-saved registers, the
 * arguments, the expected values EXP[32] and a snapshot OBS[32]. sp itself is
 * never filled: if a switch lost it, the loads from the frame would fail.
 */
#include "lib/asm_abi.h"

#define F_RA      0       /* ra, then s0-s11 at 8..96 */
#define F_ROUNDS  104
#define F_ARG2    112
#define F_ARG3    120
#define F_BAD     128     /* user variant: the report the kernel reads */
#define F_GOT     136
#define F_WANT    144
#define F_EXP     160     /* EXP[32] */
#define F_OBS     416     /* OBS[32] */
#define F_SWITCH  672     /* ping-pong: the switch routine under test */
#define F_PFLAG   680     /*   the partner found a bad register ... */
#define F_PREG    688     /*   ... which one, what it held, expected */
#define F_PGOT    696
#define F_PWANT   704
#define F_OUT     712     /*   RegReport* */
#define FRAME     736     /* 16-byte aligned */

/* The ping-pong partner's patterns: the main side's, XOR this. */
#define PARTNER_MASK 0x5555555555555555

/* How long every register sits in its pattern per round: HOLD_BLOCKS
 * blocks of 8 nops, each ended by a jump to the next. The jumps matter under
 * QEMU: TCG takes an interrupt only between translation blocks, and a block
 * ends only at a branch or jump, so 400 plain nops (with the loads and
 * stores around them) would be one block that no tick can enter, and every
 * tick would land in COMPARE, where the registers are scratch. Each jump
 * writes only x0. */
#define HOLD_BLOCKS 50
/* Rounds per call of the user variant (the kernel variant takes a count).
 * Long enough that most of a call is spent in user mode: under
 * single-threaded TCG a hart takes its pending tick only when its turn
 * comes round (about 10 times a second), and with 64 rounds a CI run saw
 * only 2 of those land in user mode in 20 s (15,386 short calls). */
#define USER_ROUNDS 512

/* Registers a kernel probe can fill: all but sp, gp, tp (x2-x4; gp and tp
 * belong to the kernel's trap path). A user probe fills gp and tp too. */
#define KREGS 1,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
#define UREGS 1,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
/* What COMPARE and the round counter clobber: t0, t2, t3, t4, t5. */
#define SCRATCH 5,7,28,29,30
/* The callee-saved registers a call keeps (s0, s1, s2-s11). */
#define SREGS 8,9,18,19,20,21,22,23,24,25,26,27

.macro SAVE_CALLEE
    sd      ra, F_RA(sp)
    sd      s0, 8(sp);  sd s1, 16(sp)
    sd      s2, 24(sp);  sd s3, 32(sp)
    sd      s4, 40(sp);  sd s5, 48(sp)
    sd      s6, 56(sp);  sd s7, 64(sp)
    sd      s8, 72(sp);  sd s9, 80(sp)
    sd      s10, 88(sp);  sd s11, 96(sp)
.endm
.macro RESTORE_CALLEE
    ld      ra, F_RA(sp)
    ld      s0, 8(sp);  ld s1, 16(sp)
    ld      s2, 24(sp);  ld s3, 32(sp)
    ld      s4, 40(sp);  ld s5, 48(sp)
    ld      s6, 56(sp);  ld s7, 64(sp)
    ld      s8, 72(sp);  ld s9, 80(sp)
    ld      s10, 88(sp);  ld s11, 96(sp)
.endm

/* EXP[i] = OBS[i] = a0 ^ (i * K) for i = 0..31 (OBS of an unfilled
 * register then always matches). Uses t0-t4. */
.macro FILL_EXPECTED
    li      t0, 0x9E3779B97F4A7C15
    li      t1, 0
    addi    t2, sp, F_EXP
    li      t3, 32
1:  xor     t4, a0, t1
    sd      t4, 0(t2)
    sd      t4, (F_OBS - F_EXP)(t2)
    add     t1, t1, t0
    addi    t2, t2, 8
    addi    t3, t3, -1
    bnez    t3, 1b
.endm

/* Compares OBS with EXP; on the first difference jumps to \bad with
 * t2 = register number, t3 = expected, t4 = what it held. */
.macro COMPARE bad
    addi    t0, sp, F_EXP
    li      t2, 0
    li      t5, 32
1:  ld      t3, 0(t0)
    ld      t4, (F_OBS - F_EXP)(t0)
    bne     t3, t4, \bad
    addi    t0, t0, 8
    addi    t2, t2, 1
    bne     t2, t5, 1b
.endm

/* Every register in \regs gets its pattern. */
.macro LOAD_REGS regs:vararg
    .irp n, \regs
    ld      x\n, (F_EXP + 8 * \n)(sp)
    .endr
.endm

/* One spin round: every register in \regs holds its pattern for the hold
 * and is snapshotted (sd needs only sp). The patterns are loaded once per
 * call, not per round: a register that a trap loses must stay lost until a
 * snapshot sees it. (With a reload at the top of every round, a tick that
 * lands between COMPARE and the reload is invisible, and under TCG that is
 * where user-mode ticks landed, every time: the trap-drops-t6 mutant
 * escaped about 1 boot in 10.) Only SCRATCH, which COMPARE and the round
 * counter clobber, is reloaded between rounds. */
.macro SPIN_ROUND regs:vararg
    .rept HOLD_BLOCKS
    nop; nop; nop; nop; nop; nop; nop; nop
    j       2f
2:
    .endr
    .irp n, \regs
    sd      x\n, (F_OBS + 8 * \n)(sp)
    .endr
.endm

    .text
/* [hb:region regcheck_yield] */
/* int hb_regcheck_yield(uint64_t seed, uint64_t rounds, void (*yield)(),
 *                       RegReport* out)
 * Fills s0-s11, then `rounds` times: call yield (which switches away and
 * back), snapshot s0-s11 and compare. Returns 0, or 1 with *out =
 * {register number, what it held, expected}. */
    .globl hb_regcheck_yield
hb_regcheck_yield:
    addi    sp, sp, -FRAME
    SAVE_CALLEE
    sd      a1, F_ROUNDS(sp)
    sd      a2, F_ARG2(sp)
    sd      a3, F_ARG3(sp)
    FILL_EXPECTED
    .irp n, SREGS
    ld      x\n, (F_EXP + 8 * \n)(sp)
    .endr
.Lyield_round:
    ld      t0, F_ARG2(sp)
    jalr    t0
    .irp n, SREGS
    sd      x\n, (F_OBS + 8 * \n)(sp)
    .endr
    COMPARE .Lyield_bad
    ld      t0, F_ROUNDS(sp)
    addi    t0, t0, -1
    sd      t0, F_ROUNDS(sp)
    bnez    t0, .Lyield_round
    li      a0, 0
    j       .Lyield_out
.Lyield_bad:
    ld      t0, F_ARG3(sp)
    sd      t2, 0(t0)
    sd      t4, 8(t0)
    sd      t3, 16(t0)
    li      a0, 1
.Lyield_out:
    RESTORE_CALLEE
    addi    sp, sp, FRAME
    ret
/* [hb:end regcheck_yield] */

/* [hb:region regcheck_spin] */
/* int hb_regcheck_spin(uint64_t seed, uint64_t rounds, RegReport* out)
 * Kernel mode, interrupts on: `rounds` times, fill every register but sp,
 * gp, tp, hold, snapshot, compare. A tick that lands in the hold preempts
 * the task (the trap frame and the switch must give everything back).
 * Returns 0, or 1 with *out filled as above. */
    .globl hb_regcheck_spin
hb_regcheck_spin:
    addi    sp, sp, -FRAME
    SAVE_CALLEE
    sd      a1, F_ROUNDS(sp)
    sd      a2, F_ARG2(sp)
    FILL_EXPECTED
    LOAD_REGS KREGS
.Lspin_round:
    SPIN_ROUND KREGS
    COMPARE .Lspin_bad
    ld      t0, F_ROUNDS(sp)
    addi    t0, t0, -1
    sd      t0, F_ROUNDS(sp)
    beqz    t0, .Lspin_done
    LOAD_REGS SCRATCH
    j       .Lspin_round
.Lspin_done:
    li      a0, 0
    j       .Lspin_out
.Lspin_bad:
    ld      t0, F_ARG2(sp)
    sd      t2, 0(t0)
    sd      t4, 8(t0)
    sd      t3, 16(t0)
    li      a0, 1
.Lspin_out:
    RESTORE_CALLEE
    addi    sp, sp, FRAME
    ret
/* [hb:end regcheck_spin] */

/* [hb:region regcheck_pingpong] */
/* int hb_regcheck_pingpong(uint64_t seed, uint64_t rounds, Context* main,
 *                          Context* partner, uintptr_t partner_sp,
 *                          RegReport* out, void (*sw)(Context*, Context*))
 * The switch routine alone, no C++ in between: `rounds` times, switch from
 * this code (s0-s11 = patterns) to a partner (s0-s11 = other patterns) and
 * back, each side checking all twelve after every return. Through
 * sched::yield(), C++ that saves an s-register in its own prologue would
 * put back what the switch lost; here nothing can. The partner needs no
 * stack: it keeps this frame's address in the one word at partner_sp.
 * Call with interrupts off (no trap may land on the partner's sp).
 * Returns 0, 1 (this side: *out filled) or 2 (the partner's side). */
.macro INIT_PARTNER k, n
    ld      t3, (F_EXP + 8 * \n)(sp)
    xor     t3, t3, t6
    sd      t3, HB_CTX_S(\k)(t0)
.endm
    .text
    .globl hb_regcheck_pingpong
hb_regcheck_pingpong:
    addi    sp, sp, -FRAME
    SAVE_CALLEE
    sd      a1, F_ROUNDS(sp)
    sd      a2, F_ARG2(sp)
    sd      a3, F_ARG3(sp)
    sd      a5, F_OUT(sp)
    sd      a6, F_SWITCH(sp)
    sd      zero, F_PFLAG(sp)
    sd      sp, 0(a4)                   /* the partner finds this frame */
    FILL_EXPECTED
    /* The partner's first context: ra = its loop, sp = partner_sp, s0-s11
     * = its patterns (a correct switch loads them all). */
    mv      t0, a3
    lla     t1, .Lpartner
    sd      t1, HB_CTX_RA(t0)
    sd      a4, HB_CTX_SP(t0)
    li      t6, PARTNER_MASK
    INIT_PARTNER 0, 8
    INIT_PARTNER 1, 9
    INIT_PARTNER 2, 18
    INIT_PARTNER 3, 19
    INIT_PARTNER 4, 20
    INIT_PARTNER 5, 21
    INIT_PARTNER 6, 22
    INIT_PARTNER 7, 23
    INIT_PARTNER 8, 24
    INIT_PARTNER 9, 25
    INIT_PARTNER 10, 26
    INIT_PARTNER 11, 27
    .irp n, SREGS
    ld      x\n, (F_EXP + 8 * \n)(sp)
    .endr
.Lpp_round:
    ld      a0, F_ARG2(sp)
    ld      a1, F_ARG3(sp)
    ld      t1, F_SWITCH(sp)
    jalr    t1                          /* to the partner and back */
    ld      t0, F_PFLAG(sp)
    bnez    t0, .Lpp_partner_bad
    .irp n, SREGS
    sd      x\n, (F_OBS + 8 * \n)(sp)
    .endr
    COMPARE .Lpp_bad
    ld      t0, F_ROUNDS(sp)
    addi    t0, t0, -1
    sd      t0, F_ROUNDS(sp)
    bnez    t0, .Lpp_round
    li      a0, 0
    j       .Lpp_out
.Lpp_partner_bad:
    ld      t2, F_PREG(sp)
    ld      t4, F_PGOT(sp)
    ld      t3, F_PWANT(sp)
    li      a0, 2
    j       .Lpp_report
.Lpp_bad:
    li      a0, 1
.Lpp_report:
    ld      t0, F_OUT(sp)
    sd      t2, 0(t0)
    sd      t4, 8(t0)
    sd      t3, 16(t0)
.Lpp_out:
    RESTORE_CALLEE
    addi    sp, sp, FRAME
    ret

/* The partner: check s0-s11 against the main side's patterns XOR the mask,
 * switch back, repeat. t0 = the main frame (found at 0(sp)). */
.Lpartner:
    ld      t0, 0(sp)
    li      t6, PARTNER_MASK
    .irp n, SREGS
    ld      t3, (F_EXP + 8 * \n)(t0)
    xor     t3, t3, t6
    mv      t4, x\n
    li      t2, \n
    bne     t4, t3, .Lpartner_bad
    .endr
.Lpartner_back:
    ld      a0, F_ARG3(t0)
    ld      a1, F_ARG2(t0)
    ld      t1, F_SWITCH(t0)
    jalr    t1
    j       .Lpartner
.Lpartner_bad:
    sd      t2, F_PREG(t0)
    sd      t4, F_PGOT(t0)
    sd      t3, F_PWANT(t0)
    li      t1, 1
    sd      t1, F_PFLAG(t0)
    j       .Lpartner_back
/* [hb:end regcheck_pingpong] */

/* [hb:region context_switch_lossy] */
/* Mutation `switch-drops-s7`: hb_context_switch (switch.S) without s7, the
 * bug of a deleted `sd s7` / `ld s7` pair. s7 then flows from one context
 * into the next. Only the fault injection reaches it. */
    .globl hb_context_switch_lossy
hb_context_switch_lossy:
    sd      ra, HB_CTX_RA(a0)
    sd      sp, HB_CTX_SP(a0)
    sd      s0, HB_CTX_S(0)(a0);   sd s1, HB_CTX_S(1)(a0)
    sd      s2, HB_CTX_S(2)(a0);   sd s3, HB_CTX_S(3)(a0)
    sd      s4, HB_CTX_S(4)(a0);   sd s5, HB_CTX_S(5)(a0)
    sd      s6, HB_CTX_S(6)(a0)
    sd      s8, HB_CTX_S(8)(a0);   sd s9, HB_CTX_S(9)(a0)
    sd      s10, HB_CTX_S(10)(a0); sd s11, HB_CTX_S(11)(a0)

    ld      ra, HB_CTX_RA(a1)
    ld      sp, HB_CTX_SP(a1)
    ld      s0, HB_CTX_S(0)(a1);   ld s1, HB_CTX_S(1)(a1)
    ld      s2, HB_CTX_S(2)(a1);   ld s3, HB_CTX_S(3)(a1)
    ld      s4, HB_CTX_S(4)(a1);   ld s5, HB_CTX_S(5)(a1)
    ld      s6, HB_CTX_S(6)(a1)
    ld      s8, HB_CTX_S(8)(a1);   ld s9, HB_CTX_S(9)(a1)
    ld      s10, HB_CTX_S(10)(a1); ld s11, HB_CTX_S(11)(a1)
    ret
/* [hb:end context_switch_lossy] */

/* [hb:region regcheck_user] */
/* hb_regcheck_user(a0 = seed): the spin probe in user mode, where it can
 * fill gp and tp too (they are the user's; trap entry saves them). Runs
 * USER_ROUNDS rounds on its user stack, then EXIT(0), or EXIT(1) with
 * {register, held, expected} at F_BAD/F_GOT/F_WANT of its frame, just below
 * the stack top it was given, for the kernel to read. */
    .section .user.text, "ax"
    .globl hb_regcheck_user
    .balign 4
hb_regcheck_user:
    addi    sp, sp, -FRAME
    li      t0, USER_ROUNDS
    sd      t0, F_ROUNDS(sp)
    sd      zero, F_BAD(sp)
    FILL_EXPECTED
    LOAD_REGS UREGS
.Luser_round:
    SPIN_ROUND UREGS
    COMPARE .Luser_bad
    ld      t0, F_ROUNDS(sp)
    addi    t0, t0, -1
    sd      t0, F_ROUNDS(sp)
    beqz    t0, .Luser_done
    LOAD_REGS SCRATCH
    j       .Luser_round
.Luser_done:
    li      a0, 0
    j       .Luser_exit
.Luser_bad:
    sd      t2, F_BAD(sp)
    sd      t4, F_GOT(sp)
    sd      t3, F_WANT(sp)
    li      a0, 1
.Luser_exit:
    li      a7, HB_SYS_EXIT
    ecall
/* [hb:end regcheck_user] */
