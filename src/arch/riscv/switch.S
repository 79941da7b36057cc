/* The context switch (chapter 04).
 *
 * void hb_context_switch(Context* from, Context* to)
 *   Saves the callee-saved registers (ra, sp, s0-s11) of the running code
 *   into *from and loads *to's. The C++ caller has already saved everything
 *   the ABI lets a call clobber, so these 14 registers are a whole kernel
 *   context. "Returning" from here means returning into *to's code: the
 *   call that switched away from it earlier, or, for a new task, the
 *   trampoline its context was built with.
 */
#include "lib/asm_abi.h"

    .text
/* [hb:region switch_asm] */
    .globl hb_context_switch
hb_context_switch:
    sd      ra, HB_CTX_RA(a0)
    sd      sp, HB_CTX_SP(a0)
    sd      s0, HB_CTX_S(0)(a0);   sd s1, HB_CTX_S(1)(a0)
    sd      s2, HB_CTX_S(2)(a0);   sd s3, HB_CTX_S(3)(a0)
    sd      s4, HB_CTX_S(4)(a0);   sd s5, HB_CTX_S(5)(a0)
    sd      s6, HB_CTX_S(6)(a0);   sd s7, HB_CTX_S(7)(a0)
    sd      s8, HB_CTX_S(8)(a0);   sd s9, HB_CTX_S(9)(a0)
    sd      s10, HB_CTX_S(10)(a0); sd s11, HB_CTX_S(11)(a0)

    ld      ra, HB_CTX_RA(a1)
    ld      sp, HB_CTX_SP(a1)
    ld      s0, HB_CTX_S(0)(a1);   ld s1, HB_CTX_S(1)(a1)
    ld      s2, HB_CTX_S(2)(a1);   ld s3, HB_CTX_S(3)(a1)
    ld      s4, HB_CTX_S(4)(a1);   ld s5, HB_CTX_S(5)(a1)
    ld      s6, HB_CTX_S(6)(a1);   ld s7, HB_CTX_S(7)(a1)
    ld      s8, HB_CTX_S(8)(a1);   ld s9, HB_CTX_S(9)(a1)
    ld      s10, HB_CTX_S(10)(a1); ld s11, HB_CTX_S(11)(a1)
    ret
/* [hb:end switch_asm] */

/* [hb:region trampoline] */
/* First instructions of every new task: its context was built with
 * ra = here and s0 = its Task*. */
    .globl hb_task_trampoline
hb_task_trampoline:
    mv      a0, s0
    call    hb_task_start       /* never returns */
1:  j       1b
/* [hb:end trampoline] */
