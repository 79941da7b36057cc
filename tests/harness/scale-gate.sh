#!/usr/bin/env bash
# scale-gate.sh CASE: chapter 07's scaling demos judged for correctness (not
# speed) in CTest. Each case boots the chapter 07 kernel once.
#
#   process | thread | limit   the run verifies its checksum, prints one SCALE
#                              line, and powers off with success; thread also
#                              passes the stale-handle negative test
#   serial                     scale_serial=yes: the threads run one after the
#                              other; the kernel must refuse the run (FAIL,
#                              failure exit) because the timed sections never
#                              overlapped
#   too-many                   workers=9 > kMaxProcesses (8): refused with the reason
#
# env: BUILD_DIR (default build), SMP (default 2)
set -uo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
build="${BUILD_DIR:-$root/build}"
smp="${SMP:-2}"
case_="${1:?usage: scale-gate.sh process|thread|limit|serial|too-many|wrong-share}"
log_dir="$build/logs/scale-gate"
mkdir -p "$log_dir"
log="$log_dir/$case_-smp$smp.log"

boot() {
  timeout 300 env BUILD_DIR="$build" "$root/scripts/run-qemu-rv64.sh" --chapter 07 --smp "$smp" \
    --append "$1" --serial-log "$log" >/dev/null 2>&1
}
fail() { echo "scale-gate $case_: FAIL $*" >&2; echo "--- $log"; tail -n 20 "$log" 2>/dev/null; exit 1; }
want() { grep -aqE "$1" "$log" || fail "no line matching '$1'"; }
line() { grep -a "^SCALE:" "$log" || true; }

case "$case_" in
  process|thread|limit)
    boot "scale=$case_"; rc=$?
    [[ $rc -eq 0 ]] || fail "exit status $rc: $(grep -a 'FAIL' "$log" | head -n 1)"
    want "^SCALE: mode=$case_ workers=$smp cpus=$smp ticks=[0-9]+ checksum=216816 compute_us=[1-9][0-9]* peak=[1-9]"
    # Parallel at all (peak >= 2), not necessarily all at once: on a host with
    # fewer free cores than harts, QEMU may start one hart's section late.
    peak="$(line | sed -nE 's/.* peak=([0-9]+) .*/\1/p')"
    if [[ "$smp" -ge 2 && "${peak:-0}" -lt 2 ]]; then fail "peak $peak: no two workers ever ran at once"; fi
    [[ "$case_" == thread ]] && want "^KSELFTEST: thread handles ok"
    [[ "$case_" == limit ]] && want "^SCALE: mode=limit .* ticks=0 "
    echo "scale-gate $case_: PASS $(line)" ;;
  serial)
    boot "scale=thread scale_serial=yes"; rc=$?
    [[ $rc -ne 0 ]] || fail "a serialized thread run powered off with success: $(line)"
    want "KSELFTEST: thread scale FAIL the timed sections of $smp threads never overlapped \(peak 1"
    [[ -z "$(line)" ]] || fail "the refused run still printed a figure: $(line)"
    echo "scale-gate serial: PASS (refused: $(grep -a 'FAIL' "$log" | head -n 1))" ;;
  too-many)
    boot "scale=process workers=9"; rc=$?
    [[ $rc -ne 0 ]] || fail "workers=9 was accepted"
    want "KSELFTEST: process scale FAIL workers=9: must be 1..8"
    echo "scale-gate too-many: PASS" ;;
  wrong-share)
    for mode in process limit; do
      boot "scale=$mode ${KERNEL_ARGS:-}"; rc=$?
      [[ $rc -ne 0 ]] || fail "scale=$mode with ${KERNEL_ARGS:-no fault} powered off with success: $(line)"
      want "KSELFTEST: (process scale|scale limit) FAIL checksum [0-9]+, want 216816"
      [[ -z "$(line)" ]] || fail "the refused run still printed a figure: $(line)"
    done
    echo "scale-gate wrong-share: PASS (both checksums refused)" ;;
  *) echo "scale-gate: unknown case $case_" >&2; exit 2 ;;
esac
