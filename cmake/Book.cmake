# The book: `cmake --build build --target book` (or `make book`).
#
#   1. every chapter gate (target `gates`, cmake/Gates.cmake) must pass;
#   2. Doxygen extracts the API from src/ as XML (build/doxygen/xml);
#   3. sphinx-build -W renders book/ with conf.py into build/book/html, quoting
#      code regions, marker ladders and the gates' transcripts (book/_ext).
#
# `book-epub` is the same with Sphinx's epub builder. `book-pdf` (optional:
# `make book-pdf` installs TeX first, scripts/install-deps --pdf) renders
# with the latex builder into build/book/latex, then cmake/BookPdf.cmake runs
# latexmk (xelatex), fails on any glyph xelatex could not draw, and copies
# the result to build/book/pdf/Hartbook.pdf. Nothing else needs TeX.
#
# A missing tool does not break configuring (host tests need none of them);
# it makes the `book` target fail with a one-line message instead.

find_program(HB_DOXYGEN doxygen)
find_program(HB_SPHINX_BUILD sphinx-build)
find_program(HB_DOT dot)

set(HB_DOXYGEN_OUT ${CMAKE_BINARY_DIR}/doxygen)
set(HB_DOXYFILE ${CMAKE_BINARY_DIR}/Doxyfile)
set(HB_BOOK_HTML ${CMAKE_BINARY_DIR}/book/html)
configure_file(${CMAKE_SOURCE_DIR}/cmake/Doxyfile.in ${HB_DOXYFILE} @ONLY)

set(hb_book_missing "")
foreach(tool IN ITEMS DOXYGEN SPHINX_BUILD DOT)
  if(NOT HB_${tool})
    string(TOLOWER "${tool}" name)
    string(REPLACE "_" "-" name "${name}")
    list(APPEND hb_book_missing ${name})
  endif()
endforeach()

# A `book` target that only explains why the book cannot be built, and fails.
function(hb_book_refuse reason)
  foreach(target IN ITEMS book book-epub book-pdf)
    add_custom_target(${target}
      COMMAND ${CMAKE_COMMAND} -E echo "hartbook: ${target}: ${reason}"
      COMMAND ${CMAKE_COMMAND} -E false
      VERBATIM)
  endforeach()
endfunction()

if(hb_book_missing)
  string(REPLACE ";" ", " hb_book_missing_text "${hb_book_missing}")
  message(STATUS "Book: missing ${hb_book_missing_text}; the `book` target will fail (run scripts/install-deps)")
  hb_book_refuse("missing ${hb_book_missing_text}: run scripts/install-deps (or make deps)")
  return()
endif()

if(TARGET gates)
  set(hb_gates_step
    COMMAND ${CMAKE_COMMAND} -E echo "hartbook: book: every chapter gate passed (target gates)")
else()
  # The book shows the transcripts the gates captured; without gates there is
  # nothing true to show.
  hb_book_refuse("no `gates` target (configure with HB_BUILD_KERNELS=ON and the riscv64 toolchain): the book renders only after every chapter gate has passed")
  return()
endif()

set(HB_BOOK_SCALE_ROUNDS 3 CACHE STRING "Rounds of each scaling demo the book target runs for its figure")
find_program(HB_PYTHON3 python3 REQUIRED)
# The scaling figure is drawn from a run made now, not from a stored
# picture: tools/scale.py (both demos, each alternating with the bare-hart
# limit, at -smp 1, 2, 4) writes the summaries hb-scaling renders. It
# reports, it does not judge (--threshold 0): a busy host builds a true
# page that shows less speedup, and the page says how busy it was. Only a
# tree with chapter 07 has the demos (a course lab's tree stops earlier).
set(hb_scale_step)
if("07-proofs" IN_LIST HB_CHAPTERS)
  set(hb_scale_step
    COMMAND ${CMAKE_COMMAND} -E echo "hartbook: book: scaling figure: tools/scale.py, ${HB_BOOK_SCALE_ROUNDS} round(s) per demo"
    COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/figures
    COMMAND ${HB_PYTHON3} ${CMAKE_SOURCE_DIR}/tools/scale.py --mode process --rounds ${HB_BOOK_SCALE_ROUNDS}
            --threshold 0 --retries 2 --build ${CMAKE_BINARY_DIR} --json ${CMAKE_BINARY_DIR}/figures/scale-process.json
    COMMAND ${HB_PYTHON3} ${CMAKE_SOURCE_DIR}/tools/scale.py --mode thread --rounds ${HB_BOOK_SCALE_ROUNDS}
            --threshold 0 --retries 2 --build ${CMAKE_BINARY_DIR} --json ${CMAKE_BINARY_DIR}/figures/scale-thread.json)
