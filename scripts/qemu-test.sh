#!/usr/bin/env bash
# qemu-test.sh: boot one chapter kernel under QEMU and judge its UART output
# against the chapter's marker ladder (chapters/NN-slug/markers). This is the
# proof command; every CTest gate (cmake/Gates.cmake) runs it too.
#
#   SMP=2 REQUIRE_SMP=1 RUN_UNTIL_MARKER=1 RUN_TIMEOUT=90s ./scripts/qemu-test.sh
#
# Environment (all optional):
#   SMP=1               harts given to QEMU, 1..32 (sifive_u: 2..5). Harts
#                       beyond the kernel's CPU limit (8, or maxcpus=K) must
#                       report themselves parked.
#   REQUIRE_SMP=0       1: the ladder's `smp` lines are required (needs 2 CPUs)
#   RUN_UNTIL_MARKER=0  1: stop QEMU as soon as the ladder is complete; 0: wait
#                       for the kernel to power off and check its exit status too
#   RUN_TIMEOUT=90s     give up after this long: 45, 45s or 2m
#   CHAPTER             02 or 02-hart-boot (default: the last chapters/NN-* folder)
#   MACHINE=virt        virt, or sifive_u (QEMU's HiFive Unleashed: hart 0 is a
#                       monitor core without S-mode, so the kernel gets SMP-1 harts)
#   KERNEL_ARGS         kernel command line, e.g. fault=skip-hart-start (mutation
#                       tests) or maxcpus=2
#   ACCEL               single (one host thread for all harts) or multi
#   NONCE               grading nonce (1..32 of 0-9a-z; make grade sets one per
#                       run): appended to KERNEL_ARGS as nonce=<it>; the kernel
#                       ends every marker with " nonce=<it>" and the ladder
#                       requires it, so a saved transcript cannot pass
#   MEMORY=256M         guest RAM (64M..16G, e.g. 128M or 2G; run-qemu-rv64.sh
#                       checks it); give LOG_SUFFIX too to keep its logs apart
#   EXPECT_FAIL         regex: this run must FAIL with a verdict matching it
#                       (mutation check); then an expected failure exits 0
#   QEMU                QEMU binary (default qemu-system-riscv64)
#   BUILD_DIR=build     where the kernels and hb-ladder are built
#   LOG_SUFFIX          appended to the log folder name (default: from MACHINE,
#                       ACCEL and KERNEL_ARGS, so such runs never overwrite the
#                       plain logs)
#   LOG_DIR             default $BUILD_DIR/logs/<chapter>-smp<N>[-<suffix>]
#   CHAPTERS_DIR        where chapter folders live (default chapters; tests use fixtures)
#   MARKERS             the ladder to judge against (default chapters/<chapter>/markers)
#   HB_LADDER           the hb-ladder binary (default $BUILD_DIR/tools/ladder/hb-ladder)
#   HB_NO_BUILD=1       do not build first (CTest sets this)
#
# Validating these settings and resolving CHAPTER is hb-ladder's job
# (`hb-ladder config`); this script only builds, starts and watches.
#
# Output: progress lines, then ONE verdict line:
#   qemu-test: PASS <chapter> smp<N> markers=<k> last_marker_s=<s>
#   qemu-test: FAIL <chapter> smp<N>: <reason> (log: <dir>/uart.log)
# The log folder keeps uart.log, verdict, result.json, qemu.stderr.
#
# Exit status: 0 pass, 1 gate failed, 2 configuration/usage error,
#              3 missing tool or kernel (or the build failed).
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$ROOT/build}"
CHAPTERS_DIR="${CHAPTERS_DIR:-$ROOT/chapters}"
QEMU="${QEMU:-qemu-system-riscv64}"
export QEMU BUILD_DIR CHAPTERS_DIR  # run-qemu-rv64.sh reads them too

say() { echo "qemu-test: $*"; }
config_error() { say "FAIL configuration: $*"; exit 2; }
missing() { say "FAIL missing: $*"; exit 3; }

# `wait -n -p` (below) needs bash 5.1 (Debian 12 has 5.2).
(( BASH_VERSINFO[0] > 5 || (BASH_VERSINFO[0] == 5 && BASH_VERSINFO[1] >= 1) )) ||
  missing "bash 5.1 or newer (this is $BASH_VERSION)"

