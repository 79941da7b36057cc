#!/usr/bin/env bash
# run-spin.sh MODEL VARIANT EXPECT OUTDIR [SPIN_FLAG...]
#
# Verifies one variant of a Spin model for liveness and judges the result.
#   MODEL     the .pml file (copied into OUTDIR: spin and pan write next to it)
#   VARIANT   a name for messages (real, naive-clear-after, ...)
#   EXPECT    verify          no errors allowed
#             counterexample  at least one error AND a trail; the trail is
#                             replayed into OUTDIR/trail.txt for the book
#   OUTDIR    kept after the run: pan.out, trail.txt, *.trail, summary.txt
#   SPIN_FLAG passed to spin (e.g. -DNAIVE_CLEAR_AFTER), both to generate the
#             verifier and to replay the trail
# Environment: SPIN (default spin), CC (default gcc).
#
# The run is `spin -a` (generate pan.c with the model's ltl claim), `cc pan.c`,
# `./pan -a -f` (search for acceptance cycles under weak fairness; -n drops
# the unreached-code listing). For a counterexample, pan is run a second time
# with -i, which keeps searching for shorter counterexamples, so that the
# trail the book shows is the shortest one found rather than the first.
#
# Exit status: 0 as expected, 1 not as expected, 2 usage, 3 tool missing.
set -euo pipefail

if [[ $# -lt 4 ]]; then
  echo "usage: $0 MODEL VARIANT verify|counterexample OUTDIR [SPIN_FLAG...]" >&2
  exit 2
fi
model=$1 variant=$2 expect=$3 out=$4
shift 4
flags=("$@")
SPIN=${SPIN:-spin}
CC=${CC:-gcc}
name=$(basename "$model")
tag="model ${name%.pml} [$variant]"

case "$expect" in verify|counterexample) ;; *) echo "$tag: EXPECT must be verify or counterexample" >&2; exit 2 ;; esac
for tool in "$SPIN" "$CC"; do
  command -v "$tool" >/dev/null 2>&1 || { echo "$tag: '$tool' not found (scripts/install-deps installs it)" >&2; exit 3; }
done

rm -rf "$out"
mkdir -p "$out"
cp "$model" "$out/$name"
cd "$out"

fail() { echo "$tag: FAIL: $*" | tee -a summary.txt >&2; exit 1; }

"$SPIN" -a "${flags[@]}" "$name" > spin-a.log 2>&1 || { cat spin-a.log >&2; fail "spin -a failed"; }
"$CC" -O2 -w -o pan pan.c > cc.log 2>&1 || { cat cc.log >&2; fail "compiling pan.c failed"; }
./pan -a -f -n > pan.out 2>&1 || true   # pan's status is not its verdict; its report is

errors=$(sed -n 's/.*errors: \([0-9][0-9]*\).*/\1/p' pan.out | tail -n 1)
depth=$(sed -n 's/.*depth reached \([0-9][0-9]*\).*/\1/p' pan.out | tail -n 1)
states=$(sed -n 's/^ *\([0-9][0-9]*\) states, stored.*/\1/p' pan.out | tail -n 1)
[[ -n "$errors" && -n "$depth" && -n "$states" ]] || { cat pan.out >&2; fail "pan printed no verdict"; }
numbers="states stored $states, depth reached $depth, errors $errors"

if [[ "$expect" == verify ]]; then
  [[ "$errors" -eq 0 ]] || { cat pan.out >&2; fail "expected to verify, pan found $errors error(s) ($numbers)"; }
  [[ ! -e "$name.trail" ]] || fail "pan reported no error but left a trail"
  echo "$tag: verified as expected: $numbers" | tee summary.txt
  exit 0
fi

[[ "$errors" -ge 1 ]] || fail "expected a counterexample, pan found none ($numbers)"
[[ -s "$name.trail" ]] || fail "pan reported $errors error(s) but wrote no trail"
cp "$name.trail" first.trail
grep -m1 -E '^pan:[0-9]+: ' pan.out > first-error.txt || true

# Shortest counterexample for the book; fall back to the first if -i finds none.
./pan -a -f -n -i > pan-shortest.out 2>&1 || true
[[ -s "$name.trail" ]] || cp first.trail "$name.trail"
"$SPIN" -t -p -k "$name.trail" "${flags[@]}" "$name" > trail.txt 2>&1 || true
grep -q 'START OF CYCLE\|trail ends' trail.txt || { cat trail.txt >&2; fail "the trail does not replay"; }
steps=$(sed -n 's/.*trail ends after \([0-9][0-9]*\) steps.*/\1/p' trail.txt | tail -n 1)

echo "$tag: counterexample as expected: $numbers; $(cat first-error.txt); shortest trail ${steps:-?} steps in $out/trail.txt" | tee summary.txt
