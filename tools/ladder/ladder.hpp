// The marker ladder: the lines a chapter's kernel must print, in order.
//
// This is the referee of every QEMU gate. It is pure logic (strings in,
// verdict out) so that GoogleTest can pin down every rule; the hb-ladder
// tool (main.cpp) adds the file following and the process handling.
//
// Markers file syntax (chapters/NN-slug/markers), one expected line per line:
//
//   # comment                 whole-line comment; blank lines are ignored
//   include 01-newtypes       splice chapters/01-newtypes/markers here
//   KINIT: boot hart{N}       {N} matches one or more decimal digits
//   smp KSELFTEST: smp ok     `smp ` prefix: printed only by SMP runs
//   smp KINIT: cpu{cpu} up    {cpu}: one line per secondary CPU, cpu1..cpu(SMP-1)
//
// A `#` that follows whitespace starts a trailing comment, so a marker cannot
// contain " #". Every other character of a marker is matched literally.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace hb::ladder {

// A malformed markers file: unknown placeholder, include cycle, missing file.
struct LadderError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// One marker line of a ladder, after every `include` has been spliced in.
struct MarkerLine {
    std::string pattern;    // e.g. "KINIT: boot hart{N}"
    bool smp_only = false;  // `smp ` prefix, or the pattern uses {cpu}
    bool per_cpu = false;   // the pattern uses {cpu}
    std::string origin;     // "01-newtypes:5", for error messages
};

// Returns the text of chapter `name`'s markers file, or nothing if missing.
using ReadChapter = std::function<std::optional<std::string>(const std::string& name)>;

// Parses the markers text of chapter `name`; `include X` lines are resolved
// through `read` (recursively). Throws LadderError on any malformed input.
std::vector<MarkerLine> parse_ladder(std::string_view text, const std::string& name,
                                     const ReadChapter& read);

// Loads `markers_file`; includes are looked up as <chapters_dir>/<name>/markers.
std::vector<MarkerLine> load_ladder(const std::filesystem::path& markers_file,
                                    const std::filesystem::path& chapters_dir);

// How the kernel was booted.
struct RunConfig {
    int smp = 1;               // number of harts, 1..8
    bool require_smp = false;  // smp lines are required (only meaningful with smp >= 2)
};

// The markers this run must print, in order: every non-smp line, plus the
// smp lines (with {cpu} expanded) when smp >= 2 and require_smp is set.
std::vector<std::string> expected_markers(const std::vector<MarkerLine>& ladder, RunConfig run);

// Whole-line match of `line` against `pattern`; {N} (and {cpu}) match one
// or more digits, everything else must be equal.
bool matches(std::string_view pattern, std::string_view line);

// A UART line as the judge sees it: trailing \r and whitespace removed.
std::string_view clean_line(std::string_view raw);

// Why a line is forbidden ("FAIL" as a word, or "panic" in any case), or
// nothing if it is allowed.
std::optional<std::string> forbidden_reason(std::string_view line);

// `line` made safe to quote in a one-line reason: non-printable bytes become
// \xNN and very long lines are cut.
std::string printable(std::string_view line);

// The outcome of a run, as written to `verdict` and `result.json`.
struct Verdict {
    bool pass = false;
    std::string reason;                   // empty when pass
    std::size_t markers_expected = 0;
    std::size_t markers_seen = 0;
    std::optional<double> last_marker_s;  // wall time from QEMU start, if known
    std::optional<int> qemu_exit;         // only when QEMU exited by itself
};

// Judges a transcript fed one line at a time, so a watcher can stop early.
class Judge {
public:
    enum class State {
        Running,   // no verdict yet
        Complete,  // every expected marker seen (later lines can still fail it)
        Failed,    // final: a forbidden, duplicated or out-of-order line
    };

    Judge(const std::vector<MarkerLine>& ladder, RunConfig run);

    // Feeds one line (raw, as read from the UART log). `t` is the wall time
    // since QEMU started, if the caller knows it.
    State feed(std::string_view raw_line, std::optional<double> t = std::nullopt);

    State state() const { return m_state; }
    const std::string& failure() const { return m_failure; }
    std::size_t expected_count() const { return m_expected.size(); }
    std::size_t seen_count() const { return m_next; }
    // The next marker pattern the kernel has to print ("" when complete).
    std::string next_expected() const;

    // Final verdicts, one per way a run can end.
    // QEMU exited by itself with `status` (the kernel's SBI power-off status).
    Verdict exited(int status) const;
    // The transcript alone, without an exit status (check mode, or QEMU
    // stopped by the harness once the ladder was complete).
    Verdict transcript_only() const;
    // The run was stopped after `seconds` without a verdict.
    Verdict timed_out(double seconds) const;

private:
    void fail(std::string reason);
    Verdict base() const;

    std::vector<std::string> m_expected;   // required patterns, in order
    std::vector<std::string> m_smp_only;   // patterns forbidden in a single-hart run
    RunConfig m_run;
    std::size_t m_next = 0;                // index of the next expected marker
    std::string m_last_line;               // the last marker line seen
    std::optional<double> m_last_t;
    State m_state = State::Running;
    std::string m_failure;
};

// Splits a byte stream that arrives in chunks into lines; the last, partial
// line is held back until its newline arrives (or finish() is called).
class LineSplitter {
public:
    std::vector<std::string> push(std::string_view bytes);
    std::optional<std::string> finish();

private:
    std::string m_partial;
};

// "PASS 01-newtypes smp2 markers=2 last_marker_s=0.153" or "FAIL <reason>".
std::string verdict_line(const Verdict& v, const std::string& chapter, int smp);

// result.json contents (one JSON object).
std::string result_json(const Verdict& v, const std::string& chapter, RunConfig run);

// JSON string literal (with quotes) for arbitrary bytes.
std::string json_string(std::string_view s);

}  // namespace hb::ladder
