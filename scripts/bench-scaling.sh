#!/usr/bin/env bash
# bench-scaling.sh: the SMP scaling figure (a benchmark, not a gate).
#
# Boots chapter 04 (or CHAPTER) with `bench=primes`: one task per CPU counts
# the primes in [2, 3,000,000), blocks of 10,000 dealt round-robin; the
# kernel times only that compute phase, checks the count (216816) and prints
#   KINIT: bench primes: cpus=N count=216816 (correct) ticks=K us=T
# (K: timer ticks all CPUs took during the timed section.)
# This script runs SMP=1 and SMP=2 alternately ROUNDS times (default 5) and
# prints each time and the median speedup. It exits non-zero only when a run
# fails or counts wrong; the speedup itself is reported, never asserted.
#
# usage: scripts/bench-scaling.sh [ROUNDS]      env: CHAPTER (default 04), SMPS ("1 2")
# Chapter 04 ticks every CPU every millisecond; chapter 05 ticks a CPU only
# while a second task waits there: CHAPTER=05 shows the difference.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ROUNDS="${1:-5}"
CHAPTER="${CHAPTER:-04}"
SMPS="${SMPS:-1 2}"
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || { echo "bench-scaling: ROUNDS must be a positive integer" >&2; exit 2; }
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

declare -A times
for r in $(seq 1 "$ROUNDS"); do
  for smp in $SMPS; do
    log="$out/r$r-smp$smp.log"
    if ! timeout 300 "$ROOT/scripts/run-qemu-rv64.sh" --chapter "$CHAPTER" --smp "$smp" \
         --append "bench=primes" --serial-log "$log" >/dev/null 2>&1; then
      echo "bench-scaling: FAIL run $r with SMP=$smp did not power off cleanly (log kept: $log)" >&2
      trap - EXIT; exit 1
    fi
    line="$(grep -a 'KINIT: bench primes:' "$log" || true)"
    if [[ "$line" != *"(correct)"* ]]; then
      echo "bench-scaling: FAIL run $r with SMP=$smp: ${line:-no bench line}" >&2
      trap - EXIT; exit 1
    fi
    us="${line##*us=}"
    ticks="$(sed -E 's/.* ticks=([0-9]+).*/\1/' <<<"$line")"
    [[ "$ticks" =~ ^[0-9]+$ ]] || ticks="?"
    times[$smp]+="$us "
    echo "bench-scaling: round $r SMP=$smp compute ${us} us, ${ticks} timer ticks taken by all cpus meanwhile"
  done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
base=""
for smp in $SMPS; do
  m="$(echo "${times[$smp]}" | median)"
  echo "bench-scaling: SMP=$smp median ${m} us over $ROUNDS runs (${times[$smp]% })"
  if [[ -z "$base" ]]; then base="$m"; else
    awk -v a="$base" -v b="$m" -v s="$smp" 'BEGIN {printf "bench-scaling: speedup SMP=1 -> SMP=%s: %.2fx (median of medians)\n", s, a/b}'
  fi
done
