#!/usr/bin/env python3
"""browser-check: check the rendered book (build/book/html) the way a reader sees it.

    python3 tools/browser-check.py [--html build/book/html] [--chromium PATH] [--json OUT]

Two passes, Python standard library only:

1. Static (no browser): every page is parsed with html.parser. Each internal
   <a href>, <img src>, <object data> must name a file that exists; an
   href's #fragment must be an id (or <a name>) in the target page; an .svg
   must parse as XML (a truncated SVG does not load).
2. Layout (headless Chromium): one `chromium --headless
   --remote-debugging-pipe` process is driven over the DevTools protocol on
   fds 3/4 (NUL-terminated JSON, no websocket, no extra package). The
   viewport is 1280x900. On every page a JS snippet (Runtime.evaluate)
   returns JSON: images that did not load (naturalWidth 0), diagrams (img,
   object, svg inside the content column) whose box is wider than the
   column, and documentElement.scrollWidth against the viewport width.
   Then search.html?q=sscratch is loaded and polled until Sphinx's JS search
   lists a result (or 30 s pass).

Exit status: 0 all checks pass, 1 problems found (one line each),
77 skipped (no Chromium, or no rendered book): CTest's SKIP_RETURN_CODE.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

SKIP = 77
VIEWPORT = (1280, 900)
SEARCH_TERM = "sscratch"
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "chrome")


# --------------------------------------------------------------------------
# Static pass (pure: unit-tested by tests/harness/browser_check_test.py)

class PageParser(HTMLParser):
    """Collects a page's ids and its outgoing references."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids = set()
        self.refs = []  # (kind, url, line)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(a["id"])
        if tag == "a" and a.get("name"):
            self.ids.add(a["name"])
        line = self.getpos()[0]
        if tag == "a" and a.get("href") is not None:
            self.refs.append(("link", a["href"], line))
        elif tag == "img" and a.get("src") is not None:
            self.refs.append(("image", a["src"], line))
        elif tag == "object" and a.get("data") is not None:
            self.refs.append(("image", a["data"], line))

    handle_startendtag = handle_starttag


def parse_page(text):
    p = PageParser()
    p.feed(text)
    p.close()
    return p


def is_external(url):
    parts = urlsplit(url)
    return bool(parts.scheme and parts.scheme != "file") or url.startswith("//")


def resolve(page, url, root):
    """The file an internal url names from page (both Paths), and its fragment."""
    parts = urlsplit(url)
    frag = unquote(parts.fragment)
    if not parts.path:
        return page, frag
    target = (page.parent / unquote(parts.path)).resolve()
    if target.is_dir():
        target = target / "index.html"
    return target, frag


class IdCache:
    def __init__(self):
        self.cache = {}

    def ids(self, path):
        if path not in self.cache:
            try:
                self.cache[path] = parse_page(path.read_text(encoding="utf-8", errors="replace")).ids
            except OSError:
                self.cache[path] = None
        return self.cache[path]


def svg_loads(path):
    try:
        ET.parse(path)
        return True
    except (ET.ParseError, OSError):
        return False


def static_check(root, pages=None):
    """Problems found without a browser: list of 'page:line: message'."""
    root = Path(root).resolve()
    pages = sorted(root.rglob("*.html")) if pages is None else [Path(p).resolve() for p in pages]
    idc = IdCache()
    problems = []
    svg_ok = {}
    for page in pages:
        parsed = parse_page(page.read_text(encoding="utf-8", errors="replace"))
        idc.cache[page] = parsed.ids
        rel = page.relative_to(root)
        for kind, url, line in parsed.refs:
            url = url.strip()
            if is_external(url) or url.startswith(("mailto:", "javascript:", "data:")):
                continue
            target, frag = resolve(page, url, root)
            where = f"{rel}:{line}"
            if not target.is_file():
                what = "broken image" if kind == "image" else "broken link"
                problems.append(f"{where}: {what} {url!r}: no file {target.relative_to(root) if target.is_relative_to(root) else target}")
                continue
            if kind == "image":
                if target.suffix == ".svg":
                    if target not in svg_ok:
                        svg_ok[target] = svg_loads(target)
                    if not svg_ok[target]:
                        problems.append(f"{where}: broken image {url!r}: not well-formed SVG")
                continue
            if frag and target.suffix == ".html":
                ids = idc.ids(target)
                if ids is not None and frag not in ids:
                    problems.append(f"{where}: broken anchor {url!r}: no id {frag!r} in {target.relative_to(root)}")
    return problems


# --------------------------------------------------------------------------
# Layout pass: Chromium over the DevTools pipe

