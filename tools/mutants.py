#!/usr/bin/env python3
"""Every proof shown failing: the mutation table, from the gates' own results.

Reads every chapters/NN-*/mutations line (<fault> <smp> <regex>, with the
comment lines above it saying what the fault breaks) and the verdict that
its gate wrote (build/logs/<chapter>-smp<smp>-fault-<fault>/verdict and
result.json). A mutation is *caught* when its gate's run failed with a verdict
matching the regex: the proof noticed the fault and said why.

    tools/mutants.py [--build DIR] [--json FILE] [--quiet]

Prints one line per mutation and a summary; writes a JSON list (default
<build>/logs/mutants.json) for instructors' and CI's tools. Exit status: 0
when every mutation was caught, 1 when one was not (or its gate never ran),
2 on bad usage or an unreadable mutations file. The book's ``hb-mutants``
directive renders the same rows (book/_ext/hartbook.py imports this file).
Standard library only.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

LINE_RE = re.compile(r"^([a-z0-9-]+)[ \t]+([0-9]+)[ \t]+(.+)$")


class MutantsError(Exception):
    pass


@dataclass
class Mutant:
    chapter: str  # chapter folder, e.g. 05-ipis
    fault: str
    smp: int
    expect: str  # regex the failing verdict must match
    breaks: str  # the comment lines above the mutation line
    gate: str  # the CTest name
    log: str  # log folder, relative to the build dir
    status: str  # caught | escaped | wrong-reason | not-run
    verdict: str  # the gate's verdict line ('' when not run)


def read_mutations(root: Path) -> list[tuple[str, str, int, str, str]]:
    """(chapter, fault, smp, regex, what-it-breaks) for every mutation line."""
    rows = []
    for mfile in sorted((root / "chapters").glob("[0-9][0-9]-*/mutations")):
        chapter = mfile.parent.name
        comment: list[str] = []
        for lineno, raw in enumerate(mfile.read_text(encoding="utf-8").splitlines(), start=1):
            line = raw.strip()
            if not line:
                comment = []
                continue
            if line.startswith("#"):
                comment.append(line.lstrip("#").strip())
                continue
            m = LINE_RE.match(line)
            if not m:
                raise MutantsError(f"{mfile.relative_to(root)}:{lineno}: bad line '{line}' (want: <fault> <smp> <regex>)")
            # The file's own header (the format note) is not a description.
            breaks = " ".join(c for c in comment if not c.startswith("<fault>") and not c.startswith("Faults that"))
            rows.append((chapter, m[1], int(m[2]), m[3], breaks))
            comment = []
    return rows


def judge(root: Path, build: Path) -> list[Mutant]:
    out = []
    for chapter, fault, smp, expect, breaks in read_mutations(root):
        logdir = build / "logs" / f"{chapter}-smp{smp}-fault-{fault}"
        verdict_path = logdir / "verdict"
        verdict = ""
        if verdict_path.is_file():
            text = verdict_path.read_text(encoding="utf-8", errors="replace").strip()
            verdict = text.splitlines()[0].strip() if text else ""
        if not verdict:
            status = "not-run"
        elif not verdict.startswith("FAIL"):
            status = "escaped"
        elif not re.search(expect, verdict):
            status = "wrong-reason"
        else:
            status = "caught"
        out.append(
            Mutant(
                chapter=chapter,
                fault=fault,
                smp=smp,
                expect=expect,
                breaks=breaks,
                gate=f"gate-{chapter[:2]}-mutation-{fault}",
                log=str(logdir.relative_to(build)) if logdir.is_relative_to(build) else str(logdir),
                status=status,
                verdict=verdict,
            )
        )
    return out


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description="the mutation table from the gates' results")
    p.add_argument("--root", default=str(Path(__file__).resolve().parent.parent))
    p.add_argument("--build", default=None, help="build directory (default <root>/build)")
    p.add_argument("--json", default=None, help="where to write the JSON rows (default <build>/logs/mutants.json)")
    p.add_argument("--quiet", action="store_true", help="only the summary line")
    try:
        args = p.parse_args(argv)
    except SystemExit as e:
        return 2 if e.code else 0
    root = Path(args.root).resolve()
    build = Path(args.build).resolve() if args.build else root / "build"
    try:
        rows = judge(root, build)
    except MutantsError as e:
        print(f"mutants: {e}", file=sys.stderr)
        return 2
    if not rows:
        print(f"mutants: no mutation lines under {root / 'chapters'}", file=sys.stderr)
        return 2
    if not args.quiet:
        for r in rows:
            print(f"mutants: {r.status:12s} {r.gate:44s} {r.verdict[:110]}")
    counts = {s: sum(1 for r in rows if r.status == s) for s in ("caught", "escaped", "wrong-reason", "not-run")}
    out = Path(args.json) if args.json else build / "logs" / "mutants.json"
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps([asdict(r) for r in rows], indent=1) + "\n", encoding="utf-8")
    except OSError as e:
        print(f"mutants: cannot write {out}: {e}", file=sys.stderr)
        return 2
    print(
        f"mutants: {counts['caught']} of {len(rows)} caught, {counts['escaped']} escaped, "
        f"{counts['wrong-reason']} failed for another reason, {counts['not-run']} not run (rows: {out})"
    )
    return 0 if counts["caught"] == len(rows) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
