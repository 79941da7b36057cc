"""Hartbook's Sphinx extension: the book quotes the tree, it never copies it.

Seven directives and two roles, all of which fail the build when what they
quote is missing:

``.. hb-code:: <path from repo root> <region>``
    Quotes the lines between ``[hb:region <region>]`` and ``[hb:end <region>]``
    in a source file, dedented, without lines tagged ``[hb:fault]`` (fault
    injection sites for the mutation gates). Options: ``:language:`` (default from the file
    extension), ``:caption:`` (default: the path and region), ``:linenos:``,
    ``:emphasize-lines:`` (relative to the quoted region).

``.. hb-ladder:: <chapter-folder>``
    Renders the chapter's expected marker ladder (``chapters/<folder>/markers``)
    as a table, with earlier chapters' ladders spliced in where the file says
    ``include <chapter>``. The "what it proves" column comes from
    ``# proves: ...`` comment lines directly above a marker. The ladder is
    read by the gates' own parser: ``hb-ladder list --json`` (tools/ladder),
    from ``<build>/tools/ladder/hb-ladder``; without that binary the book
    build fails.

``.. hb-transcript:: <chapter-folder> smp<N>``
    Includes the serial transcript that the gating run captured in
    ``<build>/logs/<folder>-smp<N>/uart.log`` from the ``Hartbook chapter``
    banner on, and the gate's verdict line, which must say PASS.

``.. hb-mutants::``
    Every ``chapters/*/mutations`` line with the verdict its gate wrote in this
    build (read by ``tools/mutants.py``, which ``make mutants`` runs too); a
    mutation that was not caught fails the build.

``.. hb-scaling:: <mode> [<mode>]``
    The scaling figure: the speedup plot (SVG, with the ideal line and the
    bare-hart limit) and a table of medians, drawn by ``tools/scale.py`` from
    the JSON summaries that the book target's own run wrote to
    ``<build>/figures/scale-<mode>.json``. Missing summaries fail the build.
``.. hb-timeline:: <chapter-folder> smp<N>``
    Draws the ``TRACE:`` lines of that gate's transcript as an SVG timeline
    (``tools/timeline.py``: one lane per CPU) and embeds it; the gate must
    have passed and its log must hold TRACE lines.

``.. hb-adds:: <chapter-folder>``
    A table of what the chapter's kernel adds to the previous chapter's: the
    chapter folder's own files, then the source files of every library its
    kernel links (``hb_add_chapter(... LIBS ...)`` in
    ``chapters/<folder>/CMakeLists.txt``, closed over ``target_link_libraries``
    in ``src/CMakeLists.txt`` and the chapter CMakeLists, plus ``hb_entry``,
    which every kernel links) that chapter N-1's kernel did not link, then
    the headers its kernel includes (``#include "..."``, transitively) that
    chapter N-1's did not (module column: ``header``; a header whose
    same-name ``.cpp`` is already listed is not repeated). Chapter 01 lists
    everything. Each file is described by the first sentence of its
    opening comment (or, for a ``.cpp``/``.S`` that opens with code, of its
    same-name header's); a source file with neither fails the build.

``:hb-const:`<path> <NAME> [format]```
    The value of a constant read from the source file at build time:
    ``[inline|static] constexpr <type> NAME = <value>;`` or
    ``#define NAME <value>``. The value may be an integer expression: digit
    separators (``3'000'000``), U/L suffixes, ``std::uint64_t{1}``,
    ``static_cast<T>(...)``, ``+ - * / % << >> | & ^``, parentheses, and
    names of other constants defined in the same file; anything else (a
    call, ``~``, a name from another file) is refused rather than guessed.
    A constant defined twice with different values is refused too.
    ``format``: ``,`` (3,000,000), ``hex``, ``word`` (zero to twenty),
    ``KiB`` / ``MiB`` (exact multiples, unit appended), ``/N`` (divided by N,
    exactly: ``kTickUs /1000`` is the tick in ms). Example:
    ``:hb-const:`src/kernel/sched.hpp kMaxTasks``` renders ``64``.

``:hb-count:`<path> <counter> [format]```
    How many lines of a file a counter counts: ``mutations`` or ``lines``
    (non-blank lines that are not ``#`` comments: one gate per line of a
    ``mutations`` file), ``markers`` (the same without ``include`` lines: a
    markers file's own markers), or ``/regex/`` (lines where the Python regex
    matches; it may contain spaces). A count of zero fails (it is almost
    surely a typo). Same formats as hb-const. Example:
    ``:hb-count:`chapters/04-runqueues/mutations mutations```.

A role's text must fit on one line of the ``.rst`` source (the ``--check``
mode reads line by line).

The build directory is ``$HARTBOOK_BUILD_DIR`` if set (CMake sets it), else the
``hartbook_build_dir`` config value, else ``<repo>/build``.

A failure is reported with its source location as a Sphinx error, and the build
is failed at the end even without ``-W`` (so ``--keep-going`` still lists every
problem, and nothing can render a page that quotes code or a transcript that
does not exist). Standard library only.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import Directive, directives
from sphinx.errors import SphinxError
from sphinx.util import logging

logger = logging.getLogger(__name__)

__version__ = "1.0"


class HartbookError(SphinxError):
    category = "Hartbook book error"


# --------------------------------------------------------------------------
# Paths and failure bookkeeping


def repo_root(app) -> Path:
    # conf.py lives at the repo root; the book sources in <root>/book.
    return Path(app.confdir).resolve()


def build_dir(app) -> Path:
    env = os.environ.get("HARTBOOK_BUILD_DIR")
    if env:
        return Path(env).resolve()
    configured = app.config.hartbook_build_dir
    if configured:
        p = Path(configured)
        return (p if p.is_absolute() else repo_root(app) / p).resolve()
    return repo_root(app) / "build"


def default_build_dir(root: Path) -> Path:
    """The build directory without a Sphinx app (the --check mode)."""
    env = os.environ.get("HARTBOOK_BUILD_DIR")
    return Path(env).resolve() if env else root / "build"


def rel(app, path: Path) -> str:
    try:
        return str(path.resolve().relative_to(repo_root(app)))
    except ValueError:
        return str(path)


class HbDirective(Directive):
    """Common failure path: log an error at the directive's location, remember
    it in the environment (so the build fails at the end), and put a visible
    error box where the content would have been."""

    def fail(self, message: str):
        env = self.state.document.settings.env
        source, line = self.state_machine.get_source_and_line(self.lineno)
        where = f"{source}:{line}" if line else source
        full = f"{self.name}: {message}"
        logger.error(full, location=(env.docname, line))
        env.hartbook_failures = getattr(env, "hartbook_failures", {})
        env.hartbook_failures.setdefault(env.docname, []).append(f"{where}: {full}")
        box = nodes.error()
        box += nodes.paragraph(text=full)
        return [box]

    @property
    def app(self):
        return self.state.document.settings.env.app

    def depend(self, path: Path):
        # Re-read this page when the quoted file changes (or appears).
        self.state.document.settings.env.note_dependency(str(path.resolve()))


# --------------------------------------------------------------------------
# hb-code


LANGUAGE_BY_SUFFIX = {
    ".hpp": "cpp",
    ".cpp": "cpp",
    ".h": "cpp",
    ".S": "none",  # RISC-V assembly: no Pygments lexer knows it well enough
    ".s": "none",
    ".ld": "none",
    ".cmake": "cmake",
    ".txt": "none",
    ".sh": "bash",
    ".py": "python",
}

# A marker is a whole comment line: `// [hb:region x]`, `/* [hb:region x] */`
# or `# [hb:region x]`. The course labs (tools/lab.py) mark the code a
# student writes the same way: `// [hb:lab 04 x]`, then the solution, then
# `// [hb:stub x]` and the stub as `//| ` lines, then `// [hb:end x]`. Lab
# and stub markers and stub lines never show in a quote.
MARKER_RE = re.compile(
    r"^\s*(?://|/\*|#)\s*\[hb:(?P<kind>region|end|lab|stub)\s+(?:(?P<lab>[0-9]{2})\s+)?"
    r"(?P<name>[A-Za-z0-9_.-]+)\]\s*(?:\*/)?\s*$"
)
STUB_LINE_RE = re.compile(r"^\s*//\|( |$)")


FAULT_TAG = "[hb:fault]"


def find_region(text: str, region: str):
    """Returns (lines, start_lineno, regions_in_file) or raises ValueError."""
    numbered, names = find_region_lines(text, region)
    return [l for _, l in numbered], numbered[0][0], names


def find_region_lines(text: str, region: str):
    """Returns ([(file line number, line)], regions_in_file): the quoted
    lines with the numbers they have in the file, or raises ValueError."""
    lines = text.splitlines()
    start = end = None
    names = []
    for i, line in enumerate(lines):
        m = MARKER_RE.match(line)
        if not m:
            continue
        if m["kind"] in ("lab", "stub"):
            continue
        if m["kind"] == "region":
            names.append(m["name"])
        if m["name"] != region:
            continue
        if m["kind"] == "region":
            if start is not None:
                raise ValueError(f"region '{region}' opens twice (line {i + 1})")
            start = i
        else:
            if start is None:
                raise ValueError(f"[hb:end {region}] at line {i + 1} before its [hb:region]")
            if end is not None:
                raise ValueError(f"region '{region}' ends twice (line {i + 1})")
            end = i
    if start is None:
        listed = ", ".join(names) if names else "none"
        raise ValueError(f"no [hb:region {region}] (regions in this file: {listed})")
    if end is None:
        raise ValueError(f"[hb:region {region}] at line {start + 1} has no [hb:end {region}]")
    # Nested regions' own marker lines are not part of the quote, and neither
    # are fault-injection sites: each is one line tagged `// [hb:fault]`
    # (src/lib/faults.hpp), so the taught code reads as if faults did not
    # exist. The book says so once, where it explains the mutation gates.
    body = [
        (n, l)
        for n, l in enumerate(lines[start + 1 : end], start + 2)
        if not MARKER_RE.match(l) and FAULT_TAG not in l and not STUB_LINE_RE.match(l)
    ]
    while body and not body[0][1].strip():
        body.pop(0)
    while body and not body[-1][1].strip():
        body.pop()
    if not body:
        raise ValueError(f"region '{region}' is empty")
    return body, names


class HbCode(HbDirective):
    required_arguments = 2
    optional_arguments = 0
    has_content = False
    option_spec = {
        "language": directives.unchanged_required,
        "caption": directives.unchanged_required,
        "linenos": directives.flag,
        "emphasize-lines": directives.unchanged_required,
        "name": directives.unchanged,
    }

    def run(self):
        relpath, region = self.arguments
        path = repo_root(self.app) / relpath
        self.depend(path)
        if not path.is_file():
            return self.fail(f"file '{relpath}' does not exist (path is from the repo root)")
        try:
            numbered, _ = find_region_lines(path.read_text(encoding="utf-8"), region)
        except ValueError as e:
            return self.fail(f"{relpath}: {e}")
        body = [l for _, l in numbered]
        first_line, last_line = numbered[0][0], numbered[-1][0]
        # Line numbers are the file's when the quote is a contiguous run of
        # it; when lines were left out (fault sites, lab marks, nested
        # region marks) they count the quote's own lines, and the caption
        # says so, so a number never points at the wrong line of the file.
        contiguous = last_line - first_line + 1 == len(numbered)

        code = textwrap.dedent("\n".join(body))
        language = self.options.get("language") or LANGUAGE_BY_SUFFIX.get(path.suffix, "none")
        block = nodes.literal_block(code, code)
        block["language"] = language
        block["classes"] += ["hb-code"]
        lines_note = ""
        if "linenos" in self.options:
            block["linenos"] = True
            block["highlight_args"] = {"linenostart": first_line if contiguous else 1}
            lines_note = (f", lines {first_line}–{last_line}" if contiguous
                          else " (lines numbered within the quote)")
        if "emphasize-lines" in self.options:
            from sphinx.util import parselinenos

            try:
                hl = parselinenos(self.options["emphasize-lines"], len(code.splitlines()))
            except ValueError as e:
                return self.fail(f"bad :emphasize-lines: ({e})")
            block.setdefault("highlight_args", {})["hl_lines"] = [x + 1 for x in hl]
        self.add_name(block)

        caption = self.options.get("caption") or f"{relpath} — region {region}{lines_note}"
        container = nodes.container("", literal_block=True, classes=["literal-block-wrapper"])
        parsed, msgs = self.state.inline_text(caption, self.lineno)
        cap = nodes.caption(caption, "", *parsed)
        cap.source, cap.line = self.state_machine.get_source_and_line(self.lineno)
        container += cap
        container += block
        if "name" in self.options:
            container["ids"] = block["ids"]
            block["ids"] = []
        return [container] + msgs


# --------------------------------------------------------------------------
# hb-ladder

# The ladder is parsed by tools/ladder only (`hb-ladder list --json`), so the
# table shows exactly what the gates check.


class LadderError(ValueError):
    pass


def ladder_tool(build: Path) -> Path:
    """The hb-ladder binary, or HartbookError saying how to get it."""
    tool = build / "tools" / "ladder" / "hb-ladder"
    if not (tool.is_file() and os.access(tool, os.X_OK)):
        raise HartbookError(
            f"hb-ladder not found at {tool}: the book reads every marker ladder through it "
            f"(build it with: cmake --build {build} --target hb-ladder)"
        )
    return tool


def read_ladder(root: Path, build: Path, chapter: str) -> dict:
    """`hb-ladder list --json` of chapter `chapter` (`01` or `01-newtypes`):
    {"chapter": <folder>, "markers": [{"pattern", "smp_only", "per_cpu",
    "parked", "origin", "chapter", "line", "proves"}, ...]}, includes spliced,
    placeholders unexpanded. Raises LadderError with hb-ladder's one-line
    reason."""
    cmd = [str(ladder_tool(build)), "list", "--json", "--chapters-dir", str(root / "chapters"),
           "--chapter", chapter]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, encoding="utf-8",
                              errors="replace", timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise LadderError(f"running {cmd[0]} failed: {e}") from e
    if proc.returncode != 0:
        lines = proc.stderr.strip().splitlines() or [f"exit status {proc.returncode}"]
        reason = lines[0]
        raise LadderError(reason[len("hb-ladder: "):] if reason.startswith("hb-ladder: ") else reason)
    try:
        return json.loads(proc.stdout)
    except ValueError as e:
        raise LadderError(f"hb-ladder list --json gave no JSON ({e})") from e


def marker_when(m: dict) -> str:
    if m.get("parked"):
        return "once per parked hart"
    if m.get("per_cpu"):
        return "per secondary CPU"
    if m.get("smp_only"):
        return "SMP only"
    return "always"


class HbLadder(HbDirective):
    required_arguments = 1
    has_content = False
    option_spec = {"caption": directives.unchanged_required}

    def run(self):
        chapter = self.arguments[0]
        root = repo_root(self.app)
        build = build_dir(self.app)
        self.depend(build / "tools" / "ladder" / "hb-ladder")
        try:
            ladder = read_ladder(root, build, chapter)
        except LadderError as e:
            self.depend(root / "chapters")
            return self.fail(str(e))
        rows = ladder["markers"]
        own = ladder["chapter"]
        for name in sorted({own} | {r["chapter"] for r in rows}):
            self.depend(root / "chapters" / name / "markers")
        if not rows:
            return self.fail(f"chapters/{own}/markers lists no markers")
        missing = [r for r in rows if r["chapter"] == own and not r["proves"]]
        if missing:
            where = ", ".join(f"line {r['line']} ({r['pattern']})" for r in missing)
            return self.fail(
                f"chapters/{own}/markers: marker without a '# proves:' comment above it: {where}"
            )

        table, body = make_table("hb-ladder", self.options.get("caption") or f"Expected marker ladder of {own}",
                                 (4, 40, 14, 42), ["#", "Marker line", "Required", "What it proves"])
        for i, r in enumerate(rows, start=1):
            proves = r["proves"] or ""
            if r["chapter"] != own:
                proves = f"{proves} (from chapter {r['chapter']})".strip()
            body += self._row([str(i), r["pattern"], marker_when(r), proves], code_col=1)
        return [table]

    @staticmethod
    def _row(cells, header=False, code_col=None):
        row = nodes.row()
        for i, text in enumerate(cells):
            entry = nodes.entry()
            para = nodes.paragraph()
            if i == code_col:
                para += nodes.literal(text, text)
            else:
                para += nodes.Text(text)
            entry += para
            row += entry
        return row


# --------------------------------------------------------------------------
# hb-transcript

BANNER = "Hartbook chapter "
RUN_RE = re.compile(r"^smp\d+(-[a-z0-9-]+)?$")
# Terminal control sequences that firmware may print; they are not text.
ANSI_RE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class HbTranscript(HbDirective):
    required_arguments = 2
    has_content = False
    option_spec = {
        "caption": directives.unchanged_required,
        # A mutation run: the verdict must be FAIL and match this regex.
        "expect-fail": directives.unchanged_required,
    }

    def run(self):
        chapter, run = self.arguments
        if not RUN_RE.match(run):
            return self.fail(f"second argument must look like smp2 or smp2-single, not '{run}'")
        try:
            folder = read_ladder(repo_root(self.app), build_dir(self.app), chapter)["chapter"]
        except LadderError as e:
            return self.fail(str(e))
        logdir = build_dir(self.app) / "logs" / f"{folder}-{run}"
        uart, verdict_path = logdir / "uart.log", logdir / "verdict"
        self.depend(uart)
        self.depend(verdict_path)
        if not uart.is_file():
            return self.fail(
                f"no gate transcript at {rel(self.app, uart)}: run the gates first "
                f"(cmake --build build --target book runs them)"
            )
        if not verdict_path.is_file():
            return self.fail(f"no gate verdict at {rel(self.app, verdict_path)}")
        verdict = verdict_path.read_text(encoding="utf-8", errors="replace").strip()
        verdict = verdict.splitlines()[0].strip() if verdict else ""
        expect_fail = self.options.get("expect-fail")
        if expect_fail is not None:
            try:
                wanted = re.compile(expect_fail)
            except re.error as e:
                return self.fail(f"bad :expect-fail: regex ({e})")
            if not verdict.startswith("FAIL") or not wanted.search(verdict):
                return self.fail(
                    f"mutation run {folder} {run} must FAIL matching '{expect_fail}', "
                    f"verdict is '{verdict or '(empty)'}'"
                )
        elif not verdict.startswith("PASS"):
            return self.fail(
                f"gate {folder} {run} did not pass: verdict is '{verdict or '(empty)'}'"
            )
        else:
            smp_tokens = [t for t in verdict.split() if RUN_RE.match(t)]
            if smp_tokens and smp_tokens[0] != run.split("-")[0]:
                return self.fail(
                    f"verdict in {rel(self.app, verdict_path)} is for {smp_tokens[0]}, not {run}"
                )

        raw = uart.read_text(encoding="utf-8", errors="replace")
        lines = [ANSI_RE.sub("", l).rstrip("\r").rstrip() for l in raw.splitlines()]
        start = next((i for i, l in enumerate(lines) if l.startswith(BANNER)), None)
        if start is None:
            return self.fail(
                f"{rel(self.app, uart)} has no '{BANNER}...' line: the kernel never printed its banner"
            )
        kept = lines[start:]
        while kept and not kept[-1]:
            kept.pop()
        text = "\n".join(kept)

        intro = nodes.paragraph()
        intro += nodes.Text(
            f"Serial output of the gating run ({folder}, {run}), read from "
        )
        intro += nodes.literal(rel(self.app, uart), rel(self.app, uart))
        intro += nodes.Text(
            f" when this page was built. The OpenSBI banner before the kernel's first "
            f"line ({start} lines) is trimmed."
        )
        if expect_fail is not None:
            intro += nodes.Text(
                " This run injected a fault on purpose; the gate passes only because "
                "the kernel's proof caught it and the run failed for the expected reason."
            )
        block = nodes.literal_block(text, text, classes=["hb-transcript"])
        block["language"] = "none"
        caption = self.options.get("caption") or f"Transcript: {folder}, {run}"
        container = nodes.container("", literal_block=True, classes=["literal-block-wrapper"])
        container += nodes.caption(caption, caption)
        container += block

        verdict_para = nodes.paragraph()
        verdict_para += nodes.Text("Gate verdict (")
        verdict_para += nodes.literal(rel(self.app, verdict_path), rel(self.app, verdict_path))
        verdict_para += nodes.Text("): ")
        verdict_para += nodes.literal(verdict, verdict)
        return [intro, container, verdict_para]


def make_table(css: str, title: str, widths, header):
    """A titled table with given column widths and a header row; returns
    (table, tbody) so the caller appends its rows to the body."""
    # "longtable": Sphinx's LaTeX writer otherwise uses a tabular (one page)
    # for tables of up to 30 rows, and a ladder longer than a page runs off
    # its bottom. HTML ignores the class.
    table = nodes.table(classes=[css, "colwidths-given", "longtable"])
    table += nodes.title(title, title)
    group = nodes.tgroup(cols=len(widths))
    table += group
    for width in widths:
        group += nodes.colspec(colwidth=width)
    head = nodes.thead()
    group += head
    head += HbLadder._row(header, header=True)
    body = nodes.tbody()
    group += body
    return table, body


# --------------------------------------------------------------------------
# hb-mutants


def load_tool_module(root: Path, name: str):
    """tools/<name>.py as a module: the one implementation of what the book
    shows (``make mutants`` and ``tools/scale.py`` print the same figures).
    Registered in sys.modules before it runs, as dataclasses require."""
    import importlib.util

    path = root / "tools" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"hartbook_{name}", path)
    if spec is None or spec.loader is None:
        raise HartbookError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


class HbMutants(HbDirective):
    """``.. hb-mutants::`` renders every chapter's mutation lines with the
    verdict its gate produced in this build. Every one must have been caught
    (the gate's run failed, for the stated reason), or the book fails."""

    has_content = False
    option_spec = {"caption": directives.unchanged_required}

    def run(self):
        root = repo_root(self.app)
        try:
            mutants = load_tool_module(root, "mutants")
            rows = mutants.judge(root, build_dir(self.app))
        except Exception as e:  # a bad mutations line, an unloadable tool
            return self.fail(str(e))
        for mfile in (root / "chapters").glob("[0-9][0-9]-*/mutations"):
            self.depend(mfile)
        bad = [r for r in rows if r.status != "caught"]
        if bad:
            return self.fail(
                "mutations not caught in this build: "
                + ", ".join(f"{r.gate} ({r.status}: {r.verdict or 'no verdict'})" for r in bad)
            )
        title = self.options.get("caption") or f"Every mutation line of every chapter, and what its gate said ({len(rows)} of {len(rows)} caught)"
        table, body = make_table("hb-mutants", title, (16, 30, 54, 10),
                                 ["Gate (harts)", "What the fault breaks", "The failing verdict", "Caught"])
        for r in rows:
            verdict = r.verdict
            if len(verdict) > 220:
                verdict = verdict[:217] + "..."
            body += HbLadder._row([f"{r.gate} ({r.smp})", r.breaks, verdict, "yes"], code_col=2)
        return [table]


# --------------------------------------------------------------------------
# hb-scaling


def busy_text(busy) -> str:
    return "unknown" if busy is None else f"{100 * busy:.0f}%"


class HbScaling(HbDirective):
    """``.. hb-scaling:: process thread`` renders the speedup plot and the
    medians of the scaling run the book target made (tools/scale.py)."""

    required_arguments = 1
    optional_arguments = 3
    has_content = False

    def run(self):
        root = repo_root(self.app)
        figures = build_dir(self.app) / "figures"
        summaries = []
        for mode in self.arguments:
            path = figures / f"scale-{mode}.json"
            if not path.is_file():
                return self.fail(f"{rel(self.app, path)} is missing: the book target runs tools/scale.py "
                                 f"--mode {mode} before rendering (cmake/Book.cmake)")
            self.depend(path)
            try:
                summaries.append(json.loads(path.read_text(encoding="utf-8")))
            except ValueError as e:
                return self.fail(f"{rel(self.app, path)}: {e}")
        try:
            svg = load_tool_module(root, "scale").render_svg(summaries)
        except Exception as e:
            return self.fail(f"tools/scale.py render_svg: {e}")
        figure = hb_svg(svg=svg, div_class="hb-figure hb-scaling")
        first = summaries[0]
        title = (f"Median compute time over {first['rounds']} alternating round(s) per configuration, "
                 f"measured while this book was built (host: {first['host_cpus']} cores, "
                 f"{busy_text(first.get('host_busy_at_start'))} busy with other work at the start"
                 + "".join(f"; {sm['retried_boots']} {sm['mode']} boot(s) retried because the threads never "
                           f"ran at the same time" for sm in summaries if sm.get("retried_boots")) + ")")
        table, body = make_table("hb-scaling-table", title, (18, 10, 22, 22, 28),
                                 ["Run", "Harts", "Median compute", "Speedup (median of ratios)", "Fraction of the limit"])
        seen_limit = False
        for sm in summaries:
            kinds = [sm["mode"]] + ([] if seen_limit else ["limit"])
            seen_limit = True
            for kind in kinds:
                part = sm.get(kind)
                if not part:
                    continue
                for smp, us in part["median_us"].items():
                    speed = part["speedup"].get(smp)
                    frac = sm["fraction_of_limit"].get(smp) if kind != "limit" else None
                    body += HbLadder._row([
                        "bare harts (limit)" if kind == "limit" else f"{kind}es" if kind == "process" else f"{kind}s",
                        smp, f"{us / 1000:.1f} ms", "1.00x" if smp == "1" else f"{speed:.2f}x" if speed else "-",
                        f"{100 * frac:.0f}%" if frac is not None else "-"])
        return [figure, table]


# --------------------------------------------------------------------------
# SVG figures drawn at build time (hb-scaling, hb-timeline)


class hb_svg(nodes.General, nodes.Element):
    """An SVG drawn by tools/scale.py or tools/timeline.py. HTML (and EPUB)
    get it inline, exactly as a raw HTML node would write it; LaTeX gets a
    vector PDF made with rsvg-convert (``scripts/install-deps --pdf``)."""


def visit_hb_svg_html(self, node):
    self.body.append(f'<div class="{node["div_class"]}">{node["svg"]}</div>')
    raise nodes.SkipNode


def visit_hb_svg_latex(self, node):
    import hashlib
    import shutil

    name = "hb-svg-" + hashlib.sha1(node["svg"].encode("utf-8")).hexdigest()[:16]
    outdir = Path(self.builder.outdir)
    svg, pdf = outdir / f"{name}.svg", outdir / f"{name}.pdf"
    if not pdf.is_file():
        tool = shutil.which("rsvg-convert")
        if tool is None:
            raise HartbookError("rsvg-convert not found: the PDF book draws its SVG figures with it "
                                "(scripts/install-deps --pdf installs librsvg2-bin)")
        svg.write_text(node["svg"], encoding="utf-8")
        proc = subprocess.run([tool, "-f", "pdf", "-o", str(pdf), str(svg)],
                              capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise HartbookError(f"rsvg-convert {svg} failed: {proc.stderr.strip()}")
    self.body.append("\n\\begin{center}\n\\sphinxincludegraphics[width=\\linewidth]{%s.pdf}\n"
                     "\\end{center}\n" % name)
    raise nodes.SkipNode


def latex_chapters_at_top(app, doctree, docname):
    """LaTeX only. The index page's toctrees sit under its "Contents"
    heading; Sphinx's LaTeX builder inlines every chapter where its toctree
    is, which would make each chapter a section of a chapter called
    "Contents". Move the toctrees to the top level of the index (so each
    document becomes a chapter, after the index's own sections) and drop
    the heading they leave empty. HTML never sees this."""
    if app.builder.format != "latex" or docname != app.config.root_doc:
        return
    top = next(iter(doctree.findall(nodes.section)), None)  # the book's title
    if top is None:
        return
    wrappers = [n for n in doctree.findall(nodes.compound) if "toctree-wrapper" in n["classes"]]
    for wrapper in wrappers:
        holder = wrapper.parent
        if holder is top:
            continue
        holder.remove(wrapper)
        top += wrapper
        if isinstance(holder, nodes.section) and all(isinstance(c, nodes.title) for c in holder.children):
            holder.parent.remove(holder)


# --------------------------------------------------------------------------
# hb-timeline


class HbTimeline(HbDirective):
    """``.. hb-timeline:: <chapter-folder> smp<N>`` (or a bare ``N``) draws the
    ``TRACE:`` lines of that gate's transcript
    (``<build>/logs/<folder>-smp<N>/uart.log``) with ``tools/timeline.py`` and
    embeds the SVG inline. The gate must have passed (its verdict says PASS)
    and its log must hold TRACE lines; otherwise the book fails, saying which."""

    required_arguments = 2
    has_content = False
    option_spec = {"caption": directives.unchanged_required}

    def run(self):
        chapter, run = self.arguments
        if run.isdigit():
            run = f"smp{run}"
        if not RUN_RE.match(run):
            return self.fail(f"second argument must look like smp2 or 2, not '{run}'")
        root = repo_root(self.app)
        try:
            folder = read_ladder(root, build_dir(self.app), chapter)["chapter"]
        except LadderError as e:
            return self.fail(str(e))
        logdir = build_dir(self.app) / "logs" / f"{folder}-{run}"
        uart, verdict_path = logdir / "uart.log", logdir / "verdict"
        self.depend(uart)
        self.depend(verdict_path)
        self.depend(root / "tools" / "timeline.py")
        if not uart.is_file():
            return self.fail(
                f"no gate transcript at {rel(self.app, uart)} to draw a timeline from: run the gates first "
                f"(cmake --build build --target book runs them)"
            )
        verdict = verdict_path.read_text(encoding="utf-8", errors="replace").strip() if verdict_path.is_file() else ""
        verdict = verdict.splitlines()[0].strip() if verdict else ""
        if not verdict.startswith("PASS"):
            return self.fail(
                f"gate {folder} {run} did not pass (verdict '{verdict or 'missing'}'): "
                f"its trace is not one to show"
            )
        try:
            timeline = load_tool_module(root, "timeline")
            trace = timeline.parse_trace(uart.read_text(encoding="utf-8", errors="replace").splitlines())
        except Exception as e:  # TimelineError: no TRACE lines, a garbled one
            return self.fail(f"{rel(self.app, uart)}: {e}")
        caption = self.options.get("caption") or f"Trace timeline: {folder}, {run}"
        svg = timeline.render_svg(trace, caption)
        records = sum(len(v) for v in trace.records.values())
        dropped = sum(d for _, d in trace.summary.values())

        figure = nodes.container(classes=["hb-timeline"])
        figure += hb_svg(svg=svg, div_class="hb-timeline-svg")
        legend = nodes.paragraph()
        legend += nodes.Text(
            f"{caption}. Drawn when this page was built from the TRACE lines of "
        )
        legend += nodes.literal(rel(self.app, uart), rel(self.app, uart))
        legend += nodes.Text(
            f" ({len(trace.cpus)} CPUs, {records} records, {dropped} dropped; gate verdict: "
        )
        legend += nodes.literal(verdict, verdict)
        legend += nodes.Text(").")
        figure += legend
        return [figure]


# --------------------------------------------------------------------------
# Numbers from the tree: the hb-const and hb-count roles
#
# The pure parts (read a constant, count lines, compute what a chapter adds)
# are plain functions that raise ValueError with a one-line reason, so that
# the roles, the directive, the --check mode and the host test
# (tests/harness/hartbook_ext_test.py) share them.

_DIGIT_SEP_RE = re.compile(r"(?<=[0-9a-fA-F])'(?=[0-9a-fA-F])")
_INT_SUFFIX_RE = re.compile(r"\b(0[xX][0-9a-fA-F]+|0[bB][01]+|\d+)(?:[uU](?:ll|LL|l|L)?|(?:ll|LL|l|L)[uU]?)\b")
_INT_TYPE_BRACE_RE = re.compile(r"\b(?:std::)?(?:u?int(?:8|16|32|64)_t|size_t|uintptr_t)\s*\{")
_CAST_RE = re.compile(r"\bstatic_cast\s*<[^<>]*>")
_C_COMMENT_RE = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)
_IDENT_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _definitions(text: str, name: str) -> list[str]:
    """Every definition of `name` in a source text, as the raw value text:
    `constexpr <type> name = <value>;` (with inline/static, one or more lines)
    and `#define name <value>`."""
    found = []
    code = _C_COMMENT_RE.sub(lambda m: " " if m.group(0).startswith("/*") else "", text)
    for m in re.finditer(rf"\bconstexpr\b[^;=(){{}}]*?\b{re.escape(name)}\s*=\s*(?P<v>[^;]+);", code):
        found.append(m["v"].strip())
    for m in re.finditer(rf"^[ \t]*#[ \t]*define[ \t]+{re.escape(name)}[ \t]+(?P<v>[^\n]*)$", code, re.M):
        found.append(m["v"].strip())
    return found


def _c_to_python(expr: str) -> str:
    expr = _DIGIT_SEP_RE.sub("", expr)
    expr = _INT_SUFFIX_RE.sub(r"\1", expr)
    expr = _CAST_RE.sub("", expr)
    # std::uint64_t{1} -> (1)
    out, depth_stack = [], []
    i = 0
    while i < len(expr):
        m = _INT_TYPE_BRACE_RE.match(expr, i)
        if m:
            out.append("(")
            depth_stack.append("{")
            i = m.end()
            continue
        ch = expr[i]
        if ch == "}" and depth_stack:
            depth_stack.pop()
            out.append(")")
        else:
            out.append(ch)
        i += 1
    expr = "".join(out)
    # C's `/` on integers truncates; every value here is non-negative.
    return re.sub(r"(?<![/])/(?![/])", "//", expr).replace("std::", "")


def evaluate_constant(text: str, name: str, _seen=()) -> int:
    """The integer value of constant `name` defined in `text` (C++ constexpr
    or #define). The value may be an expression of integer literals (digit
    separators, U/L suffixes, std::uint64_t{...} and static_cast<> allowed),
    + - * / % << >> | & ^ and parentheses, and names of other constants
    defined in the same text. Raises ValueError saying why not."""
    import ast

    if name in _seen:
        raise ValueError(f"'{name}' is defined in terms of itself")
    defs = _definitions(text, name)
    if not defs:
        raise ValueError(f"no 'constexpr ... {name} = ...;' or '#define {name} ...' in this file")
    if len(set(defs)) > 1:
        raise ValueError(f"'{name}' is defined {len(defs)} times with different values: {', '.join(defs)}")
    raw = defs[0]
    try:
        tree = ast.parse(_c_to_python(raw), mode="eval")
    except SyntaxError:
        raise ValueError(f"'{name} = {raw}' is not an integer expression this role can evaluate") from None

    ops = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b,
           ast.FloorDiv: lambda a, b: a // b, ast.Mod: lambda a, b: a % b,
           ast.LShift: lambda a, b: a << b, ast.RShift: lambda a, b: a >> b,
           ast.BitOr: lambda a, b: a | b, ast.BitAnd: lambda a, b: a & b, ast.BitXor: lambda a, b: a ^ b}

    def ev(node):
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant) and type(node.value) is int:
            return node.value
        if isinstance(node, ast.Name):
            return evaluate_constant(text, node.id, _seen + (name,))
        if isinstance(node, ast.BinOp) and type(node.op) in ops:
            left, right = ev(node.left), ev(node.right)
            if isinstance(node.op, (ast.FloorDiv, ast.Mod)) and right == 0:
                raise ValueError(f"'{name} = {raw}' divides by zero")
            if isinstance(node.op, ast.LShift) and right > 128:
                raise ValueError(f"'{name} = {raw}' shifts by {right}")
            return ops[type(node.op)](left, right)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.UAdd, ast.USub)):
            v = ev(node.operand)
            return v if isinstance(node.op, ast.UAdd) else -v
        raise ValueError(f"'{name} = {raw}' is not an integer expression this role can evaluate "
                         f"(only literals, other constants of the file, + - * / % << >> | & ^)")

    value = ev(tree)
    if value < 0:
        raise ValueError(f"'{name} = {raw}' evaluates to {value}; only non-negative constants are quoted")
    return value


