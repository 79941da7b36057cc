// Chapter 06's user programs, in C++. They run in U-mode inside a process's
// address space, on the calling task's user stack, with a0 = their argument
// (trap::run_user). See arch/riscv/user_syscall.hpp for what they may use.
#include "arch/riscv/user_syscall.hpp"
#include "lib/primes.hpp"

using namespace hb::user;

// [hb:region user_reader]
/// Reads the first word of page `va` and reports it, again and again, until
/// the kernel answers "stop" (1). Once the page is unmapped and this CPU's
/// TLB flushed, the read faults, and the fault ends the program.
HB_USER_PROGRAM void hb_user_reader(std::uint64_t va) {
    for (;;) {
        if (syscall(HB_SYS_REPORT, load(va)) != 0) exit(0);
    }
}
// [hb:end user_reader]

// [hb:region user_mm_probe]
/// The map and unmap system calls and their refusals, on page `page` of the
/// user window; then a read of the page it unmapped, which must fault. Exits
/// with the number of the step that went wrong; the fault ends it otherwise.
HB_USER_PROGRAM void hb_user_mm_probe(std::uint64_t page) {
    if (syscall(HB_SYS_MAP, page) != 0) exit(1);           // map it
    store(page, 0x5a5a);                                    // it is ours now
    if (load(page) != 0x5a5a) exit(2);
    if (syscall(HB_SYS_MAP, 0x1000) == 0) exit(3);          // outside the window: refused
    if (syscall(HB_SYS_MAP, page) == 0) exit(4);            // mapped already: refused
    if (syscall(HB_SYS_UNMAP, page + 0x2000) == 0) exit(5); // never mapped: refused
    if (syscall(HB_SYS_UNMAP, page) != 0) exit(6);          // unmap it
    (void)load(page);                                       // must fault: the page is gone
    exit(7);
}
// [hb:end user_mm_probe]

// [hb:region user_primes]
/// Chapter 07's scaling worker: counts the primes of its share of
/// [2, 3,000,000) and exits with the count, which the parent sums and checks.
/// a0 = (worker index << 32) | workers. The timed section is the whole
/// program: no system call and no output until the EXIT that ends it.
HB_USER_PROGRAM [[HB_PRIMES_HOT]] void hb_user_primes(std::uint64_t arg) {
    exit(hb::primes::count_share(arg >> 32, arg & 0xffff'ffffULL));
}
// [hb:end user_primes]
