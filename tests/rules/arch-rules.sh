#!/usr/bin/env bash
# The architecture's rules that a grep can check, as one CTest (label host):
#   1. no inline assembly outside src/arch/ (kernel code asks named helpers:
#      arch::read_tp, arch::sfence_vma_all, arch::mmio_write32, ...);
#   2. no `fault=` look-up outside the fault registry (kernel/fault.cpp reads
#      the command line once; code asks HB_FAULT(Name) on a tagged line);
#   3. every HB_FAULT site is one line tagged `// [hb:fault]` (the book's
#      code quotes drop tagged lines, so they must be tagged to be dropped);
#   4. no chapter folder defines kernel setup: chapters hold kmain.cpp,
#      selftests.{hpp,cpp} (and selftests_<topic>.{hpp,cpp}), markers,
#      mutations and CMakeLists.txt only.
# Exit 0 when every rule holds; otherwise one line per violation, exit 1.
set -uo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root" || exit 2
bad=0
report() { echo "arch-rules: $*"; bad=1; }

while IFS= read -r hit; do report "inline asm outside src/arch/: $hit"; done < <(
  grep -rnE '\basm[[:space:]]*(volatile|\()|__asm__' src chapters --include='*.cpp' --include='*.hpp' --include='*.h' |
    grep -v '^src/arch/')

while IFS= read -r hit; do report "fault name looked up outside the registry: $hit"; done < <(
  grep -rnE '"fault"|fault_injected' src chapters --include='*.cpp' --include='*.hpp' |
    grep -vE '^src/kernel/fault\.cpp:')

while IFS= read -r hit; do report "HB_FAULT site not tagged // [hb:fault]: $hit"; done < <(
  grep -rn 'HB_FAULT(' src chapters --include='*.cpp' --include='*.hpp' |
    grep -v '\[hb:fault\]' | grep -vE '^src/(kernel/fault|lib/faults)\.hpp:')

for dir in chapters/[0-9][0-9]-*/; do
  for f in "$dir"*; do
    case "$(basename "$f")" in
      kmain.cpp|selftests.cpp|selftests.hpp|selftests_*.cpp|selftests_*.hpp|markers|markers.*|mutations|CMakeLists.txt|lab|lab.*) ;;
      *) report "unexpected file in a chapter folder (kernel code belongs in src/): $f" ;;
    esac
  done
done

if (( bad == 0 )); then echo "arch-rules: all rules hold"; fi
exit $bad
