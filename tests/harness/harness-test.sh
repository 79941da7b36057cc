#!/usr/bin/env bash
# Tests of the proof harness itself: scripts/qemu-test.sh (and through it
# scripts/run-qemu-rv64.sh and hb-ladder) against a fake QEMU that replays
# recorded transcripts. Fixture ladders live in tests/harness/chapters, so
# these tests do not depend on the real chapters.
#
#   harness-test.sh CASE     run one case (CTest runs each as harness-CASE)
#   harness-test.sh all      run every case
#
# Needs HB_LADDER (path of the hb-ladder binary). Every case asserts the exit
# status AND the key words of the one-line verdict.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
QEMU_TEST="$ROOT/scripts/qemu-test.sh"
: "${HB_LADDER:?set HB_LADDER to the hb-ladder binary}"

# ------------------------------------------------------------- helpers

# A fresh sandbox per case: fake kernels, logs, and the fake QEMU wired in.
setup() {
  TMP="$(mktemp -d "${TMPDIR:-/tmp}/hb-harness.XXXXXX")"
  export BUILD_DIR="$TMP/build"
  export LOG_DIR="$TMP/logs"
  export CHAPTERS_DIR="$HERE/chapters"
  export QEMU="$HERE/fake-qemu"
  export HB_LADDER HB_NO_BUILD=1
  export FAKE_PIDFILE="$TMP/fake.pid"
  unset SMP REQUIRE_SMP RUN_UNTIL_MARKER RUN_TIMEOUT CHAPTER KERNEL_ARGS ACCEL MACHINE \
        EXPECT_FAIL LOG_SUFFIX MARKERS FAKE_EXIT FAKE_HANG FAKE_LINE_DELAY FAKE_ARGS_FILE
  export CHAPTER=91 RUN_TIMEOUT=20s
  mkdir -p "$BUILD_DIR/chapters/90-base" "$BUILD_DIR/chapters/91-smp" "$BUILD_DIR/chapters/89-broken"
  touch "$BUILD_DIR/chapters/90-base/kernel.elf" "$BUILD_DIR/chapters/91-smp/kernel.elf" \
        "$BUILD_DIR/chapters/89-broken/kernel.elf"
}
cleanup() {
  [[ -n "${BYSTANDER:-}" ]] && kill "$BYSTANDER" 2>/dev/null
  [[ -n "${TMP:-}" ]] && rm -rf "$TMP"
}
trap cleanup EXIT

