"""tools/lab.py: lab regions, the student-tree export, grading and its
results.json, on small fake trees and a fake ctest; no build, no QEMU.

Run by CTest (`tools-lab`, label host): `python3 <this file>` (it imports toolmod from its own folder).
The real labs' self-check (stub trees built and graded) is the CTest label
`labs` (`make check-labs`).
"""

import json
import os
import stat
import subprocess
import sys
import tempfile
import textwrap
import unittest
from pathlib import Path

from toolmod import ROOT, load

lab = load("lab")

SOURCE = textwrap.dedent("""\
    int pick(int x) {
        // [hb:lab 02 pick_body]
        return x + 1;  // the solution
        // [hb:stub pick_body]
        //| // Lab 02: return the next one.
        //| return 0;
        // [hb:end pick_body]
    }
    int later(int x) {
        // [hb:lab 03 later_body]
        return x * 2;
        // [hb:stub later_body]
        //| return 0;
        // [hb:end later_body]
    }
    """)

GRADING_02 = textwrap.dedent("""\
    # points visibility regex title
    60 visible ^host-02\\. the host tests
    40 hidden  ^gate-02-  the gates
    """)


def write(root: Path, rel: str, text: str) -> None:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text)


def fake_tree(root: Path) -> None:
    write(root, "cmake/Chapters.cmake", "set(HB_CHAPTERS 01-intro 02-boot 03-more)\n")
    write(root, "src/pick.hpp", SOURCE)
    write(root, "README.md", "# Fake book\n")
    write(root, "conf.py", "project = 'fake'\n")
    write(root, "book/index.rst", "Index\n\n   chapters/01-intro\n   chapters/02-boot\n   chapters/03-more\n")
    for ch in ("01-intro", "02-boot", "03-more"):
        write(root, f"book/chapters/{ch}.rst", f"{ch}\n")
        write(root, f"chapters/{ch}/kmain.cpp", "int main() {}\n")
    write(root, "chapters/02-boot/lab/README.md", "# Lab 02: pick\n")
    write(root, "chapters/02-boot/lab/grading", GRADING_02)
    write(root, "chapters/03-more/lab/README.md", "# Lab 03\n")
    write(root, "chapters/03-more/lab/grading", "100 visible ^gate-03- the gates\n")
    write(root, "chapters/03-more/mutations", "# comment\n03 LaterFault   some marker\n")
    write(root, "build/junk.o", "not part of an export\n")


