#!/usr/bin/env python3
"""Hartbook's course labs: student trees cut from the book's own source, and
their autograder.

    tools/lab.py list                       the labs: regions, lines a student writes, tests
    tools/lab.py check                      every lab region well formed (a CTest runs this)
    tools/lab.py export NN DEST [--solution]
                                            a self-contained student tree for lab NN
    tools/lab.py grade [--lab NN] [--json F] [--no-nonce] [--no-build]
                                            build, run the lab's tests, score them
    tools/lab.py selfcheck NN [--work DIR]  lab NN's stub tree scores 0 on it and full
                                            marks on the earlier labs; filled with the
                                            book's code, full marks; with any one region
                                            left a stub, less (CTest label labs)

A lab is the code a student writes, marked in src/ with the book's region
syntax (the book never shows these marks):

    // [hb:lab 04 pick_next]
    ...the solution...
    // [hb:stub pick_next]
    //| ...the stub: compiles, and fails the lab's tests...
    // [hb:end pick_next]

and a folder chapters/NN-slug/lab/ holding the handout (README.md) and the
grading table (`grading`, one test group per line):

    # points  visibility  ctest-regex             title
    10        visible     ^RunQueue\\.              the runqueue's host tests
    10        hidden      ^gate-04-mutation-      the mutation gates

A group scores its points only if at least one test matches and every match
passes. `hidden` groups are marked so in results.json (Gradescope hides
them from students until the instructor publishes). Each grading run draws
a fresh nonce that every QEMU gate of the run passes to its kernel (NONCE,
scripts/qemu-test.sh): each marker must end with it, so a transcript saved
from another run cannot pass.

The export (chapter NN's lab):
  * chapters after NN are left out (folders, book pages, HB_CHAPTERS); their
    mutations lines are kept in chapters/later-chapters.mutations so the
    fault registry's test still finds every fault used;
  * lab NN's regions are replaced by their stubs (the lab and end marks
    stay, to show where to write), and so are the later labs' regions (in
    src/, which every chapter shares): a lab tree never holds the solution
    of a lab not yet handed out. The earlier labs' regions are left whole,
    so the tree can grade the earlier labs too (the self-check does);
  * the handout becomes LAB.md, and .hartbook-lab names the lab for `make grade`.

Exit status: 0 success (grade: full marks); 1 a check failed, grade
scored less than full marks, or a selfcheck expectation failed; 2 usage error (unknown lab, DEST not empty...).

Standard library only (Debian's python3).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Marks are whole comment lines, like the book's regions (book/_ext/hartbook.py).
MARK_RE = re.compile(
    r"^\s*(?://|/\*|#)\s*\[hb:(?P<kind>lab|stub|end)\s+(?:(?P<lab>[0-9]{2})\s+)?"
    r"(?P<name>[A-Za-z0-9_.-]+)\]\s*(?:\*/)?\s*$"
)
STUB_RE = re.compile(r"^(?P<indent>\s*)//\|(?: (?P<code>.*))?$")
FAULT_TAG = "[hb:fault]"
SOURCE_SUFFIXES = {".cpp", ".hpp", ".h", ".S", ".s"}
VISIBILITIES = {"visible", "hidden", "after_due_date", "after_published"}


class LabError(Exception):
    """A malformed lab region or grading table: one line, with file:line."""


@dataclass
class Region:
    lab: str
    name: str
    path: Path  # relative to the root
    start: int  # line index of the [hb:lab] mark
    stub: int  # line index of the [hb:stub] mark
    end: int  # line index of the [hb:end] mark
    solution: list[str] = field(default_factory=list)
    stub_lines: list[str] = field(default_factory=list)

    @property
    def where(self) -> str:
        return f"{self.path}:{self.start + 1}"

    def student_lines(self) -> int:
        """Non-blank, non-comment lines of the solution: what a student writes."""
        n = 0
        for line in self.solution:
            t = line.strip()
            if not t or t.startswith(("//", "/*", "*", "#")):
                continue
            n += 1
        return n


@dataclass
class Group:
    points: int
    visibility: str
    regex: str
    title: str
    origin: str


@dataclass
class Lab:
    number: str
    chapter: str  # folder name, e.g. 04-runqueues
    regions: list[Region]
    groups: list[Group]

    @property
    def points(self) -> int:
        return sum(g.points for g in self.groups)


def chapters(root: Path) -> list[str]:
    text = (root / "cmake" / "Chapters.cmake").read_text()
    m = re.search(r"set\(HB_CHAPTERS\s+([^)]*)\)", text)
    if not m:
        raise LabError("cmake/Chapters.cmake: no set(HB_CHAPTERS ...)")
    return m.group(1).split()


def source_files(root: Path) -> list[Path]:
    out = []
    for top in ("src", "chapters"):
        for p in sorted((root / top).rglob("*")):
            if p.is_file() and p.suffix in SOURCE_SUFFIXES:
                out.append(p.relative_to(root))
    return out


def parse_regions(root: Path, rel: Path) -> list[Region]:
    lines = (root / rel).read_text().splitlines()
    regions: list[Region] = []
    open_: Region | None = None
    for i, line in enumerate(lines):
        m = MARK_RE.match(line)
        if not m:
            if open_ is not None:
                if FAULT_TAG in line:
                    raise LabError(f"{rel}:{i + 1}: a fault site inside lab region '{open_.name}' "
                                   "(a student's code would drop it; move it out of the region)")
                if open_.stub < 0:
                    open_.solution.append(line)
                else:
                    s = STUB_RE.match(line)
                    if not s:
                        raise LabError(f"{rel}:{i + 1}: stub lines of '{open_.name}' must start with '//| '")
                    open_.stub_lines.append(s["indent"] + (s["code"] or ""))
            continue
        kind, name = m["kind"], m["name"]
        if kind == "lab":
            if open_ is not None:
                raise LabError(f"{rel}:{i + 1}: lab region '{name}' opens inside '{open_.name}'")
            if not m["lab"]:
                raise LabError(f"{rel}:{i + 1}: [hb:lab {name}] needs a lab number: [hb:lab NN {name}]")
            open_ = Region(m["lab"], name, rel, i, -1, -1)
        elif kind == "stub":
            if open_ is None or open_.name != name or open_.stub >= 0:
                raise LabError(f"{rel}:{i + 1}: [hb:stub {name}] outside its lab region")
            open_.stub = i
        elif kind == "end" and open_ is not None and open_.name == name:
            # No stub mark: a student's region in an exported tree (the
            # stub became the code). `check` refuses that in the book's tree.
            open_.end = i
            if not any(l.strip() for l in open_.solution):
                raise LabError(f"{open_.where}: lab region '{name}' has no solution lines")
            regions.append(open_)
            open_ = None
    if open_ is not None:
        raise LabError(f"{open_.where}: lab region '{open_.name}' has no [hb:end {open_.name}]")
    return regions


def all_regions(root: Path) -> list[Region]:
    regions: list[Region] = []
    for rel in source_files(root):
        regions.extend(parse_regions(root, rel))
    seen: dict[str, Region] = {}
    for r in regions:
        if r.name in seen:
            raise LabError(f"{r.where}: lab region '{r.name}' also at {seen[r.name].where}")
        seen[r.name] = r
    return regions


def parse_grading(root: Path, chapter: str) -> list[Group]:
    path = root / "chapters" / chapter / "lab" / "grading"
    if not path.is_file():
        raise LabError(f"chapters/{chapter}/lab/grading: missing")
    groups = []
    for n, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(None, 3)
        origin = f"chapters/{chapter}/lab/grading:{n}"
        if len(parts) < 4 or not parts[0].isdigit() or parts[1] not in VISIBILITIES:
            raise LabError(f"{origin}: want '<points> <visible|hidden> <ctest-regex> <title>', got '{line}'")
        try:
            re.compile(parts[2])
        except re.error as e:
            raise LabError(f"{origin}: bad regex '{parts[2]}': {e}") from None
        groups.append(Group(int(parts[0]), parts[1], parts[2], parts[3], origin))
    if not groups:
        raise LabError(f"chapters/{chapter}/lab/grading: no test groups")
    return groups


def load_labs(root: Path) -> dict[str, Lab]:
    regions = all_regions(root)
    labs: dict[str, Lab] = {}
    for ch in chapters(root):
        nn = ch[:2]
        if (root / "chapters" / ch / "lab").is_dir():
            labs[nn] = Lab(nn, ch, [r for r in regions if r.lab == nn], parse_grading(root, ch))
    last = chapters(root)[-1][:2]
    for r in regions:
        # A lab tree leaves out the later chapters, and so their labs.
        if r.lab not in labs and r.lab <= last:
            raise LabError(f"{r.where}: lab {r.lab} has no chapters/{r.lab}-*/lab/ folder")
    for lab in labs.values():
        if not lab.regions:
            raise LabError(f"chapters/{lab.chapter}/lab: no [hb:lab {lab.number} ...] region in src/ or chapters/")
        if not (root / "chapters" / lab.chapter / "lab" / "README.md").is_file():
            raise LabError(f"chapters/{lab.chapter}/lab/README.md: missing (the handout)")
    return labs


# ------------------------------------------------------------------ export

def tracked_files(root: Path) -> list[Path]:
    """The files of the repository: git's list when it is a checkout (so a
    dirty build/ never leaks in), else everything but build outputs."""
    try:
        out = subprocess.run(["git", "-C", str(root), "ls-files", "-z", "--cached", "--others", "--exclude-standard"], check=True,
                             capture_output=True, text=True).stdout
        files = [Path(p) for p in out.split("\0") if p]
        return [p for p in files if (root / p).is_file()]
    except (OSError, subprocess.CalledProcessError):
        skip = {"build", ".git"}
        return [p.relative_to(root) for p in sorted(root.rglob("*"))
                if p.is_file() and p.relative_to(root).parts[0] not in skip]


def fill_regions(text: str, lab: str, keep: str, stub_only: str | None = None) -> str:
    """Lab `lab`'s regions keep only one side, between their lab and end
    marks: keep="stub" is the student's tree (the stub as code), keep=
    "solution" is what a student who writes the book's code hands in. The
    stub mark goes either way. Other labs' regions are left as they are.
    With `stub_only`, that one region keeps its stub and the lab's others
    their solution: a student who wrote every region but one."""
    out = []
    name: str | None = None  # the lab-`lab` region we are in
    in_stub = False
    for line in text.splitlines(keepends=True):
        m = MARK_RE.match(line.rstrip("\n"))
        if name is None:
            if m and m["kind"] == "lab" and m["lab"] == lab:
                name, in_stub = m["name"], False
                if stub_only is not None:
                    keep = "stub" if name == stub_only else "solution"
            out.append(line)
        elif m and m["kind"] == "stub" and m["name"] == name:
            in_stub = True
        elif m and m["kind"] == "end" and m["name"] == name:
            out.append(line)
            name = None
        elif in_stub and keep == "stub":
            st = STUB_RE.match(line.rstrip("\n"))
            out.append(st["indent"] + (st["code"] or "") + "\n")
        elif not in_stub and keep == "solution":
            out.append(line)
    return "".join(out)


def later_labs(root: Path, labs: dict[str, Lab], nn: str) -> list[str]:
    """The labs whose chapters come after lab `nn`'s: a lab tree stubs them."""
    order = chapters(root)
    later = order[order.index(labs[nn].chapter) + 1:]
    return sorted(k for k, l in labs.items() if l.chapter in later)


