#!/usr/bin/env bash
# run-qemu-rv64.sh: the one place the QEMU command line lives.
#
# usage: run-qemu-rv64.sh --chapter NN|NN-slug --smp N [--gdb] [--append "ARGS"]
#                         [--accel single|multi] [--kernel ELF] [--serial-log FILE]
#                         [--print-cmd]
#
#   --chapter       which chapter kernel: build/chapters/<NN-slug>/kernel.elf
#   --smp N         number of harts (1..8)
#   --gdb           start halted with a gdb stub and print the gdb command
#   --append ARGS   kernel command line (/chosen/bootargs), e.g. fault=skip-hart-start
#   --accel single  single-threaded TCG (one host thread for every hart);
#                   multi = one host thread per hart (the default here)
#   --kernel ELF    boot this file instead of the chapter's kernel.elf
#   --serial-log F  harness mode: no display, no monitor, serial output to F
#   --print-cmd     print the QEMU command line and exit
#
# Environment: QEMU (binary, default qemu-system-riscv64), BUILD_DIR (default
# build), CHAPTERS_DIR (default chapters), GDB_PORT (default: first free from 1234).
# Exit status: QEMU's own; 2 usage error; 3 QEMU or kernel missing.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
QEMU="${QEMU:-qemu-system-riscv64}"
BUILD_DIR="${BUILD_DIR:-$ROOT/build}"
CHAPTERS_DIR="${CHAPTERS_DIR:-$ROOT/chapters}"

die() { echo "run-qemu: $2" >&2; exit "$1"; }
usage() { sed -n '4,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit "$1"; }

chapter="" smp="" gdb=0 append="" accel="" kernel="" serial_log="" print_cmd=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --chapter)    chapter="${2:?}"; shift 2 ;;
    --smp)        smp="${2:?}"; shift 2 ;;
    --gdb)        gdb=1; shift ;;
    --append)     append="${2?}"; shift 2 ;;
    --accel)      accel="${2:?}"; shift 2 ;;
    --kernel)     kernel="${2:?}"; shift 2 ;;
    --serial-log) serial_log="${2:?}"; shift 2 ;;
    --print-cmd)  print_cmd=1; shift ;;
    -h|--help)    usage 0 ;;
    *)            echo "run-qemu: unknown option '$1'" >&2; usage 2 >&2 ;;
  esac
done

[[ "$smp" =~ ^[1-8]$ ]] || die 2 "--smp must be 1..8, got '${smp}'"

# `--chapter 05` means the one folder chapters/05-*; a full name is taken as is.
if [[ -n "$chapter" && ! -d "$CHAPTERS_DIR/$chapter" ]]; then
  matches=("$CHAPTERS_DIR/$chapter"-*/)
  [[ -d "${matches[0]}" && ${#matches[@]} -eq 1 ]] || die 2 "no chapter '$chapter' in $CHAPTERS_DIR"
  chapter="$(basename "${matches[0]}")"
fi
if [[ -z "$kernel" ]]; then
  [[ -n "$chapter" ]] || die 2 "give --chapter or --kernel"
  kernel="$BUILD_DIR/chapters/$chapter/kernel.elf"
fi
[[ -f "$kernel" ]] || die 3 "kernel not found: $kernel (build it first: cmake --build build)"
command -v "$QEMU" >/dev/null 2>&1 || die 3 "$QEMU not found; run scripts/install-deps"

# The seed contract asks for modern (virtio 1.0) virtio-mmio devices.
cmd=("$QEMU" -machine virt -bios default -m 256M -smp "$smp" -kernel "$kernel"
     -global virtio-mmio.force-legacy=false)
[[ -n "$append" ]] && cmd+=(-append "$append")
# Multi-threaded TCG (one host thread per hart) is asked for explicitly:
# measured here, QEMU 7.2 without -accel ran two harts' CPU-bound work no
# faster than one (0.33 s vs 0.34 s of prime counting), with it 1.5x faster.
case "${accel:-multi}" in
  single) cmd+=(-accel tcg,thread=single) ;;  # all harts take turns on one host thread
  multi)  cmd+=(-accel tcg,thread=multi) ;;
  *)      die 2 "--accel must be single or multi, got '$accel'" ;;
esac

if [[ -n "$serial_log" ]]; then
  # Harness mode: nothing on a terminal. QEMU's file chardev write()s every
  # byte as the guest sends it, so the log grows line by line, unbuffered.
  cmd+=(-display none -monitor none -serial "file:$serial_log")
else
  cmd+=(-nographic)  # serial + monitor on this terminal; Ctrl-A x quits
fi

if [[ $gdb -eq 1 ]]; then
  port="${GDB_PORT:-}"
  if [[ -z "$port" ]]; then
    # First port from 1234 that nobody answers on.
    for port in $(seq 1234 1264); do
      (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || break
    done
  fi
  cmd+=(-S -gdb "tcp::$port")
fi

if [[ $print_cmd -eq 1 ]]; then
  printf '%q ' "${cmd[@]}"; echo
  exit 0
fi

if [[ $gdb -eq 1 ]]; then
  echo "run-qemu: QEMU is halted before the first instruction, waiting for gdb on port $port."
  echo "run-qemu: in another terminal run:"
  echo "  gdb-multiarch $kernel -ex 'target remote :$port'"
fi
if [[ -z "$serial_log" ]]; then
  echo "run-qemu: booting $(basename "$(dirname "$kernel")") with $smp hart(s); quit with Ctrl-A x" >&2
fi
# exec: QEMU takes over this process id, so whoever started us can stop it by pid.
exec "${cmd[@]}"
