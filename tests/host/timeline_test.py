"""tools/timeline.py: the TRACE parser and the SVG it draws (CTest
`timeline-tool`, label host; python3 -m unittest, standard library only)."""

import sys
import unittest
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))

import timeline  # noqa: E402

SVG = "{http://www.w3.org/2000/svg}"

# A two-CPU window: cpu0 kicks cpu1 (idle since the window began), cpu1
# wakes, steals two tasks and runs them; a second send coalesces.
LOG = """\
OpenSBI v1.1
Hartbook chapter 07
TRACE: cpu0 t=990 begin task=0
TRACE: cpu0 t=1000 ipi-send target=1
TRACE: cpu0 t=1010 ipi-send target=1
TRACE: cpu0 t=1500 switch task=3
TRACE: cpu0 records=4 dropped=0
\x1b[0mTRACE: cpu1 t=1200 ipi-recv reasons=1\r
TRACE: cpu1 t=1210 idle-leave
TRACE: cpu1 t=1220 steal victim=0 tasks=2
TRACE: cpu1 t=1230 switch task=7
TRACE: cpu1 t=1400 switch task=8
TRACE: cpu1 t=1600 idle-enter
TRACE: cpu1 records=6 dropped=4
KSELFTEST: trace ring ok
"""


class ParseTest(unittest.TestCase):
    def test_records_and_summaries(self):
        t = timeline.parse_trace(LOG.splitlines())
        self.assertEqual(t.cpus, [0, 1])
        self.assertEqual(len(t.records[0]), 4)
        self.assertEqual(len(t.records[1]), 6)
        self.assertEqual(t.summary[1], (6, 4))
        steal = t.records[1][2]
        self.assertEqual((steal.kind, steal.args), ("steal", {"victim": 0, "tasks": 2}))
        self.assertEqual(t.records[0][1].args, {"target": 1})
        self.assertEqual((t.records[0][0].kind, t.records[0][0].args), ("begin", {"task": 0}))

    def test_no_trace_lines_is_an_error(self):
        with self.assertRaisesRegex(timeline.TimelineError, "no TRACE lines"):
            timeline.parse_trace(["KSELFTEST: newtypes ok", "bye"])

    def test_unknown_event_is_an_error(self):
        with self.assertRaisesRegex(timeline.TimelineError, "unknown trace event 'teleport'"):
            timeline.parse_trace(["TRACE: cpu0 t=5 teleport"])

    def test_summary_must_match_the_records(self):
        with self.assertRaisesRegex(timeline.TimelineError, "summary says 2 records"):
            timeline.parse_trace(["TRACE: cpu0 t=5 idle-enter", "TRACE: cpu0 records=2 dropped=0"])

    def test_garbled_line_is_an_error(self):
        with self.assertRaisesRegex(timeline.TimelineError, "not a TRACE record"):
            timeline.parse_trace(["TRACE: cpu0 t=x switch"])


class LayoutTest(unittest.TestCase):
    def setUp(self):
        self.trace = timeline.parse_trace(LOG.splitlines())

    def test_spans(self):
        spans = timeline.spans(self.trace)
        cpu1 = [(s.start, s.end, s.task) for s in spans if s.cpu == 1]
        # idle since the window began (its first state record is idle-leave),
        # task 7 until task 8, task 8 until idle, idle to the end.
        self.assertEqual(cpu1, [(990, 1210, None), (1230, 1400, 7), (1400, 1600, 8), (1600, 1600, None)])
        # begin: task 0 ran when the window opened, until task 3.
        cpu0 = [(s.start, s.end, s.task) for s in spans if s.cpu == 0]
        self.assertEqual(cpu0, [(990, 1500, 0), (1500, 1600, 3)])

    def test_arrows_go_from_send_to_the_next_receive(self):
        arrows = timeline.arrows(self.trace)
        self.assertEqual([(a.src_cpu, a.t_send, a.dst_cpu, a.t_recv) for a in arrows],
                         [(0, 1000, 1, 1200), (0, 1010, 1, 1200)])

    def test_send_without_receive_has_no_arrow(self):
        t = timeline.parse_trace(["TRACE: cpu0 t=1 ipi-send target=1", "TRACE: cpu1 t=0 ipi-recv reasons=1"])
        self.assertEqual(timeline.arrows(t), [])

    def test_nice_step(self):
        self.assertEqual(timeline.nice_step(80), 10)
        self.assertEqual(timeline.nice_step(150), 20)
        self.assertEqual(timeline.nice_step(3000), 500)


class RenderTest(unittest.TestCase):
    def test_svg_is_well_formed_and_has_every_part(self):
        svg = timeline.render_svg(timeline.parse_trace(LOG.splitlines()), "test")
        root = ET.fromstring(svg)
        self.assertEqual(root.tag, SVG + "svg")
        self.assertEqual(root.get("width"), "900")
        texts = [e.text or "" for e in root.iter(SVG + "text")]
        self.assertIn("cpu0", texts)
        self.assertIn("cpu1", texts)
        self.assertIn("6 rec, 4 dropped", texts)
        for legend in ("idle", "steal", "IPI send \u2192 receive", "TLB shootdown"):
            self.assertIn(legend, texts)
        titles = [e.text or "" for e in root.iter(SVG + "title")]
        self.assertIn("cpu1 stole 2 task(s) from cpu0", titles)
        self.assertIn("cpu1 task 7", titles)
        self.assertEqual(sum(1 for e in root.iter(SVG + "line") if e.get("marker-end")), 2 + 1)  # + legend
        # Everything drawn lies inside the 900 px width.
        for e in root.iter(SVG + "rect"):
            self.assertLessEqual(float(e.get("x")) + float(e.get("width")), 900.5)

    def test_cli_writes_the_file(self):
        import tempfile

        with tempfile.TemporaryDirectory() as d:
            log, out = Path(d) / "uart.log", Path(d) / "t.svg"
            log.write_text(LOG, encoding="utf-8")
            self.assertEqual(timeline.main([str(log), "-o", str(out), "--title", "x"]), 0)
            ET.fromstring(out.read_text(encoding="utf-8"))
            empty = Path(d) / "empty.log"
            empty.write_text("nothing\n", encoding="utf-8")
            self.assertEqual(timeline.main([str(empty), "-o", str(out)]), 1)


if __name__ == "__main__":
    unittest.main()
