/* Trap entry and exit, and the one-way doors into and out of user mode. */

/* [hb:region register_rule] */
/* THE REGISTER RULE (the whole protocol in four lines):
 *   in kernel code:  tp = this hart's HartLocal,  sscratch = 0
 *   in user code:    tp = the user's own value,   sscratch = this hart's HartLocal
 *   trap entry swaps tp and sscratch: if tp is then non-zero we came from
 *   user mode (and tp is our HartLocal); if it is zero we came from the kernel
 *   and swap back. Return to user mode re-arms sscratch with the HartLocal.
 */
/* [hb:end register_rule] */

/* Every hart has its own HartLocal, so every hart finds its own trap stack
 * (HartLocal.trap_stack_top). Nothing here names a global stack: two harts
 * trapping at the same moment never share a byte of stack.
 *
 * A trap from the kernel stays on the current kernel stack, unless that
 * stack is about to run into its guard page (see the check below): then it
 * moves to this hart's emergency stack so the overflow can be reported
 * instead of faulting again and again on the guard page.
 */
#include "lib/asm_abi.h"

#define SAVE(n) sd x##n, HB_TF_REG(n)(sp)
#define LOAD(n) ld x##n, HB_TF_REG(n)(sp)

    .text
    .globl hb_trap_entry
    .balign 4
/* [hb:region trap_entry] */
hb_trap_entry:
    csrrw   tp, sscratch, tp
    bnez    tp, .Lfrom_user

    /* From the kernel: sscratch was 0. Swap back: tp = HartLocal, sscratch = 0. */
    csrrw   tp, sscratch, tp
    sd      t0, HB_HL_SCRATCH(tp)
    sd      t1, HB_HL_SCRATCH2(tp)
    /* Stacks are 64 KiB slots aligned to 64 KiB with the guard page at the
     * bottom, so (sp - 1) & (SLOT - 1) is how far the first free byte is
     * above its slot's base. (sp - 1, not sp: an empty stack's sp is its
     * slot's top, which is already the next slot's base.) If a trap frame no
     * longer fits above the guard page, this stack has overflowed (or is
     * about to): use the emergency stack. */
    addi    t0, sp, -1
    li      t1, HB_STACK_SLOT_SIZE - 1
    and     t0, t0, t1
    li      t1, HB_PAGE_SIZE + HB_TF_SIZE - 1
    bltu    t0, t1, .Loverflow
    mv      t0, sp
    addi    sp, sp, -HB_TF_SIZE
    j       .Lsave_kernel
.Loverflow:
    mv      t0, sp
    ld      sp, HB_HL_EMERGENCY_STACK_TOP(tp)
    addi    sp, sp, -HB_TF_SIZE
.Lsave_kernel:
    sd      t0, HB_TF_REG(2)(sp)        /* the interrupted sp */
    sd      tp, HB_TF_REG(4)(sp)
    ld      t0, HB_HL_SCRATCH(tp)
    ld      t1, HB_HL_SCRATCH2(tp)
    j       .Lsave_common

.Lfrom_user:
    // [hb:lab 03 trap_from_user]
    /* tp = HartLocal, sscratch = the user's tp. Move to this hart's own
     * trap stack. */
    sd      t0, HB_HL_SCRATCH(tp)
    mv      t0, sp
    ld      sp, HB_HL_TRAP_STACK_TOP(tp)
    addi    sp, sp, -HB_TF_SIZE
    sd      t0, HB_TF_REG(2)(sp)        /* the user's sp */
    csrr    t0, sscratch
    sd      t0, HB_TF_REG(4)(sp)        /* the user's tp */
    csrw    sscratch, zero              /* we are in the kernel now */
    ld      t0, HB_HL_SCRATCH(tp)
    SAVE(3)
    .option push
    .option norelax
    lla     gp, __global_pointer$       /* the kernel's gp, not the user's */
    .option pop
    j       .Lsave_rest
    // [hb:stub trap_from_user]
    //| /* Lab 03: tp = HartLocal, sscratch = the user's tp. Move to this hart's
    //|  * trap stack, save sp, tp and gp of the user into the frame, make
    //|  * sscratch 0 and gp the kernel's, then j .Lsave_rest. Until then: */
    //| ld      sp, HB_HL_TRAP_STACK_TOP(tp)
    //| .option push
    //| .option norelax
    //| lla     gp, __global_pointer$
    //| .option pop
    //| la      a0, .Llab03_what
    //| call    hb_lab_unimplemented
    //| .pushsection .rodata
    //| .Llab03_what: .asciz "lab 03: the trap entry from user mode (trap.S, .Lfrom_user)"
    //| .popsection
    // [hb:end trap_from_user]

.Lsave_common:
    SAVE(3)
.Lsave_rest:
    SAVE(1)
    SAVE(5); SAVE(6); SAVE(7); SAVE(8); SAVE(9); SAVE(10); SAVE(11); SAVE(12)
    SAVE(13); SAVE(14); SAVE(15); SAVE(16); SAVE(17); SAVE(18); SAVE(19); SAVE(20)
    SAVE(21); SAVE(22); SAVE(23); SAVE(24); SAVE(25); SAVE(26); SAVE(27); SAVE(28)
    SAVE(29); SAVE(30); SAVE(31)
    csrr    t0, sepc
    sd      t0, HB_TF_SEPC(sp)
    csrr    t0, sstatus
    sd      t0, HB_TF_SSTATUS(sp)
    csrr    t0, scause
    sd      t0, HB_TF_SCAUSE(sp)
    csrr    t0, stval
    sd      t0, HB_TF_STVAL(sp)
    mv      a0, sp
    call    hb_trap_dispatch