def stub_labs(text: str, stubbed: list[str]) -> str:
    """Every region of the labs in `stubbed` becomes its stub."""
    for nn in stubbed:
        text = fill_regions(text, nn, "stub")
    return text


def export(root: Path, labs: dict[str, Lab], nn: str, dest: Path, solution: bool) -> None:
    lab = labs[nn]
    order = chapters(root)
    keep = order[: order.index(lab.chapter) + 1]
    later = order[order.index(lab.chapter) + 1:]
    # This lab's regions become stubs, and so do the later labs' (their code
    # is in src/ too). The solution tree (--solution) keeps every region.
    stubbed = [] if solution else [nn] + later_labs(root, labs, nn)
    if dest.exists() and any(dest.iterdir()):
        raise LabError(f"{dest}: exists and is not empty")
    dest.mkdir(parents=True, exist_ok=True)
    for rel in tracked_files(root):
        parts = rel.parts
        if parts[0] == "chapters" and len(parts) > 1 and parts[1] in later:
            continue
        if parts[:2] == ("book", "chapters") and any(parts[2].startswith(ch) for ch in later):
            continue
        src = root / rel
        out = dest / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        if rel.suffix in SOURCE_SUFFIXES and parts[0] in ("src", "chapters"):
            out.write_text(stub_labs(src.read_text(), stubbed))
        else:
            shutil.copy2(src, out)
    # The chapters this tree builds.
    chap = dest / "cmake" / "Chapters.cmake"
    chap.write_text(re.sub(r"set\(HB_CHAPTERS\s+[^)]*\)", "set(HB_CHAPTERS " + " ".join(keep) + ")",
                           chap.read_text()))
    # The later chapters' mutations lines: their faults stay accounted for.
    kept = [f"# Mutations lines of the chapters after {lab.chapter}, which this lab tree does not build\n"
            "# (tools/lab.py export). The fault registry's test reads them.\n"]
    for ch in later:
        m = root / "chapters" / ch / "mutations"
        if m.is_file():
            kept.append(f"# {ch}\n")
            kept.extend(l + "\n" for l in m.read_text().splitlines() if l.strip() and not l.startswith("#"))
    (dest / "chapters" / "later-chapters.mutations").write_text("".join(kept))
    # The pages that are there link forward to chapters that are not: such a
    # link renders as plain text instead of failing the book's -W build.
    conf = dest / "conf.py"
    if conf.is_file():
        conf.write_text(conf.read_text() + "\n# A course lab's tree (tools/lab.py export): the chapters after "
                        f"{lab.chapter} are left out,\n# so links to them render as plain text.\n"
                        "suppress_warnings = [\"ref.doc\", \"ref.ref\"]\n")
    # The book's table of contents names only the pages that are there.
    index = dest / "book" / "index.rst"
    if index.is_file():
        index.write_text("".join(l for l in index.read_text().splitlines(keepends=True)
                                 if not any(l.strip() == f"chapters/{ch}" for ch in later)))
    handout = (root / "chapters" / lab.chapter / "lab" / "README.md").read_text()
    (dest / "LAB.md").write_text(handout + "\n" + grading_table(lab))
    readme = dest / "README.md"
    readme.write_text(f"# Hartbook lab {nn} ({lab.chapter})\n\nThis tree is lab {nn}'s handout: read "
                      "[LAB.md](LAB.md). `make grade` scores your work.\n\n---\n\n" + readme.read_text())
    if len(stubbed) > 1:  # later labs stubbed too
        (dest / "LAB.md").write_text((dest / "LAB.md").read_text() + LATER_LABS_NOTE)
    meta = {"lab": nn, "chapter": lab.chapter, "solution": solution,
            "regions": [f"{r.path}:{r.name}" for r in lab.regions],
            "exported_from": git_describe(root)}
    (dest / ".hartbook-lab").write_text(json.dumps(meta, indent=2) + "\n")


