/* A minimal setjmp/longjmp for the kernel's one recoverable fault: the
 * deliberate stack overflow of the guard-page selftest. The handler, on
 * the emergency stack, jumps back to the point the test saved.
 *
 * JumpBuffer: ra, sp, s0..s11 (14 words). */
    .text
    .globl hb_setjmp
hb_setjmp:
    sd ra, 0(a0);  sd sp, 8(a0)
    sd s0, 16(a0); sd s1, 24(a0); sd s2, 32(a0);  sd s3, 40(a0)
    sd s4, 48(a0); sd s5, 56(a0); sd s6, 64(a0);  sd s7, 72(a0)
    sd s8, 80(a0); sd s9, 88(a0); sd s10, 96(a0); sd s11, 104(a0)
    li a0, 0
    ret

    .globl hb_longjmp
hb_longjmp:
    ld ra, 0(a0);  ld sp, 8(a0)
    ld s0, 16(a0); ld s1, 24(a0); ld s2, 32(a0);  ld s3, 40(a0)
    ld s4, 48(a0); ld s5, 56(a0); ld s6, 64(a0);  ld s7, 72(a0)
    ld s8, 80(a0); ld s9, 88(a0); ld s10, 96(a0); ld s11, 104(a0)
    mv a0, a1
    bnez a0, 1f
    li a0, 1        /* like longjmp: never return 0 the second time */
1:  ret