class Regions(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.root = Path(self.tmp.name)
        fake_tree(self.root)

    def tearDown(self):
        self.tmp.cleanup()

    def test_regions_and_student_lines(self):
        labs = lab.load_labs(self.root)
        self.assertEqual(sorted(labs), ["02", "03"])
        r = labs["02"].regions[0]
        self.assertEqual((r.name, r.where, r.student_lines()), ("pick_body", "src/pick.hpp:2", 1))
        self.assertEqual(r.stub_lines, ["    // Lab 02: return the next one.", "    return 0;"])
        self.assertEqual(labs["02"].points, 100)

    def test_unclosed_region_is_refused_with_its_line(self):
        write(self.root, "src/bad.hpp", "// [hb:lab 02 open]\nint x;\n// [hb:stub open]\n//| int y;\n")
        with self.assertRaisesRegex(lab.LabError, r"src/bad.hpp:1: lab region 'open' has no \[hb:end open\]"):
            lab.load_labs(self.root)

    def test_stub_line_without_bar_is_refused(self):
        write(self.root, "src/bad.hpp", "// [hb:lab 02 b]\nint x;\n// [hb:stub b]\nint y;\n// [hb:end b]\n")
        with self.assertRaisesRegex(lab.LabError, "src/bad.hpp:4: stub lines of 'b' must start with '//| '"):
            lab.load_labs(self.root)

    def test_fault_site_inside_a_region_is_refused(self):
        write(self.root, "src/bad.hpp", "// [hb:lab 02 f]\nif (HB_FAULT(X)) {}  // [hb:fault]\n"
                                        "// [hb:stub f]\n//| int y;\n// [hb:end f]\n")
        with self.assertRaisesRegex(lab.LabError, "fault site inside lab region 'f'"):
            lab.load_labs(self.root)

    def test_duplicate_region_name_is_refused(self):
        write(self.root, "src/dup.hpp", "// [hb:lab 02 pick_body]\nint x;\n// [hb:stub pick_body]\n"
                                        "//| int y;\n// [hb:end pick_body]\n")
        with self.assertRaisesRegex(lab.LabError, "also at"):
            lab.load_labs(self.root)

    def test_lab_without_folder_is_refused(self):
        write(self.root, "src/x.hpp", "// [hb:lab 01 orphan]\nint x;\n// [hb:stub orphan]\n//| int y;\n"
                                      "// [hb:end orphan]\n")
        with self.assertRaisesRegex(lab.LabError, "lab 01 has no chapters/01-\\*/lab/ folder"):
            lab.load_labs(self.root)

    def test_bad_grading_line_is_refused_with_its_line(self):
        write(self.root, "chapters/02-boot/lab/grading", "ten visible ^x the x\n")
        with self.assertRaisesRegex(lab.LabError, "chapters/02-boot/lab/grading:1: want"):
            lab.load_labs(self.root)

    def test_the_books_own_labs_are_well_formed(self):
        labs = lab.load_labs(ROOT)
        self.assertGreaterEqual(len(labs), 6)
        for nn, l in labs.items():
            self.assertEqual(l.points, 100, f"lab {nn}")
            for r in l.regions:
                self.assertGreaterEqual(r.stub, 0, f"{r.where}: no stub")
            readme = (ROOT / "chapters" / l.chapter / "lab" / "README.md").read_text()
            self.assertGreater(len(readme.splitlines()), 40, f"lab {nn}: the handout is a placeholder")


class Export(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.root = Path(self.tmp.name) / "book"
        fake_tree(self.root)
        self.dest = Path(self.tmp.name) / "student"
        lab.export(self.root, lab.load_labs(self.root), "02", self.dest, solution=False)

    def tearDown(self):
        self.tmp.cleanup()

    def test_own_region_becomes_its_stub_and_marks_stay(self):
        text = (self.dest / "src/pick.hpp").read_text()
        self.assertNotIn("x + 1", text)
        self.assertIn("    // [hb:lab 02 pick_body]\n    // Lab 02: return the next one.\n    return 0;\n"
                      "    // [hb:end pick_body]\n", text)
        self.assertNotIn("[hb:stub pick_body]", text)

    def test_later_labs_region_becomes_its_stub_too(self):
        # A lab 02 tree must not hand out lab 03's solution.
        text = (self.dest / "src/pick.hpp").read_text()
        self.assertNotIn("return x * 2;", text)
        self.assertIn("    // [hb:lab 03 later_body]\n    return 0;\n    // [hb:end later_body]\n", text)
        self.assertNotIn("[hb:stub later_body]", text)

    def test_earlier_labs_region_is_left_whole(self):
        # A lab 03 tree grades lab 02 too: lab 02's region keeps its solution.
        dest = Path(self.tmp.name) / "lab03"
        lab.export(self.root, lab.load_labs(self.root), "03", dest, solution=False)
        text = (dest / "src/pick.hpp").read_text()
        self.assertIn("return x + 1;  // the solution", text)
        self.assertIn("[hb:stub pick_body]", text)
        self.assertNotIn("return x * 2;", text)

    def test_later_chapters_are_left_out_and_their_faults_kept(self):
        self.assertFalse((self.dest / "chapters/03-more").exists())
        self.assertFalse((self.dest / "book/chapters/03-more.rst").exists())
        self.assertIn("set(HB_CHAPTERS 01-intro 02-boot)", (self.dest / "cmake/Chapters.cmake").read_text())
        self.assertNotIn("03-more", (self.dest / "book/index.rst").read_text())
        self.assertIn("03 LaterFault   some marker", (self.dest / "chapters/later-chapters.mutations").read_text())
        self.assertFalse((self.dest / "build").exists())
        self.assertIn('suppress_warnings = ["ref.doc", "ref.ref"]', (self.dest / "conf.py").read_text())

    def test_handout_metadata_and_the_tree_loads_as_a_lab_tree(self):
        self.assertIn("# Lab 02: pick", (self.dest / "LAB.md").read_text())
        self.assertIn("| 40 | the gates | `^gate-02-` | hidden |", (self.dest / "LAB.md").read_text())
        self.assertEqual(json.loads((self.dest / ".hartbook-lab").read_text())["lab"], "02")
        labs = lab.load_labs(self.dest)  # the stubbed region parses, lab 03 is gone
        self.assertEqual(sorted(labs), ["02"])
        self.assertEqual(labs["02"].regions[0].stub, -1)

    def test_export_refuses_a_non_empty_destination(self):
        with self.assertRaisesRegex(lab.LabError, "exists and is not empty"):
            lab.export(self.root, lab.load_labs(self.root), "02", self.dest, solution=False)

    def test_filled_regions_hold_the_solution_and_no_stub(self):
        text = lab.fill_regions(SOURCE, "02", "solution")
        self.assertIn("    // [hb:lab 02 pick_body]\n    return x + 1;  // the solution\n    // [hb:end pick_body]\n", text)
        self.assertNotIn("Lab 02: return the next one", text)
        self.assertIn("[hb:stub later_body]", text)  # other labs untouched
        write(self.dest, "src/pick.hpp", text)
        self.assertEqual(lab.load_labs(self.dest)["02"].regions[0].solution, ["    return x + 1;  // the solution"])

    def test_one_region_left_a_stub(self):
        two = SOURCE.replace("[hb:lab 03 later_body]", "[hb:lab 02 later_body]")
        text = lab.fill_regions(two, "02", "solution", stub_only="later_body")
        self.assertIn("return x + 1;", text)  # pick_body: the solution
        self.assertNotIn("return x * 2;", text)  # later_body: its stub
        self.assertNotIn("[hb:stub", text)

    def test_solution_export_keeps_the_solution(self):
        dest = Path(self.tmp.name) / "solution"
        lab.export(self.root, lab.load_labs(self.root), "02", dest, solution=True)
        self.assertIn("return x + 1;", (dest / "src/pick.hpp").read_text())


FAKE_CTEST = textwrap.dedent("""\
    #!/usr/bin/env python3
    # A fake ctest: the tests are FAKE_CTEST_TESTS (JSON name -> pass); writes
    # the JUnit file for the ones -R matches, as ctest --output-junit does.
    import json, os, re, sys
    a = sys.argv
    regex = a[a.index("-R") + 1]
    junit = a[a.index("--output-junit") + 1]
    tests = json.loads(os.environ["FAKE_CTEST_TESTS"])
    with open(os.environ["FAKE_CTEST_SEEN"], "a") as f:
        f.write(os.environ.get("NONCE", "-") + "\\n")
    cases = []
    for name, ok in tests.items():
        if re.search(regex, name):
            body = "" if ok else ('<failure message="Failed"/><system-out>qemu-test: FAIL ' + name +
                                  ': marker missing: KSELFTEST: x ok (log: build/logs/' + name + '.log)</system-out>')
            cases.append(f'<testcase name="{name}" status="{"run" if ok else "fail"}">{body}</testcase>')
    with open(junit, "w") as f:
        f.write("<testsuite>" + "".join(cases) + "</testsuite>")
    sys.exit(0 if all(tests[n] for n in tests if re.search(regex, n)) else 8)
    """)


class Grade(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        tmp = Path(self.tmp.name)
        self.root = tmp / "book"
        fake_tree(self.root)
        bin_ = tmp / "bin"
        bin_.mkdir()
        (bin_ / "ctest").write_text(FAKE_CTEST)
        (bin_ / "ctest").chmod(0o755)
        self.seen = tmp / "seen"
        self.env = {"PATH": f"{bin_}{os.pathsep}{os.environ['PATH']}", "FAKE_CTEST_SEEN": str(self.seen)}
        self.json = tmp / "results.json"

    def tearDown(self):
        self.tmp.cleanup()

    def run_grade(self, tests, *extra):
        env = dict(os.environ, **self.env, FAKE_CTEST_TESTS=json.dumps(tests))
        return subprocess.run([sys.executable, str(ROOT / "tools/lab.py"), "grade", "--lab", "02", "--no-build",
                               "--json", str(self.json), *extra],
                              cwd=self.root, env=env, capture_output=True, text=True)

    def test_full_marks_exit_zero_and_results_json(self):
        p = self.run_grade({"host-02.a": True, "host-02.b": True, "gate-02-smp1": True})
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("Score: 100/100", p.stdout)
        r = json.loads(self.json.read_text())
        self.assertEqual((r["score"], r["max_score"]), (100, 100))
        self.assertEqual([(t["name"], t["score"], t["max_score"], t["visibility"]) for t in r["tests"]],
                         [("the host tests", 60, 60, "visible"), ("the gates", 40, 40, "hidden")])

    def test_one_failure_costs_its_whole_group_and_says_why(self):
        p = self.run_grade({"host-02.a": True, "host-02.b": True, "gate-02-smp1": True, "gate-02-smp2": False})
        self.assertEqual(p.returncode, 1)
        self.assertIn("Score: 60/100", p.stdout)
        self.assertIn("gate-02-smp2: marker missing: KSELFTEST: x ok", p.stdout)
        self.assertIn("log: build/logs/gate-02-smp2.log", p.stdout)
        r = json.loads(self.json.read_text())
        self.assertEqual(r["tests"][1]["score"], 0)
        self.assertIn("marker missing", r["tests"][1]["output"])

    def test_a_group_no_test_matches_scores_nothing(self):
        p = self.run_grade({"host-02.a": True})
        self.assertIn("no test matches '^gate-02-'", p.stdout)
        self.assertIn("Score: 60/100", p.stdout)

    def test_each_run_gets_a_fresh_nonce_unless_told_not_to(self):
        self.run_grade({"host-02.a": True, "gate-02-smp1": True})
        self.run_grade({"host-02.a": True, "gate-02-smp1": True})
        self.run_grade({"host-02.a": True, "gate-02-smp1": True}, "--no-nonce")
        n = self.seen.read_text().split()
        self.assertEqual(len(n), 6)  # two groups per run
        self.assertEqual(n[0], n[1])  # one nonce for the whole run
        self.assertNotEqual(n[0], n[2])
        self.assertTrue(lab.re.fullmatch(r"[0-9a-f]{16}", n[0]))
        self.assertEqual(n[4:], ["-", "-"])

    def test_grade_outside_a_lab_tree_needs_a_lab(self):
        env = dict(os.environ, **self.env, FAKE_CTEST_TESTS="{}")
        p = subprocess.run([sys.executable, str(ROOT / "tools/lab.py"), "grade", "--no-build"],
                           cwd=self.root, env=env, capture_output=True, text=True)
        self.assertEqual(p.returncode, 2)
        self.assertIn("not a lab tree (no .hartbook-lab); say which lab: make grade LAB=NN", p.stderr)

    def test_unknown_lab_is_a_usage_error(self):
        p = subprocess.run([sys.executable, str(ROOT / "tools/lab.py"), "export", "09", "/nonexistent/x"],
                           cwd=self.root, capture_output=True, text=True)
        self.assertEqual(p.returncode, 2)
        self.assertIn("no lab 09; labs: 02 03", p.stderr)


if __name__ == "__main__":
    unittest.main()
