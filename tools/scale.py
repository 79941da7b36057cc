#!/usr/bin/env python3
"""Chapter 07's scaling harness: `make run-smp-process-scale` and `make run-thread-scale`.

Boots the chapter 07 kernel with `scale=<mode>` (worker processes, or sibling
threads of one process) and with `scale=limit` (every hart computes its share
directly, no scheduler, no ticks) in one alternating series:

    round 1: mode@smp1, limit@smp1, mode@smp2, limit@smp2, mode@smp4, limit@smp4
    round 2: ...

so a host that slows down partway hurts every configuration alike. Each
boot's serial log is kept under build/logs/scale/; each prints one line,

    SCALE: mode=process workers=2 cpus=2 ticks=173 checksum=216816 compute_us=167400 peak=2 parallel_us=160000

which this script checks (exit status 0, checksum 216816, workers = cpus)
and collects. It prints the medians, each round's ratio t(1 cpu)/t(N cpus),
the median 1->2 speedup, the limit's, and Hartbook's speedup as a fraction
of the limit; writes a JSON summary (and, with --svg, the plot); and fails
when the median 1->2 speedup is below the threshold.

Exit status: 0 the threshold was met; 1 a run failed, or the speedup is below
the threshold; 2 usage error; 3 the kernel or QEMU is missing.

Standard library only. Performance is measured here, never asserted by
`make test`: a busy host shows no speedup, however correct the kernel is.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

# [hb:region threshold]
#: High enough to reject accidental concurrency
#: illusions, low enough for QEMU's variance. Judged on the median over rounds
#: of each round's t(1 cpu) / t(2 cpus).
THRESHOLD = 1.6
# [hb:end threshold]
EXPECTED_CHECKSUM = 216816
MODES = ("process", "thread")

LINE_RE = re.compile(
    r"SCALE: mode=(?P<mode>\w+) workers=(?P<workers>\d+) cpus=(?P<cpus>\d+) ticks=(?P<ticks>\d+) "
    r"checksum=(?P<checksum>\d+) compute_us=(?P<compute_us>\d+) peak=(?P<peak>\d+) parallel_us=(?P<parallel_us>\d+)"
)


class ScaleError(Exception):
    """A run that cannot count: its one-line reason."""


@dataclass
class Run:
    mode: str
    round: int
    smp: int
    workers: int
    cpus: int
    ticks: int
    checksum: int
    compute_us: int
    peak: int
    parallel_us: int
    log: str = ""


def parse_run(text: str, mode: str, round_: int, smp: int, log: str = "") -> Run:
    """The SCALE line of one boot's serial log, checked."""
    fail = re.search(r"KSELFTEST: .* FAIL .*", text)
    if fail:
        raise ScaleError(f"{mode} at smp {smp}: {fail.group(0).strip()}")
    m = LINE_RE.search(text)
    if not m:
        raise ScaleError(f"{mode} at smp {smp}: no SCALE line in {log or 'the log'}")
    run = Run(round=round_, smp=smp, log=log, mode=m["mode"],
              **{k: int(m[k]) for k in ("workers", "cpus", "ticks", "checksum", "compute_us", "peak", "parallel_us")})
    if run.mode != mode:
        raise ScaleError(f"asked for {mode}, the kernel ran {run.mode}")
    if run.checksum != EXPECTED_CHECKSUM:
        raise ScaleError(f"{mode} at smp {smp}: checksum {run.checksum}, want {EXPECTED_CHECKSUM}")
    if run.cpus != smp or run.workers != smp:
        raise ScaleError(f"{mode} at smp {smp}: the kernel saw {run.cpus} cpus and ran {run.workers} workers")
    if run.mode == "thread" and run.workers >= 2 and run.peak < 2:
        raise ScaleError(f"thread at smp {smp}: the threads' timed sections {SERIALIZED} (a serialized runtime)")
    if run.compute_us <= 0:
        raise ScaleError(f"{mode} at smp {smp}: compute time {run.compute_us} us")
    return run


