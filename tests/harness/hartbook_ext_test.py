"""book/_ext/hartbook.py: the hb-const / hb-count roles' parsing and the
hb-adds table's computation, on small fake trees, without Sphinx rendering.

Run by CTest (`book-ext`, label host) with /usr/bin/python3: the extension
imports docutils and Sphinx, which only Debian's interpreter has.
"""

import sys
import tempfile
import textwrap
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "book" / "_ext"))
import hartbook as hb  # noqa: E402


class EvaluateConstant(unittest.TestCase):
    SRC = textwrap.dedent("""\
        #pragma once
        #define HB_PAGE_SIZE 4096
        #define HB_SLOT 65536 /* one slot */
        #define HB_STACK (HB_SLOT - HB_PAGE_SIZE)
        inline constexpr std::uint32_t kMaxTasks = 64;  // why 64: see below
        constexpr std::uint64_t kLimit = 3'000'000;
        inline constexpr std::uint64_t kBit = std::uint64_t{1} << 63;
        inline constexpr std::uint64_t kMask = 3ull << 13;
        static constexpr std::size_t kBlocks = (kLimit + 9'999) / 10'000;
        inline constexpr std::uint64_t kNone = ~std::uint64_t{0};
        inline constexpr std::size_t kCast = static_cast<std::size_t>(kMaxTasks) * 2;
        inline constexpr std::uint32_t kLoop = kLoop + 1;
        inline constexpr std::uint64_t kCall = f(2);
        // inline constexpr std::uint32_t kCommented = 5;
        """)

    def test_values(self):
        cases = {"HB_PAGE_SIZE": 4096, "HB_SLOT": 65536, "HB_STACK": 61440, "kMaxTasks": 64,
                 "kLimit": 3_000_000, "kBit": 1 << 63, "kMask": 3 << 13, "kBlocks": 300, "kCast": 128}
        for name, want in cases.items():
            with self.subTest(name=name):
                self.assertEqual(hb.evaluate_constant(self.SRC, name), want)

    def test_missing_constant(self):
        with self.assertRaisesRegex(ValueError, "no 'constexpr ... kAbsent"):
            hb.evaluate_constant(self.SRC, "kAbsent")

    def test_commented_out_definition_does_not_count(self):
        with self.assertRaisesRegex(ValueError, "no 'constexpr"):
            hb.evaluate_constant(self.SRC, "kCommented")

    def test_unsafe_or_unknown_expressions_are_refused(self):
        for name, reason in (("kNone", "not an integer expression"), ("kCall", "not an integer expression"),
                             ("kLoop", "in terms of itself")):
            with self.subTest(name=name), self.assertRaisesRegex(ValueError, reason):
                hb.evaluate_constant(self.SRC, name)

    def test_two_different_definitions_are_ambiguous(self):
        with self.assertRaisesRegex(ValueError, "defined 2 times"):
            hb.evaluate_constant("constexpr int kX = 1;\nconstexpr int kX = 2;\n", "kX")


class Format(unittest.TestCase):
    def test_formats(self):
        self.assertEqual(hb.format_number(3_000_000, ","), "3,000,000")
        self.assertEqual(hb.format_number(61440, "KiB"), "60 KiB")
        self.assertEqual(hb.format_number(1000, "/1000"), "1")
        self.assertEqual(hb.format_number(7, "word"), "seven")
        self.assertEqual(hb.format_number(255, "hex"), "0xff")

    def test_inexact_or_unknown_formats_fail(self):
        for value, fmt in ((1000, "KiB"), (21, "word"), (5, "furlongs")):
            with self.subTest(fmt=fmt), self.assertRaises(ValueError):
                hb.format_number(value, fmt)


