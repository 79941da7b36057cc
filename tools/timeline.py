#!/usr/bin/env python3
"""Draws a kernel trace as an SVG timeline: one lane per CPU, time on x.

Input: a serial log holding the ``TRACE:`` lines that ``trace::dump()``
(src/kernel/trace.cpp) prints, e.g. a gate's ``build/logs/<chapter>-smp<k>/uart.log``::

    TRACE: cpu1 t=123456 switch task=5
    TRACE: cpu1 t=123460 steal victim=0 tasks=2
    TRACE: cpu0 t=123470 ipi-send target=1
    TRACE: cpu1 records=17 dropped=0

Output: an SVG (readable at 900 px wide) with, per lane, coloured spans for
the task running (one colour per task id) and grey spans for idle; arrows
from each IPI send to the receive on the target lane that took it; diamonds
for steals (with the victim), crosses for TLB shootdowns; a legend; and the
per-CPU record/dropped counts under the lane labels.

    tools/timeline.py build/logs/07-proofs-smp2/uart.log -o timeline.svg

Standard library only (it runs under the system python3, like the book).
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

# QEMU virt's timebase (the device tree's timebase-frequency): ticks per second.
DEFAULT_TIMEBASE_HZ = 10_000_000

EVENTS = (
    "switch",
    "idle-enter",
    "idle-leave",
    "steal",
    "ipi-send",
    "ipi-recv",
    "shootdown-start",
    "shootdown-ack",
    "begin",
)

ANSI_RE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
RECORD_RE = re.compile(
    r"TRACE: cpu(?P<cpu>\d+) t=(?P<t>\d+) (?P<kind>[a-z-]+)(?P<args>(?: [a-z]+=\d+)*)\s*$"
)
SUMMARY_RE = re.compile(r"TRACE: cpu(?P<cpu>\d+) records=(?P<records>\d+) dropped=(?P<dropped>\d+)\s*$")
ARG_RE = re.compile(r" ([a-z]+)=(\d+)")


class TimelineError(Exception):
    """The log cannot be drawn (no TRACE lines, an unknown event, ...)."""


@dataclass(frozen=True)
class Record:
    cpu: int
    t: int
    kind: str
    args: dict = field(default_factory=dict, compare=False, hash=False)


@dataclass
class Trace:
    records: dict[int, list[Record]] = field(default_factory=dict)  # per CPU, in log order
    summary: dict[int, tuple[int, int]] = field(default_factory=dict)  # cpu -> (records, dropped)

    @property
    def cpus(self) -> list[int]:
        return sorted(set(self.records) | set(self.summary))

    def all_records(self) -> list[Record]:
        return [r for cpu in self.cpus for r in self.records.get(cpu, [])]


def parse_trace(lines) -> Trace:
    """Reads TRACE lines (anything else in the log is ignored). Raises
    TimelineError if there are none, or one names an unknown event, or a
    CPU's summary disagrees with its record lines."""
    trace = Trace()
    seen = 0
    for n, raw in enumerate(lines, start=1):
        line = ANSI_RE.sub("", raw).rstrip("\r\n")
        at = line.find("TRACE: ")
        if at < 0:
            continue
        line = line[at:]
        m = SUMMARY_RE.match(line)
        if m:
            trace.summary[int(m["cpu"])] = (int(m["records"]), int(m["dropped"]))
            seen += 1
            continue
        m = RECORD_RE.match(line)
        if not m:
            raise TimelineError(f"line {n}: not a TRACE record: {line!r}")
        if m["kind"] not in EVENTS:
            raise TimelineError(f"line {n}: unknown trace event '{m['kind']}'")
        args = {k: int(v) for k, v in ARG_RE.findall(m["args"])}
        cpu = int(m["cpu"])
        trace.records.setdefault(cpu, []).append(Record(cpu, int(m["t"]), m["kind"], args))
        seen += 1
    if seen == 0:
        raise TimelineError("no TRACE lines in the log (was the trace selftest run and its dump printed?)")
    for cpu, (count, _dropped) in trace.summary.items():
        got = len(trace.records.get(cpu, []))
        if got != count:
            raise TimelineError(f"cpu{cpu}: summary says {count} records, the log has {got}")
    return trace


