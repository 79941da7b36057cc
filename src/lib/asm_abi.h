/* The ABI between assembly and C++: offsets, sizes and numbers both sides
 * use. Pure constants (no hardware access), so host tests check them too
 * (tests/host/layout_test.cpp). Each one is also checked against the C++
 * layout with static_assert where the structure is defined, so the two
 * cannot drift apart silently. */
#ifndef HB_ASM_OFFSETS_H
#define HB_ASM_OFFSETS_H

#define HB_PAGE_SIZE 4096
/* One stack slot: 64 KiB, aligned to 64 KiB; its lowest page is the guard
 * page, the rest is the stack (kernel/stacks.hpp). The power-of-two
 * alignment lets trap entry tell, from sp alone, how close a stack is to
 * its guard page: (sp - 1) & (SLOT - 1) is the offset of the first free
 * byte inside its slot (see the check in arch/riscv/trap.S). */
#define HB_STACK_SLOT_SIZE 65536
#define HB_STACK_SIZE (HB_STACK_SLOT_SIZE - HB_PAGE_SIZE)

/* CPUs the kernel runs at most (lib/ids.hpp kMaxCpus). */
#define HB_MAX_CPUS 8

/* SecondaryBoot (kernel/smp.hpp): secondary.S loads stack_top; start.S reads
 * expected_hart and state and sets misdirected (a hart the firmware sent to
 * the kernel's entry point instead of hb_secondary_entry). */
#define HB_SECONDARY_BOOT_STACK_TOP 0
#define HB_SECONDARY_BOOT_MISDIRECTED 12
#define HB_SECONDARY_BOOT_EXPECTED_HART 16
#define HB_SECONDARY_BOOT_STATE 24
#define HB_SECONDARY_BOOT_SIZE 40
#define HB_BOOT_STATE_PENDING 1

/* HartLocal (lib/percpu_layout.hpp): tp points at it in kernel code. */
#define HB_HL_SELF 0
#define HB_HL_TRAP_STACK_TOP 8
#define HB_HL_SCRATCH 16
#define HB_HL_CPU 24
#define HB_HL_HART 32
#define HB_HL_SCRATCH2 40
#define HB_HL_EMERGENCY_STACK_TOP 48
#define HB_HL_KERNEL_CONTEXT 56
#define HB_HL_SIZE 64

/* TrapFrame (lib/percpu_layout.hpp): x1..x31 at 8*n, then the CSRs. */
#define HB_TF_REG(n) ((n) * 8)
#define HB_TF_SEPC 256
#define HB_TF_SSTATUS 264
#define HB_TF_SCAUSE 272
#define HB_TF_STVAL 280
#define HB_TF_SIZE 288

/* System call numbers (a7), shared by user.S and kernel/trap.cpp. */
#define HB_SYS_EXIT 0
#define HB_SYS_CHECK_CONTEXT 1
#define HB_SYS_NOP 2
#define HB_SYS_YIELD 3
/* Chapter 06: a0 = a user page address; 0 = done, else a ProcError. */
#define HB_SYS_MAP 4
#define HB_SYS_UNMAP 5
/* Chapter 06: a0 = a value the program read; returns 0 = go on, 1 = stop. */
#define HB_SYS_REPORT 6

/* sstatus bits used by assembly. */
#define HB_SSTATUS_SPP 0x100
#define HB_SSTATUS_SPIE 0x20
#define HB_SSTATUS_SIE 0x2

/* Task context (kernel/sched.hpp, switch.S): ra, sp, s0..s11. */
#define HB_CTX_RA 0
#define HB_CTX_SP 8
#define HB_CTX_S(n) (16 + (n) * 8)
#define HB_CTX_SIZE 112

/* Kernel context saved by hb_user_enter: ra, s0..s11, then the caller's
 * sstatus.SIE at offset 104 (14 words, 16-aligned). */
#define HB_KCTX_SIZE 112

#endif
