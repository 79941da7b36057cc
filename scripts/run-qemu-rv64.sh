#!/usr/bin/env bash
# run-qemu-rv64.sh: the one place the QEMU command line lives.
#
# usage: run-qemu-rv64.sh --chapter NN|NN-slug --smp N [--gdb] [--append "ARGS"]
#                         [--accel single|multi] [--machine virt|sifive_u]
#                         [--kernel ELF] [--serial-log FILE] [--print-cmd]
#                         [--memory SIZE]
#
#   --chapter       which chapter kernel: build/chapters/<NN-slug>/kernel.elf
#   --smp N         number of harts given to QEMU: 1..32 on virt (the kernel
#                   parks those beyond its CPU limit of 8), 2..5 on sifive_u
#   --machine M     virt (default), or sifive_u: QEMU's HiFive Unleashed,
#                   whose hart 0 is an E51 monitor core without S-mode
#   --gdb           start halted with a gdb stub and print the gdb command
#   --append ARGS   kernel command line (/chosen/bootargs), e.g. fault=skip-hart-start
#   --accel single  single-threaded TCG (one host thread for every hart);
#                   multi = one host thread per hart (the default here)
#   --kernel ELF    boot this file instead of the chapter's kernel.elf
#   --serial-log F  harness mode: no display, no monitor, serial output to F
#   --print-cmd     print the QEMU command line and exit
#   --memory SIZE   guest RAM, e.g. 128M or 2G (default 256M; env MEMORY too)
#
# Environment: QEMU (binary, default qemu-system-riscv64), BUILD_DIR (default
# build), CHAPTERS_DIR (default chapters), GDB_PORT (default: first free from 1234),
# HB_LADDER (default $BUILD_DIR/tools/ladder/hb-ladder: it checks the options
# and resolves --chapter).
# Exit status: QEMU's own; 2 usage error; 3 QEMU, kernel or hb-ladder missing.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
QEMU="${QEMU:-qemu-system-riscv64}"
BUILD_DIR="${BUILD_DIR:-$ROOT/build}"
CHAPTERS_DIR="${CHAPTERS_DIR:-$ROOT/chapters}"

die() { echo "run-qemu: $2" >&2; exit "$1"; }
usage() { sed -n '4,26p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit "$1"; }

chapter="" smp="" gdb=0 append="" accel="" machine="virt" kernel="" serial_log="" print_cmd=0 memory="${MEMORY:-256M}"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --chapter)    chapter="${2:?}"; shift 2 ;;
    --smp)        smp="${2:?}"; shift 2 ;;
    --gdb)        gdb=1; shift ;;
    --append)     append="${2?}"; shift 2 ;;
    --accel)      accel="${2:?}"; shift 2 ;;
    --machine)    machine="${2:?}"; shift 2 ;;
    --kernel)     kernel="${2:?}"; shift 2 ;;
    --serial-log) serial_log="${2:?}"; shift 2 ;;
    --print-cmd)  print_cmd=1; shift ;;
    --memory)     memory="${2:?}"; shift 2 ;;
    -h|--help)    usage 0 ;;
    *)            echo "run-qemu: unknown option '$1'" >&2; usage 2 >&2 ;;
  esac
done

[[ -n "$smp" ]] || die 2 "give --smp N"
# 64 MiB .. 16 GiB: the kernel image, its stacks and page tables live in the
# first megabytes; QEMU virt puts RAM at 0x80000000.
[[ "$memory" =~ ^([0-9]+)([MG])$ ]] || die 2 "--memory must look like 128M or 2G, got '$memory'"
mem_mib="${BASH_REMATCH[1]}"
[[ "${BASH_REMATCH[2]}" == G ]] && mem_mib=$((mem_mib * 1024))
(( mem_mib >= 64 && mem_mib <= 16384 )) || die 2 "--memory must be between 64M and 16G, got '$memory'"
[[ -n "$chapter" || -n "$kernel" ]] || die 2 "give --chapter or --kernel"
# hb-ladder checks the options (the same rules as scripts/qemu-test.sh) and
# resolves `--chapter 05` to the one folder chapters/05-*.
LADDER="${HB_LADDER:-$BUILD_DIR/tools/ladder/hb-ladder}"
[[ -x "$LADDER" ]] ||
  die 3 "hb-ladder not found at $LADDER (it checks the options; cmake --build build --target hb-ladder)"
cfg_args=(--chapters-dir "$CHAPTERS_DIR" --smp "$smp" --machine "$machine" --accel "$accel"
          --kernel-args "$append")
[[ -n "$chapter" ]] && cfg_args+=(--chapter "$chapter")
cfg="$("$LADDER" config "${cfg_args[@]}" 2>&1)" || { cfg="$(head -n 1 <<<"$cfg")"; die 2 "${cfg#hb-ladder: }"; }
[[ -n "$chapter" ]] && chapter="$(sed -n 's/^chapter=//p' <<<"$cfg")"
if [[ -z "$kernel" ]]; then
  [[ -n "$chapter" ]] || die 2 "give --chapter or --kernel"
  kernel="$BUILD_DIR/chapters/$chapter/kernel.elf"
fi
[[ -f "$kernel" ]] || die 3 "kernel not found: $kernel (build it first: cmake --build build)"
command -v "$QEMU" >/dev/null 2>&1 || die 3 "$QEMU not found; run scripts/install-deps"

# Modern (virtio 1.0) virtio-mmio devices, never the legacy ones.
# -no-reboot: a guest reset ends QEMU instead of booting the kernel again.
# On sifive_u that is how the kernel powers off: the board has no power-off
# device, only a GPIO wired to reset (src/kernel/power.cpp).
cmd=("$QEMU" -machine "$machine" -bios default -m "$memory" -smp "$smp" -kernel "$kernel"
     -global virtio-mmio.force-legacy=false -no-reboot)
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
  echo "run-qemu: booting $(basename "$(dirname "$kernel")") on $machine with $smp hart(s); quit with Ctrl-A x" >&2
fi
# exec: QEMU takes over this process id, so whoever started us can stop it by pid.
exec "${cmd[@]}"
