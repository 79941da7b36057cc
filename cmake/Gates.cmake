# Chapter gates: every chapter kernel booted under QEMU and judged against its
# marker ladder by scripts/qemu-test.sh, as CTest tests with label `qemu`.
#
#   hb_add_gate(NAME <test-name> CHAPTER <NN-slug> SMP <k>
#               [REQUIRE_SMP] [MACHINE virt|sifive_u] [KERNEL_ARGS "..."]
#               [ACCEL single|multi] [EXPECT_FAIL <regex on the verdict line>]
#               [LOG_SUFFIX <s>] [MARKERS <variant ladder file>])
#
# EXPECT_FAIL makes a mutation check: the gate must fail (qemu-test.sh exit 1)
# with a verdict matching the regex, e.g. a fault injected through
# KERNEL_ARGS must be caught (chapters/02-hart-boot/mutations generates this):
#
#   hb_add_gate(NAME gate-02-mutation-skip-hart-start CHAPTER 02-hart-boot SMP 2
#               REQUIRE_SMP KERNEL_ARGS "fault=skip-hart-start"
#               EXPECT_FAIL "cpu1 .*did not come online")
#
# Logs land in build/logs/<chapter>-smp<k>[-<suffix>]/ (uart.log, verdict,
# result.json); the book shows those transcripts.

set(HB_GATE_TIMEOUT 60)  # seconds per boot; a healthy kernel needs a second or two
cmake_host_system_information(RESULT HB_HOST_CORES QUERY NUMBER_OF_LOGICAL_CORES)
# The latest chapter: the over-limit and sifive_u gates run it, and move on
# when a new chapter is added to HB_CHAPTERS.
list(GET HB_CHAPTERS -1 HB_LATEST_CHAPTER)

function(hb_add_gate)
  cmake_parse_arguments(G "REQUIRE_SMP" "NAME;CHAPTER;SMP;MACHINE;KERNEL_ARGS;ACCEL;EXPECT_FAIL;LOG_SUFFIX;MARKERS" "" ${ARGN})
  foreach(required NAME CHAPTER SMP)
    if(NOT G_${required})
      message(FATAL_ERROR "hb_add_gate: ${required} is required")
    endif()
  endforeach()
  if(G_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "hb_add_gate(${G_NAME}): unknown arguments ${G_UNPARSED_ARGUMENTS}")
  endif()

  # More harts than host cores take turns on them: allow 15 s more per
  # extra hart (a healthy SMP=12 boot still ends within seconds; the
  # timeout only bounds a hung one).
  set(boot_timeout ${HB_GATE_TIMEOUT})
  if(G_SMP GREATER HB_HOST_CORES)
    math(EXPR boot_timeout "${HB_GATE_TIMEOUT} + 15 * (${G_SMP} - ${HB_HOST_CORES})")
  endif()
  set(env
    HB_NO_BUILD=1
    BUILD_DIR=${CMAKE_BINARY_DIR}
    CHAPTER=${G_CHAPTER}
    SMP=${G_SMP}
    RUN_TIMEOUT=${boot_timeout}s
    # No RUN_UNTIL_MARKER: a gate also checks that the kernel powers off
    # by itself with status 0.
    RUN_UNTIL_MARKER=0)
  if(G_REQUIRE_SMP)
    list(APPEND env REQUIRE_SMP=1)
  else()
    list(APPEND env REQUIRE_SMP=0)
  endif()
  if(G_MACHINE)
    list(APPEND env MACHINE=${G_MACHINE})
  endif()
  if(DEFINED G_MARKERS)
    list(APPEND env "MARKERS=${G_MARKERS}")
  endif()
  if(DEFINED G_KERNEL_ARGS)
    list(APPEND env "KERNEL_ARGS=${G_KERNEL_ARGS}")
  endif()
  if(G_ACCEL)
    list(APPEND env ACCEL=${G_ACCEL})
  endif()
  if(DEFINED G_LOG_SUFFIX)
    list(APPEND env LOG_SUFFIX=${G_LOG_SUFFIX})
  endif()
  if(DEFINED G_EXPECT_FAIL)
    # qemu-test.sh then exits 0 only for a failure whose verdict matches.
    list(APPEND env "EXPECT_FAIL=${G_EXPECT_FAIL}")
  endif()

  add_test(NAME ${G_NAME} COMMAND ${CMAKE_SOURCE_DIR}/scripts/qemu-test.sh)
  # Each hart is a host thread: reserve up to one core per hart, capped at
  # the host's cores, so on a 2-core machine SMP>=2 gates (SMP=8 and 12
  # included) run alone and two SMP=1 gates share it.
  if(G_SMP GREATER HB_HOST_CORES)
    set(procs ${HB_HOST_CORES})
  else()
    set(procs ${G_SMP})
  endif()
  math(EXPR test_timeout "${boot_timeout} + 30")
  set_tests_properties(${G_NAME} PROPERTIES
    LABELS qemu
    ENVIRONMENT "${env}"
    PROCESSORS ${procs}
    TIMEOUT ${test_timeout})