# ------------------------------------------------------------------ build
# hb-ladder first: it validates the configuration before anything else is
# built or booted.
build() {  # targets...
  local blog="$BUILD_DIR/logs/build.log"
  command -v cmake >/dev/null 2>&1 || missing "cmake not found; run scripts/install-deps"
  mkdir -p "$BUILD_DIR/logs" || missing "cannot create $BUILD_DIR/logs"
  if [[ ! -f "$BUILD_DIR/CMakeCache.txt" ]]; then
    if [[ "$BUILD_DIR" == "$ROOT/build" ]]; then
      say "configuring build/ (cmake --preset default)"
      (cd "$ROOT" && cmake --preset default) >"$blog" 2>&1
    else
      say "configuring $BUILD_DIR (cmake -S $ROOT -B $BUILD_DIR -G Ninja)"
      cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja >"$blog" 2>&1
    fi || { tail -n 20 "$blog"; missing "cmake configure failed (see $blog)"; }
  fi
  say "building (cmake --build $BUILD_DIR --target $*)"
  cmake --build "$BUILD_DIR" --target "$@" >>"$blog" 2>&1 ||
    { tail -n 30 "$blog"; missing "build failed (see $blog)"; }
}
[[ "${HB_NO_BUILD:-0}" == 1 ]] || build hb-ladder
LADDER="${HB_LADDER:-$BUILD_DIR/tools/ladder/hb-ladder}"
[[ -x "$LADDER" ]] || missing "hb-ladder not found at $LADDER (cmake --build build --target hb-ladder)"

# ------------------------------------------------------------ configuration
[[ -n "${NONCE:-}" ]] && KERNEL_ARGS="${KERNEL_ARGS:+$KERNEL_ARGS }nonce=$NONCE"
cfg_args=(--chapters-dir "$CHAPTERS_DIR" --chapter "${CHAPTER:-}" --smp "${SMP:-}"
          --require-smp "${REQUIRE_SMP:-}" --run-until-marker "${RUN_UNTIL_MARKER:-}"
          --run-timeout "${RUN_TIMEOUT:-}" --accel "${ACCEL:-}" --machine "${MACHINE:-}"
          --kernel-args "${KERNEL_ARGS:-}")
[[ -n "${MARKERS:-}" ]] && cfg_args+=(--markers "$MARKERS")
[[ -n "${LOG_SUFFIX+set}" ]] && cfg_args+=(--log-suffix "$LOG_SUFFIX")
cfg="$("$LADDER" config "${cfg_args[@]}" 2>&1)" || {
  reason="$(head -n 1 <<<"$cfg")"
  config_error "${reason#hb-ladder: }"
}
while IFS='=' read -r key value; do
  case "$key" in
    chapter|markers|smp|require_smp|until_marker|timeout_s|accel|machine|cpus|parked|log_suffix|expected)
      printf -v "cfg_$key" '%s' "$value" ;;
  esac
done <<<"$cfg"
chapter="$cfg_chapter" SMP="$cfg_smp"
KERNEL_ARGS="${KERNEL_ARGS:-}"

LOG_DIR="${LOG_DIR:-$BUILD_DIR/logs/$chapter-smp$SMP${cfg_log_suffix:+-$cfg_log_suffix}}"
mkdir -p "$LOG_DIR" || config_error "cannot create LOG_DIR $LOG_DIR"
log="$LOG_DIR/uart.log"
fail() { say "FAIL $chapter smp$SMP: $* (log: $log)"; exit 1; }

[[ "${HB_NO_BUILD:-0}" == 1 ]] || build kernels
kernel="$BUILD_DIR/chapters/$chapter/kernel.elf"
command -v "$QEMU" >/dev/null 2>&1 || missing "$QEMU not found; run scripts/install-deps"
[[ -f "$kernel" ]] || missing "kernel not found: $kernel (is $chapter in HB_CHAPTERS? cmake --build build)"

ladder_args=(--markers "$cfg_markers" --chapters-dir "$CHAPTERS_DIR" --chapter "$chapter"
             --smp "$SMP" --require-smp "$cfg_require_smp" --machine "$cfg_machine"
             --kernel-args "$KERNEL_ARGS")
rm -f "$log" "$LOG_DIR/verdict" "$LOG_DIR/result.json" "$LOG_DIR/qemu.status" "$LOG_DIR/qemu.stderr"
"$LADDER" list "${ladder_args[@]}" >"$LOG_DIR/expected" 2>"$LOG_DIR/ladder.stderr" ||
  config_error "$(head -n 1 "$LOG_DIR/ladder.stderr")"
n_expected="$cfg_expected"

