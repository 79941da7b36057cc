# Cross toolchain for the Hartbook kernels: freestanding C++20 for RISC-V S-mode.
#
# Debian's riscv64-linux-gnu-g++ is used because it ships libstdc++'s
# freestanding headers (<atomic>, <type_traits>, <cstdint>); the bare-metal
# riscv64-unknown-elf package has no C++ headers at all. Its headers only
# parse with the lp64d ABI, so -march must include F and D; the kernel keeps
# sstatus.FS off, which makes any floating-point instruction trap.
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR riscv64)

set(HB_CROSS_PREFIX "riscv64-linux-gnu-" CACHE STRING "Prefix of the riscv64 cross tools")
find_program(HB_CROSS_CXX ${HB_CROSS_PREFIX}g++ REQUIRED)
find_program(HB_CROSS_CC ${HB_CROSS_PREFIX}gcc REQUIRED)
set(CMAKE_CXX_COMPILER ${HB_CROSS_CXX})
set(CMAKE_C_COMPILER ${HB_CROSS_CC})
set(CMAKE_ASM_COMPILER ${HB_CROSS_CC})
set(CMAKE_OBJCOPY ${HB_CROSS_PREFIX}objcopy)

# Without this, CMake's compiler probe tries to link a hosted program.
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)

set(HB_KERNEL_ARCH_FLAGS "-march=rv64gc -mabi=lp64d -mcmodel=medany")
set(CMAKE_CXX_FLAGS_INIT "${HB_KERNEL_ARCH_FLAGS}")
set(CMAKE_C_FLAGS_INIT "${HB_KERNEL_ARCH_FLAGS}")
set(CMAKE_ASM_FLAGS_INIT "${HB_KERNEL_ARCH_FLAGS}")

set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