def summarize(runs: list[Run], mode: str, threshold: float, host_cpus: int) -> dict:
    """Medians per (mode, smp), each round's ratios, the judged speedup."""
    smps = sorted({r.smp for r in runs})
    base = smps[0]
    out: dict = {"mode": mode, "threshold": threshold, "host_cpus": host_cpus, "smps": smps,
                 "rounds": max((r.round for r in runs), default=0), "runs": [asdict(r) for r in runs]}
    for kind in (mode, "limit"):
        mine = [r for r in runs if r.mode == kind]
        if not mine:
            continue
        medians = {s: statistics.median(r.compute_us for r in mine if r.smp == s) for s in smps
                   if any(r.smp == s for r in mine)}
        ratios: dict[int, list[float]] = {}
        for s in smps:
            if s == base:
                continue
            for rnd in sorted({r.round for r in mine}):
                one = [r.compute_us for r in mine if r.round == rnd and r.smp == base]
                many = [r.compute_us for r in mine if r.round == rnd and r.smp == s]
                if one and many:
                    ratios.setdefault(s, []).append(one[0] / many[0])
        out[kind] = {
            "median_us": {str(s): v for s, v in medians.items()},
            "ratios": {str(s): v for s, v in ratios.items()},
            "speedup": {str(s): statistics.median(v) for s, v in ratios.items()},
        }
    demo = out.get(mode, {}).get("speedup", {})
    limit = out.get("limit", {}).get("speedup", {})
    out["fraction_of_limit"] = {s: demo[s] / limit[s] for s in demo if s in limit and limit[s] > 0}
    judged = demo.get("2")
    out["judged_speedup"] = judged
    out["passed"] = judged is not None and judged >= threshold
    return out


def report(summary: dict) -> list[str]:
    """The harness's printed lines."""
    mode = summary["mode"]
    lines = []
    for kind in (mode, "limit"):
        part = summary.get(kind)
        if not part:
            continue
        med = ", ".join(f"{s} cpu{'s' if s != '1' else ''} {v / 1000:.1f} ms" for s, v in part["median_us"].items())
        lines.append(f"scale: {kind}: median compute time: {med}")
        for s, ratios in part["ratios"].items():
            each = " ".join(f"{x:.2f}" for x in ratios)
            lines.append(f"scale: {kind}: t(1)/t({s}) per round: {each}; median {part['speedup'][s]:.2f}x")
    for s, f in summary["fraction_of_limit"].items():
        lines.append(f"scale: {mode} 1->{s} speedup is {100 * f:.0f}% of the machine's own limit (scale=limit, same series)")
    if any(int(s) > summary["host_cpus"] for s in summary["smps"]):
        lines.append(f"scale: note: this host has {summary['host_cpus']} cores and TCG runs one host thread per hart, "
                     f"so runs with more harts than that cannot show more than {summary['host_cpus']}x; "
                     "they are reported, not judged")
    judged = summary["judged_speedup"]
    if judged is None:
        lines.append("scale: FAIL no 1->2 pair to judge (SMPS must hold 1 and 2)")
    elif summary["threshold"] == 0:
        lines.append(f"scale: {mode}: median 1->2 speedup {judged:.2f}x (reported, not judged: threshold 0)")
    elif summary["passed"]:
        lines.append(f"scale: PASS {mode}: median 1->2 speedup {judged:.2f}x >= {summary['threshold']}x")
    else:
        lines.append(f"scale: FAIL {mode}: median 1->2 speedup {judged:.2f}x < {summary['threshold']}x "
                     "(a busy host shows none: rerun on a quiet machine; the raw logs are kept)")
    return lines