endfunction()

# The standard gates of every chapter: gate-NN-smp1, -smp2, -smp3, -smp4 and
# -smp8 (SMP lines required; 8 is exactly the kernel's kMaxCpus) and
# -smp2-single (single-threaded TCG: harts take turns, which flushes out
# spin-waits that starve another hart).
foreach(chapter IN LISTS HB_CHAPTERS)
  string(SUBSTRING "${chapter}" 0 2 nn)
  hb_add_gate(NAME gate-${nn}-smp1 CHAPTER ${chapter} SMP 1)
  foreach(smp IN ITEMS 2 3 4 8)
    hb_add_gate(NAME gate-${nn}-smp${smp} CHAPTER ${chapter} SMP ${smp} REQUIRE_SMP)
  endforeach()
  hb_add_gate(NAME gate-${nn}-smp2-single CHAPTER ${chapter} SMP 2 REQUIRE_SMP
              ACCEL single LOG_SUFFIX single)

  # Mutation gates: chapters/NN-slug/mutations lists faults the kernel can
  # inject (`fault=<name>` on its command line), one per line:
  #   <fault-name> <smp> <regex the failing verdict must match>
  # Each must make the chapter's gate FAIL for the stated reason: the proof
  # that the chapter's markers can fail.
  set(mfile ${CMAKE_SOURCE_DIR}/chapters/${chapter}/mutations)
  if(EXISTS ${mfile})
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${mfile})
    file(STRINGS ${mfile} mlines REGEX "^[a-z]")
    foreach(mline IN LISTS mlines)
      if(NOT mline MATCHES "^([a-z0-9-]+)[ \t]+([0-9]+)[ \t]+(.+)$")
        message(FATAL_ERROR "${mfile}: bad line '${mline}' (want: <fault> <smp> <regex>)")
      endif()
      set(fault ${CMAKE_MATCH_1})
      set(msmp ${CMAKE_MATCH_2})
      set(mregex "${CMAKE_MATCH_3}")
      set(req "")
      if(msmp GREATER 1)
        set(req REQUIRE_SMP)
      endif()
      hb_add_gate(NAME gate-${nn}-mutation-${fault} CHAPTER ${chapter} SMP ${msmp} ${req}
                  KERNEL_ARGS "fault=${fault}" EXPECT_FAIL "${mregex}")
    endforeach()
  endif()
endforeach()

# Harts beyond the CPU limit. The ladder's `parked` lines are expected once
# per hart the kernel must leave parked (see chapters/01-newtypes/markers):
# chapter 02 with four harts and `maxcpus=2` (two parked, only cpu1 comes
# online), and the latest chapter with twelve harts, four more than kMaxCpus.
hb_add_gate(NAME gate-02-smp4-maxcpus2 CHAPTER 02-hart-boot SMP 4 REQUIRE_SMP
            KERNEL_ARGS "maxcpus=2")
string(SUBSTRING "${HB_LATEST_CHAPTER}" 0 2 hb_latest_nn)
hb_add_gate(NAME gate-${hb_latest_nn}-smp12 CHAPTER ${HB_LATEST_CHAPTER} SMP 12 REQUIRE_SMP)

# A firmware race made certain: OpenSBI 1.1's hart_start marks a hart
# "starting" before it stores the start address, so now and then a hart
# enters the kernel at _start (seen in about 1 of 100 loaded boots at
# -smp 4). fault=misdirect-secondary sends every secondary there; start.S
# must pass each one on to hb_secondary_entry and the whole ladder must
# still PASS (without the defence the boot crashes). Latest chapter, since
# it has the most to break.
hb_add_gate(NAME gate-${hb_latest_nn}-smp4-misdirected CHAPTER ${HB_LATEST_CHAPTER} SMP 4 REQUIRE_SMP
            KERNEL_ARGS "fault=misdirect-secondary")