/* [hb:end trap_entry] */

/* [hb:region trap_return] */
    .globl hb_trap_return
hb_trap_return:
    ld      t0, HB_TF_SSTATUS(sp)
    csrw    sstatus, t0
    ld      t1, HB_TF_SEPC(sp)
    csrw    sepc, t1
    andi    t0, t0, HB_SSTATUS_SPP
    bnez    t0, 1f
    csrw    sscratch, tp                /* back to user: re-arm sscratch */
    ld      tp, HB_TF_REG(4)(sp)        /* and give the user its own tp */
1:
    /* Back to the kernel, tp is NOT taken from the frame: it stays this
     * hart's HartLocal. The frame's tp is the HartLocal of the hart that
     * took the trap, and a task preempted inside a trap can resume on
     * another hart (a CPU going offline hands its queue on; chapter 06
     * steals): restoring it would leave this hart running with another
     * hart's per-CPU block (seen: a moved task's exit_task ran on cpu0
     * believing it was cpu3). */
    LOAD(1); LOAD(3)
    LOAD(5); LOAD(6); LOAD(7); LOAD(8); LOAD(9); LOAD(10); LOAD(11); LOAD(12)
    LOAD(13); LOAD(14); LOAD(15); LOAD(16); LOAD(17); LOAD(18); LOAD(19); LOAD(20)
    LOAD(21); LOAD(22); LOAD(23); LOAD(24); LOAD(25); LOAD(26); LOAD(27); LOAD(28)
    LOAD(29); LOAD(30); LOAD(31)
    ld      sp, HB_TF_REG(2)(sp)
    sret
/* [hb:end trap_return] */

/* [hb:region user_enter] */
/* uint64_t hb_user_enter(uintptr_t entry, uintptr_t user_sp, uint64_t arg)
 * Runs user code at `entry` in U-mode with sp = user_sp and a0 = arg, and
 * returns the value the user code passes to the EXIT system call. The
 * kernel context (ra, s0-s11, sp) is parked on this stack; HartLocal
 * remembers where, for hb_user_return_to_kernel. */
    .globl hb_user_enter
hb_user_enter:
    /* Interrupts off until sret: between arming sscratch below and sret, a
     * trap would find sscratch != 0 while still in the kernel and take the
     * user path. The caller's interrupt state is kept at 104(sp) and given
     * back by hb_user_return_to_kernel. In user mode interrupts are on,
     * whatever SIE says (the privileged spec: a lower mode never masks a
     * higher mode's interrupts). */
    csrrci  t1, sstatus, HB_SSTATUS_SIE
    addi    sp, sp, -HB_KCTX_SIZE
    sd      ra, 0(sp)
    sd      s0, 8(sp);  sd s1, 16(sp); sd s2, 24(sp);  sd s3, 32(sp)
    sd      s4, 40(sp); sd s5, 48(sp); sd s6, 56(sp);  sd s7, 64(sp)
    sd      s8, 72(sp); sd s9, 80(sp); sd s10, 88(sp); sd s11, 96(sp)
    andi    t1, t1, HB_SSTATUS_SIE
    sd      t1, 104(sp)
    sd      sp, HB_HL_KERNEL_CONTEXT(tp)
    csrw    sepc, a0
    li      t0, HB_SSTATUS_SPP          /* sret goes to U-mode */
    csrc    sstatus, t0
    csrw    sscratch, tp                /* the register rule for user mode */
    mv      sp, a1
    mv      a0, a2
    /* Leave no kernel values in registers the user can read. */
    li ra, 0; li gp, 0; li tp, 0
    li t0, 0; li t1, 0; li t2, 0; li t3, 0; li t4, 0; li t5, 0; li t6, 0
    li a1, 0; li a2, 0; li a3, 0; li a4, 0; li a5, 0; li a6, 0; li a7, 0
    li s0, 0; li s1, 0; li s2, 0; li s3, 0; li s4, 0; li s5, 0
    li s6, 0; li s7, 0; li s8, 0; li s9, 0; li s10, 0; li s11, 0
    sret

/* void hb_user_return_to_kernel(uint64_t value): called by the EXIT system
 * call on the trap stack; resumes the kernel context parked by
 * hb_user_enter, which then returns `value`. The trap frame is abandoned. */
    .globl hb_user_return_to_kernel
hb_user_return_to_kernel:
    ld      sp, HB_HL_KERNEL_CONTEXT(tp)
    ld      ra, 0(sp)
    ld      s0, 8(sp);  ld s1, 16(sp); ld s2, 24(sp);  ld s3, 32(sp)
    ld      s4, 40(sp); ld s5, 48(sp); ld s6, 56(sp);  ld s7, 64(sp)
    ld      s8, 72(sp); ld s9, 80(sp); ld s10, 88(sp); ld s11, 96(sp)
    ld      t1, 104(sp)                 /* the caller's interrupt state */
    addi    sp, sp, HB_KCTX_SIZE
    sd      zero, HB_HL_KERNEL_CONTEXT(tp)
    csrs    sstatus, t1
    ret
/* [hb:end user_enter] */