LATER_LABS_NOTE = """
## The later labs' code in this tree

The code of the labs after this one is a stub in this tree too (it lives in
`src/`, which every chapter shares), so their host tests fail here if you
run all of `make test`. That is expected: `make grade` runs only this lab's
tests.
"""


def git_describe(root: Path) -> str:
    try:
        return subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], check=True,
                              capture_output=True, text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def grading_table(lab: Lab) -> str:
    rows = ["## How this lab is graded\n",
            f"`make grade` builds the tree, runs these test groups and writes `build/grade/results.json`. "
            f"A group scores only if every test in it passes. Total: {lab.points} points.\n",
            "| points | test group | CTest names | |", "|---:|---|---|---|"]
    for g in lab.groups:
        regex = g.regex.replace("|", "\\|")  # a bare | ends a Markdown table cell, even in backticks
        rows.append(f"| {g.points} | {g.title} | `{regex}` | {g.visibility if g.visibility != 'visible' else ''} |")
    rows.append("\nHidden groups run in every `make grade` here, and count; on Gradescope your instructor "
                "decides when you see them. They include the chapter's mutation gates, which pass only if "
                "your code still lets the chapter's selftests catch a broken kernel.\n")
    return "\n".join(rows) + "\n"


# ------------------------------------------------------------------- grade

