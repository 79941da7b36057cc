#!/usr/bin/env bash
# boot-lottery.sh: boot a chapter many times at -smp 4 and count how often
# OpenSBI's lottery picked a boot hart other than 0, and how many gates
# passed. Flushes out "the boot hart is hart 0" assumptions.
#
# usage: scripts/boot-lottery.sh [BOOTS]
# env:   CHAPTER (default: last), SMP (default 4), MACHINE (default virt),
#        BUILD_DIR (default build); every boot is a scripts/qemu-test.sh run
#        with REQUIRE_SMP=1, its log kept in $BUILD_DIR/logs/lottery-smp<N>/.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$ROOT/build}"
BOOTS="${1:-40}"
SMP="${SMP:-4}"
[[ "$BOOTS" =~ ^[1-9][0-9]*$ ]] || { echo "boot-lottery: BOOTS must be a positive integer" >&2; exit 2; }
cmake --build "$BUILD_DIR" --target kernels hb-ladder >/dev/null || { echo "boot-lottery: build failed" >&2; exit 3; }
logdir="$BUILD_DIR/logs/lottery-smp$SMP"
pass=0 nonzero=0 fail=0
for i in $(seq 1 "$BOOTS"); do
  if SMP="$SMP" REQUIRE_SMP=1 LOG_DIR="$logdir" BUILD_DIR="$BUILD_DIR" HB_NO_BUILD=1 RUN_TIMEOUT=60s \
       "$ROOT/scripts/qemu-test.sh" >/dev/null 2>&1; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "boot-lottery: boot $i FAILED: $(cat "$logdir/verdict" 2>/dev/null) (see $logdir/)" >&2
    break
  fi
  if grep -aq '^KINIT: boot hart[1-9]' "$logdir/uart.log"; then nonzero=$((nonzero + 1)); fi
done
echo "boot-lottery: $pass passed, $fail failed; boot hart was not hart 0 in $nonzero of $((pass + fail)) boots (SMP=$SMP${MACHINE:+, MACHINE=$MACHINE})"
[[ $fail -eq 0 ]]
