"""tools/browser-check.py: the static pass (links, anchors, images) on tiny fixture trees.

Run by CTest (`tools-browser-check`, label host): no browser, no rendered book.
"""

import tempfile
import unittest
from pathlib import Path

from toolmod import load

bc = load("browser_check", "browser-check.py")

SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>'


class Tree:
    """A temporary html tree: Tree({"index.html": "...", "a/b.html": "..."})."""

    def __init__(self, files):
        self.dir = tempfile.TemporaryDirectory()
        self.root = Path(self.dir.name)
        for name, text in files.items():
            p = self.root / name
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(text)

    def check(self):
        return bc.static_check(self.root)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.dir.cleanup()


def page(body):
    return f"<!doctype html><html><body>\n{body}\n</body></html>"


class Parse(unittest.TestCase):
    def test_ids_and_refs(self):
        p = bc.parse_page('<p id="x"><a name="y" href="b.html#z">t</a><img src="i.png"/>'
                          '<object data="d.svg" type="image/svg+xml"></object></p>')
        self.assertEqual(p.ids, {"x", "y"})
        self.assertEqual([(k, u) for k, u, _ in p.refs],
                         [("link", "b.html#z"), ("image", "i.png"), ("image", "d.svg")])

    def test_external(self):
        for url in ("https://example.org/", "http://x", "//cdn/x.js"):
            self.assertTrue(bc.is_external(url), url)
        for url in ("a.html", "../a.html#x", "#x", "_images/d.svg"):
            self.assertFalse(bc.is_external(url), url)


class StaticCheck(unittest.TestCase):
    def test_good_tree_passes(self):
        with Tree({
            "index.html": page('<a href="ch/one.html#sec">1</a> <a href="#top">top</a> <h1 id="top">T</h1>'
                               ' <a href="https://example.org/missing">ext</a> <a href="ch/">dir</a>'
                               ' <a href="mailto:a@b">m</a>'),
            "ch/index.html": page('<a href="../index.html">up</a>'),
            "ch/one.html": page('<section id="sec"><object data="../_images/g.svg"></object>'
                                '<img src="../_images/p%20q.svg"></section>'),
            "_images/g.svg": SVG,
            "_images/p q.svg": SVG,
        }) as t:
            self.assertEqual(t.check(), [])

    def test_missing_file(self):
        with Tree({"index.html": page('<a href="nope.html">x</a>')}) as t:
            (problem,) = t.check()
            self.assertIn("index.html:2: broken link 'nope.html'", problem)

    def test_missing_anchor_in_other_page(self):
        with Tree({"index.html": page('<a href="b.html#gone">x</a>'), "b.html": page('<p id="here">')}) as t:
            (problem,) = t.check()
            self.assertIn("broken anchor 'b.html#gone': no id 'gone' in b.html", problem)

    def test_missing_anchor_in_same_page(self):
        with Tree({"index.html": page('<a href="#gone">x</a><p id="here">')}) as t:
            (problem,) = t.check()
            self.assertIn("broken anchor '#gone'", problem)

    def test_anchor_by_a_name(self):
        with Tree({"index.html": page('<a href="#old">x</a><a name="old"></a>')}) as t:
            self.assertEqual(t.check(), [])

    def test_quoted_fragment(self):
        with Tree({"index.html": page('<a href="#a%20b">x</a><p id="a b">')}) as t:
            self.assertEqual(t.check(), [])

    def test_missing_image_and_object(self):
        with Tree({"index.html": page('<img src="_images/a.png"><object data="_images/g.svg"></object>')}) as t:
            problems = t.check()
            self.assertEqual(len(problems), 2)
            self.assertTrue(all("broken image" in p for p in problems), problems)

    def test_truncated_svg_does_not_load(self):
        with Tree({"index.html": page('<img src="g.svg">'), "g.svg": SVG[:30]}) as t:
            (problem,) = t.check()
            self.assertIn("not well-formed SVG", problem)

    def test_query_string_is_ignored(self):
        with Tree({"index.html": page('<a href="search.html?q=x">s</a>'), "search.html": page("")}) as t:
            self.assertEqual(t.check(), [])


class Skip(unittest.TestCase):
    def test_no_book_skips_with_77(self):
        with tempfile.TemporaryDirectory() as d:
            self.assertEqual(bc.main(["--html", d]), bc.SKIP)

    def test_no_browser_skips_with_77(self):
        with Tree({"index.html": page("")}) as t:
            self.assertEqual(bc.main(["--html", str(t.root), "--chromium", "/nonexistent/chromium"]), bc.SKIP)

    def test_static_only_needs_no_browser(self):
        with Tree({"index.html": page('<a href="x.html">x</a>')}) as t:
            self.assertEqual(bc.main(["--html", str(t.root), "--static-only"]), 1)


if __name__ == "__main__":
    unittest.main()