MEASURE_JS = r"""
(() => {
  const vw = window.innerWidth;
  const doc = document.documentElement;
  const col = document.querySelector('article[role="main"]') || document.querySelector('.content')
              || document.querySelector('div.body') || document.body;
  const colRect = col.getBoundingClientRect();
  const cs = getComputedStyle(col);
  const colInner = colRect.width - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
  const name = (el) => el.getAttribute('src') || el.getAttribute('data') ||
        (el.closest('[id]') ? '#' + el.closest('[id]').id : el.tagName.toLowerCase());
  const brokenImages = [];
  for (const img of document.images) {
    if (img.complete && img.naturalWidth === 0) brokenImages.push(img.getAttribute('src'));
  }
  const wide = [];
  const clipped = [];
  const shrunk = [];  // scaled below 60% of its own width: small text
  const diagrams = col.querySelectorAll('img, object, svg');
  for (const el of diagrams) {
    if (el.closest('svg') && el.closest('svg') !== el) continue;  // inner svg of an svg
    const r = el.getBoundingClientRect();
    if (r.width === 0) continue;
    let natural = el.tagName === 'IMG' ? el.naturalWidth : 0;
    if (r.width > colInner + 1 || r.right > colRect.right + 1) {
      wide.push({what: name(el), width: Math.round(r.width), column: Math.round(colInner)});
    }
    if (el.tagName === 'OBJECT') {
      // CSS can shrink the <object> box (max-width: 100%) while the SVG
      // inside keeps its own width: then the diagram is clipped, not scaled.
      // (--allow-file-access-from-files makes contentDocument readable.)
      const d = el.contentDocument;
      if (!d || !d.documentElement) { brokenImages.push(el.getAttribute('data')); continue; }
      const inner = Math.max(d.documentElement.getBoundingClientRect().width, d.documentElement.scrollWidth);
      if (inner > r.width + 1) {
        clipped.push({what: name(el), width: Math.round(inner), box: Math.round(r.width)});
      }
      const root = d.documentElement;
      if (root.width && root.width.baseVal) natural = root.width.baseVal.value;
    }
    if (natural && r.width < 0.6 * natural) {
      shrunk.push({what: name(el), width: Math.round(r.width), natural: Math.round(natural)});
    }
  }
  return JSON.stringify({
    viewport: vw, scrollWidth: doc.scrollWidth, column: Math.round(colInner),
    brokenImages, wide, clipped, shrunk, diagrams: diagrams.length,
    title: document.title,
  });
})()
"""

SEARCH_JS = r"""
(() => {
  const items = document.querySelectorAll('#search-results ul.search li');
  const status = document.querySelector('#search-results p.search-summary');
  return JSON.stringify({hits: items.length,
                         done: !!(status && status.textContent.trim()),
                         summary: status ? status.textContent.trim() : ''});
})()
"""


class ChromiumError(Exception):
    pass


