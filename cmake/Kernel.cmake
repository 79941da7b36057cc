# The cross build: the kernel modules of src/ once, and one kernel.elf per
# chapter composition root. Included from the top-level CMakeLists.txt when
# HB_KERNEL_BUILD is set (by the host build's ExternalProject).
set(CMAKE_CXX_STANDARD 20)
set(CMAKE_CXX_STANDARD_REQUIRED ON)
set(CMAKE_CXX_EXTENSIONS OFF)
if(NOT HB_OUT_DIR)
  set(HB_OUT_DIR ${CMAKE_BINARY_DIR})
endif()

# Freestanding discipline: no exceptions, no RTTI, no hosted library, no
# thread-safe statics (they call into libc), no stack protector (no runtime).
set(HB_KERNEL_CXX_FLAGS
  -ffreestanding -fno-exceptions -fno-rtti -nostdlib
  -fno-threadsafe-statics -fno-use-cxa-atexit -fno-stack-protector
  -fno-pic -fno-asynchronous-unwind-tables -fno-unwind-tables
  -Wall -Wextra -Werror -Wno-unused-parameter -O2 -g)

add_library(hb_kernel_flags INTERFACE)
target_compile_options(hb_kernel_flags INTERFACE
  $<$<COMPILE_LANGUAGE:CXX>:${HB_KERNEL_CXX_FLAGS}>
  $<$<COMPILE_LANGUAGE:ASM>:-g>)
target_include_directories(hb_kernel_flags INTERFACE ${CMAKE_SOURCE_DIR}/src)
# libgcc: helpers GCC calls for operations the ISA lacks (popcount without Zbb).
target_link_libraries(hb_kernel_flags INTERFACE gcc)
target_link_options(hb_kernel_flags INTERFACE
  -nostdlib -static -no-pie -Wl,--build-id=none -Wl,--gc-sections
  -T ${CMAKE_SOURCE_DIR}/src/arch/riscv/kernel.ld)

add_subdirectory(src)

# hb_add_chapter(<folder> SOURCES ... LIBS ...): one composition root.
# The kernel lands at ${HB_OUT_DIR}/chapters/<folder>/kernel.elf; its ladder
# stays in the source tree (chapters/<folder>/markers), read by qemu-test.sh.
function(hb_add_chapter folder)
  cmake_parse_arguments(CH "" "" "SOURCES;LIBS" ${ARGN})
  set(target kernel-${folder})
  add_executable(${target} ${CH_SOURCES} $<TARGET_OBJECTS:hb_entry>)
  target_link_libraries(${target} PRIVATE ${CH_LIBS} hb_kernel_flags)
  set_target_properties(${target} PROPERTIES
    OUTPUT_NAME kernel.elf SUFFIX ""
    RUNTIME_OUTPUT_DIRECTORY ${HB_OUT_DIR}/chapters/${folder}
    LINK_DEPENDS ${CMAKE_SOURCE_DIR}/src/arch/riscv/kernel.ld)
endfunction()

foreach(ch IN LISTS HB_CHAPTERS)
  add_subdirectory(chapters/${ch})
endforeach()
