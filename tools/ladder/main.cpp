// hb-ladder: judges a kernel's UART transcript against a chapter's marker
// ladder. The rules live in ladder.cpp; this file reads files, follows a
// log that QEMU is still writing, and stops that QEMU once it has a verdict.
#include "ladder.hpp"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <sys/types.h>
#include <thread>
#include <unistd.h>

namespace fs = std::filesystem;
using namespace hb::ladder;

namespace {

constexpr const char* kUsage = R"(usage:
  hb-ladder config --chapters-dir DIR [--chapter NN|NN-slug] [--markers FILE]
                   [--smp N] [--require-smp 0|1] [--run-until-marker 0|1]
                   [--run-timeout T] [--accel single|multi] [--machine M]
                   [--kernel-args ARGS] [--log-suffix S]
  hb-ladder list  LADDER [RUN] [--json]
  hb-ladder check LADDER [RUN] [--chapter NAME] --log FILE [--qemu-exit STATUS]
                  [--out-dir DIR]
  hb-ladder watch LADDER [RUN] [--chapter NAME] --log FILE --pid PID
                  --timeout SECONDS --out-dir DIR [--status-file FILE]
                  [--started-at EPOCH_SECONDS] [--until-marker]

  LADDER is --markers FILE [--chapters-dir DIR], or --chapter NN|NN-slug
  --chapters-dir DIR; RUN is [--smp N] [--require-smp 0|1] [--machine M]
  [--kernel-args ARGS].

Modes:
  config validate and resolve the settings of scripts/qemu-test.sh (raw
         values of its environment variables; empty means the default) and
         print them as key=value lines: chapter, markers, smp, require_smp,
         until_marker, timeout_s, accel, machine, harts, cpu_limit, cpus,
         parked, log_suffix, expected. A bad setting or a malformed ladder
         prints one line on stderr and exits 2.
  list   print the markers this run must show, in order (validates the file).
         With --json: the unexpanded ladder, includes spliced, as one JSON
         object {"chapter", "markers": [{"pattern", "smp_only", "per_cpu",
         "parked", "origin", "chapter", "line", "proves"}]} (the book
         renders it).
  check  judge a finished transcript. With --qemu-exit, the QEMU exit status
         is part of the verdict (complete ladder + non-zero status fails).
  watch  follow --log while QEMU (--pid) writes it, polling every 20 ms.
         A forbidden, duplicated or out-of-order line fails at once; with
         --until-marker a complete ladder passes at once. Either way, or at
         --timeout, hb-ladder stops that one QEMU (SIGTERM, then SIGKILL).
         If QEMU exits by itself, hb-ladder waits (up to 5 s) for its exit
         status in --status-file (written by whoever reaps QEMU, i.e.
         scripts/qemu-test.sh), reads the rest of the log and judges.

Options:
  --markers FILE       the chapter's markers file (chapters/NN-slug/markers)
  --chapters-dir DIR   where chapters and `include NN-slug` are looked up
                       (default with --markers: ../.. of FILE)
  --chapter NAME       which chapter (02 means the one folder 02-*; config's
                       default is the last NN-* folder); with --markers only
                       the name in the verdict (default: folder of FILE)
  --smp N              harts QEMU was given, 1..32 (sifive_u: 2..5; default 1)
  --require-smp 0|1    smp lines are required (default 0; needs 2 CPUs)
  --machine M          virt (default) or sifive_u (hart 0 is a monitor core
                       without S-mode: the kernel gets N - 1 harts)
  --kernel-args ARGS   the kernel command line; `maxcpus=K` lowers the CPU
                       limit (default 8), the harts beyond it stay parked
  --started-at T       QEMU start, seconds since the epoch (default: now);
                       last_marker_s is measured from it
  --out-dir DIR        where `verdict` and `result.json` are written

Output: DIR/verdict holds one line, `PASS <chapter> smp<N> markers=<k>
last_marker_s=<s>` or `FAIL <reason>`; DIR/result.json holds the same as JSON.
check also prints the verdict line on stdout.

Exit status: 0 pass, 1 fail, 2 usage error, bad configuration or malformed
markers file.
)";

struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct Options {
    std::string mode;
    std::map<std::string, std::string> values;
    bool until_marker = false;
    bool json = false;

    bool has(const std::string& k) const { return values.count(k) != 0; }
    std::string get(const std::string& k) const {
        auto it = values.find(k);
        if (it == values.end()) throw UsageError("missing --" + k);
        return it->second;
    }
    std::string get_or(const std::string& k, const std::string& fallback) const {
        return has(k) ? values.at(k) : fallback;
    }
};

Options parse_args(int argc, char** argv) {
    Options o;
    if (argc < 2) throw UsageError("no mode given");
    o.mode = argv[1];
    for (int i = 2; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "--until-marker") {
            o.until_marker = true;
        } else if (arg == "--json") {
            o.json = true;
        } else if (arg.starts_with("--") && i + 1 < argc) {
            o.values[arg.substr(2)] = argv[++i];
        } else {
            throw UsageError("unexpected argument '" + arg + "'");
        }
    }
    return o;
}

long parse_int(const std::string& text, const std::string& what, long lo, long hi) {
    char* end = nullptr;
    const long v = std::strtol(text.c_str(), &end, 10);
    if (text.empty() || *end != '\0' || v < lo || v > hi) {
        throw UsageError(what + " must be an integer in " + std::to_string(lo) + ".." +
                         std::to_string(hi) + ", got '" + text + "'");
    }
    return v;
}

double parse_seconds(const std::string& text, const std::string& what) {
    char* end = nullptr;
    const double v = std::strtod(text.c_str(), &end);
    if (text.empty() || *end != '\0' || v < 0) {
        throw UsageError(what + " must be a number of seconds, got '" + text + "'");
    }
    return v;
}

double now_epoch() {
    using namespace std::chrono;
    return duration<double>(system_clock::now().time_since_epoch()).count();
}

// Writes via a temporary file and rename, so a reader never sees half a file.
void write_file(const fs::path& path, const std::string& text) {
    const fs::path tmp = path.string() + ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        out << text;
        if (!out) throw std::runtime_error("cannot write " + tmp.string());
    }
    fs::rename(tmp, path);
}

struct Run {
    std::vector<MarkerLine> ladder;
    RunConfig config;
    std::string chapter;
    fs::path markers;
};

// The run options every mode shares, validated like qemu-test.sh's settings.
RawConfig raw_run_options(const Options& o) {
    RawConfig raw;
    raw.smp = o.get_or("smp", "");
    raw.require_smp = o.get_or("require-smp", "");
    raw.machine = o.get_or("machine", "");
    raw.kernel_args = o.get_or("kernel-args", "");
    return raw;
}

// Where the ladder is: --markers FILE, or --chapter NN in --chapters-dir.
Run locate(const Options& o) {
    Run r;
    fs::path chapters_dir;
    if (o.has("markers")) {
        r.markers = o.get("markers");
        chapters_dir = o.get_or("chapters-dir", r.markers.parent_path().parent_path().string());
        r.chapter = o.get_or("chapter", r.markers.parent_path().filename().string());
    } else {
        if (!o.has("chapter") || !o.has("chapters-dir")) {
            throw UsageError("give --markers FILE, or --chapter NN with --chapters-dir DIR");
        }
        chapters_dir = o.get("chapters-dir");
        r.chapter = resolve_chapter_dir(o.get("chapter"), chapters_dir);
        r.markers = chapters_dir / r.chapter / "markers";
    }
    std::error_code ec;
    if (!fs::is_regular_file(r.markers, ec)) {
        throw ConfigError("chapter " + r.chapter + " has no markers file (" + r.markers.string() + ")");
    }
    r.ladder = load_ladder(r.markers, chapters_dir);
    return r;
}

Run load_run(const Options& o) {
    const RunConfig config = resolve_config(raw_run_options(o)).run;
    Run r = locate(o);
    r.config = config;
    return r;
}

void report(const Run& r, const Verdict& v, const Options& o) {
    if (!o.has("out-dir")) return;
    const fs::path dir = o.get("out-dir");
    fs::create_directories(dir);
    write_file(dir / "verdict", verdict_line(v, r.chapter, r.config.smp) + "\n");
    write_file(dir / "result.json", result_json(v, r.chapter, r.config));
}

int cmd_list(const Options& o) {
    const Run r = load_run(o);
    if (o.json) {
        std::cout << ladder_json(r.ladder, r.chapter);
        return 0;
    }
    for (const auto& m : expected_markers(r.ladder, r.config)) std::cout << m << "\n";
    return 0;
}

