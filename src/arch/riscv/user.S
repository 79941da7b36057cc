/* Code that runs in user mode (chapter 03). It lives in .user.text, the only
 * kernel-image pages mapped with the U bit, and calls nothing: everything
 * it needs is in registers.
 *
 * [hb:region user_programs] */
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