# --------------------------------------------------------------------------
# What to draw, independent of SVG (tested on its own)


@dataclass(frozen=True)
class Span:
    cpu: int
    start: int
    end: int
    task: int | None  # None: idle


@dataclass(frozen=True)
class Arrow:
    src_cpu: int
    t_send: int
    dst_cpu: int
    t_recv: int


def time_range(trace: Trace) -> tuple[int, int]:
    ts = [r.t for r in trace.all_records()]
    if not ts:
        return (0, 1)
    lo, hi = min(ts), max(ts)
    return (lo, hi if hi > lo else lo + 1)


def spans(trace: Trace) -> list[Span]:
    """Per CPU: a task runs from its `switch` (or from `begin`, the task that
    ran when the window opened) until the CPU's next switch or
    idle-enter; idle lasts from idle-enter to idle-leave. A CPU whose first
    state record is idle-leave was idle since the window began; whatever
    still runs at the end runs to the end of the window."""
    t0, t1 = time_range(trace)
    out = []
    for cpu in trace.cpus:
        state = None  # ("task", id) / ("idle",)
        since = t0
        first = True
        for r in trace.records.get(cpu, []):
            if r.kind not in ("switch", "begin", "idle-enter", "idle-leave"):
                continue
            if first and r.kind == "idle-leave":
                state, since = ("idle",), t0
            first = False
            if state is not None:
                out.append(Span(cpu, since, r.t, state[1] if state[0] == "task" else None))
            if r.kind in ("switch", "begin"):
                state, since = ("task", r.args.get("task", -1)), r.t
            elif r.kind == "idle-enter":
                state, since = ("idle",), r.t
            else:
                state = None
        if state is not None:
            out.append(Span(cpu, since, t1, state[1] if state[0] == "task" else None))
    return out


def arrows(trace: Trace) -> list[Arrow]:
    """Each IPI send to the first receive on its target at or after it.
    Several sends may land on one receive (the doorbell coalesced them); a
    send with no receive after it gets no arrow."""
    recvs: dict[int, list[int]] = {}
    for r in trace.all_records():
        if r.kind == "ipi-recv":
            recvs.setdefault(r.cpu, []).append(r.t)
    for ts in recvs.values():
        ts.sort()
    out = []
    for r in trace.all_records():
        if r.kind != "ipi-send":
            continue
        dst = r.args.get("target")
        later = [t for t in recvs.get(dst, []) if t >= r.t]
        if later:
            out.append(Arrow(r.cpu, r.t, dst, later[0]))
    return out


# --------------------------------------------------------------------------
# SVG

WIDTH = 900
LEFT = 110  # lane labels
RIGHT = 20
TOP = 64  # title and legend
LANE_H = 34
LANE_GAP = 14
AXIS_H = 40
PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#76b7b2", "#edc948", "#ff9da7", "#9c755f", "#e15759"]
IDLE = "#d9d9d9"
IPI = "#c0392b"
STEAL = "#1b7837"
SHOOT = "#6a3d9a"


def task_colour(task: int) -> str:
    return PALETTE[task % len(PALETTE)]


def nice_step(span: float, target: int = 8) -> float:
    """A 1-2-5 step that cuts `span` into about `target` axis ticks."""
    raw = max(span / target, 1e-9)
    mag = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5):
        if raw <= m * mag:
            return m * mag
    return 10 * mag