// Everything scripts/qemu-test.sh needs to know before it boots anything.
int cmd_config(const Options& o) {
    RawConfig raw = raw_run_options(o);
    raw.run_until_marker = o.get_or("run-until-marker", "");
    raw.run_timeout = o.get_or("run-timeout", "");
    raw.accel = o.get_or("accel", "");
    if (o.has("log-suffix")) raw.log_suffix = o.get("log-suffix");
    const ResolvedConfig c = resolve_config(raw);

    if (!o.has("chapters-dir")) throw UsageError("config needs --chapters-dir");
    const fs::path chapters_dir = o.get("chapters-dir");
    // The chapter is resolved even with --markers: it names the kernel.
    const std::string chapter = resolve_chapter_dir(o.get_or("chapter", ""), chapters_dir);
    Options located = o;
    located.values["chapter"] = chapter;
    const Run r = locate(located);
    const RunConfig& run = c.run;

    std::cout << "chapter=" << chapter << "\n"
              << "markers=" << r.markers.string() << "\n"
              << "smp=" << run.smp << "\n"
              << "require_smp=" << (run.require_smp ? 1 : 0) << "\n"
              << "until_marker=" << (c.until_marker ? 1 : 0) << "\n"
              << "timeout_s=" << c.timeout_s << "\n"
              << "accel=" << c.accel << "\n"
              << "machine=" << machine_name(run.machine) << "\n"
              << "harts=" << run.harts() << "\n"
              << "cpu_limit=" << run.cpu_limit << "\n"
              << "cpus=" << run.cpus() << "\n"
              << "parked=" << run.parked() << "\n"
              << "log_suffix=" << c.log_suffix << "\n"
              << "expected=" << expected_markers(r.ladder, run).size() << "\n";
    return 0;
}

int cmd_check(const Options& o) {
    const Run r = load_run(o);
    std::ifstream log(o.get("log"), std::ios::binary);
    if (!log) throw UsageError("cannot read log " + o.get("log"));
    Judge judge(r.ladder, r.config);
    std::string line;
    while (std::getline(log, line)) judge.feed(line);
    const Verdict v = o.has("qemu-exit")
                          ? judge.exited(static_cast<int>(parse_int(o.get("qemu-exit"),
                                                                    "--qemu-exit", -255, 255)))
                          : judge.transcript_only();
    report(r, v, o);
    std::cout << verdict_line(v, r.chapter, r.config.smp) << "\n";
    return v.pass ? 0 : 1;
}

// ------------------------------------------------------------ watch mode

// Is `pid` still running? A process that exited but was not reaped yet (a
// zombie) still answers kill(pid, 0), so /proc is asked as well.
bool process_running(pid_t pid) {
    if (::kill(pid, 0) != 0 && errno != EPERM) return false;
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string text;
    if (!std::getline(stat, text)) return true;  // no /proc: trust kill()
    const auto paren = text.rfind(')');         // the name may contain spaces
    return paren == std::string::npos || paren + 2 >= text.size() || text[paren + 2] != 'Z';
}

bool wait_until_gone(pid_t pid, std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (process_running(pid)) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return true;
}

// Stops exactly the QEMU we were told about: SIGTERM lets it exit cleanly,
// SIGKILL is the fallback for a QEMU (or fake) that ignores it.
void stop_process(pid_t pid) {
    if (!process_running(pid)) return;
    ::kill(pid, SIGTERM);
    if (wait_until_gone(pid, std::chrono::seconds(3))) return;
    ::kill(pid, SIGKILL);
    wait_until_gone(pid, std::chrono::seconds(2));
}

// Reads whatever QEMU appended to the log since last time.
class LogFollower {
public:
    explicit LogFollower(fs::path path) : m_path(std::move(path)) {}
    ~LogFollower() {
        if (m_fd >= 0) ::close(m_fd);
    }

    // Complete lines that arrived since the last call (QEMU creates the
    // file only once it starts, so it may not exist yet).
    std::vector<std::string> poll() {
        if (m_fd < 0) m_fd = ::open(m_path.c_str(), O_RDONLY);
        if (m_fd < 0) return {};
        std::vector<std::string> lines;
        char buf[4096];
        ssize_t n;
        while ((n = ::read(m_fd, buf, sizeof buf)) > 0) {
            for (auto& l : m_splitter.push(std::string_view(buf, static_cast<std::size_t>(n)))) {
                lines.push_back(std::move(l));
            }
        }
        return lines;
    }