# -------------------------------------------------------------------- run
qemu_pid="" watch_pid=""
# Ctrl-C / TERM: stop exactly the processes this script started, by pid.
# (Background jobs of a script ignore SIGINT, so QEMU would otherwise live on.)
on_signal() {
  trap - INT TERM
  [[ -n "$watch_pid" ]] && kill "$watch_pid" 2>/dev/null
  [[ -n "$qemu_pid" ]] && kill "$qemu_pid" 2>/dev/null
  [[ -n "$qemu_pid" ]] && wait "$qemu_pid" 2>/dev/null
  say "FAIL $chapter smp$SMP: interrupted by SIG$1 (log: $log)"
  exit 130
}
trap 'on_signal INT' INT
trap 'on_signal TERM' TERM

run_args=(--chapter "$chapter" --kernel "$kernel" --smp "$SMP" --machine "$cfg_machine"
          --serial-log "$log")
[[ -n "$KERNEL_ARGS" ]] && run_args+=(--append "$KERNEL_ARGS")
[[ -n "$cfg_accel" ]] && run_args+=(--accel "$cfg_accel")
watch_args=(--log "$log" --timeout "$cfg_timeout_s" --out-dir "$LOG_DIR"
            --status-file "$LOG_DIR/qemu.status")
(( cfg_until_marker == 1 )) && watch_args+=(--until-marker)

machine_note=""
[[ "$cfg_machine" != virt ]] && machine_note=", machine $cfg_machine"
(( cfg_parked > 0 )) && machine_note+=", $cfg_cpus cpus + $cfg_parked parked harts"
say "booting $chapter with SMP=$SMP (REQUIRE_SMP=$cfg_require_smp, RUN_UNTIL_MARKER=$cfg_until_marker," \
    "$n_expected markers expected, timeout ${cfg_timeout_s}s${machine_note}${cfg_accel:+, accel $cfg_accel}${KERNEL_ARGS:+, kernel args '$KERNEL_ARGS'}) ..."
"$ROOT/scripts/run-qemu-rv64.sh" --print-cmd "${run_args[@]}" >"$LOG_DIR/qemu.cmd" 2>"$LOG_DIR/qemu.stderr" ||
  config_error "$(head -n 1 "$LOG_DIR/qemu.stderr")"

started_at="$(date +%s.%N)"
# run-qemu-rv64.sh execs QEMU, so $! is QEMU's own pid.
"$ROOT/scripts/run-qemu-rv64.sh" "${run_args[@]}" </dev/null 2>"$LOG_DIR/qemu.stderr" &
qemu_pid=$!
# The referee: follows uart.log, and stops this QEMU (by pid) once it has a
# verdict or the time is up.
"$LADDER" watch "${ladder_args[@]}" "${watch_args[@]}" --pid "$qemu_pid" --started-at "$started_at" &
watch_pid=$!

# Whichever ends first. Normally that is QEMU: it powers off by itself, or
# the watcher stops it once it has a verdict.
wait -n -p ended "$qemu_pid" "$watch_pid"
status=$?
if [[ "$ended" == "$qemu_pid" ]]; then
  # Only the parent can collect QEMU's exit status; hand it to the watcher
  # in a file (written whole, via rename).
  echo "$status" >"$LOG_DIR/qemu.status.tmp" && mv "$LOG_DIR/qemu.status.tmp" "$LOG_DIR/qemu.status"
  qemu_pid=""
  wait "$watch_pid"
  watch_status=$?
else
  # The watcher died without stopping QEMU (a harness bug): never hang on it.
  watch_status=$status
  kill "$qemu_pid" 2>/dev/null
  wait "$qemu_pid"
  qemu_pid=""
fi
watch_pid=""

[[ -s "$LOG_DIR/verdict" ]] || fail "hb-ladder gave no verdict (exit status $watch_status)"
verdict="$(head -n 1 "$LOG_DIR/verdict")"
reason="${verdict#FAIL }"

# Mutation check: the run must fail, for the expected reason.
if [[ -n "${EXPECT_FAIL:-}" ]]; then
  if [[ "$verdict" == PASS* ]]; then
    fail "expected a failure matching '$EXPECT_FAIL', but the gate passed (mutation not caught)"
  elif grep -Eq -- "$EXPECT_FAIL" <<<"$verdict"; then
    say "PASS $chapter smp$SMP: failed as expected: $reason (log: $log)"
    exit 0
  else
    fail "failed, but not as expected ('$EXPECT_FAIL'): $reason"
  fi
fi

if [[ "$verdict" == PASS* ]]; then
  say "$verdict"
  exit 0
fi
# QEMU's own complaints help (bad option, missing firmware); our SIGTERM does not.
grep -v 'terminating on signal' "$LOG_DIR/qemu.stderr" 2>/dev/null | head -n 5 | sed 's/^/qemu-test: qemu: /'
fail "$reason"