endif()
# Extra arguments (COMMAND ...) run after sphinx-build, before the "done" line.
function(hb_book_target target builder out result)
add_custom_target(${target}
  ${hb_gates_step}
  ${hb_scale_step}
  COMMAND ${CMAKE_COMMAND} -E echo "hartbook: book: doxygen: src/ -> ${HB_DOXYGEN_OUT}/xml"
  COMMAND ${CMAKE_COMMAND} -E remove_directory ${HB_DOXYGEN_OUT}/xml
  COMMAND ${CMAKE_COMMAND} -E make_directory ${HB_DOXYGEN_OUT}
  COMMAND ${HB_DOXYGEN} ${HB_DOXYFILE}
  COMMAND ${CMAKE_COMMAND} -E echo "hartbook: ${target}: sphinx-build -W -b ${builder}: book/ -> ${out}"
  COMMAND ${CMAKE_COMMAND} -E env HARTBOOK_BUILD_DIR=${CMAKE_BINARY_DIR}
          ${HB_SPHINX_BUILD} -W --keep-going -q -E -b ${builder} -d ${CMAKE_BINARY_DIR}/book/doctrees-${builder}
          -c ${CMAKE_SOURCE_DIR} ${CMAKE_SOURCE_DIR}/book ${out}
  ${ARGN}
  COMMAND ${CMAKE_COMMAND} -E echo "hartbook: ${target}: done: ${result}"
  WORKING_DIRECTORY ${CMAKE_SOURCE_DIR}
  USES_TERMINAL
  VERBATIM)
add_dependencies(${target} gates)
endfunction()
# One recipe, three builders: the HTML book, the EPUB and the PDF.
hb_book_target(book html ${HB_BOOK_HTML} ${HB_BOOK_HTML}/index.html)
hb_book_target(book-epub epub ${CMAKE_BINARY_DIR}/book/epub ${CMAKE_BINARY_DIR}/book/epub/Hartbook.epub)
set(HB_BOOK_LATEX ${CMAKE_BINARY_DIR}/book/latex)
set(HB_BOOK_PDF ${CMAKE_BINARY_DIR}/book/pdf)
hb_book_target(book-pdf latex ${HB_BOOK_LATEX} ${HB_BOOK_PDF}/Hartbook.pdf
  COMMAND ${CMAKE_COMMAND} -E echo "hartbook: book-pdf: latexmk (xelatex): ${HB_BOOK_LATEX} -> ${HB_BOOK_PDF}/Hartbook.pdf"
  COMMAND ${CMAKE_COMMAND} -DLATEX_DIR=${HB_BOOK_LATEX} -DPDF_DIR=${HB_BOOK_PDF}
          -P ${CMAKE_SOURCE_DIR}/cmake/BookPdf.cmake)
# TeX is looked for when the target runs, not at configure time (so that
# installing it later needs no reconfigure), and in a target of its own that
# does not wait for the gates: a missing TeX fails in a second and stops the
# build (ninja starts no new gate after a failure) instead of failing after
# every gate has run.
add_custom_target(book-pdf-tools
  COMMAND ${CMAKE_COMMAND} -DCHECK_ONLY=ON -P ${CMAKE_SOURCE_DIR}/cmake/BookPdf.cmake
  VERBATIM)
add_dependencies(book-pdf book-pdf-tools)
# -E (fresh environment): Doxygen renames some XML files between runs
# (anonymous namespaces), and Breathe's cache would then look for files that
# are gone. A full read costs a few seconds.

# Cheap structural test of the book sources (label `host`): every hb-code
# region exists and every chapter ladder parses, without rendering or gates.
find_program(HB_SYSTEM_PYTHON3 python3 PATHS /usr/bin NO_DEFAULT_PATH)
if(HB_SYSTEM_PYTHON3)
  add_test(NAME book-sources
    COMMAND ${HB_SYSTEM_PYTHON3} ${CMAKE_SOURCE_DIR}/book/_ext/hartbook.py --check ${CMAKE_SOURCE_DIR})
  set_tests_properties(book-sources PROPERTIES LABELS host TIMEOUT 30
    ENVIRONMENT HARTBOOK_BUILD_DIR=${CMAKE_BINARY_DIR})
endif()