@dataclass
class Outcome:
    group: Group
    passed: bool
    tests: int
    seconds: float
    reason: str
    log: str


def run_group(build: Path, g: Group, env: dict, jobs: int) -> Outcome:
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        junit = Path(tmp) / "junit.xml"
        # --timeout: the bound for a test without its own TIMEOUT property
        # (host tests and TSan suites have 120 s, gates their RUN_TIMEOUT).
        p = subprocess.run(["ctest", "--test-dir", str(build), "-R", g.regex, "-j", str(jobs), "--timeout", "300",
                            "--output-on-failure", "--output-junit", str(junit)],
                           env=env, capture_output=True, text=True)
        cases = []
        if junit.is_file():
            try:
                cases = list(ET.parse(junit).getroot().iter("testcase"))
            except ET.ParseError:
                pass
    seconds = time.monotonic() - t0
    if not cases:
        return Outcome(g, False, 0, seconds, f"no test matches '{g.regex}' (was it removed or not built?)", "")
    failed = [c for c in cases if c.get("status") not in ("run", "passed") or c.find("failure") is not None]
    if not failed:
        return Outcome(g, True, len(cases), seconds, "", "")
    first = failed[0]
    name = first.get("name", "?")
    out = (first.findtext("system-out") or "") + p.stdout
    reason, log = failure_reason(name, out)
    more = f" (+{len(failed) - 1} more)" if len(failed) > 1 else ""
    return Outcome(g, False, len(cases), seconds, f"{name}: {reason}{more}", log)


