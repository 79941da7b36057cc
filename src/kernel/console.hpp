// The kernel console: whole lines, one at a time, from any hart.
//
// Each line is formatted into a fixed buffer first and then written under a
// lock, so two harts never interleave characters inside a marker line (the
// harness matches whole lines). Lines longer than the buffer are cut and end
// in "...": bounded logging.
#pragma once

#include "lib/fmt.hpp"

namespace hb::console {

inline constexpr std::size_t kLineMax = 160;
using Line = FixedString<kLineMax>;

/// Writes `line` and a newline atomically with respect to other lines.
/// Printing under a runqueue lock panics (lock rule 2).
void write_line(const Line& line);

/// The panic path's print (kernel/panic.cpp): no lock checks, and it does
/// not wait for ever for the console lock (this hart may hold it, or a
/// hart that holds it may be stuck); after a bounded wait it prints anyway.
void write_line_panic(const Line& line);

/// Chapter 01: a grading run's nonce (`nonce=` on the command line, already
/// checked with valid_nonce). From now on every line that starts with
/// `KINIT:` or `KSELFTEST:` ends in ` nonce=<text>`. Boot hart only, before
/// any other hart runs.
void set_marker_nonce(const char* text, std::size_t len);

template <typename... Args>
void println(const Args&... args) {
    Line line;
    append_all(line, args...);
    write_line(line);
}

}  // namespace hb::console
