"""tools/scale.py: the parsing, the judgement and the plot, without QEMU.

Run by CTest (`tools-scale`, label host): `python3 <this file>` (it imports toolmod from its own folder).
"""

import unittest

from toolmod import load

scale = load("scale")


def line(mode, n, us, peak=None, checksum=216816):
    peak = n if peak is None else peak
    return (f"KINIT: noise\nSCALE: mode={mode} workers={n} cpus={n} ticks=3 checksum={checksum} "
            f"compute_us={us} peak={peak} parallel_us={us // 2 if peak > 1 else 0}\n")


class ParseRun(unittest.TestCase):
    def test_good_line(self):
        r = scale.parse_run(line("process", 2, 1000), "process", 1, 2)
        self.assertEqual((r.workers, r.cpus, r.compute_us, r.peak), (2, 2, 1000, 2))

    def test_wrong_checksum_is_refused(self):
        with self.assertRaisesRegex(scale.ScaleError, "checksum 1, want 216816"):
            scale.parse_run(line("process", 1, 1000, checksum=1), "process", 1, 1)

    def test_kernel_failure_is_reported_with_its_reason(self):
        text = "KSELFTEST: thread scale FAIL the timed sections of 2 threads never overlapped\n"
        with self.assertRaisesRegex(scale.ScaleError, "never overlapped"):
            scale.parse_run(text, "thread", 1, 2)

    def test_serialized_threads_are_refused_even_if_the_kernel_printed_a_figure(self):
        with self.assertRaisesRegex(scale.ScaleError, "serialized"):
            scale.parse_run(line("thread", 2, 1000, peak=1), "thread", 1, 2)

    def test_workers_must_match_harts(self):
        with self.assertRaisesRegex(scale.ScaleError, "saw 2 cpus"):
            scale.parse_run(line("process", 2, 1000), "process", 1, 4)

    def test_missing_line(self):
        with self.assertRaisesRegex(scale.ScaleError, "no SCALE line"):
            scale.parse_run("KINIT: hello\n", "limit", 1, 1)


def runs(mode, times):
    """times: {round: {smp: us}} for `mode` and for limit (limit 5% faster)."""
    out = []
    for rnd, per in times.items():
        for smp, us in per.items():
            out.append(scale.Run(mode, rnd, smp, smp, smp, 0, 216816, us, smp, 0))
            out.append(scale.Run("limit", rnd, smp, smp, smp, 0, 216816, int(us * 0.95), smp, 0))
    return out


class RunOnce(unittest.TestCase):
    def attempts(self, *results):
        it = iter(results)

        def attempt():
            r = next(it)
            if isinstance(r, Exception):
                raise r
            return r
        return attempt

    def test_serialized_boot_is_retried_then_counted(self):
        notes = []
        serial = scale.ScaleError("thread at smp 2: the threads' timed sections never overlapped (a serialized runtime)")
        run, used = scale.run_once(self.attempts(serial, "run"), 2, notes.append)
        self.assertEqual((run, used), ("run", 1))
        self.assertIn("retry 1 of 2", notes[0])

    def test_other_failures_and_the_last_retry_are_raised(self):
        with self.assertRaisesRegex(scale.ScaleError, "checksum"):
            scale.run_once(self.attempts(scale.ScaleError("checksum 1"), "run"), 2, lambda _: None)
        serial = scale.ScaleError("never overlapped")
        with self.assertRaisesRegex(scale.ScaleError, "never overlapped"):
            scale.run_once(self.attempts(serial, serial), 1, lambda _: None)
        with self.assertRaisesRegex(scale.ScaleError, "never overlapped"):
            scale.run_once(self.attempts(serial), 0, lambda _: None)  # the default: no retry


class Summarize(unittest.TestCase):
    def test_speedup_is_the_median_of_per_round_ratios(self):
        s = scale.summarize(runs("process", {1: {1: 400, 2: 200}, 2: {1: 400, 2: 250}, 3: {1: 400, 2: 210}}),
                            "process", 1.6, 2)
        self.assertAlmostEqual(s["judged_speedup"], 400 / 210)
        self.assertTrue(s["passed"])
        self.assertEqual(s["process"]["median_us"]["2"], 210)
        self.assertAlmostEqual(s["fraction_of_limit"]["2"], 1.0, places=2)  # int() rounding of the limit times

    def test_below_threshold_fails(self):
        s = scale.summarize(runs("thread", {1: {1: 400, 2: 390}}), "thread", 1.6, 2)
        self.assertFalse(s["passed"])
        self.assertTrue(any("FAIL" in l for l in scale.report(s)))

    def test_four_harts_on_two_cores_are_reported_not_judged(self):
        s = scale.summarize(runs("process", {1: {1: 400, 2: 200, 4: 200}}), "process", 1.6, 2)
        self.assertTrue(s["passed"])  # judged on 1->2 only
        self.assertTrue(any("cannot show more than 2x" in l for l in scale.report(s)))


class Plot(unittest.TestCase):
    def test_svg_has_ideal_limit_and_mode(self):
        s = scale.summarize(runs("process", {1: {1: 400, 2: 200, 4: 200}}), "process", 1.6, 2)
        svg = scale.render_svg([s])
        self.assertTrue(svg.startswith("<svg"))
        for label in ("ideal (linear)", "limit (bare harts)", "processes", "2.00x"):
            self.assertIn(label, svg)


class Usage(unittest.TestCase):
    def test_bad_smps_exit_2(self):
        self.assertEqual(scale.main(["--mode", "process", "--smps", "2 4"]), 2)
        self.assertEqual(scale.main(["--mode", "process", "--smps", "x"]), 2)
        self.assertEqual(scale.main(["--mode", "thread", "--rounds", "0"]), 2)


if __name__ == "__main__":
    unittest.main()
