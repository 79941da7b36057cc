#!/usr/bin/env bash
# hot-loops.sh KERNEL...: the functions that run the scaling workload
# (lib/primes.hpp, HB_PRIMES_HOT) must not straddle a 4 KiB page in any
# chapter kernel. Under TCG a loop across a page boundary cannot chain its
# translated blocks: the same loop measured 8x slower, and a benchmark that
# depends on where the linker happened to put a function measures the linker.
set -euo pipefail
nm="${NM:-riscv64-linux-gnu-nm}"
command -v "$nm" >/dev/null || { echo "hot-loops: $nm not found" >&2; exit 3; }
bad=0 seen=0
for elf in "$@"; do
  while read -r addr size _ name; do
    seen=$((seen + 1))
    start=$((16#$addr)); end=$((start + 16#$size - 1))
    if (( start / 4096 != end / 4096 )); then
      printf 'hot-loops: %s: %s [%#x, %#x] straddles a page boundary\n' "$elf" "$name" "$start" "$end"
      bad=1
    fi
  done < <("$nm" -S "$elf" | grep -E ' [tT] .*(prime_worker|limit_share|hb_user_primes)' || true)
done
(( seen > 0 )) || { echo "hot-loops: no workload function found in $*" >&2; exit 1; }
(( bad == 0 )) && echo "hot-loops: $seen workload functions, none straddles a page"
exit $bad
