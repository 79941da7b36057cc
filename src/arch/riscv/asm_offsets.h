/* Constants shared by assembly and C++. Each one is checked against the
 * C++ layout with static_assert where the structure is defined, so the two
 * cannot drift apart silently. */
#ifndef HB_ASM_OFFSETS_H
#define HB_ASM_OFFSETS_H

#define HB_PAGE_SIZE 4096
/* One kernel stack slot: a guard page, then the stack (kernel/stacks.hpp). */
#define HB_STACK_SIZE (64 * 1024)
#define HB_STACK_SLOT_SIZE (HB_PAGE_SIZE + HB_STACK_SIZE)

/* SecondaryBoot::stack_top (kernel/smp.hpp). */
#define HB_SECONDARY_BOOT_STACK_TOP 0

/* HartLocal (kernel/hartlocal.hpp): tp points at it in kernel code. */
#define HB_HL_SELF 0
#define HB_HL_TRAP_STACK_TOP 8
#define HB_HL_SCRATCH 16
#define HB_HL_CPU 24
#define HB_HL_HART 32
#define HB_HL_SIZE 40

#endif