class Roles(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.root = Path(self.tmp.name)
        (self.root / "src").mkdir()
        (self.root / "src" / "k.hpp").write_text("inline constexpr std::uint32_t kMaxCpus = 8;\n")
        (self.root / "m").write_text("# comment\n\nfault-a 2 reason\n  # indented comment\nfault-b 1 x\n"
                                     "include 03-x\nKSELFTEST: a ok\n")

    def tearDown(self):
        self.tmp.cleanup()

    def test_const_role(self):
        self.assertEqual(hb.const_text(self.root, "src/k.hpp kMaxCpus")[0], "8")
        self.assertEqual(hb.const_text(self.root, "src/k.hpp   kMaxCpus word")[0], "eight")

    def test_const_role_failures_name_the_file(self):
        with self.assertRaisesRegex(ValueError, "file 'src/nope.hpp' does not exist"):
            hb.const_text(self.root, "src/nope.hpp kMaxCpus")
        with self.assertRaisesRegex(ValueError, "src/k.hpp: no 'constexpr"):
            hb.const_text(self.root, "src/k.hpp kMaxTasks")
        with self.assertRaisesRegex(ValueError, "needs"):
            hb.const_text(self.root, "src/k.hpp")

    def test_count_role(self):
        self.assertEqual(hb.count_text(self.root, "m mutations")[0], "4")
        self.assertEqual(hb.count_text(self.root, "m markers")[0], "3")
        self.assertEqual(hb.count_text(self.root, "m /^fault-[a-z] / word")[0], "two")

    def test_count_role_failures(self):
        with self.assertRaisesRegex(ValueError, "unknown counter"):
            hb.count_text(self.root, "m bananas")
        with self.assertRaisesRegex(ValueError, "counts no line"):
            hb.count_text(self.root, "m /^nothing$/")


class Adds(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        r = self.root = Path(self.tmp.name)
        (r / "src" / "kernel").mkdir(parents=True)
        (r / "src" / "CMakeLists.txt").write_text(textwrap.dedent("""\
            # comment with add_library(fake STATIC nothing.cpp)
            add_library(hb_lib STATIC lib.cpp)
            add_library(hb_entry OBJECT start.S)
            add_library(hb_core STATIC kernel/a.cpp)
            target_link_libraries(hb_core PUBLIC hb_lib hb_kernel_flags)
            add_library(hb_smp STATIC kernel/smp.cpp
              kernel/b.cpp)  # trailing comment
            target_link_libraries(hb_smp PUBLIC hb_core)
            """))
        (r / "src" / "start.S").write_text("/* Entry. More words. */\n")
        (r / "src" / "kernel" / "a.cpp").write_text('#include "a.hpp"\n')
        (r / "src" / "kernel" / "a.hpp").write_text("// A: the core. Details.\n#pragma once\n")
        (r / "src" / "kernel" / "smp.cpp").write_text('// Secondary harts.\n#include "lib/online.hpp"\n#include "lib/ids.hpp"\n#include <atomic>\n')
        (r / "src" / "lib").mkdir()
        (r / "src" / "lib" / "online.hpp").write_text("// The online mask.\n#pragma once\n")
        (r / "src" / "lib" / "ids.hpp").write_text("// Typed identifiers.\n#pragma once\n")
        (r / "src" / "lib.cpp").write_text('// The pure library.\n#include "lib/ids.hpp"\nint x;\n')
        (r / "src" / "kernel" / "b.cpp").write_text("// B.\n")
        for n, libs in ((1, "ch01_selftests hb_core"), (2, "ch02_selftests ch01_selftests hb_smp")):
            d = r / "chapters" / f"0{n}-c{n}"
            d.mkdir(parents=True)
            (d / "CMakeLists.txt").write_text(
                f"# Chapter 0{n}: things.\nadd_library(ch0{n}_selftests STATIC selftests.cpp)\n"
                f"hb_add_chapter(0{n}-c{n} SOURCES kmain.cpp\n  LIBS {libs})\n")
            (d / "kmain.cpp").write_text(f"// Chapter 0{n} composition root.\n")
            (d / "selftests.cpp").write_text(f"// Chapter 0{n} selftests.\n")
            (d / "markers").write_text(f"# Chapter 0{n} ladder.\n# more\nKSELFTEST: x ok\n")

    def tearDown(self):
        self.tmp.cleanup()

    def test_chapter_one_lists_everything_it_links(self):
        folder, rows = hb.chapter_adds(self.root, "01")
        self.assertEqual(folder, "01-c1")
        files = [f for f, _, _ in rows]
        self.assertEqual(files[:4], ["chapters/01-c1/CMakeLists.txt", "chapters/01-c1/kmain.cpp",
                                     "chapters/01-c1/markers", "chapters/01-c1/selftests.cpp"])
        self.assertEqual(set(files[4:]), {"src/start.S", "src/kernel/a.cpp", "src/lib.cpp", "src/lib/ids.hpp"})
        # a.hpp is described through a.cpp's row, not listed again
        self.assertNotIn("src/kernel/a.hpp", files)
        desc = {f: d for f, _, d in rows}
        self.assertEqual(desc["src/kernel/a.cpp"], "A: the core. (from a.hpp)")
        self.assertEqual(desc["src/start.S"], "Entry.")
        self.assertEqual(desc["chapters/01-c1/markers"], "Chapter 01 ladder.")

    def test_later_chapter_lists_only_new_modules(self):
        _, rows = hb.chapter_adds(self.root, "02-c2")
        # ids.hpp was already in chapter 1's kernel; online.hpp is new
        self.assertEqual([(f, m) for f, m, _ in rows if m != "this chapter"],
                         [("src/kernel/smp.cpp", "hb_smp"), ("src/kernel/b.cpp", "hb_smp"),
                          ("src/lib/online.hpp", "header")])

    def test_unknown_chapter_and_library(self):
        with self.assertRaisesRegex(ValueError, "no chapter folder '09'"):
            hb.chapter_adds(self.root, "09")
        cm = self.root / "chapters" / "02-c2" / "CMakeLists.txt"
        cm.write_text(cm.read_text().replace("hb_smp)", "hb_nope)"))
        with self.assertRaisesRegex(ValueError, "'hb_nope' is not defined"):
            hb.chapter_adds(self.root, "02")


class CheckMode(unittest.TestCase):
    """--check reports a bad role with its page and line."""

    def test_bad_role_is_reported(self):
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            (root / "book").mkdir()
            (root / "src").mkdir()
            (root / "src" / "k.hpp").write_text("inline constexpr int kA = 2;\n")
            (root / "book" / "p.rst").write_text(
                "Title\n=====\n\nWe have :hb-const:`src/k.hpp kA` and :hb-const:`src/k.hpp kB`.\n"
                "The role ``:hb-const:`` named as code is not checked.\n")
            problems = hb.check_sources(root)
            self.assertEqual(len(problems), 1, problems)
            self.assertRegex(problems[0], r"^book/p.rst:4: hb-const: src/k.hpp: no 'constexpr ... kB")


class LabMarksNeverShow(unittest.TestCase):
    SRC = textwrap.dedent("""\
        // [hb:region pick]
        bool pick(int& out) {
            // [hb:lab 04 pick_body]
            out = 1;
            return true;
            // [hb:stub pick_body]
            //| (void)out;
            //| return false;
            // [hb:end pick_body]
        }
        // [hb:end pick]
        """)

    def test_quote_is_the_solution_without_lab_marks(self):
        body, first, names = hb.find_region(self.SRC, "pick")
        self.assertEqual(body, ["bool pick(int& out) {", "    out = 1;", "    return true;", "}"])
        self.assertEqual(names, ["pick"])  # a lab is not a region

    def test_quoted_lines_keep_their_file_numbers(self):
        numbered, _ = hb.find_region_lines(self.SRC, "pick")
        self.assertEqual([n for n, _ in numbered], [2, 4, 5, 10])  # the marks and the stub are left out

    def test_a_lab_name_is_not_a_quotable_region(self):
        with self.assertRaises(ValueError):
            hb.find_region(self.SRC, "pick_body")


if __name__ == "__main__":
    unittest.main()
