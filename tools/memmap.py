#!/usr/bin/env python3
"""The memory map of a built Hartbook kernel, read from its own ELF symbols.

    tools/memmap.py build/chapters/03-trap-stacks/kernel.elf [--largest N]

prints each part of the image (the ranges between the linker script's
symbols, src/arch/riscv/kernel.ld), its addresses and size, and the largest
objects in it. The book's ``hb-memmap`` directive renders the same table
for each chapter when the book is built, so the page shows the kernel that
was just built and tested, not a picture drawn once.

Standard library only: a small ELF64 reader (section headers and .symtab),
and c++filt (binutils) to demangle names when it is installed.

Exit status: 0 printed; 1 the file is not a kernel image this tool knows
(not ELF64 little-endian, no .symtab, a linker symbol missing); 2 usage.
"""

from __future__ import annotations

import argparse
import shutil
import struct
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path


class MemmapError(Exception):
    """The file is not a kernel image this tool can read (one line)."""


@dataclass
class Symbol:
    name: str
    value: int
    size: int
    kind: int  # STT_*: 1 object, 2 function


@dataclass
class Part:
    name: str  # the section, as kernel.ld names it
    what: str  # one phrase
    start: int
    end: int
    largest: list[Symbol]

    @property
    def size(self) -> int:
        return self.end - self.start


# The parts of the image, in address order: (section, start symbol, end
# symbol, what it holds). kernel.ld defines every symbol named here.
PARTS = [
    (".text", "__kernel_start", "__text_end", "kernel code (the entry point first)"),
    (".user.text", "__user_text_start", "__user_text_end", "code that runs in U-mode"),
    (".rodata", "__rodata_start", "__data_start", "constants and strings"),
    (".data", "__data_start", "__bss_start", "initialised globals"),
    (".bss", "__bss_start", "__bss_end", "zeroed globals (tables, buffers)"),
    (".stacks", "__stacks_start", "__stacks_end", "kernel and trap stacks, each behind a guard page"),
    (".user.stack", "__user_stack_start", "__user_stack_end", "U-mode stacks"),
]
END_SYMBOL = "__kernel_end"

STT_OBJECT, STT_FUNC = 1, 2


def read_symbols(data: bytes) -> list[Symbol]:
    if data[:4] != b"\x7fELF":
        raise MemmapError("not an ELF file")
    if data[4] != 2 or data[5] != 1:
        raise MemmapError("not a 64-bit little-endian ELF file")
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
    sections = []
    for i in range(shnum):
        off = shoff + i * shentsize
        if off + 64 > len(data):
            raise MemmapError("section header table runs past the end of the file")
        _name, sh_type, _flags, _addr, offset, size, link, _info, _align, entsize = struct.unpack_from(
            "<IIQQQQIIQQ", data, off)
        sections.append((sh_type, offset, size, link, entsize))
    symtabs = [s for s in sections if s[0] == 2]  # SHT_SYMTAB
    if not symtabs:
        raise MemmapError("no .symtab (a stripped image: use the kernel.elf the build left)")
    _, offset, size, link, entsize = symtabs[0]
    _, str_off, str_size, _, _ = sections[link]
    strtab = data[str_off:str_off + str_size]
    out = []
    for pos in range(offset, offset + size, entsize or 24):
        st_name, st_info, _other, _shndx, value, sym_size = struct.unpack_from("<IBBHQQ", data, pos)
        end = strtab.find(b"\0", st_name)
        name = strtab[st_name:end].decode("utf-8", "replace")
        if name:
            out.append(Symbol(name, value, sym_size, st_info & 0xF))
    return out


def demangle(names: list[str]) -> dict[str, str]:
    tool = shutil.which("c++filt") or shutil.which("riscv64-linux-gnu-c++filt")
    if not tool or not names:
        return {n: n for n in names}
    p = subprocess.run([tool], input="\n".join(names) + "\n", capture_output=True, text=True)
    lines = p.stdout.splitlines()
    if p.returncode != 0 or len(lines) != len(names):
        return {n: n for n in names}
    return dict(zip(names, lines))


def memory_map(data: bytes, largest: int = 3) -> tuple[list[Part], int]:
    """The image's parts (empty ones left out) and its end address."""
    symbols = read_symbols(data)
    by_name = {s.name: s.value for s in symbols}
    needed = {n for _, a, b, _ in PARTS for n in (a, b)} | {END_SYMBOL}
    missing = sorted(needed - by_name.keys())
    if missing:
        raise MemmapError(f"no linker symbol {', '.join(missing)} (is this a Hartbook kernel?)")
    objects = [s for s in symbols if s.kind == STT_OBJECT and s.size > 0]
    names = demangle(sorted({s.name for s in objects}))
    parts = []
    for section, a, b, what in PARTS:
        start, end = by_name[a], by_name[b]
        if end < start:
            raise MemmapError(f"{b} ({end:#x}) is below {a} ({start:#x})")
        if end == start:
            continue
        inside = sorted((s for s in objects if start <= s.value < end), key=lambda s: (-s.size, s.name))
        top = [Symbol(names[s.name], s.value, s.size, s.kind) for s in inside[:largest]]
        parts.append(Part(section, what, start, end, top))
    return parts, by_name[END_SYMBOL]


def human(n: int) -> str:
    for unit, scale in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            v = n / scale
            return f"{v:.0f} {unit}" if v >= 10 or v == int(v) else f"{v:.1f} {unit}"
    return f"{n} B"


def short(name: str, limit: int = 48) -> str:
    """A demangled name without `(anonymous namespace)::` and without the
    namespace `hb::` every kernel name is in, cut to `limit` characters."""
    base = name.replace("(anonymous namespace)::", "")
    if base.startswith("hb::"):
        base = base[4:]
    return base if len(base) <= limit else base[: limit - 3] + "..."


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="memmap.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("elf")
    ap.add_argument("--largest", type=int, default=3, help="objects to name per part (default 3)")
    a = ap.parse_args(argv)
    try:
        data = Path(a.elf).read_bytes()
    except OSError as e:
        print(f"memmap.py: {a.elf}: {e.strerror}", file=sys.stderr)
        return 1
    try:
        parts, end = memory_map(data, a.largest)
    except MemmapError as e:
        print(f"memmap.py: {a.elf}: {e}", file=sys.stderr)
        return 1
    for p in parts:
        print(f"{p.start:#012x}-{p.end:#012x} {human(p.size):>9}  {p.name:12} {p.what}")
        for s in p.largest:
            print(f"{'':37}{human(s.size):>9}  {short(s.name)}")
    total = end - parts[0].start if parts else 0
    print(f"{end:#012x}              end of the image ({human(total)} from the load address)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
