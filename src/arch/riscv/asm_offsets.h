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

#endif
