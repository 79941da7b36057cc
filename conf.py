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

# PDF (`make book-pdf`, target book-pdf; needs `scripts/install-deps --pdf`):
# Sphinx's LaTeX builder, then latexmk. xelatex, because the prose, the
# quoted code and the gates' transcripts hold Unicode (arrows, minus signs,
# dashes) that pdflatex's fonts lack; with xelatex a glyph the font lacks is
# reported as "Missing character" in the log, and the book-pdf target fails
# on that rather than printing a blank (cmake/Book.cmake).
latex_engine = "xelatex"
latex_documents = [
    (master_doc, "Hartbook.tex", html_title, author, "manual"),
]
latex_show_urls = "no"
latex_elements = {
    "papersize": "a4paper",
    "pointsize": "10pt",
    # FreeSerif and FreeSans (Sphinx's defaults for xelatex) and DejaVu Sans
    # Mono cover every glyph the book uses. FreeMono, Sphinx's default for
    # code, is too thin to read in print; DejaVu Sans Mono is set smaller so
    # that about 90 columns of code fit the text width.
    "fontpkg": r"""
\setmainfont{FreeSerif}[Extension=.otf, UprightFont=*, ItalicFont=*Italic, BoldFont=*Bold, BoldItalicFont=*BoldItalic]
\setsansfont{FreeSans}[Extension=.otf, UprightFont=*, ItalicFont=*Oblique, BoldFont=*Bold, BoldItalicFont=*BoldOblique]
\setmonofont{DejaVu Sans Mono}[Scale=0.8]
""",
    # Long code and transcript lines wrap (with a continuation mark) instead
    # of running off the page; very long words break anywhere.
    "sphinxsetup": "verbatimwrapslines=true, verbatimforcewraps=true, verbatimmaxoverfull=0",
    "figure_align": "H",
    # Chapters carry their number in their title ("Chapter 4: ..."), and the
    # HTML book numbers nothing: no LaTeX section numbers either.
    # A diagram is scaled to the text width, and to at most 3/4 of the text
    # height (Sphinx's limit is the full height, which leaves no room for
    # the caption below a tall diagram, and the caption then runs into the
    # footer).
    "preamble": r"""
\setcounter{secnumdepth}{-1}
% Table cells ragged right: justified text in a narrow column (the ladder's
% "Required", the mutation table's "Caught") leaves wide holes. Sphinx's own
% definition of its \X{part}{whole} column (sphinxlatextables.sty), plus
% \raggedright.
\makeatletter
\newcolumntype{\X}[2]{>{\raggedright\arraybackslash}p{\dimexpr
      (\linewidth-\spx@arrayrulewidth)*#1/#2-\tw@\tabcolsep-\spx@arrayrulewidth\relax}}
\makeatother
\makeatletter\AtBeginDocument{\spx@image@maxheight=0.75\textheight}\makeatother
""",
    # Sphinx would title the table of contents with the first toctree's
    # caption ("The book").
    "tableofcontents": r"\renewcommand{\contentsname}{Contents}\sphinxtableofcontents",
}
