# Sphinx configuration for the Hartbook book.
#
# Sources live in book/; this file sits at the repo root so that paths in the
# book (hb-code) are paths from the root. Build it with CMake
# (`cmake --build build --target book`), which first runs every chapter gate
# and Doxygen, or by hand once those have run:
#
#   HARTBOOK_BUILD_DIR=build sphinx-build -W -c . book build/book/html
#
# Call `sphinx-build` (Debian's, /usr/bin/python3 with breathe and furo), not
# `python3 -m sphinx` from another interpreter.
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT / "book" / "_ext"))

# Where the gate logs and the Doxygen XML are: CMake passes its binary dir.
BUILD_DIR = Path(os.environ.get("HARTBOOK_BUILD_DIR", ROOT / "build")).resolve()

project = "Hartbook"
author = "The Hartbook authors"
copyright = "Hartbook authors"
release = version = "0.1"

extensions = [
    "breathe",
    "sphinx.ext.graphviz",
    "hartbook",
]

hartbook_build_dir = str(BUILD_DIR)

# Sources: everything under book/ except the extension itself.
master_doc = "index"
exclude_patterns = ["_ext", "_build", "**/.*"]
templates_path = []
nitpicky = False

# Code: the kernel is C++; literal blocks without a language are plain text.
primary_domain = "cpp"
highlight_language = "none"
pygments_style = "friendly"
pygments_dark_style = "monokai"

# API reference from Doxygen's XML (cmake/Doxyfile.in, run by the book target).
breathe_projects = {"hartbook": str(BUILD_DIR / "doxygen" / "xml")}
breathe_default_project = "hartbook"
breathe_domain_by_extension = {"hpp": "cpp", "cpp": "cpp", "h": "cpp"}
breathe_default_members = ("members",)
breathe_show_include = True
breathe_show_define_initializer = True
breathe_show_enumvalue_initializer = True

# Diagrams: SVG scales with the page and stays sharp.
graphviz_output_format = "svg"
graphviz_dot_args = ["-Gfontname=Helvetica", "-Nfontname=Helvetica", "-Efontname=Helvetica"]

# HTML: furo, with its built-in search.
html_theme = "furo"
html_title = "Hartbook: building an SMP kernel"
html_static_path = [str(ROOT / "book" / "_static")]
html_css_files = ["hartbook.css"]
html_show_sourcelink = False
html_copy_source = False
html_last_updated_fmt = None
html_theme_options = {
    "navigation_with_keys": True,
}

# EPUB (`make book-epub`, target book-epub): the same sources, Sphinx's epub builder.
epub_basename = "Hartbook"
epub_title = html_title
epub_author = author
epub_publisher = author
epub_copyright = copyright
epub_show_urls = "no"
epub_tocdepth = 2