def failure_reason(name: str, output: str) -> tuple[str, str]:
    """The first line that says why, and the log it names."""
    for line in output.splitlines():
        m = re.match(r"qemu-test: FAIL .*?: (?P<why>.*?)(?: \(log: (?P<log>[^)]*)\))?$", line)
        if m:
            return m["why"][:300], m["log"] or ""
        if line.startswith("qemu-test: ") and ("not caught" in line or "FAIL" in line):
            return line[len("qemu-test: "):][:300], ""
    for line in output.splitlines():
        if "Failure" in line or "Expected" in line or "error:" in line or line.startswith("FAIL"):
            return line.strip()[:300], ""
    return "failed (see ctest --output-on-failure -R '" + re.escape(name) + "')", ""


def child_env() -> dict:
    """The environment for a nested make or ctest: no chapter selection, no
    outer make's jobserver (its descriptors are not ours)."""
    env = dict(os.environ)
    for k in ("CHAPTER", "MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES"):
        env.pop(k, None)
    return env


def build_tree(root: Path, build: Path) -> tuple[bool, str]:
    b = subprocess.run(["make", "-C", str(root), "build", f"BUILD={build}"], env=child_env(),
                       capture_output=True, text=True)
    return b.returncode == 0, "\n".join((b.stdout + b.stderr).splitlines()[-25:])


def grade(root: Path, labs: dict[str, Lab], nn: str, build: Path, json_path: Path, nonce: bool,
          do_build: bool, jobs: int) -> int:
    """Grades lab `nn` in the tree at `root`; returns the score."""
    lab = labs[nn]
    print(f"hartbook grade: lab {nn} ({lab.chapter}), {len(lab.groups)} test groups, {lab.points} points")
    if do_build:
        print("hartbook grade: building (make build) ...", flush=True)
        ok, tail = build_tree(root, build)
        if not ok:
            print(tail)
            print(f"hartbook grade: FAIL the build failed: every group scores 0")
            write_results(json_path, lab, [Outcome(g, False, 0, 0.0, "the build failed", "") for g in lab.groups],
                          build_output=tail)
            return 0
    env = child_env()
    if nonce:
        env["NONCE"] = secrets.token_hex(8)
    outcomes = []
    for g in lab.groups:
        o = run_group(build, g, env, jobs)
        outcomes.append(o)
        status = "OK" if o.passed else "FAIL"
        tag = " [hidden]" if g.visibility != "visible" else ""
        print(f"== {g.title}{tag} ({o.tests} tests): {status} ({o.seconds:.1f}s)  {o.group.points if o.passed else 0}/{g.points}")
        if not o.passed:
            print(f"    {o.reason}")
            if o.log:
                print(f"    log: {o.log}")
    score = sum(o.group.points for o in outcomes if o.passed)
    print(f"Score: {score}/{lab.points}")
    write_results(json_path, lab, outcomes)
    print(f"hartbook grade: wrote {json_path}")
    return score


