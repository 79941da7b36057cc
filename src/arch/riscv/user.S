/* Code that runs in user mode (chapter 03). It lives in .user.text, the only
 * kernel-image pages mapped with the U bit, and calls nothing: everything
 * it needs is in registers. */

/* [hb:region user_programs] */
#include "lib/asm_abi.h"

    .section .user.text, "ax"

/* Both programs are one loop: n system calls of one number (a0 = how many
 * are left, which CHECK_CONTEXT's handler may look at), then EXIT(0). */
.macro SYSCALL_LOOP name, nr
    .globl \name
    .balign 4
\name:
    mv      s0, a0
1:  beqz    s0, 2f
    li      a7, \nr
    mv      a0, s0
    ecall
    addi    s0, s0, -1
    j       1b
2:  li      a7, HB_SYS_EXIT
    li      a0, 0
    ecall
.endm

/* hb_user_check(a0 = n): n CHECK_CONTEXT system calls; the kernel inspects
 * its own sp and tp on each one. */
SYSCALL_LOOP hb_user_check, HB_SYS_CHECK_CONTEXT

/* hb_user_nop(a0 = n): n NOP system calls (the round-trip benchmark). */
SYSCALL_LOOP hb_user_nop, HB_SYS_NOP
/* [hb:end user_programs] */

/* [hb:region user_fp] */
/* hb_user_fp: one floating-point instruction, then EXIT(0). With the FP
 * unit off (sstatus.FS = Off) the instruction traps as an illegal
 * instruction and EXIT is never reached; the kernel reports the fault. */
    .section .user.text, "ax"
    .globl hb_user_fp
    .balign 4
hb_user_fp:
    fmv.w.x ft0, zero
    li      a7, HB_SYS_EXIT
    li      a0, 0
    ecall
/* [hb:end user_fp] */

/* [hb:region user_worker] */
/* hb_user_worker(a0 = n): chapter 04's user task. Rounds of: a stretch of
 * arithmetic (timer ticks land in user mode here), then CHECK_CONTEXT, whose
 * answer is 0 (context good, and a tick has already preempted this task in
 * user mode), 2 (good, but no such tick yet) or anything else (bad). It does
 * at least n rounds, and keeps going past them until a tick has preempted it
 * in user mode, at most 2000 rounds; then EXIT(0), or EXIT(the bad answer),
 * or EXIT(2) if no tick ever landed in user mode. */
    .section .user.text, "ax"
    .globl hb_user_worker
    .balign 4
hb_user_worker:
    mv      s0, a0                  /* rounds still owed */
    li      s1, 2000                /* the bound on rounds in all */
1:  li      t0, 200000
2:  addi    t0, t0, -1
    bnez    t0, 2b
    li      a7, HB_SYS_CHECK_CONTEXT
    mv      a0, s0
    ecall
    beqz    a0, 3f                  /* good, and preempted in user mode already */
    li      t1, 2
    bne     a0, t1, 5f              /* a bad context: exit with the answer */
    addi    s1, s1, -1
    beqz    s1, 5f                  /* never preempted in user mode: exit(2) */
    li      t1, 1
    beq     s0, t1, 1b              /* owe only the last round: wait for a tick */
3:  addi    s1, s1, -1
    beqz    s1, 4f
    addi    s0, s0, -1
    bnez    s0, 1b
4:  li      a0, 0
5:  li      a7, HB_SYS_EXIT
    ecall
/* [hb:end user_worker] */
