/* Kernel entry points.
 *
 * _start: the boot hart, entered from OpenSBI with
 *     a0 = this hart's id, a1 = device tree address.
 *   OpenSBI's cold boot picks *whichever hart wins a lottery*; on QEMU virt
 *   with -smp 4 that is a non-zero hart in about 4 boots out of 10. So the
 *   boot hart's identity is a0, never an assumption. The boot hart always
 *   becomes CpuId 0 and runs on stack slot 0.
 *
 * Secondary harts enter at hb_secondary_entry (secondary.S, chapter 02).
 */
#include "lib/asm_abi.h"

/* [hb:region boot_entry] */
    .section .text.boot, "ax"
    .globl _start
_start:
    csrw    sie, zero               /* no interrupts until we ask for them */
    .option push
    .option norelax
    lla     gp, __global_pointer$
    .option pop
    mv      tp, zero
    lla     t0, hb_early_trap       /* until a chapter installs its trap entry */
    csrw    stvec, t0

    /* sp = top of stack slot 0 (guard page, then the stack proper). */
    lla     sp, hb_kernel_stacks
    li      t0, HB_STACK_SLOT_SIZE
    add     sp, sp, t0

    /* Zero .bss before any C++ runs: globals are constinit, and their zero
     * initial values live there. */
    lla     t0, __bss_start
    lla     t1, __bss_end
1:  bgeu    t0, t1, 2f
    sd      zero, 0(t0)
    addi    t0, t0, 8
    j       1b
2:
    /* a0, a1 are untouched: kmain(hart id, device tree). */
    call    kmain
    j       hb_park
/* [hb:end boot_entry] */

    .text
/* Early trap vector: any trap before a chapter installs its own trap entry
 * (chapters 01-02 have none) is a bug. Report it with the trap CSRs and power
 * off with a failure status, instead of jumping to address 0 and hanging
 * until the gate's timeout. Runs on whatever stack the hart had. */
    .globl hb_early_trap
    .balign 4
hb_early_trap:
    csrr    a0, scause
    csrr    a1, sepc
    csrr    a2, stval
    call    hb_early_trap_report    /* does not return */
    j       hb_park

    .globl hb_park
hb_park:
    wfi
    j       hb_park