def selfcheck(root: Path, labs: dict[str, Lab], nn: str, work: Path, jobs: int) -> int:
    """Lab `nn`'s self-check: its stub tree builds, scores 0 on lab `nn` and
    full marks on every earlier lab. Returns the number of failed checks."""
    lab = labs[nn]
    later = later_labs(root, labs, nn)
    tree = work / f"lab-{nn}"
    if tree.exists():
        shutil.rmtree(tree)
    export(root, labs, nn, tree, solution=False)
    t0 = time.monotonic()
    build = tree / "build"
    ok, tail = build_tree(tree, build)
    print(f"selfcheck lab {nn}: stub tree built in {time.monotonic() - t0:.0f}s" if ok else tail, flush=True)
    if not ok:
        print(f"selfcheck lab {nn}: FAIL the stub tree does not build (a stub must compile)")
        return 1
    tree_labs = load_labs(tree)
    failures = 0
    for other in sorted(tree_labs):
        want = 0 if other == nn else tree_labs[other].points
        got = grade(tree, tree_labs, other, build, build / "grade" / f"lab-{other}.json", True, False, jobs)
        verdict = "ok" if got == want else "FAIL"
        what = "its own lab" if other == nn else "an earlier lab"
        print(f"selfcheck lab {nn}: stub tree scores {got}/{tree_labs[other].points} on lab {other} "
              f"({what}, want {want}): {verdict}", flush=True)
        failures += got != want
    def refill_and_grade(stub_only: str | None, tag: str) -> tuple[int, int] | None:
        """Lab `nn`'s regions rewritten from the book's source (all solved,
        or all but `stub_only`), rebuilt and graded: (score, points), or
        None when that tree does not build."""
        for rel in sorted({r.path for r in lab.regions}):
            text = fill_regions((root / rel).read_text(), nn, "solution", stub_only=stub_only)
            (tree / rel).write_text(stub_labs(text, later))  # the later labs as the export left them
        ok, tail = build_tree(tree, build)
        if not ok:
            print(tail)
            return None
        now = load_labs(tree)
        return grade(tree, now, nn, build, build / "grade" / f"lab-{nn}-{tag}.json", True, False, jobs), now[nn].points

    # The student who writes the book's code: the regions filled with the
    # solution (no stub left), rebuilt, score full marks.
    result = refill_and_grade(None, "filled")
    if result is None:
        print(f"selfcheck lab {nn}: FAIL the tree with the regions filled in does not build")
        return failures + 1
    got, points = result
    print(f"selfcheck lab {nn}: regions filled with the book's code score {got}/{points} "
          f"on lab {nn} (want {points}): {'ok' if got == points else 'FAIL'}", flush=True)
    failures += got != points
    # Every region counts: with all but one written, the lab is not done.
    if len(lab.regions) > 1:
        for r in lab.regions:
            result = refill_and_grade(r.name, f"only-{r.name}")
            if result is None:
                print(f"selfcheck lab {nn}: FAIL the tree with only '{r.name}' stubbed does not build")
                failures += 1
                continue
            got, points = result
            print(f"selfcheck lab {nn}: every region written but '{r.name}' scores {got}/{points} "
                  f"(want less than full marks): {'ok' if got < points else 'FAIL'}", flush=True)
            failures += got >= points
    return failures


def write_results(path: Path, lab: Lab, outcomes: list[Outcome], build_output: str = "") -> None:
    tests = []
    for o in outcomes:
        out = f"{o.tests} tests, all passed" if o.passed else o.reason + (f"\nlog: {o.log}" if o.log else "")
        tests.append({"name": o.group.title, "score": o.group.points if o.passed else 0,
                      "max_score": o.group.points, "output": out, "visibility": o.group.visibility,
                      "tags": [o.group.regex]})
    result = {"score": sum(t["score"] for t in tests), "max_score": lab.points,
              "output": f"Hartbook lab {lab.number} ({lab.chapter})" + (f"\n{build_output}" if build_output else ""),
              "visibility": "visible", "stdout_visibility": "hidden", "tests": tests}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")


