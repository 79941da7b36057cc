// The user side of a system call (chapter 06): what a C++ user program
// includes to talk to the kernel. Everything here is always inlined into
// the program, which lives in .user.text: a call into kernel .text would
// fault, because kernel pages are not mapped U.
#pragma once

#include <cstdint>

#include "lib/asm_abi.h"

/// Marks a user program: C linkage (the kernel names it), placed in the
/// U-mode pages, never returns (it ends with the EXIT system call). Its body
/// may use only its arguments, locals and this header: no globals, no
/// string or large constants (they would land in kernel .rodata), no calls
/// into the kernel's code.
#define HB_USER_PROGRAM extern "C" [[noreturn, gnu::section(".user.text"), gnu::used]]

namespace hb::user {

/// ecall with a7 = nr, a0 = arg; the kernel's answer comes back in a0.
[[gnu::always_inline]] inline std::uint64_t syscall(std::uint64_t nr, std::uint64_t arg) {
    register std::uint64_t a0 asm("a0") = arg;
    register std::uint64_t a7 asm("a7") = nr;
    asm volatile("ecall" : "+r"(a0) : "r"(a7) : "memory");
    return a0;
}

[[noreturn, gnu::always_inline]] inline void exit(std::uint64_t value) {
    syscall(HB_SYS_EXIT, value);
    __builtin_unreachable();
}

/// A read the compiler may neither drop nor merge.
[[gnu::always_inline]] inline std::uint64_t load(std::uint64_t va) {
    return *reinterpret_cast<volatile const std::uint64_t*>(va);
}
[[gnu::always_inline]] inline void store(std::uint64_t va, std::uint64_t value) {
    *reinterpret_cast<volatile std::uint64_t*>(va) = value;
}

}  // namespace hb::user