# run_gate TRANSCRIPT: runs qemu-test.sh; sets OUT (all output), LAST (the
# verdict line) and RC. TRANSCRIPT is a file in transcripts/, or a full path.
run_gate() {
  export FAKE_TRANSCRIPT="$HERE/transcripts/$1"
  [[ "$1" == /* ]] && FAKE_TRANSCRIPT="$1"
  OUT="$("$QEMU_TEST" 2>&1)"
  RC=$?
  LAST="$(tail -n 1 <<<"$OUT")"
}

fail() {
  echo "HARNESS TEST FAILED: $*"
  echo "--- qemu-test output (exit $RC):"
  echo "$OUT"
  exit 1
}
expect_rc() { [[ "$RC" == "$1" ]] || fail "expected exit $1, got $RC"; }
# expect_last TEXT...: the verdict line contains every TEXT (fixed strings).
expect_last() {
  for want in "$@"; do
    grep -qF -- "$want" <<<"$LAST" || fail "verdict line lacks '$want': $LAST"
  done
}
expect_one_verdict_line() {
  local n
  n=$(grep -cE '^qemu-test: (PASS|FAIL)' <<<"$OUT")
  [[ "$n" == 1 ]] || fail "expected exactly one verdict line, got $n"
}
fake_gone() {
  local pid
  pid="$(cat "$FAKE_PIDFILE")"
  ! kill -0 "$pid" 2>/dev/null || fail "fake QEMU (pid $pid) still running"
}

# ----------------------------------------------------- verdicts on transcripts

case_good_ladder() {
  run_gate good.log
  expect_rc 0
  expect_last "qemu-test: PASS 91-smp smp1 markers=3 last_marker_s="
  expect_one_verdict_line
  [[ -f "$LOG_DIR/uart.log" && -f "$LOG_DIR/verdict" && -f "$LOG_DIR/result.json" ]] ||
    fail "uart.log, verdict and result.json must be kept"
  grep -q '"verdict": "pass"' "$LOG_DIR/result.json" || fail "result.json: $(cat "$LOG_DIR/result.json")"
  grep -q '"qemu_exit": 0' "$LOG_DIR/result.json" || fail "result.json lacks qemu_exit 0"
  cmp -s "$LOG_DIR/uart.log" "$HERE/transcripts/good.log" || fail "uart.log is not the transcript"
}

case_good_ladder_smp2() {
  export SMP=2 REQUIRE_SMP=1
  run_gate good-smp2.log
  expect_rc 0
  expect_last "PASS 91-smp smp2 markers=5"
}

case_smp_lines_optional_without_require_smp() {
  export SMP=2
  run_gate good.log
  expect_rc 0
  expect_last "PASS 91-smp smp2 markers=3"
}

case_markers_override_variant_ladder() {
  # MARKERS: a variant run judged against its own ladder (e.g. maxcpus=2).
  printf 'KINIT: boot hart{N}\nKINIT: heap ready\nKSELFTEST: done ok\n' >"$TMP/variant.markers"
  export MARKERS="$TMP/variant.markers"
  run_gate good.log
  expect_rc 0
  expect_last "PASS 91-smp smp1 markers=3"
  # ... and the variant ladder really is the one judged: a line it demands
  # that the transcript lacks makes the run fail.
  printf 'KINIT: boot hart{N}\nKINIT: heap gone\n' >"$TMP/variant.markers"
  run_gate good.log
  expect_rc 1
  expect_last "missing marker: 'KINIT: heap gone'"
  export MARKERS="$TMP/absent.markers"
  run_gate good.log
  expect_rc 2
}

case_require_smp_needs_smp_lines() {
  export SMP=2 REQUIRE_SMP=1
  run_gate good.log
  expect_rc 1
  expect_last "FAIL 91-smp smp2:" "out of order: saw 'KSELFTEST: done ok' before 'KINIT: cpu1 online'"
}

case_missing_marker() {
  run_gate missing.log
  expect_rc 1
  expect_last "qemu-test: FAIL 91-smp smp1: missing marker: 'KSELFTEST: done ok'" \
              "(last marker seen: 'KSELFTEST: base ok')" "(log: $LOG_DIR/uart.log)"
  expect_one_verdict_line
  grep -q '"verdict": "fail"' "$LOG_DIR/result.json" || fail "result.json must say fail"
}

case_out_of_order() {
  run_gate out-of-order.log
  expect_rc 1
  expect_last "out of order: saw 'KSELFTEST: done ok' before 'KSELFTEST: base ok'"
}

case_duplicate_marker() {
  run_gate duplicate.log
  expect_rc 1
  expect_last "duplicate marker: 'KINIT: boot hart1'"
}

case_fail_line() {
  run_gate fail-line.log
  expect_rc 1
  expect_last "forbidden line (FAIL): 'KSELFTEST: base FAIL online mask wrong'"
}

case_panic_line() {
  run_gate panic.log
  expect_rc 1
  expect_last "forbidden line (panic)"
}

case_junk_with_ladder_passes() {
  run_gate junk-pass.log
  expect_rc 0
  expect_last "PASS 91-smp smp1 markers=3"
}

case_junk_without_ladder_fails() {
  run_gate junk-missing.log
  expect_rc 1
  expect_last "missing marker: 'KSELFTEST: base ok'"
}

case_failure_exit_status() {
  export FAKE_EXIT=1
  run_gate good.log
  expect_rc 1
  expect_last "kernel powered off with failure status 1"
  grep -q '"qemu_exit": 1' "$LOG_DIR/result.json" || fail "result.json lacks qemu_exit 1"
}

case_smp_marker_in_single_hart_run() {
  run_gate good-smp2.log
  expect_rc 1
  expect_last "SMP marker in single-hart run: 'KINIT: cpu1 online'"
}

case_slow_output_split_lines() {
  # Lines arrive in halves, 20 ms apart: the watcher must reassemble them.
  export FAKE_LINE_DELAY=0.02 SMP=2 REQUIRE_SMP=1
  run_gate good-smp2.log
  expect_rc 0
  expect_last "PASS 91-smp smp2 markers=5"
}

# ---------------------------------------------------- time and processes

case_timeout() {
  export FAKE_HANG=1 RUN_TIMEOUT=1
  local t0=$SECONDS
  run_gate missing.log
  expect_rc 1
  expect_last "timeout after 1s waiting for 'KSELFTEST: done ok'"
  (( SECONDS - t0 < 10 )) || fail "timeout took $((SECONDS - t0))s"
  fake_gone
}

case_complete_but_never_powers_off() {
  export FAKE_HANG=1 RUN_TIMEOUT=1s
  run_gate good.log
  expect_rc 1
  expect_last "timeout after 1s waiting for the kernel to power off"
  fake_gone
}

case_run_until_marker_stops_only_its_qemu() {
  # A bystander with the very same command name: only a pid-exact kill spares it.
  FAKE_TRANSCRIPT="$HERE/transcripts/missing.log" FAKE_HANG=1 FAKE_PIDFILE="$TMP/bystander.pid" \
    "$HERE/fake-qemu" -machine virt -bios default -smp 1 -kernel "$BUILD_DIR/chapters/91-smp/kernel.elf" \
    -global virtio-mmio.force-legacy=false -no-reboot -serial "file:$TMP/bystander.log" >/dev/null 2>&1 &
  BYSTANDER=$!
  export FAKE_HANG=1 RUN_UNTIL_MARKER=1 RUN_TIMEOUT=30s
  local t0=$SECONDS
  run_gate good.log
  expect_rc 0
  expect_last "PASS 91-smp smp1 markers=3"
  (( SECONDS - t0 < 10 )) || fail "RUN_UNTIL_MARKER=1 did not stop early"
  fake_gone
  kill -0 "$BYSTANDER" 2>/dev/null || fail "an unrelated process was killed"
  grep -q '"qemu_exit": null' "$LOG_DIR/result.json" || fail "a stopped QEMU has no exit status"
}

case_sigterm_cleans_up() {
  export FAKE_HANG=1 RUN_TIMEOUT=60s FAKE_TRANSCRIPT="$HERE/transcripts/missing.log"
  "$QEMU_TEST" >"$TMP/out" 2>&1 &
  local script=$!
  for _ in $(seq 100); do [[ -s "$FAKE_PIDFILE" ]] && break; sleep 0.05; done
  sleep 0.2
  kill -TERM "$script"
  wait "$script"
  RC=$? OUT="$(cat "$TMP/out")" LAST="$(tail -n 1 "$TMP/out")"
  expect_rc 130
  expect_last "FAIL 91-smp smp1: interrupted by SIGTERM"
  sleep 0.2
  fake_gone
}

# ------------------------------------------------------- configuration

case_require_smp_with_one_hart() {
  export SMP=1 REQUIRE_SMP=1
  run_gate good.log
  expect_rc 2
  expect_last "REQUIRE_SMP=1 needs SMP=2"
  [[ ! -f "$FAKE_PIDFILE" ]] || fail "nothing may boot on a configuration error"
}

case_bad_smp_values() {
  local v
  for v in abc 0 33 99 -1 ""; do
    export SMP="$v"
    [[ -z "$v" ]] && export SMP=" "
    run_gate good.log
    expect_rc 2
    expect_last "SMP must be an integer 1..32"
  done
  [[ ! -f "$FAKE_PIDFILE" ]] || fail "nothing may boot on a configuration error"
}

case_bad_flags() {
  export REQUIRE_SMP=yes; run_gate good.log; expect_rc 2; expect_last "REQUIRE_SMP must be 0 or 1"
  unset REQUIRE_SMP
  export RUN_UNTIL_MARKER=2; run_gate good.log; expect_rc 2; expect_last "RUN_UNTIL_MARKER must be 0 or 1"
  unset RUN_UNTIL_MARKER
  export RUN_TIMEOUT=soon; run_gate good.log; expect_rc 2; expect_last "RUN_TIMEOUT must look like"
  export RUN_TIMEOUT=0s; run_gate good.log; expect_rc 2; expect_last "RUN_TIMEOUT"
  export RUN_TIMEOUT=20s ACCEL=fast; run_gate good.log; expect_rc 2; expect_last "ACCEL must be"
}

case_timeout_formats() {
  local v
  for v in 45 45s 2m; do
    export RUN_TIMEOUT=$v
    run_gate good.log
    expect_rc 0
    grep -qF "timeout $([[ $v == 2m ]] && echo 120 || echo 45)s" <<<"$OUT" || fail "RUN_TIMEOUT=$v misread"
  done
}

case_missing_qemu() {
  export QEMU=/nonexistent/qemu-system-riscv64
  run_gate good.log
  expect_rc 3
  expect_last "not found; run scripts/install-deps"
}

case_missing_kernel() {
  rm "$BUILD_DIR/chapters/91-smp/kernel.elf"
  run_gate good.log
  expect_rc 3
  expect_last "kernel not found"
}

case_missing_ladder_tool() {
  export HB_LADDER="$TMP/nope/hb-ladder"
  run_gate good.log
  expect_rc 3
  expect_last "hb-ladder not found"
}

case_unknown_chapter() {
  export CHAPTER=77
  run_gate good.log
  expect_rc 2
  expect_last "unknown CHAPTER '77'"
}

case_chapter_by_full_name() {
  export CHAPTER=90-base
  run_gate good.log
  expect_rc 0
  expect_last "PASS 90-base smp1 markers=2"
}

case_default_chapter_is_the_last() {
  unset CHAPTER
  run_gate good.log
  expect_rc 0
  expect_last "PASS 91-smp smp1"
}

case_broken_markers_file() {
  export CHAPTER=89
  run_gate good.log
  expect_rc 2
  expect_last "include of missing ladder '42-nowhere'"
}

# ------------------------------------------------ options passed to QEMU

case_qemu_command_line() {
  export FAKE_ARGS_FILE="$TMP/args" KERNEL_ARGS="fault=skip-hart-start" ACCEL=single SMP=2
  run_gate good.log
  expect_rc 0
  local args
  args="$(tr '\n' ' ' <"$FAKE_ARGS_FILE")"
  for want in "-machine virt" "-bios default" "-m 256M" "-smp 2" \
              "-global virtio-mmio.force-legacy=false" "-no-reboot" "-append fault=skip-hart-start" \
              "-accel tcg,thread=single" "-display none" "-monitor none" "-serial file:"; do
    grep -qF -- "$want" <<<"$args" || fail "QEMU was not given '$want': $args"
  done
}

case_log_suffix_keeps_runs_apart() {
  unset LOG_DIR
  export SMP=2 ACCEL=single
  run_gate good.log
  expect_rc 0
  [[ -f "$BUILD_DIR/logs/91-smp-smp2-single/uart.log" ]] || fail "ACCEL=single must log to 91-smp-smp2-single"
  unset ACCEL
  export KERNEL_ARGS="fault=skip-hart-start"
  run_gate good.log
  [[ -f "$BUILD_DIR/logs/91-smp-smp2-fault-skip-hart-start/uart.log" ]] || fail "KERNEL_ARGS must get its own log dir"
  export LOG_SUFFIX=mine
  run_gate good.log
  [[ -f "$BUILD_DIR/logs/91-smp-smp2-mine/uart.log" ]] || fail "LOG_SUFFIX ignored"
}

# NONCE: passed to the kernel, required on every marker, kept out of the log
# folder's name; a transcript without it (a saved log) fails.
case_nonce_required_on_every_marker() {
  unset LOG_DIR
  export FAKE_ARGS_FILE="$TMP/args" NONCE=c0ffee42
  run_gate good-nonce.log
  expect_rc 0
  expect_last "PASS 91-smp smp1 markers=3"
  grep -qF -- "nonce=c0ffee42" "$FAKE_ARGS_FILE" || fail "QEMU was not given nonce=c0ffee42: $(tr '\n' ' ' <"$FAKE_ARGS_FILE")"
  [[ -f "$BUILD_DIR/logs/91-smp-smp1/uart.log" ]] || fail "a nonce must not name the log folder"
  run_gate good.log
  expect_rc 1
  expect_last "FAIL 91-smp smp1"
  export NONCE=BAD
  run_gate good-nonce.log
  expect_rc 2
  expect_last "FAIL configuration: nonce= in KERNEL_ARGS (NONCE) must be 1..32 characters of 0-9 and a-z, got 'BAD'"
}

case_expect_fail_mutation_caught() {
  export EXPECT_FAIL="missing marker: 'KSELFTEST: done ok'"
  run_gate missing.log
  expect_rc 0
  expect_last "PASS 91-smp smp1: failed as expected: missing marker"
}

case_expect_fail_mutation_not_caught() {
  export EXPECT_FAIL="missing marker"
  run_gate good.log
  expect_rc 1
  expect_last "mutation not caught"
}

case_expect_fail_wrong_reason() {
  export EXPECT_FAIL="missing marker"
  run_gate duplicate.log
  expect_rc 1
  expect_last "failed, but not as expected" "duplicate marker"
}

case_run_qemu_print_cmd_and_gdb() {
  OUT="$("$ROOT/scripts/run-qemu-rv64.sh" --chapter 91 --smp 4 --gdb --print-cmd 2>&1)"; RC=$?
  LAST="$OUT"
  expect_rc 0
  expect_last "-smp 4" "-S -gdb tcp::" "-nographic" "$BUILD_DIR/chapters/91-smp/kernel.elf"
  OUT="$("$ROOT/scripts/run-qemu-rv64.sh" --chapter 91 --smp 0 2>&1)"; RC=$?; LAST="$OUT"
  expect_rc 2
  expect_last "run-qemu: SMP must be an integer 1..32, got '0'"
  OUT="$("$ROOT/scripts/run-qemu-rv64.sh" --chapter 55 --smp 1 2>&1)"; RC=$?; LAST="$OUT"
  expect_rc 2
  expect_last "unknown CHAPTER '55'"
  OUT="$("$ROOT/scripts/run-qemu-rv64.sh" --chapter 91 --smp 12 --print-cmd 2>&1)"; RC=$?; LAST="$OUT"
  expect_rc 0
  expect_last "-machine virt" "-smp 12" "-no-reboot"
  OUT="$("$ROOT/scripts/run-qemu-rv64.sh" --chapter 91 --smp 3 --machine sifive_u --print-cmd 2>&1)"
  RC=$?; LAST="$OUT"
  expect_rc 0
  expect_last "-machine sifive_u" "-smp 3" "-no-reboot"
  OUT="$("$ROOT/scripts/run-qemu-rv64.sh" --chapter 91 --smp 8 --machine sifive_u 2>&1)"; RC=$?; LAST="$OUT"
  expect_rc 2
  expect_last "SMP must be an integer 2..5 on MACHINE=sifive_u"
  OUT="$(HB_LADDER="$TMP/none" "$ROOT/scripts/run-qemu-rv64.sh" --chapter 91 --smp 1 2>&1)"; RC=$?
  LAST="$OUT"
  expect_rc 3
  expect_last "hb-ladder not found"
}

case_ladder_check_mode() {
  local args=(--markers "$HERE/chapters/91-smp/markers" --smp 1)
  OUT="$("$HB_LADDER" check "${args[@]}" --log "$HERE/transcripts/good.log" --qemu-exit 0)"; RC=$?
  LAST="$OUT"
  expect_rc 0
  expect_last "PASS 91-smp smp1 markers=3 last_marker_s=n/a"
  OUT="$("$HB_LADDER" check "${args[@]}" --log "$HERE/transcripts/good.log" --qemu-exit 1)"; RC=$?
  LAST="$OUT"
  expect_rc 1
  expect_last "FAIL kernel powered off with failure status 1"
  OUT="$("$HB_LADDER" check "${args[@]}" --log "$HERE/transcripts/out-of-order.log" --out-dir "$TMP/c")"
  RC=$?; LAST="$OUT"
  expect_rc 1
  [[ "$(cat "$TMP/c/verdict")" == "$OUT" ]] || fail "check --out-dir verdict differs from stdout"
  OUT="$("$HB_LADDER" list --markers "$HERE/chapters/91-smp/markers" --smp 3 --require-smp 1)"; RC=$?
  LAST="$(tr '\n' '|' <<<"$OUT")"
  expect_rc 0
  expect_last "KINIT: boot hart{N}|KSELFTEST: base ok|KINIT: cpu1 online|KINIT: cpu2 online|KSELFTEST: smp ok|KSELFTEST: done ok"
  OUT="$("$HB_LADDER" list --markers "$HERE/chapters/91-smp/markers" --smp 1 --require-smp 1 2>&1)"; RC=$?
  LAST="$OUT"
  expect_rc 2
}

# ------------------------------------------- harts beyond the CPU limit

case_over_limit_parks_harts() {
  # SMP=12 on virt: CPUs 0..7 online, four harts parked, each with its line.
  export SMP=12 REQUIRE_SMP=1
  run_gate good-smp12.log
  expect_rc 0
  expect_last "PASS 91-smp smp12 markers=15"
  grep -qF "8 cpus + 4 parked harts" <<<"$OUT" || fail "the boot line must say how many harts are parked"
  grep -q '"parked": 4' "$LOG_DIR/result.json" || fail "result.json lacks parked 4"
  # One parked hart too few is a missing marker ...
  grep -v 'hart11 parked' "$HERE/transcripts/good-smp12.log" >"$TMP/short.log"
  run_gate "$TMP/short.log"
  expect_rc 1
  expect_last "out of order: saw 'KINIT: cpu1 online' before 'KINIT: hart{N} parked (cpu limit 8)'"
  # ... and the same transcript at SMP=8 (nothing to park) fails on the first parked line.
  export SMP=8
  run_gate good-smp12.log
  expect_rc 1
  expect_last "parked hart in a run without harts beyond the cpu limit: 'KINIT: hart8 parked (cpu limit 8)'"
}

case_maxcpus_lowers_the_limit() {
  # maxcpus=2 in KERNEL_ARGS: the general ladder expects two parked harts
  # and one secondary, no variant ladder needed.
  export SMP=4 REQUIRE_SMP=1 KERNEL_ARGS=maxcpus=2
  run_gate good-maxcpus2.log
  expect_rc 0
  expect_last "PASS 91-smp smp4 markers=7"
  [[ "$(sed -n 3p "$LOG_DIR/expected")" == "KINIT: hart{N} parked (cpu limit 2)" ]] ||
    fail "{limit} not expanded: $(cat "$LOG_DIR/expected")"
  # Without maxcpus, four harts are four CPUs: the parked lines are wrong.
  unset KERNEL_ARGS
  run_gate good-maxcpus2.log
  expect_rc 1
  expect_last "parked hart in a run without harts beyond the cpu limit"
  export KERNEL_ARGS=maxcpus=1
  run_gate good-maxcpus2.log
  expect_rc 2
  expect_last "REQUIRE_SMP=1 needs a CPU limit of 2 or more (maxcpus=1"
}

case_smp_upper_bound() {
  local out
  out="$("$HB_LADDER" config --chapters-dir "$CHAPTERS_DIR" --smp 32 --require-smp 1)" ||
    { RC=$?; OUT="$out"; fail "SMP=32 must be accepted"; }
  grep -qx "parked=24" <<<"$out" || { RC=0; OUT="$out"; fail "SMP=32 must park 24 harts"; }
  export SMP=33
  run_gate good.log
  expect_rc 2
  expect_last "qemu-test: FAIL configuration: SMP must be an integer 1..32, got '33'"
}

# ------------------------------------------------------------ machines

case_sifive_u_machine() {
  # sifive_u: hart 0 is a monitor core, so SMP=3 gives the kernel two harts.
  unset LOG_DIR
  export MACHINE=sifive_u SMP=3 REQUIRE_SMP=1 FAKE_ARGS_FILE="$TMP/args"
  run_gate good-smp2.log
  expect_rc 0
  expect_last "PASS 91-smp smp3 markers=5"
  grep -qF "machine sifive_u" <<<"$OUT" || fail "the boot line must name the machine"
  grep -qx "sifive_u" "$FAKE_ARGS_FILE" || fail "QEMU was not given -machine sifive_u"
  grep -qx -- "-no-reboot" "$FAKE_ARGS_FILE" || fail "QEMU was not given -no-reboot"
  local dir="$BUILD_DIR/logs/91-smp-smp3-sifive-u"
  [[ -f "$dir/uart.log" ]] || fail "MACHINE=sifive_u must log to 91-smp-smp3-sifive-u"
  grep -q '"machine": "sifive_u"' "$dir/result.json" || fail "result.json lacks the machine"
  export SMP=2
  run_gate good-smp2.log
  expect_rc 2
  expect_last "REQUIRE_SMP=1 needs SMP=3 or more (SMP=2, and on sifive_u hart 0"
  export SMP=6
  run_gate good-smp2.log
  expect_rc 2
  expect_last "SMP must be an integer 2..5 on MACHINE=sifive_u"
  export SMP=2 REQUIRE_SMP=0
  run_gate good-smp2.log
  expect_rc 1
  expect_last "SMP marker in single-hart run: 'KINIT: cpu1 online'"
  export MACHINE=sifive-u
  run_gate good.log
  expect_rc 2
  expect_last "MACHINE must be virt or sifive_u, got 'sifive-u'"
}

# --------------------------------------------------- hb-ladder config, list --json

case_ladder_config_mode() {
  local out
  out="$("$HB_LADDER" config --chapters-dir "$CHAPTERS_DIR" --chapter 90 --smp 2 \
         --run-timeout 2m --accel single --kernel-args "fault=x maxcpus=3")"; RC=$?; OUT="$out"
  expect_rc 0
  local want
  for want in chapter=90-base "markers=$CHAPTERS_DIR/90-base/markers" smp=2 require_smp=0 \
              until_marker=0 timeout_s=120 accel=single machine=virt harts=2 cpu_limit=3 cpus=2 \
              parked=0 log_suffix=single-fault-x-maxcpus-3 expected=2; do
    grep -qxF -- "$want" <<<"$out" || fail "config output lacks '$want': $out"
  done
  out="$("$HB_LADDER" config --chapters-dir "$CHAPTERS_DIR")"; RC=$?; OUT="$out"
  grep -qx "chapter=91-smp" <<<"$out" || fail "the default chapter is the last one"
  OUT="$("$HB_LADDER" config --chapters-dir "$CHAPTERS_DIR" --chapter 9 2>&1)"; RC=$?; LAST="$OUT"
  expect_rc 2
  expect_last "hb-ladder: unknown CHAPTER '9' in $CHAPTERS_DIR"
  [[ "$(wc -l <<<"$OUT")" == 1 ]] || fail "a config error is one line"
}

case_ladder_list_json() {
  OUT="$("$HB_LADDER" list --json --chapters-dir "$CHAPTERS_DIR" --chapter 91)"; RC=$?
  expect_rc 0
  /usr/bin/python3 - "$OUT" <<'PY' || fail "list --json is not the unexpanded ladder"
import json, sys
d = json.loads(sys.argv[1])
assert d["chapter"] == "91-smp", d
m = d["markers"]
assert [x["pattern"] for x in m] == ["KINIT: boot hart{N}", "KSELFTEST: base ok",
    "KINIT: hart{N} parked (cpu limit {limit})", "KINIT: cpu{cpu} online",
    "KSELFTEST: smp ok", "KSELFTEST: done ok"], m
assert m[0]["origin"] == "90-base:2" and m[0]["chapter"] == "90-base" and m[0]["line"] == 2, m[0]
assert m[2]["parked"] and not m[2]["smp_only"], m[2]
assert m[3]["per_cpu"] and m[3]["smp_only"], m[3]
assert m[4]["smp_only"] and not m[4]["per_cpu"], m[4]
PY
  OUT="$("$HB_LADDER" list --json --chapters-dir "$CHAPTERS_DIR" --chapter 89 2>&1)"; RC=$?; LAST="$OUT"
  expect_rc 2
  expect_last "include of missing ladder '42-nowhere'"
}

# ------------------------------------------------------------- driver

run_case() {
  setup
  "case_$1"
  cleanup
  BYSTANDER="" TMP=""
}

if [[ $# -ne 1 ]]; then
  echo "usage: $0 CASE|all" >&2
  exit 2
fi
if [[ "$1" == all ]]; then
  for c in $(declare -F | awk '{print $3}' | grep '^case_' | sed 's/^case_//'); do
    (run_case "$c") && echo "ok   $c" || { echo "FAIL $c"; exit 1; }
  done
else
  declare -F "case_$1" >/dev/null || { echo "no such case: $1" >&2; exit 2; }
  run_case "$1"
  echo "ok   $1"
fi