    // The last line, if QEMU's output did not end with a newline.
    std::optional<std::string> finish() { return m_splitter.finish(); }

private:
    fs::path m_path;
    int m_fd = -1;
    LineSplitter m_splitter;
};

std::optional<int> wait_for_status(const fs::path& file) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (std::chrono::steady_clock::now() < deadline) {
        std::ifstream in(file);
        int status = 0;
        if (in >> status) return status;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return std::nullopt;
}

int cmd_watch(const Options& o) {
    const Run r = load_run(o);
    const auto pid = static_cast<pid_t>(parse_int(o.get("pid"), "--pid", 1, 1L << 30));
    const double timeout = parse_seconds(o.get("timeout"), "--timeout");
    const double started = o.has("started-at") ? parse_seconds(o.get("started-at"), "--started-at")
                                               : now_epoch();
    if (!o.has("out-dir")) throw UsageError("watch needs --out-dir");

    Judge judge(r.ladder, r.config);
    LogFollower log(o.get("log"));
    // Feeds new lines; true once a verdict can be given without waiting.
    auto decided = [&](const std::vector<std::string>& lines) {
        for (const auto& line : lines) {
            const auto state = judge.feed(line, now_epoch() - started);
            if (state == Judge::State::Failed) return true;
            if (state == Judge::State::Complete && o.until_marker) return true;
        }
        return false;
    };
    auto finish_early = [&](const Verdict& v) {
        stop_process(pid);
        report(r, v, o);
        return v.pass ? 0 : 1;
    };

    try {
        for (;;) {
            if (decided(log.poll())) return finish_early(judge.transcript_only());

            if (!process_running(pid)) {
                // QEMU is gone: whatever it wrote is in the file now.
                auto rest = log.poll();
                if (auto last = log.finish()) rest.push_back(*last);
                for (const auto& line : rest) judge.feed(line, now_epoch() - started);

                Verdict v = judge.transcript_only();
                if (o.has("status-file")) {
                    if (auto status = wait_for_status(o.get("status-file"))) {
                        v = judge.exited(*status);
                    } else if (v.pass) {
                        v.pass = false;
                        v.reason = "QEMU exited but its exit status never arrived in " +
                                   o.get("status-file");
                    }
                }
                report(r, v, o);
                return v.pass ? 0 : 1;
            }

            if (now_epoch() - started > timeout) {
                // Stop QEMU first, so the log is final; an unterminated last
                // line then counts as a line, as it does when QEMU exits.
                stop_process(pid);
                auto rest = log.poll();
                if (auto last = log.finish()) rest.push_back(*last);
                if (decided(rest)) return finish_early(judge.transcript_only());
                return finish_early(judge.timed_out(timeout));
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
    } catch (const std::exception& e) {
        // Never leave a QEMU running behind a broken watcher.
        Verdict v = judge.transcript_only();
        v.pass = false;
        v.reason = std::string("harness error: ") + e.what();
        finish_early(v);
        return 2;
    }
}

}  // namespace

int main(int argc, char** argv) {
    try {
        if (argc >= 2 && (std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h" ||
                          std::string(argv[1]) == "help")) {
            std::cout << kUsage;
            return 0;
        }
        const Options o = parse_args(argc, argv);
        if (o.mode == "config") return cmd_config(o);
        if (o.mode == "list") return cmd_list(o);
        if (o.mode == "check") return cmd_check(o);
        if (o.mode == "watch") return cmd_watch(o);
        throw UsageError("unknown mode '" + o.mode + "'");
    } catch (const UsageError& e) {
        std::cerr << "hb-ladder: " << e.what() << "\n" << kUsage;
        return 2;
    } catch (const ConfigError& e) {
        std::cerr << "hb-ladder: " << e.what() << "\n";
        return 2;
    } catch (const LadderError& e) {
        std::cerr << "hb-ladder: bad markers file: " << e.what() << "\n";
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "hb-ladder: " << e.what() << "\n";
        return 2;
    }
}
