/* Secondary hart entry (chapter 02).
 *
 * hb_secondary_entry: every hart but the boot hart, started by SBI HSM
 * hart_start with
 *     a0 = this hart's id, a1 = the opaque value the boot hart passed,
 * which is the address of this hart's SecondaryBoot block. The block's first
 * field is the stack top (offset checked in kernel/smp.hpp), so the hart has
 * a stack of its own before it runs a single C++ instruction.
 */
#include "lib/asm_abi.h"

/* [hb:region secondary_entry] */
    .text
    .globl hb_secondary_entry
    .balign 4
hb_secondary_entry:
    csrw    sie, zero
    .option push
    .option norelax
    lla     gp, __global_pointer$
    .option pop
    mv      tp, zero
    lla     t0, hb_early_trap       /* start.S: report a trap, do not hang */
    csrw    stvec, t0
    ld      sp, HB_SECONDARY_BOOT_STACK_TOP(a1)
    /* a0 = hart id from SBI, a1 = SecondaryBoot*. */
    call    hb_secondary_main
    j       hb_park
/* [hb:end secondary_entry] */