# -------------------------------------------------------------------- main

def cmd_list(labs: dict[str, Lab]) -> int:
    for nn, lab in sorted(labs.items()):
        lines = sum(r.student_lines() for r in lab.regions)
        print(f"lab {nn} ({lab.chapter}): {len(lab.regions)} regions, {lines} lines to write, "
              f"{len(lab.groups)} test groups, {lab.points} points")
        for r in lab.regions:
            print(f"    {r.name:24} {r.student_lines():3} lines  {r.where}")
        for g in lab.groups:
            print(f"    {g.points:3} {g.visibility:8} {g.regex:36} {g.title}")
    return 0


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="lab.py", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list")
    sub.add_parser("check")
    e = sub.add_parser("export")
    e.add_argument("lab")
    e.add_argument("dest")
    e.add_argument("--solution", action="store_true", help="keep the lab's solution (for the self-check)")
    g = sub.add_parser("grade")
    g.add_argument("--lab", help="NN (default: this lab tree's, from .hartbook-lab)")
    g.add_argument("--build-dir", default="build")
    g.add_argument("--json", help="results.json path (default BUILD/grade/results.json)")
    g.add_argument("--no-nonce", action="store_true")
    g.add_argument("--no-build", action="store_true")
    g.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    c = sub.add_parser("selfcheck", help="a lab's stub tree scores 0 on it and full marks on the earlier labs")
    c.add_argument("lab")
    c.add_argument("--work", default="build/labcheck", help="where the stub tree is exported and built")
    c.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    a = ap.parse_args(argv)
    root = Path.cwd() if (Path.cwd() / "cmake" / "Chapters.cmake").is_file() else ROOT
    try:
        labs = load_labs(root)
        if a.cmd == "list":
            return cmd_list(labs)
        if a.cmd == "check":
            if not (root / ".hartbook-lab").is_file():
                for lab in labs.values():
                    for r in lab.regions:
                        if r.stub < 0:
                            raise LabError(f"{r.where}: lab region '{r.name}' has no [hb:stub {r.name}]")
            print(f"lab.py: {len(labs)} labs, {sum(len(l.regions) for l in labs.values())} regions, all well formed")
            return 0
        if a.cmd == "export":
            nn = a.lab.zfill(2)
            if nn not in labs:
                print(f"lab.py: no lab {a.lab}; labs: {' '.join(sorted(labs))}", file=sys.stderr)
                return 2
            export(root, labs, nn, Path(a.dest).resolve(), a.solution)
            print(f"lab.py: lab {nn} exported to {a.dest} ({'solution' if a.solution else 'stubs'}); "
                  f"cd there and run make grade")
            return 0
        if a.cmd == "grade":
            nn = a.lab
            if nn is None:
                meta = root / ".hartbook-lab"
                if not meta.is_file():
                    print("lab.py: not a lab tree (no .hartbook-lab); say which lab: make grade LAB=NN",
                          file=sys.stderr)
                    return 2
                nn = json.loads(meta.read_text())["lab"]
            nn = nn.zfill(2)
            if nn not in labs:
                print(f"lab.py: no lab {nn} in this tree; labs: {' '.join(sorted(labs))}", file=sys.stderr)
                return 2
            build = (root / a.build_dir).resolve()
            json_path = Path(a.json).resolve() if a.json else build / "grade" / "results.json"
            score = grade(root, labs, nn, build, json_path, not a.no_nonce, not a.no_build, a.jobs)
            return 0 if score == labs[nn].points else 1
        if a.cmd == "selfcheck":
            nn = a.lab.zfill(2)
            if nn not in labs:
                print(f"lab.py: no lab {a.lab}; labs: {' '.join(sorted(labs))}", file=sys.stderr)
                return 2
            return 0 if selfcheck(root, labs, nn, (root / a.work).resolve(), a.jobs) == 0 else 1
    except LabError as err:
        print(f"lab.py: {err}", file=sys.stderr)
        return 2 if a.cmd in ("export", "grade") else 1
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
