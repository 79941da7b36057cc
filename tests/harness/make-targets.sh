#!/usr/bin/env bash
# The Makefile's per-chapter targets exist and run what they promise, for
# every chapter folder (make -n: nothing is executed). Guards against the
# trap that made them no-ops once: pattern rules on .PHONY targets.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT" || exit 1
fail=0
check() {  # target, pattern the dry run must contain
  local out
  out="$(make -n "$1" SMP=3 2>&1)"
  if ! grep -qE -- "$2" <<<"$out"; then
    echo "make-targets: FAIL 'make $1' does not run '$2'; it printed:"; echo "$out" | tail -3
    fail=1
  fi
}
n=0
for dir in chapters/[0-9][0-9]-*/; do
  nn="$(basename "$dir" | cut -c1-2)"
  check "chapter-$nn-qemu" "run-qemu-rv64.sh --chapter $nn --smp 3 --machine virt\$"
  check "chapter-$nn-test" "ctest .*-R '\\^gate-$nn-'"
  check "chapter-$nn-gdb"  "run-qemu-rv64.sh --chapter $nn --smp 3 --machine virt --gdb"
  n=$((n + 1))
done
[[ $n -gt 0 ]] || { echo "make-targets: FAIL no chapters found"; exit 1; }
# The PDF book installs its own TeX; the default book must not.
check "book-pdf" "install-deps --pdf\$"
check "book-pdf" "--target book-pdf\$"
if make -n book 2>&1 | grep -q -- "--pdf"; then
  echo "make-targets: FAIL 'make book' installs TeX (install-deps --pdf): only book-pdf may"
  fail=1
fi
[[ $fail -eq 0 ]] && echo "make-targets: ok, 3 targets for each of $n chapters"
exit $fail