class Chromium:
    """A headless Chromium driven over --remote-debugging-pipe (fds 3 and 4)."""

    def __init__(self, exe, width, height, timeout=30):
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="hb-chromium-")
        # Chromium reads commands on fd 3 and writes replies on fd 4. The
        # pipe ends are first moved above 9 so the child's dup2 onto 3 and 4
        # cannot clobber one with the other.
        import fcntl
        cmd_r, self.cmd_w = os.pipe()
        self.reply_r, reply_w = os.pipe()
        hi_r = fcntl.fcntl(cmd_r, fcntl.F_DUPFD_CLOEXEC, 10)
        hi_w = fcntl.fcntl(reply_w, fcntl.F_DUPFD_CLOEXEC, 10)
        os.close(cmd_r)
        os.close(reply_w)
        args = [exe, "--headless", "--remote-debugging-pipe", "--no-sandbox",
                "--disable-gpu", "--no-first-run", "--no-default-browser-check",
                "--disable-extensions", "--disable-dev-shm-usage", "--hide-scrollbars",
                "--allow-file-access-from-files",
                f"--user-data-dir={self.profile}", f"--window-size={width},{height}",
                "about:blank"]

        def fds():  # in the child: dup2 clears close-on-exec on 3 and 4
            os.dup2(hi_r, 3)
            os.dup2(hi_w, 4)

        # close_fds=False: Python's own fds are close-on-exec (PEP 446), and
        # closing everything but 0-2 would also close 3 and 4.
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, preexec_fn=fds, close_fds=False)
        os.close(hi_r)
        os.close(hi_w)
        self.buf = b""
        self.next_id = 0
        self.events = []
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        self.call("Page.enable", session=True)
        self.call("Emulation.setDeviceMetricsOverride", session=True, width=width, height=height,
                  deviceScaleFactor=1, mobile=False)

    def _read_message(self, deadline):
        import select
        while b"\0" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ChromiumError("timed out waiting for Chromium")
            ready, _, _ = select.select([self.reply_r], [], [], left)
            if not ready:
                continue
            chunk = os.read(self.reply_r, 1 << 16)
            if not chunk:
                raise ChromiumError(f"Chromium exited (status {self.proc.poll()})")
            self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def call(self, method, session=False, **params):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params}
        if session:
            msg["sessionId"] = self.session
        os.write(self.cmd_w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise ChromiumError(f"{method}: {reply['error'].get('message')}")
                return reply.get("result", {})
            if "method" in reply:
                self.events.append(reply)

    def wait_event(self, method, deadline):
        while True:
            for i, ev in enumerate(self.events):
                if ev["method"] == method:
                    del self.events[i]
                    return ev
            self.events.append(self._read_message(deadline))

    def navigate(self, url):
        self.events.clear()
        res = self.call("Page.navigate", session=True, url=url)
        if res.get("errorText"):
            raise ChromiumError(f"{url}: {res['errorText']}")
        self.wait_event("Page.loadEventFired", time.monotonic() + self.timeout)

    def evaluate(self, expr):
        res = self.call("Runtime.evaluate", session=True, expression=expr, returnByValue=True,
                        awaitPromise=True)
        if "exceptionDetails" in res:
            raise ChromiumError(f"JS: {res['exceptionDetails'].get('text')}")
        return json.loads(res["result"]["value"])

    def close(self):
        try:
            os.write(self.cmd_w, json.dumps({"id": 0, "method": "Browser.close"}).encode() + b"\0")
            self.proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()
        for fd in (self.cmd_w, self.reply_r):
            try:
                os.close(fd)
            except OSError:
                pass
        shutil.rmtree(self.profile, ignore_errors=True)


def layout_check(browser, root, pages, viewport_width, report, notes):
    problems = []
    for page in pages:
        rel = page.relative_to(root)
        browser.navigate(page.as_uri())
        m = browser.evaluate(MEASURE_JS)
        # An <object> SVG can still be loading after the page's load event on a
        # busy host: measure again (bounded) before calling an image broken.
        for _ in range(5):
            if not m["brokenImages"]:
                break
            time.sleep(0.5)
            m = browser.evaluate(MEASURE_JS)
        report[str(rel)] = m
        for src in m["brokenImages"]:
            problems.append(f"{rel}: image does not load in Chromium: {src!r}")
        for w in m["wide"]:
            problems.append(f"{rel}: diagram {w['what']!r} is {w['width']} px wide, "
                            f"the content column {w['column']} px")
        for c in m["clipped"]:
            problems.append(f"{rel}: diagram {c['what']!r} is clipped: its SVG is {c['width']} px wide "
                            f"in a {c['box']} px box (shrunk by CSS, not scaled)")
        for n in m["shrunk"]:
            notes.append(f"{rel}: diagram {n['what']!r} is drawn {n['width']} px wide, "
                         f"{100 * n['width'] // n['natural']}% of its own {n['natural']} px: its text is small")
        if m["scrollWidth"] > viewport_width:
            problems.append(f"{rel}: horizontal scroll at {viewport_width} px: "
                            f"document scrollWidth {m['scrollWidth']} px")
    return problems


def search_check(browser, root, term, timeout=30):
    search = root / "search.html"
    if not search.is_file():
        return [f"search.html: missing, cannot search for {term!r}"], None
    browser.navigate(search.as_uri() + "?q=" + term)
    deadline = time.monotonic() + timeout
    r = None
    while time.monotonic() < deadline:
        r = browser.evaluate(SEARCH_JS)
        if r["done"]:  # Sphinx adds hits one by one, then writes the summary
            break
        time.sleep(0.2)
    if not r or r["hits"] == 0:
        why = r["summary"] if r and r["summary"] else "no result list after %d s" % timeout
        return [f"search.html?q={term}: no results ({why})"], r
    return [], r


def find_chromium(explicit):
    if explicit:
        return explicit if shutil.which(explicit) or Path(explicit).is_file() else None
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--html", default="build/book/html", help="rendered book (default build/book/html)")
    ap.add_argument("--chromium", help="browser executable (default: chromium on PATH)")
    ap.add_argument("--json", help="write every page's measurements here")
    ap.add_argument("--static-only", action="store_true", help="skip the Chromium pass")
    args = ap.parse_args(argv)

    root = Path(args.html).resolve()
    if not (root / "index.html").is_file():
        print(f"browser-check: SKIP no rendered book at {root} (run make book)")
        return SKIP
    exe = None if args.static_only else find_chromium(args.chromium)
    if not args.static_only and not exe:
        print("browser-check: SKIP no chromium on PATH (scripts/install-deps --browser)")
        return SKIP

    t0 = time.monotonic()
    pages = sorted(root.rglob("*.html"))
    problems = static_check(root, pages)
    report = {}
    notes = []  # reported, not failed: readability, not breakage
    search = None
    if not args.static_only:
        # The layout pass is for reader pages; Sphinx's own helper pages
        # (search, genindex) are measured too: a reader sees them.
        browser = Chromium(exe, *VIEWPORT)
        try:
            problems += layout_check(browser, root, pages, VIEWPORT[0], report, notes)
            found, search = search_check(browser, root, SEARCH_TERM)
            problems += found
        except ChromiumError as e:
            problems.append(f"chromium: {e}")
        finally:
            browser.close()
    elapsed = time.monotonic() - t0
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({"pages": report, "search": search,
                                               "problems": problems, "notes": notes}, indent=1))
    for n in notes:
        print(f"browser-check: note {n}")
    for p in problems:
        print(f"browser-check: FAIL {p}")
    hits = f", search {SEARCH_TERM!r}: {search['hits']} result(s)" if search else ""
    verdict = "ok" if not problems else f"{len(problems)} problem(s)"
    print(f"browser-check: {verdict}: {len(pages)} pages{hits}, {elapsed:.1f} s")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