# [hb:region scale_svg]
def render_svg(summaries: list[dict], width: int = 640, height: int = 400) -> str:
    """Speedup against harts: the ideal line, the limit (scale=limit) and
    each mode's median speedups, from the same series."""
    left, right, top, bottom = 60, 170, 30, 50
    smps = sorted({int(s) for sm in summaries for s in sm["smps"]}) or [1, 2]
    xmax = max(smps)
    ymax = max([float(xmax)] + [v for sm in summaries for k in (sm["mode"], "limit")
                                for v in sm.get(k, {}).get("speedup", {}).values()])
    pw, ph = width - left - right, height - top - bottom

    def x(s: float) -> float:
        return left + (s - 1) / max(xmax - 1, 1) * pw

    def y(v: float) -> float:
        return top + ph - v / ymax * ph

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
           f'<rect x="0" y="0" width="{width}" height="{height}" fill="white"/>',
           f'<line x1="{left}" y1="{top + ph}" x2="{left + pw}" y2="{top + ph}" stroke="black"/>',
           f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + ph}" stroke="black"/>',
           f'<text x="{left + pw / 2}" y="{height - 10}" text-anchor="middle">harts (QEMU -smp)</text>',
           f'<text x="15" y="{top + ph / 2}" text-anchor="middle" transform="rotate(-90 15 {top + ph / 2})">'
           'speedup over 1 hart (median)</text>']
    for s in smps:
        out.append(f'<line x1="{x(s):.1f}" y1="{top + ph}" x2="{x(s):.1f}" y2="{top + ph + 5}" stroke="black"/>')
        out.append(f'<text x="{x(s):.1f}" y="{top + ph + 18}" text-anchor="middle">{s}</text>')
    for v in range(0, int(ymax) + 1):
        out.append(f'<line x1="{left - 5}" y1="{y(v):.1f}" x2="{left + pw}" y2="{y(v):.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{left - 8}" y="{y(v) + 4:.1f}" text-anchor="end">{v}x</text>')
    series = [("ideal (linear)", "#999", "6,4", {str(s): float(s) for s in smps})]
    colours = {"process": "#1f77b4", "thread": "#2ca02c"}
    limit = next((sm["limit"]["speedup"] for sm in summaries if sm.get("limit")), None)
    if limit:
        series.append(("limit (bare harts)", "#d62728", "2,3", {"1": 1.0, **limit}))
    for sm in summaries:
        if sm.get(sm["mode"]):
            series.append((f"{sm['mode']}es" if sm["mode"] == "process" else f"{sm['mode']}s",
                           colours.get(sm["mode"], "black"), "", {"1": 1.0, **sm[sm["mode"]]["speedup"]}))
    for i, (label, colour, dash, pts) in enumerate(series):
        xs = sorted(pts, key=int)
        path = " ".join(f"{x(int(s)):.1f},{y(pts[s]):.1f}" for s in xs)
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        out.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"{dash_attr}/>')
        if not dash:
            for s in xs:
                out.append(f'<circle cx="{x(int(s)):.1f}" cy="{y(pts[s]):.1f}" r="4" fill="{colour}">'
                           f'<title>{label}: {pts[s]:.2f}x at {s} harts</title></circle>')
                if s != "1":  # every series is 1.00x at one hart: label it once, below
                    dy = -8 if i % 2 else 16  # alternate above/below so two series do not overprint
                    out.append(f'<text x="{x(int(s)) + 6:.1f}" y="{y(pts[s]) + dy:.1f}" fill="{colour}">'
                               f'{pts[s]:.2f}x</text>')
        ly = top + 10 + 20 * i
        out.append(f'<line x1="{left + pw + 15}" y1="{ly}" x2="{left + pw + 40}" y2="{ly}" stroke="{colour}" '
                   f'stroke-width="2"{dash_attr}/>')
        out.append(f'<text x="{left + pw + 45}" y="{ly + 4}">{label}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
# [hb:end scale_svg]


def host_busy(seconds: float = 1.0) -> float | None:
    """How busy the host's cores were over `seconds` (0..1), from /proc/stat;
    None where there is no /proc/stat. (The load average would count this
    harness's own previous boots for a minute after they ended.)"""
    def sample():
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
        return sum(fields), idle
    try:
        t0, i0 = sample()
        time.sleep(seconds)
        t1, i1 = sample()
    except (OSError, ValueError, IndexError):
        return None
    return 1.0 - (i1 - i0) / (t1 - t0) if t1 > t0 else None


def boot(root: Path, build: Path, mode: str, smp: int, log: Path, extra: str, timeout: int) -> str:
    cmd = [str(root / "scripts" / "run-qemu-rv64.sh"), "--chapter", "07", "--smp", str(smp),
           "--append", f"scale={mode} {extra}".strip(), "--serial-log", str(log)]
    env = dict(os.environ, BUILD_DIR=str(build))
    try:
        proc = subprocess.run(cmd, env=env, timeout=timeout, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True)
    except subprocess.TimeoutExpired:
        raise ScaleError(f"{mode} at smp {smp}: no power-off within {timeout} s (log kept: {log})")
    if proc.returncode == 3:
        print(f"scale: {proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else 'kernel or QEMU missing'}",
              file=sys.stderr)
        sys.exit(3)
    text = log.read_text(errors="replace") if log.exists() else ""
    if proc.returncode != 0:
        fail = re.search(r"KSELFTEST: .* FAIL .*", text)
        raise ScaleError(f"{mode} at smp {smp}: " + (fail.group(0).strip() if fail else
                                                      f"QEMU exit status {proc.returncode} (log kept: {log})"))
    return text


SERIALIZED = "never overlapped"


def run_once(attempt, retries: int, note=print):
    """Calls attempt() (one boot, parsed) and returns its Run. A boot whose
    threads' timed sections never overlapped is retried up to `retries`
    times: on a busy host QEMU's vCPU threads may simply not have run at the
    same time. Any other failure, or the last retry's, is raised. Returns
    (run, retries used)."""
    for used in range(retries + 1):
        try:
            return attempt(), used
        except ScaleError as e:
            if SERIALIZED not in str(e) or used == retries:
                raise
            note(f"scale: retry {used + 1} of {retries}: {e}")
    raise AssertionError("unreachable")


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mode", choices=MODES, required=True)
    ap.add_argument("--rounds", type=int, default=int(os.environ.get("ROUNDS", "5")))
    ap.add_argument("--smps", default=os.environ.get("SMPS", "1 2 4"))
    ap.add_argument("--threshold", type=float, default=THRESHOLD,
                    help="minimum median 1->2 speedup (0: report only, as the book's figure run does)")
    ap.add_argument("--no-limit", action="store_true", help="skip the scale=limit runs")
    ap.add_argument("--build", default=os.environ.get("BUILD_DIR", "build"))
    ap.add_argument("--json", help="summary file (default <build>/logs/scale/<mode>.json)")
    ap.add_argument("--svg", help="also write the speedup plot here")
    ap.add_argument("--timeout", type=int, default=300, help="seconds per boot")
    ap.add_argument("--retries", type=int, default=0,
                    help="boots to retry when the threads never overlapped (a busy host); the book's figure run uses 2")
    args = ap.parse_args(argv)
    try:
        smps = sorted({int(s) for s in args.smps.split()})
    except ValueError:
        print(f"scale: SMPS must be hart counts, got {args.smps!r}", file=sys.stderr)
        return 2
    if args.rounds < 1 or not smps or smps[0] != 1 or any(s < 1 or s > 8 for s in smps):
        print("scale: ROUNDS must be >= 1 and SMPS must start at 1 and stay within 1..8 (kMaxCpus)", file=sys.stderr)
        return 2
    root = Path(__file__).resolve().parent.parent
    build = Path(args.build).resolve()
    logs = build / "logs" / "scale"
    logs.mkdir(parents=True, exist_ok=True)
    host_cpus = os.cpu_count() or 1
    busy = host_busy()
    busy_text = "unknown" if busy is None else f"{100 * busy:.0f}%"
    print(f"scale: {args.mode}: {args.rounds} rounds at smp {' '.join(map(str, smps))}, alternating with scale=limit; "
          f"host {host_cpus} cores, {busy_text} busy before the first boot; logs in {logs}")
    if busy is not None and busy > 0.25:
        print(f"scale: note: the host is busy ({busy_text} of its cores in use by others); speedups will read low")
    kinds = [args.mode] + ([] if args.no_limit else ["limit"])
    runs: list[Run] = []
    retried = 0
    started = time.monotonic()
    try:
        for rnd in range(1, args.rounds + 1):
            for smp in smps:
                for kind in kinds:
                    log = logs / f"{args.mode}-{kind}-r{rnd}-smp{smp}.log"

                    def attempt(kind=kind, smp=smp, log=log, rnd=rnd):
                        text = boot(root, build, kind, smp, log, f"workers={smp}" if kind != "limit" else "",
                                    args.timeout)
                        return parse_run(text, kind, rnd, smp, str(log))

                    run, used = run_once(attempt, args.retries)
                    retried += used
                    runs.append(run)
                    print(f"scale: round {rnd} {kind:7} workers={run.workers} cpus={run.cpus} ticks={run.ticks} "
                          f"checksum={run.checksum} compute={run.compute_us / 1000:.1f} ms peak={run.peak}")
    except ScaleError as e:
        print(f"scale: FAIL {e}")
        return 1
    summary = summarize(runs, args.mode, args.threshold, host_cpus)
    summary["host_busy_at_start"] = busy
    summary["retried_boots"] = retried
    summary["seconds"] = round(time.monotonic() - started, 1)
    for line in report(summary):
        print(line)
    out = Path(args.json) if args.json else logs / f"{args.mode}.json"
    out.write_text(json.dumps(summary, indent=1) + "\n")
    print(f"scale: summary: {out}")
    if args.svg:
        Path(args.svg).write_text(render_svg([summary]))
        print(f"scale: plot: {args.svg}")
    return 0 if summary["passed"] or args.threshold == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
