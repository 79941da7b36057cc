"""tools/memmap.py: the ELF reader and the memory map, on small synthetic
ELF files (and on a built kernel when there is one); no QEMU.

Run by CTest (`tools-memmap`, label host): `python3 <this file>` (it imports toolmod from its own folder).
"""

import os
import struct
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

from toolmod import ROOT, load

memmap = load("memmap")

BASE = 0x80200000
LINKER = {
    "__kernel_start": BASE, "__text_end": BASE + 0x4000,
    "__user_text_start": BASE + 0x4000, "__user_text_end": BASE + 0x4000,  # empty: left out
    "__rodata_start": BASE + 0x4000, "__data_start": BASE + 0x5000,
    "__bss_start": BASE + 0x6000, "__bss_end": BASE + 0x9000,
    "__stacks_start": BASE + 0xA000, "__stacks_end": BASE + 0x1A000,
    "__user_stack_start": BASE + 0x1A000, "__user_stack_end": BASE + 0x1B000,
    "__kernel_end": BASE + 0x1B000,
}


def elf(symbols, cls=2):
    """A minimal ELF64 LE file: a null section, .symtab and .strtab.
    symbols: [(name, value, size, kind)]."""
    strtab = b"\0"
    entries = [bytes(24)]
    for name, value, size, kind in symbols:
        off = len(strtab)
        strtab += name.encode() + b"\0"
        entries.append(struct.pack("<IBBHQQ", off, kind, 0, 1, value, size))
    symtab = b"".join(entries)
    header_size = 64
    sym_off = header_size
    str_off = sym_off + len(symtab)
    sh_off = str_off + len(strtab)
    ident = b"\x7fELF" + bytes([cls, 1, 1]) + bytes(9)
    header = ident + struct.pack("<HHIQQQIHHHHHH", 2, 243, 1, BASE, 0, sh_off, 0, 64, 0, 0, 64, 3, 0)
    sections = bytes(64)
    sections += struct.pack("<IIQQQQIIQQ", 0, 2, 0, 0, sym_off, len(symtab), 2, 1, 8, 24)
    sections += struct.pack("<IIQQQQIIQQ", 0, 3, 0, 0, str_off, len(strtab), 0, 0, 1, 0)
    return header + symtab + strtab + sections


def kernel_symbols(extra=()):
    return [(n, v, 0, 0) for n, v in LINKER.items()] + list(extra)


class Map(unittest.TestCase):
    def test_parts_in_order_with_sizes_and_empty_ones_left_out(self):
        parts, end = memmap.memory_map(elf(kernel_symbols()))
        self.assertEqual([p.name for p in parts], [".text", ".rodata", ".data", ".bss", ".stacks", ".user.stack"])
        self.assertEqual([p.size for p in parts], [0x4000, 0x1000, 0x1000, 0x3000, 0x10000, 0x1000])
        self.assertEqual(end, BASE + 0x1B000)

    def test_largest_objects_are_named_in_their_part_biggest_first(self):
        extra = [("_ZN2hb12_GLOBAL__N_18g_tablesE", BASE + 0x6000, 0x2000, 1),
                 ("small", BASE + 0x8000, 16, 1),
                 ("a_function_is_not_an_object", BASE + 0x6100, 0x2800, 2),
                 ("hb_kernel_stacks", BASE + 0xA000, 0x10000, 1)]
        parts, _ = memmap.memory_map(elf(kernel_symbols(extra)), largest=2)
        bss = next(p for p in parts if p.name == ".bss")
        self.assertEqual([(memmap.short(s.name), s.size) for s in bss.largest], [("g_tables", 0x2000), ("small", 16)])
        stacks = next(p for p in parts if p.name == ".stacks")
        self.assertEqual([s.name for s in stacks.largest], ["hb_kernel_stacks"])

    def test_missing_linker_symbol_is_named(self):
        syms = [s for s in kernel_symbols() if s[0] != "__bss_end"]
        with self.assertRaisesRegex(memmap.MemmapError, "no linker symbol __bss_end"):
            memmap.memory_map(elf(syms))

    def test_not_elf_and_not_64_bit_are_refused(self):
        with self.assertRaisesRegex(memmap.MemmapError, "not an ELF file"):
            memmap.memory_map(b"#!/bin/sh\n" + bytes(100))
        with self.assertRaisesRegex(memmap.MemmapError, "not a 64-bit"):
            memmap.memory_map(elf(kernel_symbols(), cls=1))

    def test_human_sizes(self):
        self.assertEqual([memmap.human(n) for n in (560, 1843, 4096, 71808, 1 << 20, 10 * (1 << 20) + 1)],
                         ["560 B", "1.8 KiB", "4 KiB", "70 KiB", "1 MiB", "10 MiB"])

    def test_cli_prints_the_map_and_fails_with_one_line(self):
        with tempfile.TemporaryDirectory() as tmp:
            good = Path(tmp) / "kernel.elf"
            good.write_bytes(elf(kernel_symbols()))
            p = subprocess.run([sys.executable, str(ROOT / "tools/memmap.py"), str(good)],
                               capture_output=True, text=True)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn("0x0080206000-0x0080209000    12 KiB  .bss", p.stdout)
            bad = Path(tmp) / "bad.elf"
            bad.write_bytes(b"nope")
            p = subprocess.run([sys.executable, str(ROOT / "tools/memmap.py"), str(bad)],
                               capture_output=True, text=True)
            self.assertEqual(p.returncode, 1)
            self.assertEqual(p.stderr.strip(), f"memmap.py: {bad}: not an ELF file")

    @unittest.skipUnless(os.environ.get("HB_KERNEL_ELF"), "no built kernel named (HB_KERNEL_ELF)")
    def test_a_built_kernel(self):
        parts, end = memmap.memory_map(Path(os.environ["HB_KERNEL_ELF"]).read_bytes())
        self.assertEqual(parts[0].name, ".text")
        self.assertEqual(parts[0].start, BASE)  # kernel.ld's load address
        self.assertTrue(any(s.name == "hb_kernel_stacks" for p in parts for s in p.largest))
        self.assertGreater(end, parts[-1].start)


if __name__ == "__main__":
    unittest.main()
