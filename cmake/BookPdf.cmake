# The LaTeX half of the book-pdf target (cmake/Book.cmake), run as
#   cmake -DLATEX_DIR=<sphinx latex output> -DPDF_DIR=<where the PDF goes> -P BookPdf.cmake
# after `sphinx-build -b latex`, or with -DCHECK_ONLY=ON to check the tools
# only (the target does that first, so a missing TeX fails before the gates
# run, not after).
#
# 1. latexmk runs xelatex (and xindy for the index) through the Makefile
#    Sphinx wrote, which sets the xindy options;
# 2. the run fails if xelatex reported a glyph that no font has ("Missing
#    character: There is no ..."): xelatex then prints nothing in its place
#    and still exits 0, so without this check a blank would reach the page;
# 3. the PDF is copied to PDF_DIR/Hartbook.pdf.

set(hb_missing "")
foreach(tool IN ITEMS make latexmk xelatex xindy rsvg-convert)
  string(MAKE_C_IDENTIFIER "HB_PDF_${tool}" var)
  find_program(${var} ${tool})
  if(NOT ${var})
    list(APPEND hb_missing ${tool})
  endif()
endforeach()
if(hb_missing)
  string(REPLACE ";" ", " hb_missing "${hb_missing}")
  message(FATAL_ERROR "hartbook: book-pdf: missing ${hb_missing}: run scripts/install-deps --pdf (make book-pdf does)")
endif()
if(CHECK_ONLY)
  return()
endif()

if(NOT LATEX_DIR OR NOT PDF_DIR)
  message(FATAL_ERROR "usage: cmake -DLATEX_DIR=... -DPDF_DIR=... -P BookPdf.cmake")
endif()

set(hb_out ${LATEX_DIR}/latexmk.out)
string(TIMESTAMP hb_t0 "%s")
execute_process(
  COMMAND ${HB_PDF_make} -C ${LATEX_DIR} all-pdf LATEXMKOPTS=-silent
          "LATEXOPTS=-interaction=nonstopmode -halt-on-error"
  OUTPUT_FILE ${hb_out} ERROR_FILE ${hb_out}
  RESULT_VARIABLE hb_rc)
string(TIMESTAMP hb_t1 "%s")
math(EXPR hb_secs "${hb_t1} - ${hb_t0}")
if(NOT hb_rc EQUAL 0)
  file(STRINGS ${hb_out} hb_tail)
  list(LENGTH hb_tail n)
  if(n GREATER 30)
    math(EXPR first "${n} - 30")
    list(SUBLIST hb_tail ${first} 30 hb_tail)
  endif()
  string(REPLACE ";" "\n  " hb_tail "${hb_tail}")
  message(FATAL_ERROR "hartbook: book-pdf: latexmk failed (exit ${hb_rc}); "
          "the whole log is ${LATEX_DIR}/Hartbook.log, the run's output ${hb_out}:\n  ${hb_tail}")
endif()

# ENCODING UTF-8: the log names the glyph itself; without it file(STRINGS)
# keeps only the ASCII runs of each line.
file(STRINGS ${LATEX_DIR}/Hartbook.log hb_missing_chars ENCODING UTF-8 REGEX "Missing character")
if(hb_missing_chars)
  list(REMOVE_DUPLICATES hb_missing_chars)
  list(LENGTH hb_missing_chars n)
  string(REPLACE ";" "\n  " hb_missing_chars "${hb_missing_chars}")
  message(FATAL_ERROR "hartbook: book-pdf: xelatex drew ${n} kind(s) of glyph as nothing "
          "(a font lacks them; see the fonts in conf.py latex_elements):\n  ${hb_missing_chars}")
endif()

file(MAKE_DIRECTORY ${PDF_DIR})
file(COPY_FILE ${LATEX_DIR}/Hartbook.pdf ${PDF_DIR}/Hartbook.pdf)
message(STATUS "hartbook: book-pdf: latexmk took ${hb_secs} s; no missing glyphs")
