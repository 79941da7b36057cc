#!/usr/bin/env bash
# boot-lottery.sh: boot a chapter many times at -smp 4 and count how often
# OpenSBI's lottery picked a boot hart other than 0, and how many gates
# passed. Flushes out "the boot hart is hart 0" assumptions.
#
# usage: scripts/boot-lottery.sh [BOOTS]     env: CHAPTER (default: last), SMP (default 4)
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BOOTS="${1:-40}"
SMP="${SMP:-4}"
[[ "$BOOTS" =~ ^[1-9][0-9]*$ ]] || { echo "boot-lottery: BOOTS must be a positive integer" >&2; exit 2; }
cmake --build "$ROOT/build" --target kernels hb-ladder >/dev/null || { echo "boot-lottery: build failed" >&2; exit 3; }
pass=0 nonzero=0 fail=0
for i in $(seq 1 "$BOOTS"); do
  if SMP="$SMP" REQUIRE_SMP=1 LOG_SUFFIX=lottery HB_NO_BUILD=1 RUN_TIMEOUT=60s \
       "$ROOT/scripts/qemu-test.sh" >/dev/null 2>&1; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "boot-lottery: boot $i FAILED (see build/logs/*-smp$SMP-lottery/)" >&2
    break
  fi
  log="$(ls -td "$ROOT"/build/logs/*-smp"$SMP"-lottery/ | head -1)uart.log"
  if grep -aq '^KINIT: boot hart[1-9]' "$log"; then nonzero=$((nonzero + 1)); fi
done
echo "boot-lottery: $pass passed, $fail failed; boot hart was not hart 0 in $nonzero of $((pass + fail)) boots (SMP=$SMP)"
[[ $fail -eq 0 ]]