def render_svg(trace: Trace, title: str = "Trace", timebase_hz: int = DEFAULT_TIMEBASE_HZ) -> str:
    cpus = trace.cpus
    lane_y = {cpu: TOP + i * (LANE_H + LANE_GAP) for i, cpu in enumerate(cpus)}
    height = TOP + len(cpus) * (LANE_H + LANE_GAP) + AXIS_H
    t0, t1 = time_range(trace)
    plot_w = WIDTH - LEFT - RIGHT

    def x(t: int) -> float:
        return LEFT + (t - t0) * plot_w / (t1 - t0)

    def mid(cpu: int) -> float:
        return lane_y[cpu] + LANE_H / 2

    o = []
    o.append(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" '
        f'height="{height}" font-family="sans-serif" font-size="12" class="hb-timeline">'
    )
    o.append(f"<title>{escape(title)}</title>")
    o.append(
        '<defs><marker id="hb-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        f'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{IPI}"/></marker></defs>'
    )
    o.append(f'<rect x="0" y="0" width="{WIDTH}" height="{height}" fill="white"/>')
    o.append(f'<text x="{LEFT}" y="18" font-size="14" font-weight="bold">{escape(title)}</text>')

    # Legend.
    lx, ly = LEFT, 40
    items = [
        ("rect", task_colour(0), "task running (colour = task id)"),
        ("rect", IDLE, "idle"),
        ("arrow", IPI, "IPI send \u2192 receive"),
        ("diamond", STEAL, "steal"),
        ("cross", SHOOT, "TLB shootdown"),
    ]
    for kind, colour, label in items:
        if kind == "rect":
            o.append(f'<rect x="{lx}" y="{ly - 9}" width="18" height="10" fill="{colour}"/>')
        elif kind == "arrow":
            o.append(
                f'<line x1="{lx}" y1="{ly - 4}" x2="{lx + 18}" y2="{ly - 4}" stroke="{colour}" '
                'stroke-width="1.5" marker-end="url(#hb-arrow)"/>'
            )
        elif kind == "diamond":
            o.append(f'<path d="M{lx + 9},{ly - 10} l6,6 l-6,6 l-6,-6 z" fill="{colour}"/>')
        else:
            o.append(
                f'<path d="M{lx + 4},{ly - 9} l10,10 M{lx + 14},{ly - 9} l-10,10" stroke="{colour}" stroke-width="2"/>'
            )
        o.append(f'<text x="{lx + 24}" y="{ly}">{escape(label)}</text>')
        lx += 24 + 7 * len(label) + 18

    # Lanes.
    for cpu in cpus:
        y = lane_y[cpu]
        o.append(f'<rect x="{LEFT}" y="{y}" width="{plot_w}" height="{LANE_H}" fill="#f7f7f7" stroke="#bbbbbb"/>')
        o.append(f'<text x="8" y="{y + 15}" font-weight="bold">cpu{cpu}</text>')
        rec, dropped = trace.summary.get(cpu, (len(trace.records.get(cpu, [])), 0))
        o.append(f'<text x="8" y="{y + 29}" font-size="10" fill="#555555">{rec} rec, {dropped} dropped</text>')
        if not trace.records.get(cpu):
            o.append(f'<text x="{LEFT + 6}" y="{y + LANE_H / 2 + 4}" font-size="10" fill="#777777">no records</text>')
    for s in spans(trace):
        y = lane_y[s.cpu]
        x0, x1 = x(s.start), x(s.end)
        w = max(x1 - x0, 1.0)
        if s.task is None:
            o.append(
                f'<rect x="{x0:.1f}" y="{y + 8}" width="{w:.1f}" height="{LANE_H - 16}" fill="{IDLE}">'
                f"<title>cpu{s.cpu} idle</title></rect>"
            )
        else:
            o.append(
                f'<rect x="{x0:.1f}" y="{y + 3}" width="{w:.1f}" height="{LANE_H - 6}" fill="{task_colour(s.task)}">'
                f"<title>cpu{s.cpu} task {s.task}</title></rect>"
            )
            if w > 22:
                o.append(
                    f'<text x="{x0 + 3:.1f}" y="{y + LANE_H / 2 + 4}" font-size="10" fill="white">t{s.task}</text>'
                )

    # Steals and shootdowns.
    for r in trace.all_records():
        cx, cy = x(r.t), mid(r.cpu)
        if r.kind == "steal":
            victim, n = r.args.get("victim", -1), r.args.get("tasks", 0)
            o.append(
                f'<path d="M{cx:.1f},{cy - 9} l7,9 l-7,9 l-7,-9 z" fill="{STEAL}" stroke="white">'
                f"<title>cpu{r.cpu} stole {n} task(s) from cpu{victim}</title></path>"
            )
            o.append(f'<text x="{cx + 8:.1f}" y="{lane_y[r.cpu] - 2}" font-size="10" fill="{STEAL}">'
                     f"\u2190cpu{victim} \u00d7{n}</text>")
        elif r.kind in ("shootdown-start", "shootdown-ack"):
            o.append(
                f'<path d="M{cx - 5:.1f},{cy - 5} l10,10 M{cx + 5:.1f},{cy - 5} l-10,10" stroke="{SHOOT}" '
                f'stroke-width="2"><title>cpu{r.cpu} {r.kind}</title></path>'
            )

    # IPI arrows, drawn last so they stay visible over the spans.
    for a in arrows(trace):
        xs, xr = x(a.t_send), x(a.t_recv)
        ys, yr = mid(a.src_cpu), mid(a.dst_cpu)
        yr += -LANE_H / 2 + 2 if yr > ys else LANE_H / 2 - 2
        us = (a.t_recv - a.t_send) * 1e6 / timebase_hz
        o.append(f'<circle cx="{xs:.1f}" cy="{ys:.1f}" r="2.5" fill="{IPI}"/>')
        o.append(
            f'<line x1="{xs:.1f}" y1="{ys:.1f}" x2="{xr:.1f}" y2="{yr:.1f}" stroke="{IPI}" stroke-width="1.3" '
            f'marker-end="url(#hb-arrow)"><title>IPI cpu{a.src_cpu} \u2192 cpu{a.dst_cpu}: {us:.1f} \u00b5s'
            "</title></line>"
        )

    # Time axis, in microseconds from the first record.
    ay = TOP + len(cpus) * (LANE_H + LANE_GAP)
    o.append(f'<line x1="{LEFT}" y1="{ay}" x2="{LEFT + plot_w}" y2="{ay}" stroke="#333333"/>')
    span_us = (t1 - t0) * 1e6 / timebase_hz
    step = nice_step(span_us)
    k = 0
    while k * step <= span_us + 1e-9:
        tx = LEFT + (k * step) / span_us * plot_w
        label = f"{k * step:g}"
        o.append(f'<line x1="{tx:.1f}" y1="{ay}" x2="{tx:.1f}" y2="{ay + 5}" stroke="#333333"/>')
        o.append(f'<text x="{tx:.1f}" y="{ay + 18}" text-anchor="middle" font-size="10">{label}</text>')
        k += 1
    o.append(f'<text x="{LEFT + plot_w}" y="{ay + 34}" text-anchor="end" font-size="11">'
             "\u00b5s since the first record</text>")
    o.append("</svg>")
    return "\n".join(o) + "\n"


def render_log(log: Path, title: str | None = None, timebase_hz: int = DEFAULT_TIMEBASE_HZ) -> str:
    """The SVG for a serial log file (raises TimelineError)."""
    text = log.read_text(encoding="utf-8", errors="replace")
    trace = parse_trace(text.splitlines())
    return render_svg(trace, title or f"Trace: {log}", timebase_hz)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("log", type=Path, help="serial log with TRACE: lines (e.g. build/logs/07-proofs-smp2/uart.log)")
    p.add_argument("-o", "--output", type=Path, help="SVG file to write (default: stdout)")
    p.add_argument("--title", help="title drawn above the lanes")
    p.add_argument("--timebase", type=int, default=DEFAULT_TIMEBASE_HZ, help="timer ticks per second")
    args = p.parse_args(argv)
    try:
        svg = render_log(args.log, args.title, args.timebase)
    except (OSError, TimelineError) as e:
        print(f"timeline: {e}", file=sys.stderr)
        return 1
    if args.output:
        args.output.write_text(svg, encoding="utf-8")
    else:
        sys.stdout.write(svg)
    return 0


if __name__ == "__main__":
    sys.exit(main())
