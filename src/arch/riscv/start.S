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
    /* Exactly one hart may boot the kernel. OpenSBI 1.1's hart_start marks
     * the target hart "starting" before it stores the start address, so a
     * target that wakes in between jumps to the address of the cold boot:
     * here, not hb_secondary_entry. Such a hart must not zero .bss or take
     * the boot stack: the first hart claims the boot, any later one goes to
     * .Lmisdirected (the word lives in .data, which .bss zeroing never
     * touches). */
    lla     t0, hb_boot_claimed
    li      t1, 1
    amoswap.w.aq t1, t1, (t0)
    bnez    t1, .Lmisdirected
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

/* [hb:region misdirected] */
/* A secondary hart the firmware sent here (a0 = its hart id). The boot hart
 * published its boot block (state Pending, release) before hart_start, so
 * find the block that expects this hart and enter as hb_secondary_entry
 * would have been entered: a1 = the block. No block expects it: park. */
.Lmisdirected:
    ld      t0, hb_boot_blocks_ptr  /* 0 in kernels without secondary harts */
    beqz    t0, hb_park
    li      t2, HB_MAX_CPUS
1:  lwu     t3, HB_SECONDARY_BOOT_STATE(t0)
    fence   r, rw                   /* acquire: pairs with the release of Pending */
    li      t4, HB_BOOT_STATE_PENDING
    bne     t3, t4, 2f
    ld      t3, HB_SECONDARY_BOOT_EXPECTED_HART(t0)
    bne     t3, a0, 2f
    li      t4, 1
    sw      t4, HB_SECONDARY_BOOT_MISDIRECTED(t0)
    mv      a1, t0
    ld      t5, hb_secondary_entry_ptr
    jr      t5
2:  addi    t0, t0, HB_SECONDARY_BOOT_SIZE
    addi    t2, t2, -1
    bnez    t2, 1b
    j       hb_park
/* [hb:end misdirected] */

    .data
    .balign 8
hb_boot_claimed:
    .word   0
    .balign 8
/* Weak: chapter 01 links neither boot blocks (kernel/smp.cpp) nor
 * hb_secondary_entry (secondary.S), and reads 0. */
    .weak   hb_boot_blocks
    .weak   hb_secondary_entry
hb_boot_blocks_ptr:
    .dword  hb_boot_blocks
hb_secondary_entry_ptr:
    .dword  hb_secondary_entry

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