# Another board: QEMU's sifive_u (HiFive Unleashed). Hart 0 is an E51
# monitor core without S-mode, so OpenSBI enters the kernel on a non-zero
# hart and SMP=3 gives the kernel two harts. The board has no power-off
# device: the kernel falls back to an SBI reset, which QEMU's -no-reboot
# turns into an exit (src/kernel/power.cpp).
hb_add_gate(NAME gate-${hb_latest_nn}-sifive-u CHAPTER ${HB_LATEST_CHAPTER} SMP 3 REQUIRE_SMP
            MACHINE sifive_u)

# The seed's two proof commands, verbatim (no CHAPTER: the latest chapter;
# RUN_UNTIL_MARKER=1: the verdict comes at the last marker, the kernel need
# not power off by itself), as CTest runs them. Only HB_NO_BUILD (the build
# is this one), BUILD_DIR and LOG_SUFFIX (their logs must not overwrite the
# gate-NN-smp1/2 logs) are added; CHAPTER is cleared so a caller's
# environment cannot pick another chapter. The book shows these transcripts.
foreach(seed IN ITEMS "2;SMP=2;REQUIRE_SMP=1" "1;SMP=1")
  list(GET seed 0 seed_smp)
  list(SUBLIST seed 1 -1 seed_env)
  add_test(NAME seed-proof-smp${seed_smp}
           COMMAND ${CMAKE_COMMAND} -E env --unset=CHAPTER --unset=REQUIRE_SMP ${seed_env} RUN_UNTIL_MARKER=1 RUN_TIMEOUT=90s
                   HB_NO_BUILD=1 BUILD_DIR=${CMAKE_BINARY_DIR} LOG_SUFFIX=seed
                   ${CMAKE_SOURCE_DIR}/scripts/qemu-test.sh)
  set_tests_properties(seed-proof-smp${seed_smp} PROPERTIES LABELS qemu PROCESSORS ${seed_smp} TIMEOUT 120)
endforeach()

# Chapter 07's own tests, when chapter 07 is built (a course lab's tree
# stops at its own chapter: tools/lab.py).
if("07-proofs" IN_LIST HB_CHAPTERS)
# Chapter 07's scaling demos, judged for correctness, not speed (the speed is
# `make run-smp-process-scale` / `run-thread-scale`, on a quiet host): each
# mode verifies its checksum at SMP=2, the thread mode its stale-handle
# refusal, and a serialized thread run must be refused.
foreach(scale_case IN ITEMS process thread limit serial too-many)
  add_test(NAME scale-07-${scale_case}
           COMMAND ${CMAKE_COMMAND} -E env BUILD_DIR=${CMAKE_BINARY_DIR} SMP=2
                   ${CMAKE_SOURCE_DIR}/tests/harness/scale-gate.sh ${scale_case})
  set_tests_properties(scale-07-${scale_case} PROPERTIES LABELS qemu PROCESSORS 2 TIMEOUT 320)
endforeach()
# The checksum checks' negative test: one share dealt to nobody must fail them.
set(hb_scale_fault "fault=scale-wrong-share")  # KERNEL_ARGS of scale-07-wrong-share
add_test(NAME scale-07-wrong-share
         COMMAND ${CMAKE_COMMAND} -E env BUILD_DIR=${CMAKE_BINARY_DIR} SMP=2 KERNEL_ARGS=${hb_scale_fault}
                 ${CMAKE_SOURCE_DIR}/tests/harness/scale-gate.sh wrong-share)
set_tests_properties(scale-07-wrong-share PROPERTIES LABELS qemu PROCESSORS 2 TIMEOUT 320)

# The scaling workload's functions never straddle a page in the kernels that
# run it (tests/rules/hot-loops.sh: under TCG such a loop ran 8x slower).
add_test(NAME hot-loops COMMAND ${CMAKE_SOURCE_DIR}/tests/rules/hot-loops.sh
         ${CMAKE_BINARY_DIR}/chapters/04-runqueues/kernel.elf ${CMAKE_BINARY_DIR}/chapters/07-proofs/kernel.elf)
set_tests_properties(hot-loops PROPERTIES LABELS qemu TIMEOUT 30)
endif()

# `cmake --build build --target gates`: every QEMU gate; the book depends on it.
add_custom_target(gates
  COMMAND ${CMAKE_CTEST_COMMAND} -L qemu --output-on-failure -j ${HB_HOST_CORES}
  WORKING_DIRECTORY ${CMAKE_BINARY_DIR}
  USES_TERMINAL
  COMMENT "Running every chapter gate (ctest -L qemu)")
add_dependencies(gates kernels hb-ladder)
