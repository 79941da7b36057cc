#!/usr/bin/env bash
# boot-lottery.sh: boot a chapter many times and count passes, failures,
# hangs, and how often OpenSBI's lottery picked a boot hart other than 0.
# Flushes out "the boot hart is hart 0" assumptions and rare races.
#
# usage: scripts/boot-lottery.sh [BOOTS]            (default 40)
# env:   CHAPTER (default: last), SMP (default 4), MACHINE (default virt),
#        ACCEL (single|multi), MEMORY (e.g. 128M, 2G), KERNEL_ARGS,
#        BUILD_DIR (default build), KEEP_GOING=0 to stop at the first failure.
# Every boot is a scripts/qemu-test.sh run (REQUIRE_SMP=1 when SMP > 1); its
# log goes to $BUILD_DIR/logs/lottery-<chapter>-smp<N>[-accel][-mem]/, and the
# log of every failed boot is kept there as failed-<i>/.
# Prints one summary line. Exit status: 0 all passed, 1 some boot failed or
# hung, 2 bad input, 3 build failed.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$ROOT/build}"
BOOTS="${1:-40}"
SMP="${SMP:-4}"
KEEP_GOING="${KEEP_GOING:-1}"
[[ "$BOOTS" =~ ^[1-9][0-9]*$ ]] || { echo "boot-lottery: BOOTS must be a positive integer, got '$BOOTS'" >&2; exit 2; }
[[ "$SMP" =~ ^[1-9][0-9]*$ ]] || { echo "boot-lottery: SMP must be a positive integer, got '$SMP'" >&2; exit 2; }
if [[ -n "${MEMORY:-}" && ! "$MEMORY" =~ ^[0-9]+[MG]$ ]]; then
  echo "boot-lottery: MEMORY must look like 128M or 2G, got '$MEMORY'" >&2; exit 2
fi
cmake --build "$BUILD_DIR" --target kernels hb-ladder >/dev/null || { echo "boot-lottery: build failed" >&2; exit 3; }
chapter="${CHAPTER:-$(basename "$(ls -d "$ROOT"/chapters/[0-9][0-9]-* | tail -n 1)")}"
logdir="$BUILD_DIR/logs/lottery-${chapter}-smp$SMP${ACCEL:+-$ACCEL}${MEMORY:+-$MEMORY}"
mkdir -p "$logdir"
require=0; (( SMP > 1 )) && require=1
pass=0 nonzero=0 fail=0 hang=0 n=0
started=$(date +%s)
for i in $(seq 1 "$BOOTS"); do
  n=$i
  if CHAPTER="$chapter" SMP="$SMP" REQUIRE_SMP="$require" LOG_DIR="$logdir" BUILD_DIR="$BUILD_DIR" HB_NO_BUILD=1 \
       RUN_TIMEOUT="${RUN_TIMEOUT:-60s}" "$ROOT/scripts/qemu-test.sh" >/dev/null 2>&1; then
    pass=$((pass + 1))
  else
    verdict="$(head -n 1 "$logdir/verdict" 2>/dev/null)"
    if [[ "$verdict" == *"timeout"* || "$verdict" == *"timed out"* || -z "$verdict" ]]; then hang=$((hang + 1)); else fail=$((fail + 1)); fi
    rm -rf "$logdir/failed-$i"; mkdir -p "$logdir/failed-$i"
    cp "$logdir"/uart.log "$logdir"/verdict "$logdir"/result.json "$logdir/failed-$i/" 2>/dev/null
    echo "boot-lottery: boot $i FAILED: ${verdict:-no verdict} (log kept: $logdir/failed-$i/)" >&2
    [[ "$KEEP_GOING" == 1 ]] || break
  fi
  if grep -aq '^KINIT: boot hart[1-9]' "$logdir/uart.log" 2>/dev/null; then nonzero=$((nonzero + 1)); fi
done
secs=$(( $(date +%s) - started ))
echo "boot-lottery: $chapter SMP=$SMP${ACCEL:+ ACCEL=$ACCEL}${MEMORY:+ MEMORY=$MEMORY}${MACHINE:+ MACHINE=$MACHINE}: $n boots, $pass passed, $fail failed, $hang hung; boot hart was not hart 0 in $nonzero ($secs s)"
(( fail == 0 && hang == 0 ))
