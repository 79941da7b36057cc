/* Code that runs in user mode (chapter 03). It lives in .user.text, the only
 * kernel-image pages mapped with the U bit, and calls nothing: everything
 * it needs is in registers. */

/* [hb:region user_programs] */
#include "lib/asm_abi.h"

    .section .user.text, "ax"

/* hb_user_check(a0 = n): n CHECK_CONTEXT system calls, then EXIT(0). The
 * kernel inspects its own sp and tp on each one. */
    .globl hb_user_check
    .balign 4
hb_user_check:
    mv      s0, a0
1:  beqz    s0, 2f
    li      a7, HB_SYS_CHECK_CONTEXT
    mv      a0, s0
    ecall
    addi    s0, s0, -1
    j       1b
2:  li      a7, HB_SYS_EXIT
    li      a0, 0
    ecall

/* hb_user_nop(a0 = n): n NOP system calls (the round-trip benchmark). */
    .globl hb_user_nop
    .balign 4
hb_user_nop:
    mv      s0, a0
1:  beqz    s0, 2f
    li      a7, HB_SYS_NOP
    ecall
    addi    s0, s0, -1
    j       1b
2:  li      a7, HB_SYS_EXIT
    li      a0, 0
    ecall
/* [hb:end user_programs] */

/* [hb:region user_worker] */
/* hb_user_worker(a0 = n): chapter 04's user task. n rounds of: some
 * arithmetic (so timer interrupts land in user mode too), then a
 * CHECK_CONTEXT system call; then EXIT(0). */
    .section .user.text, "ax"
    .globl hb_user_worker
    .balign 4
hb_user_worker:
    mv      s0, a0
1:  beqz    s0, 3f
    li      t0, 200000
2:  addi    t0, t0, -1
    bnez    t0, 2b
    li      a7, HB_SYS_CHECK_CONTEXT
    mv      a0, s0
    ecall
    addi    s0, s0, -1
    j       1b
3:  li      a7, HB_SYS_EXIT
    li      a0, 0
    ecall
/* [hb:end user_worker] */