NUMBER_WORDS = ("zero one two three four five six seven eight nine ten eleven twelve thirteen "
                "fourteen fifteen sixteen seventeen eighteen nineteen twenty").split()


def format_number(value: int, fmt: str | None) -> str:
    """`fmt`: none (plain digits), ``,`` (thousands separators: 3,000,000),
    ``hex``, ``word`` (zero to twenty in words), ``KiB`` / ``MiB`` (an exact
    multiple, with the unit), or ``/N`` (divided by N, exactly: kTickUs /1000
    is the tick in ms)."""
    if fmt is None:
        return str(value)
    if fmt == ",":
        return f"{value:,}"
    if fmt == "hex":
        return f"{value:#x}"
    if fmt == "word":
        if value >= len(NUMBER_WORDS):
            raise ValueError(f"{value} has no word form here (only 0 to {len(NUMBER_WORDS) - 1})")
        return NUMBER_WORDS[value]
    units = {"KiB": 1024, "MiB": 1024 * 1024}
    if fmt in units or re.fullmatch(r"/[1-9][0-9]*", fmt):
        div = units.get(fmt) or int(fmt[1:])
        if value % div:
            raise ValueError(f"{value} is not a whole number of {fmt}")
        return f"{value // div} {fmt}" if fmt in units else str(value // div)
    raise ValueError(f"unknown format '{fmt}' (use ',', hex, word, KiB, MiB or /N)")


def parse_role_args(text: str, role: str) -> tuple[str, str, str | None]:
    """`<path> <name-or-counter> [format]` -> (path, what, format). For
    hb-count a /regex/ may contain spaces."""
    text = " ".join(text.split())
    parts = text.split(" ", 1)
    if len(parts) != 2:
        raise ValueError(f"{role} needs '<path from the repo root> <{'NAME' if role == 'hb-const' else 'counter'}> [format]', not '{text}'")
    path, rest = parts
    if role == "hb-count" and rest.startswith("/"):
        end = rest.rfind("/")
        if end == 0:
            raise ValueError(f"unterminated /regex/ in '{text}'")
        what, fmt = rest[: end + 1], rest[end + 1 :].strip() or None
    else:
        what, _, fmt = rest.partition(" ")
        fmt = fmt.strip() or None
    if fmt is not None and " " in fmt:
        raise ValueError(f"too many arguments in '{text}'")
    return path, what, fmt


def const_text(root: Path, text: str) -> tuple[str, Path]:
    """What ``:hb-const:`<text>``` renders, and the file it reads."""
    relpath, name, fmt = parse_role_args(text, "hb-const")
    if not _IDENT_RE.match(name):
        raise ValueError(f"'{name}' is not a constant name")
    path = root / relpath
    if not path.is_file():
        raise ValueError(f"file '{relpath}' does not exist (path is from the repo root)")
    try:
        value = evaluate_constant(path.read_text(encoding="utf-8"), name)
    except ValueError as e:
        raise ValueError(f"{relpath}: {e}") from None
    return format_number(value, fmt), path


# The named counters of hb-count: a predicate on each line.
def _not_comment(line: str) -> bool:
    s = line.strip()
    return bool(s) and not s.startswith("#")


COUNTERS = {
    # non-blank lines that are not `#` comments: one gate per mutations line
    "lines": _not_comment,
    "mutations": _not_comment,
    # a markers file's own marker lines: not comments, not `include` lines
    "markers": lambda line: _not_comment(line) and not re.match(r"^\s*include\s", line),
}


def count_lines(text: str, what: str) -> int:
    """How many lines of `text` the counter `what` counts: a named counter
    (lines, mutations, markers) or a /regex/ (re.search on each line)."""
    if what.startswith("/") and what.endswith("/") and len(what) > 2:
        try:
            rx = re.compile(what[1:-1])
        except re.error as e:
            raise ValueError(f"bad regex {what}: {e}") from None
        return sum(1 for line in text.splitlines() if rx.search(line))
    if what not in COUNTERS:
        raise ValueError(f"unknown counter '{what}' (use {', '.join(COUNTERS)} or /regex/)")
    return sum(1 for line in text.splitlines() if COUNTERS[what](line))


def count_text(root: Path, text: str) -> tuple[str, Path]:
    """What ``:hb-count:`<text>``` renders, and the file it reads."""
    relpath, what, fmt = parse_role_args(text, "hb-count")
    path = root / relpath
    if not path.is_file():
        raise ValueError(f"file '{relpath}' does not exist (path is from the repo root)")
    n = count_lines(path.read_text(encoding="utf-8"), what)
    if n == 0:
        raise ValueError(f"{relpath}: counter {what} counts no line (a quoted count of zero is almost surely a typo)")
    return format_number(n, fmt), path


def record_failure(env, docname: str, where: str, message: str, line=None):
    logger.error(message, location=(docname, line))
    env.hartbook_failures = getattr(env, "hartbook_failures", {})
    env.hartbook_failures.setdefault(docname, []).append(f"{where}: {message}")


def _number_role(compute, role_name):
    def role(name, rawtext, text, lineno, inliner, options=None, content=None):
        env = inliner.document.settings.env
        root = repo_root(env.app)
        # The text as written: docutils has already removed backslashes from
        # `text`, and a /regex/ needs them (--check reads the raw line too).
        raw = re.match(r"^:[^:`]+:`(.*)`$", rawtext, re.S)
        text = raw.group(1) if raw else text
        try:
            shown, path = compute(root, text)
        except ValueError as e:
            source = inliner.reporter.source or env.docname
            message = f"{role_name}: {e}"
            record_failure(env, env.docname, f"{source}:{lineno}", message, lineno)
            return [nodes.problematic(rawtext, rawtext)], []
        env.note_dependency(str(path.resolve()))
        node = nodes.inline(rawtext, shown, classes=[role_name])
        return [node], []

    return role


# --------------------------------------------------------------------------
# hb-adds: what a chapter's kernel adds to the previous chapter's

_CMAKE_COMMENT_RE = re.compile(r"#[^\n]*")


def _cmake_calls(text: str, command: str) -> list[list[str]]:
    """The argument lists of every `command(...)` call in a CMakeLists text
    (comments dropped; arguments split on whitespace; no nested parentheses
    other than generator expressions, which are kept as one word)."""
    code = _CMAKE_COMMENT_RE.sub("", text)
    calls = []
    for m in re.finditer(rf"\b{re.escape(command)}\s*\(", code):
        depth, i = 1, m.end()
        while i < len(code) and depth:
            depth += {"(": 1, ")": -1}.get(code[i], 0)
            i += 1
        if depth:
            raise ValueError(f"unbalanced parentheses in {command}(...)")
        calls.append(code[m.end() : i - 1].split())
    return calls


def read_modules(cmake_text: str, base: str) -> tuple[dict, dict]:
    """From one CMakeLists text: {library: [source paths from the repo root]}
    and {library: [libraries it links]}; `base` is the folder of the file
    from the repo root (e.g. 'src')."""
    sources, links = {}, {}
    for args in _cmake_calls(cmake_text, "add_library"):
        if len(args) < 2:
            continue
        files = [a for a in args[1:] if a not in ("STATIC", "OBJECT", "SHARED", "INTERFACE")]
        sources[args[0]] = [f"{base}/{f}" for f in files]
    for args in _cmake_calls(cmake_text, "target_link_libraries"):
        if args:
            links.setdefault(args[0], []).extend(
                a for a in args[1:] if a not in ("PUBLIC", "PRIVATE", "INTERFACE"))
    return sources, links


def _chapter_folder(root: Path, chapter: str) -> str:
    folders = sorted(p.name for p in (root / "chapters").glob("[0-9][0-9]-*") if p.is_dir())
    for f in folders:
        if f == chapter or f.split("-", 1)[0] == chapter:
            return f
    raise ValueError(f"no chapter folder '{chapter}' under chapters/ (there are: {', '.join(folders) or 'none'})")


def chapter_modules(root: Path, folder: str) -> tuple[list[str], dict]:
    """(libraries, sources): the libraries a chapter's kernel links, in link
    order, with everything they link (transitively), and {library: its source
    files}. Every kernel also links hb_entry whole (cmake/Kernel.cmake,
    hb_add_chapter)."""
    sources, links = read_modules((root / "src" / "CMakeLists.txt").read_text(encoding="utf-8"), "src")
    own_cmake = root / "chapters" / folder / "CMakeLists.txt"
    if not own_cmake.is_file():
        raise ValueError(f"chapters/{folder}/CMakeLists.txt does not exist")
    own_text = own_cmake.read_text(encoding="utf-8")
    calls = [a for a in _cmake_calls(own_text, "hb_add_chapter") if a and a[0] == folder]
    if len(calls) != 1:
        raise ValueError(f"chapters/{folder}/CMakeLists.txt has {len(calls)} hb_add_chapter({folder} ...) calls, want 1")
    args = calls[0]
    if "LIBS" not in args:
        raise ValueError(f"chapters/{folder}/CMakeLists.txt: hb_add_chapter({folder} ...) has no LIBS")
    libs = [a for a in args[args.index("LIBS") + 1 :] if a != "SOURCES"]
    # Every chapter folder's own libraries (a chapter links earlier chapters' selftests).
    for cm in sorted((root / "chapters").glob("[0-9][0-9]-*/CMakeLists.txt")):
        s, l = read_modules(cm.read_text(encoding="utf-8"), f"chapters/{cm.parent.name}")
        sources.update(s)
        for k, v in l.items():
            links.setdefault(k, []).extend(v)
    order, seen = [], set()

    def visit(lib):
        if lib in seen or lib not in sources:  # hb_kernel_flags and friends hold no sources
            return
        seen.add(lib)
        order.append(lib)
        for dep in links.get(lib, []):
            visit(dep)

    for lib in ["hb_entry"] + libs:
        if lib not in sources and not lib.startswith("hb_kernel"):
            raise ValueError(f"chapters/{folder}: library '{lib}' is not defined in src/CMakeLists.txt "
                             f"or any chapter's CMakeLists.txt")
        visit(lib)
    return order, sources


def first_comment(path: Path) -> str:
    """The first sentence of the comment that opens the file (`//`, `/* */`,
    or `#` in files that are not C, C++ or assembly; blank lines and region
    markers before it are skipped), at most 160 characters; "" when the file
    opens with code or an #include."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return ""
    c_like = path.suffix in (".cpp", ".hpp", ".h", ".c", ".S", ".s", ".ld")
    block, in_c = [], False
    for line in lines[:60]:
        s = line.strip()
        if in_c:
            end = s.find("*/")
            block.append(s[: end if end >= 0 else None].lstrip("*").strip())
            if end >= 0:
                break
            continue
        if MARKER_RE.match(line):
            continue
        if s.startswith("//"):
            block.append(s.lstrip("/").strip())
            continue
        if not c_like and s.startswith("#"):
            block.append(s.lstrip("#").strip())  # a run of # lines is one comment
            continue
        if block:
            break
        if s.startswith("/*"):
            body = s[2:]
            end = body.find("*/")
            block.append(body[: end if end >= 0 else None].strip())
            if end >= 0:
                break
            in_c = True
            continue
        if not s:
            continue
        break  # code (or an #include) first: the file has no opening comment
    words = " ".join(w for w in block if w)
    m = re.match(r"(.+?\.)(\s|$)", words)
    sentence = m.group(1) if m else words
    if len(sentence) > 160:
        sentence = sentence[:157].rsplit(" ", 1)[0] + " ..."
    return sentence.rstrip(":;,")


def describe(path: Path) -> str:
    """first_comment() of the file, or of its header (x.cpp -> x.hpp / x.h)
    when the file itself opens with code."""
    text = first_comment(path)
    if not text and path.suffix in (".cpp", ".c", ".S"):
        for suffix in (".hpp", ".h"):
            header = path.with_suffix(suffix)
            if header.is_file():
                text = first_comment(header)
                if text:
                    return f"{text} (from {header.name})"
    return text


INCLUDE_RE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def include_closure(root: Path, files) -> set[str]:
    """Every file (path from the repo root) that `files` reach through
    `#include "..."`, themselves included. A name is looked up next to the
    including file, then under src/ and chapters/ (the kernel's include
    directories: hb_kernel_flags and each chapter's target_include_directories);
    names found nowhere (freestanding system headers) are ignored."""
    seen, todo = set(), list(files)
    while todo:
        relpath = todo.pop()
        if relpath in seen:
            continue
        seen.add(relpath)
        path = root / relpath
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        for name in INCLUDE_RE.findall(text):
            for base in (path.parent, root / "src", root / "chapters"):
                cand = (base / name).resolve()
                if cand.is_file():
                    try:
                        todo.append(str(cand.relative_to(root.resolve())))
                    except ValueError:
                        pass
                    break
    return seen


def chapter_files(root: Path, folder: str) -> tuple[list[str], dict, set[str]]:
    """(libraries, {library: sources}, every file the kernel is built from:
    the chapter folder's files, its libraries' sources, and what they
    include)."""
    mods, sources = chapter_modules(root, folder)
    own = [f"chapters/{folder}/{p.name}" for p in sorted((root / "chapters" / folder).iterdir()) if p.is_file()]
    compiled = own + [src for lib in mods for src in sources[lib]]
    return mods, sources, include_closure(root, compiled)


def chapter_adds(root: Path, chapter: str) -> tuple[str, list[tuple[str, str, str]]]:
    """(folder, rows) for hb-adds: rows are (file, module, description): the
    chapter folder's own files; then the source files of every library the
    chapter's kernel links that the previous chapter's did not; then the
    headers its kernel includes (directly or not) that the previous chapter's
    did not, except a header whose same-name .cpp is already a row (its
    description comes from that header). Chapter 01: all of them."""
    folder = _chapter_folder(root, chapter)
    mods, sources, built = chapter_files(root, folder)
    number = int(folder.split("-", 1)[0])
    before_mods, before_files = set(), set()
    if number > 1:
        prev = _chapter_folder(root, f"{number - 1:02d}")
        prev_mods, _, before_files = chapter_files(root, prev)
        before_mods = set(prev_mods)
    rows = []
    for f in sorted(p for p in (root / "chapters" / folder).iterdir() if p.is_file()):
        rows.append((f"chapters/{folder}/{f.name}", "this chapter", describe(f)))
    listed = {r[0] for r in rows}
    for lib in mods:
        if lib in before_mods or lib.startswith("ch"):
            continue
        for src in sources[lib]:
            p = root / src
            if not p.is_file():
                raise ValueError(f"{lib} lists {src}, which does not exist")
            rows.append((src, lib, describe(p)))
            listed.add(src)
    stems = {str(Path(f).with_suffix("")) for f in listed}
    for header in sorted(built - before_files - listed):
        if not header.endswith((".hpp", ".h")) or header.startswith("chapters/"):
            continue
        if str(Path(header).with_suffix("")) in stems:
            continue
        rows.append((header, "header", describe(root / header)))
    return folder, rows


class HbAdds(HbDirective):
    """``.. hb-adds:: <chapter-folder>``: a table of the files the chapter's
    kernel adds to the previous chapter's (see chapter_adds)."""

    required_arguments = 1
    has_content = False
    option_spec = {"caption": directives.unchanged_required}

    def run(self):
        root = repo_root(self.app)
        try:
            folder, rows = chapter_adds(root, self.arguments[0])
        except (ValueError, OSError) as e:
            return self.fail(str(e))
        self.depend(root / "src" / "CMakeLists.txt")
        for cm in (root / "chapters").glob("[0-9][0-9]-*/CMakeLists.txt"):
            self.depend(cm)
        for path, _, _ in rows:
            self.depend(root / path)
        undescribed = [p for p, _, d in rows if not d and p.endswith((".cpp", ".hpp", ".S"))]
        if undescribed:
            return self.fail("no opening comment (nor one in a same-name header) to describe: "
                             + ", ".join(undescribed))
        number = int(folder.split("-", 1)[0])
        title = self.options.get("caption") or (
            f"Files of chapter {number:02d}'s kernel" if number == 1 else
            f"Files chapter {number:02d}'s kernel adds to chapter {number - 1:02d}'s")
        table, body = make_table("hb-adds", title, (34, 16, 50), ["File", "Module", "What it is"])
        for path, lib, text in rows:
            body += HbLadder._row([path, lib, text or "-"], code_col=0)
        if number > 1 and all(lib == "this chapter" for _, lib, _ in rows):
            note = nodes.paragraph()
            note += nodes.Text(f"No module is new: chapter {number:02d}'s kernel links the same "
                               f"libraries as chapter {number - 1:02d}'s; only the chapter's own "
                               f"files are added.")
            return [table, note]
        return [table]


# --------------------------------------------------------------------------
# hb-labs


class HbLabs(HbDirective):
    """``.. hb-labs::``: the course labs as tools/lab.py reads them from the
    source (regions, the lines a student writes, test groups and points),
    so the instructor's guide cannot disagree with ``make labs``."""

    has_content = False
    option_spec = {"caption": directives.unchanged_required}

    def run(self):
        root = repo_root(self.app)
        self.depend(root / "tools" / "lab.py")
        lab = load_tool_module(root, "lab")
        try:
            labs = lab.load_labs(root)
        except lab.LabError as e:
            return self.fail(str(e))
        if not labs:
            return self.fail("no course labs in this tree (chapters/NN-*/lab/)")
        for nn, l in labs.items():
            self.depend(root / "chapters" / l.chapter / "lab" / "grading")
            for r in l.regions:
                self.depend(root / r.path)
        title = self.options.get("caption") or "The labs, read from the source by tools/lab.py when this book was built"
        table, body = make_table("hb-labs", title, (8, 18, 44, 10, 20),
                                 ["Lab", "Chapter", "Regions (file, lines to write)", "Lines", "Test groups (hidden)"])
        for nn, l in sorted(labs.items()):
            regions = "; ".join(f"{r.name} ({r.path}, {r.student_lines()})" for r in l.regions)
            hidden = sum(1 for g in l.groups if g.visibility != "visible")
            body += HbLadder._row([nn, l.chapter, regions, str(sum(r.student_lines() for r in l.regions)),
                                   f"{len(l.groups)} ({hidden})"])
        return [table]


# --------------------------------------------------------------------------
# hb-memmap


class HbMemmap(HbDirective):
    """``.. hb-memmap:: <chapter-folder>``: the chapter's kernel image as
    built for this copy of the book, part by part (the ranges between
    kernel.ld's symbols) with its largest objects, read from the ELF's own
    symbol table by tools/memmap.py. It cannot go stale: it is the kernel
    the gates just booted."""

    required_arguments = 1
    has_content = False
    option_spec = {"caption": directives.unchanged_required, "largest": directives.positive_int}

    def run(self):
        root = repo_root(self.app)
        try:
            folder = _chapter_folder(root, self.arguments[0])
        except ValueError as e:
            return self.fail(str(e))
        elf = build_dir(self.app) / "chapters" / folder / "kernel.elf"
        self.depend(elf)
        self.depend(root / "tools" / "memmap.py")
        memmap = load_tool_module(root, "memmap")
        try:
            parts, end = memmap.memory_map(elf.read_bytes(), self.options.get("largest", 3))
        except OSError as e:
            return self.fail(f"{rel(self.app, elf)}: {e.strerror} (the book renders after `make build`)")
        except memmap.MemmapError as e:
            return self.fail(f"{rel(self.app, elf)}: {e}")
        number = int(folder.split("-", 1)[0])
        title = self.options.get("caption") or (
            f"Chapter {number:02d}'s kernel image, read from the symbols of the kernel.elf this book was built with")
        table, body = make_table("hb-memmap", title, (14, 30, 10, 46),
                                 ["Part", "Addresses", "Size", "What it holds, and its largest objects"])
        for part in parts:
            objects = "; ".join(f"{memmap.short(s.name)} ({memmap.human(s.size)})" for s in part.largest)
            body += HbLadder._row([part.name, f"{part.start:#x}–{part.end:#x}", memmap.human(part.size),
                                   part.what + (f": {objects}" if objects else "")], code_col=0)
        note = nodes.paragraph()
        note += nodes.Text(f"The image ends at {end:#x}, {memmap.human(end - parts[0].start)} after the load "
                           f"address {parts[0].start:#x}. Print it for any build with ")
        cmd = f"python3 tools/memmap.py build/chapters/{folder}/kernel.elf"
        note += nodes.literal(cmd, cmd)
        note += nodes.Text(".")
        return [table, note]


# --------------------------------------------------------------------------
# Failure bookkeeping across incremental builds


def purge_doc(app, env, docname):
    failures = getattr(env, "hartbook_failures", None)
    if failures:
        failures.pop(docname, None)


def merge_info(app, env, docnames, other):
    theirs = getattr(other, "hartbook_failures", {})
    if theirs:
        env.hartbook_failures = getattr(env, "hartbook_failures", {})
        for d in docnames:
            if d in theirs:
                env.hartbook_failures[d] = theirs[d]


def check_failures(app, exception):
    if exception is not None:
        return
    failures = getattr(app.env, "hartbook_failures", {}) or {}
    problems = [p for doc in sorted(failures) for p in failures[doc]]
    if problems:
        raise HartbookError(
            f"{len(problems)} quoted source(s) or gate result(s) missing; the book is not rendered:\n  "
            + "\n  ".join(problems)
        )


def require_ladder_tool(app):
    # Fail at once, with one clear line, rather than on every ladder table.
    ladder_tool(build_dir(app))


def setup(app):
    app.add_config_value("hartbook_build_dir", "", "env")
    app.connect("builder-inited", require_ladder_tool)
    app.add_node(hb_svg, html=(visit_hb_svg_html, None), latex=(visit_hb_svg_latex, None))
    app.connect("doctree-resolved", latex_chapters_at_top)
    app.add_directive("hb-code", HbCode)
    app.add_directive("hb-ladder", HbLadder)
    app.add_directive("hb-transcript", HbTranscript)
    app.add_directive("hb-mutants", HbMutants)
    app.add_directive("hb-scaling", HbScaling)
    app.add_directive("hb-timeline", HbTimeline)
    app.add_directive("hb-adds", HbAdds)
    app.add_directive("hb-memmap", HbMemmap)
    app.add_directive("hb-labs", HbLabs)
    app.add_role("hb-const", _number_role(const_text, "hb-const"))
    app.add_role("hb-count", _number_role(count_text, "hb-count"))
    app.connect("env-purge-doc", purge_doc)
    app.connect("env-merge-info", merge_info)
    app.connect("build-finished", check_failures)
    return {"version": __version__, "parallel_read_safe": True, "parallel_write_safe": True}


# --------------------------------------------------------------------------
# Standalone check (CTest `book-sources`): every hb-code region and every
# hb-ladder chapter that the book names exists, every hb-timeline names a
# chapter and a run, every hb-const / hb-count role evaluates, and every
# hb-adds table can be computed, without rendering anything.
# The ladders are read with $HARTBOOK_BUILD_DIR/tools/ladder/hb-ladder (default
# <repo>/build/...).

DIRECTIVE_RE = re.compile(r"^\s*\.\.\s+hb-(code|ladder|timeline|adds|memmap)::\s+(.*?)\s*$")
# An hb-const / hb-count role; its text may not span lines (the check reads
# line by line, and so should a reader).
# A role name written as inline code (````:hb-const:````) is not a role.
ROLE_RE = re.compile(r"(?<!`):hb-(const|count):`([^`]*)`")


def check_sources(root: Path) -> list[str]:
    problems = []
    build = default_build_dir(root)
    for rst in sorted((root / "book").rglob("*.rst")):
        for lineno, line in enumerate(rst.read_text(encoding="utf-8").splitlines(), start=1):
            where = f"{rst.relative_to(root)}:{lineno}"
            for r in ROLE_RE.finditer(line):
                try:
                    (const_text if r[1] == "const" else count_text)(root, r[2])
                except ValueError as e:
                    problems.append(f"{where}: hb-{r[1]}: {e}")
            if re.search(r"(?<!`):hb-(const|count):`[^`]*$", line):
                problems.append(f"{where}: an hb-const/hb-count role must fit on one line")
            m = DIRECTIVE_RE.match(line)
            if not m:
                continue
            args = m[2].split()
            if m[1] == "adds":
                if len(args) != 1:
                    problems.append(f"{where}: hb-adds needs <chapter>")
                    continue
                try:
                    _, rows = chapter_adds(root, args[0])
                    bare = [p for p, _, d in rows if not d and p.endswith((".cpp", ".hpp", ".S"))]
                    if bare:
                        problems.append(f"{where}: hb-adds {args[0]}: no opening comment to describe: {', '.join(bare)}")
                except (ValueError, OSError) as e:
                    problems.append(f"{where}: hb-adds {args[0]}: {e}")
            elif m[1] == "memmap":
                # The image comes from the build, which this check does not
                # need: only the chapter and the tool.
                if len(args) != 1:
                    problems.append(f"{where}: hb-memmap needs <chapter>")
                    continue
                try:
                    _chapter_folder(root, args[0])
                except ValueError as e:
                    problems.append(f"{where}: hb-memmap: {e}")
                if not (root / "tools" / "memmap.py").is_file():
                    problems.append(f"{where}: tools/memmap.py does not exist")
            elif m[1] == "code":
                if len(args) != 2:
                    problems.append(f"{where}: hb-code needs <path> <region>")
                    continue
                path = root / args[0]
                if not path.is_file():
                    problems.append(f"{where}: {args[0]} does not exist")
                    continue
                try:
                    find_region(path.read_text(encoding="utf-8"), args[1])
                except ValueError as e:
                    problems.append(f"{where}: {args[0]}: {e}")
            elif m[1] == "timeline":
                # The transcript comes from the gates, which this check does
                # not run: only the arguments, the chapter and the tool.
                if len(args) != 2 or not RUN_RE.match(args[1] if not args[1].isdigit() else f"smp{args[1]}"):
                    problems.append(f"{where}: hb-timeline needs <chapter> smp<N>")
                    continue
                if not (root / "tools" / "timeline.py").is_file():
                    problems.append(f"{where}: tools/timeline.py does not exist")
                try:
                    read_ladder(root, build, args[0])
                except LadderError as e:
                    problems.append(f"{where}: {e}")
            else:
                if len(args) != 1:
                    problems.append(f"{where}: hb-ladder needs <chapter>")
                    continue
                try:
                    if not read_ladder(root, build, args[0])["markers"]:
                        problems.append(f"{where}: ladder {args[0]} is empty")
                except LadderError as e:
                    problems.append(f"{where}: {e}")
    return problems


if __name__ == "__main__":
    import sys

    if len(sys.argv) != 3 or sys.argv[1] != "--check":
        print("usage: [HARTBOOK_BUILD_DIR=<build>] hartbook.py --check <repo root>", file=sys.stderr)
        sys.exit(2)
    try:
        found = check_sources(Path(sys.argv[2]).resolve())
    except HartbookError as e:
        print(f"book-sources: FAIL {e}")
        sys.exit(1)
    for p in found:
        print(f"book-sources: {p}")
    print(f"book-sources: {'FAIL' if found else 'ok'} ({len(found)} problem(s))")
    sys.exit(1 if found else 0)
