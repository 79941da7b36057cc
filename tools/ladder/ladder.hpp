// The marker ladder: the lines a chapter's kernel must print, in order.
//
// This is the referee of every QEMU gate. It is pure logic (strings in,
// verdict out) so that GoogleTest can pin down every rule; the hb-ladder
// tool (main.cpp) adds the file following and the process handling. It is
// also the one reader of markers files: the book's Sphinx extension renders
// `hb-ladder list --json`, and scripts/qemu-test.sh asks `hb-ladder config`
// to resolve and validate its environment.
//
// Markers file syntax (chapters/NN-slug/markers), one expected line per line:
//
//   # comment                 whole-line comment; blank lines are ignored
//   # proves: text            says what the marker below proves (the book's
//                             ladder table shows it); consecutive ones join,
//                             a blank line or an include detaches them
//   include 01-newtypes       splice chapters/01-newtypes/markers here
//   KINIT: boot hart{N}       {N} matches one or more decimal digits
//   smp KSELFTEST: smp ok     `smp ` prefix: printed only by SMP runs
//   smp KINIT: cpu{cpu} up    {cpu}: one line per secondary CPU, cpu1..cpu(C-1)
//   parked KINIT: hart{N} parked (cpu limit {limit})
//                             `parked ` prefix: the line is expected once per
//                             parked hart, P = max(0, H - L) times, and is
//                             forbidden when P = 0
//
// where H is the number of harts the kernel can run on (SMP, minus the
// monitor hart on sifive_u), L the CPU limit min(kMaxCpus, `maxcpus=N` on
// the kernel command line) and C = min(H, L) the CPUs that come online.
// {limit} stands for L, in any line. Prefixes do not combine, and a
// `parked` line cannot use {cpu}.
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

#include "lib/ids.hpp"  // kMaxCpus: the kernel's CPU limit

namespace hb::ladder {

// A malformed markers file: unknown placeholder, include cycle, missing file.
struct LadderError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// A run configuration that cannot work (SMP out of range, unknown chapter...).
// The message is one line, phrased in terms of the environment variables of
// scripts/qemu-test.sh (SMP, REQUIRE_SMP, ...).
struct ConfigError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// One marker line of a ladder, after every `include` has been spliced in.
struct MarkerLine {
    std::string pattern;    // e.g. "KINIT: boot hart{N}"
    bool smp_only = false;  // `smp ` prefix, or the pattern uses {cpu}
    bool per_cpu = false;   // the pattern uses {cpu}
    bool parked = false;    // `parked ` prefix: once per parked hart
    std::string origin;     // "01-newtypes:5", for error messages
    std::string proves;     // the `# proves:` lines above it, joined by spaces
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

// The QEMU machine the kernel runs on.
enum class Machine {
    Virt,     // QEMU virt: every hart can run S-mode
    SifiveU,  // QEMU sifive_u (HiFive Unleashed): hart 0 is an E51 monitor
              // core without S-mode, so the kernel gets SMP - 1 harts
};
const char* machine_name(Machine m);  // "virt", "sifive_u"

// At most this many harts are given to QEMU (more than the kernel's
// kMaxCpus, so that runs can prove that the surplus harts stay parked).
inline constexpr int kMaxSmp = 32;
inline constexpr int kKernelCpuLimit = static_cast<int>(hb::kMaxCpus);

// How the kernel was booted.
struct RunConfig {
    int smp = 1;               // harts QEMU was given (-smp), 1..kMaxSmp
    bool require_smp = false;  // smp lines are required (needs cpus() >= 2)
    Machine machine = Machine::Virt;
    int cpu_limit = kKernelCpuLimit;  // L: min(kMaxCpus, maxcpus=N), >= 1
    std::string nonce{};              // `nonce=` on the command line: every marker ends " nonce=<it>"

    // H: harts the kernel can run on.
    int harts() const { return machine == Machine::SifiveU ? smp - 1 : smp; }
    // C: CPUs that come online (the boot CPU and C - 1 secondaries).
    int cpus() const { return harts() < cpu_limit ? harts() : cpu_limit; }
    // P: harts left parked beyond the CPU limit.
    int parked() const { return harts() > cpu_limit ? harts() - cpu_limit : 0; }
};

// The CPU limit the kernel derives from its command line: the last
// `maxcpus=N` word (if N is a number; src/lib/bootargs.hpp), clamped to
// 1..kMaxCpus like Topology::build does.
int cpu_limit_from_kernel_args(std::string_view kernel_args);

// The grading nonce on the kernel command line (`nonce=<word>`, last one
// wins), or "" if there is none. Throws ConfigError if it is not 1..32
// characters of 0-9 and a-z (hb::valid_nonce, the kernel's own rule).
std::string nonce_from_kernel_args(std::string_view kernel_args);

// The markers this run must print, in order: every plain line, each
// `parked` line parked() times, plus the smp lines (with {cpu} expanded to
// 1..cpus()-1) when require_smp is set and cpus() >= 2. {limit} becomes
// cpu_limit everywhere. With a nonce, every marker ends in " nonce=<nonce>".
std::vector<std::string> expected_markers(const std::vector<MarkerLine>& ladder, RunConfig run);

// ------------------------------------------------------------ configuration

// The run settings as scripts/qemu-test.sh receives them (environment
// variables, unvalidated). An empty string means "the default".
struct RawConfig {
    std::string smp;                        // SMP, default 1
    std::string require_smp;                // REQUIRE_SMP, default 0
    std::string run_until_marker;           // RUN_UNTIL_MARKER, default 0
    std::string run_timeout;                // RUN_TIMEOUT: 45, 45s or 2m; default 90s
    std::string accel;                      // ACCEL: "", single or multi
    std::string machine;                    // MACHINE: virt (default) or sifive_u
    std::string kernel_args;                // KERNEL_ARGS
    std::optional<std::string> log_suffix;  // LOG_SUFFIX; unset: derived
};

// The validated settings.
struct ResolvedConfig {
    RunConfig run;
    bool until_marker = false;
    int timeout_s = 90;
    std::string accel;       // "", "single" or "multi"
    std::string log_suffix;  // log folder suffix ("" for a plain run)
};

// Validates `raw`; throws ConfigError with a one-line reason.
ResolvedConfig resolve_config(const RawConfig& raw);

// Which chapter folder `spec` names, among `folders` (the names of the
// entries of the chapters directory that are directories): "" means the
// last NN-* folder; an exact folder name is taken as is; otherwise `02`
// means the one folder starting with "02-". Throws ConfigError.
std::string resolve_chapter(std::string_view spec, std::vector<std::string> folders);

// The same, listing `chapters_dir`.
std::string resolve_chapter_dir(std::string_view spec, const std::filesystem::path& chapters_dir);

// The unexpanded ladder as JSON: {"chapter": ..., "markers": [{"pattern",
// "smp_only", "per_cpu", "parked", "origin", "chapter", "line", "proves"}]}.
std::string ladder_json(const std::vector<MarkerLine>& ladder, const std::string& chapter);

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
    std::vector<std::string> m_smp_only;   // patterns forbidden in a single-CPU run
    std::vector<std::string> m_parked;     // patterns forbidden when no hart is parked
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

// JSON string literal (with quotes) for arbitrary bytes. Bytes >= 0x80 are
// escaped one by one (UART junk is not UTF-8), unless keep_utf8 is set (for
// text from the tree, such as `# proves:` comments).
std::string json_string(std::string_view s, bool keep_utf8 = false);

}  // namespace hb::ladder
