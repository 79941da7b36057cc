// The marker ladder: parsing, matching and judging. See ladder.hpp.
#include "ladder.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "lib/bootargs.hpp"

namespace hb::ladder {
namespace {

constexpr std::string_view kWhitespace = " \t\r\n\v\f";
constexpr std::string_view kAnyNumber = "{N}";
constexpr std::string_view kCpuNumber = "{cpu}";
constexpr std::string_view kCpuLimit = "{limit}";

std::string_view trim(std::string_view s) {
    const auto first = s.find_first_not_of(kWhitespace);
    if (first == std::string_view::npos) return {};
    const auto last = s.find_last_not_of(kWhitespace);
    return s.substr(first, last - first + 1);
}

// Drops a comment: `#` at the start of the line, or after whitespace.
std::string_view strip_comment(std::string_view line) {
    for (std::size_t i = 0; i < line.size(); ++i) {
        if (line[i] != '#') continue;
        if (i == 0 || kWhitespace.find(line[i - 1]) != std::string_view::npos) {
            return line.substr(0, i);
        }
    }
    return line;
}

bool starts_with_word(std::string_view s, std::string_view word) {
    return s.size() > word.size() && s.substr(0, word.size()) == word &&
           (s[word.size()] == ' ' || s[word.size()] == '\t');
}

// Braces are reserved for placeholders, so a typo like {n} is an error
// instead of a marker that can never match.
void check_placeholders(std::string_view pattern, const std::string& origin) {
    for (std::size_t i = 0; i < pattern.size(); ++i) {
        if (pattern[i] == '}') {
            throw LadderError(origin + ": stray '}' in marker '" + std::string(pattern) + "'");
        }
        if (pattern[i] != '{') continue;
        const auto rest = pattern.substr(i);
        if (rest.starts_with(kAnyNumber)) {
            i += kAnyNumber.size() - 1;
        } else if (rest.starts_with(kCpuNumber)) {
            i += kCpuNumber.size() - 1;
        } else if (rest.starts_with(kCpuLimit)) {
            i += kCpuLimit.size() - 1;
        } else {
            throw LadderError(origin + ": unknown placeholder in marker '" + std::string(pattern) +
                              "' (only {N}, {cpu} and {limit} exist)");
        }
    }
}

// The text of a `# proves: ...` line, or nothing for any other line.
std::optional<std::string_view> proves_text(std::string_view line) {
    if (!line.starts_with('#')) return std::nullopt;
    auto rest = trim(line.substr(1));
    constexpr std::string_view kProves = "proves:";
    if (!rest.starts_with(kProves)) return std::nullopt;
    return trim(rest.substr(kProves.size()));
}

void parse_into(std::string_view text, const std::string& name, const ReadChapter& read,
                std::vector<std::string>& include_stack, std::vector<MarkerLine>& out) {
    include_stack.push_back(name);
    std::size_t line_no = 0;
    std::size_t pos = 0;
    std::string proves;  // `# proves:` lines waiting for their marker
    while (pos <= text.size()) {
        auto end = text.find('\n', pos);
        if (end == std::string_view::npos) end = text.size();
        const auto raw = trim(text.substr(pos, end - pos));
        const auto line = trim(strip_comment(raw));
        pos = end + 1;
        ++line_no;
        if (raw.empty()) {
            proves.clear();  // a blank line detaches a "proves" comment
            continue;
        }
        if (line.empty()) {
            if (const auto p = proves_text(raw)) {
                if (!proves.empty() && !p->empty()) proves += ' ';
                proves += *p;
            }
            continue;
        }

        const std::string origin = name + ":" + std::to_string(line_no);
        if (starts_with_word(line, "include")) {
            proves.clear();
            const std::string child(trim(line.substr(7)));
            if (child.find_first_of(kWhitespace) != std::string::npos) {
                throw LadderError(origin + ": include takes one chapter folder, got '" + child + "'");
            }
            if (std::find(include_stack.begin(), include_stack.end(), child) != include_stack.end()) {
                std::string cycle;
                for (const auto& n : include_stack) cycle += n + " -> ";
                throw LadderError(origin + ": include cycle: " + cycle + child);
            }
            const auto child_text = read(child);
            if (!child_text) {
                throw LadderError(origin + ": include of missing ladder '" + child + "'");
            }
            parse_into(*child_text, child, read, include_stack, out);
            continue;
        }

        MarkerLine marker;
        marker.origin = origin;
        marker.proves = std::move(proves);
        proves.clear();
        std::string_view pattern = line;
        if (starts_with_word(line, "smp")) {
            marker.smp_only = true;
            pattern = trim(line.substr(3));
        } else if (starts_with_word(line, "parked")) {
            marker.parked = true;
            pattern = trim(line.substr(6));
        }
        if (starts_with_word(pattern, "smp") || starts_with_word(pattern, "parked")) {
            throw LadderError(origin + ": the smp and parked prefixes do not combine: '" +
                              std::string(line) + "'");
        }
        check_placeholders(pattern, origin);
        if (pattern.find(kCpuNumber) != std::string_view::npos) {
            if (marker.parked) {
                throw LadderError(origin + ": a parked line cannot use {cpu} (parked harts have no CPU id): '" +
                                  std::string(pattern) + "'");
            }
            // One line per secondary CPU only makes sense in an SMP run.
            marker.per_cpu = true;
            marker.smp_only = true;
        }
        marker.pattern = std::string(pattern);
        out.push_back(std::move(marker));
    }
    include_stack.pop_back();
}

std::optional<std::string> read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::nullopt;
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

std::string replace_all(std::string s, std::string_view from, std::string_view to) {
    for (auto at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
        s.replace(at, from.size(), to);
    }
    return s;
}

bool is_word_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
}

std::string format_seconds(double s) {
    char buf[32];
    if (s == std::floor(s)) {
        std::snprintf(buf, sizeof buf, "%.0f", s);
    } else {
        std::snprintf(buf, sizeof buf, "%.1f", s);
    }
    return buf;
}

std::string in_quotes(std::string_view s) { return "'" + printable(s) + "'"; }

}  // namespace

std::vector<MarkerLine> parse_ladder(std::string_view text, const std::string& name,
                                     const ReadChapter& read) {
    std::vector<std::string> include_stack;
    std::vector<MarkerLine> out;
    parse_into(text, name, read, include_stack, out);
    return out;
}

std::vector<MarkerLine> load_ladder(const std::filesystem::path& markers_file,
                                    const std::filesystem::path& chapters_dir) {
    const auto text = read_file(markers_file);
    if (!text) throw LadderError("cannot read markers file " + markers_file.string());
    const std::string name = markers_file.parent_path().filename().string();
    const ReadChapter read = [&](const std::string& chapter) {
        return read_file(chapters_dir / chapter / "markers");
    };
    return parse_ladder(*text, name, read);
}

const char* machine_name(Machine m) {
    return m == Machine::SifiveU ? "sifive_u" : "virt";
}

int cpu_limit_from_kernel_args(std::string_view kernel_args) {
    const hb::BootArgs args(kernel_args.data(), kernel_args.size());
    const auto n = args.number("maxcpus", hb::kMaxCpus);
    if (n == 0) return 1;
    return n > hb::kMaxCpus ? kKernelCpuLimit : static_cast<int>(n);
}

std::string nonce_from_kernel_args(std::string_view kernel_args) {
    const hb::BootArgs args(kernel_args.data(), kernel_args.size());
    const char* v = nullptr;
    std::size_t len = 0;
    if (!args.value("nonce", v, len)) return "";
    if (!hb::valid_nonce(v, len)) {
        throw ConfigError("nonce= in KERNEL_ARGS (NONCE) must be 1.." + std::to_string(hb::kNonceMax) +
                          " characters of 0-9 and a-z, got '" + printable(std::string_view(v, len)) + "'");
    }
    return std::string(v, len);
}

namespace {
std::vector<std::string> expected_markers_plain(const std::vector<MarkerLine>& ladder, const RunConfig& run) {
    const bool smp_required = run.cpus() >= 2 && run.require_smp;
    const std::string limit = std::to_string(run.cpu_limit);
    std::vector<std::string> out;
    for (const auto& m : ladder) {
        const std::string pattern = replace_all(m.pattern, kCpuLimit, limit);
        if (m.parked) {
            // Parked harts have no CPU id: the line is the same for each.
            for (int i = 0; i < run.parked(); ++i) out.push_back(pattern);
        } else if (!m.smp_only) {
            out.push_back(pattern);
        } else if (smp_required && m.per_cpu) {
            // Secondary CPUs are numbered 1..C-1 (CPU 0 is the boot hart).
            for (int cpu = 1; cpu < run.cpus(); ++cpu) {
                out.push_back(replace_all(pattern, kCpuNumber, std::to_string(cpu)));
            }
        } else if (smp_required) {
            out.push_back(pattern);
        }
    }
    return out;
}
}  // namespace

std::vector<std::string> expected_markers(const std::vector<MarkerLine>& ladder, RunConfig run) {
    std::vector<std::string> out = expected_markers_plain(ladder, run);
    if (!run.nonce.empty()) {
        for (auto& m : out) m += " nonce=" + run.nonce;
    }
    return out;
}


// ---------------------------------------------------------- configuration

namespace {

int parse_bounded(const std::string& text, const std::string& what, int lo, int hi) {
    const bool digits = !text.empty() && text.size() <= 9 &&
                        std::all_of(text.begin(), text.end(),
                                    [](unsigned char c) { return std::isdigit(c) != 0; });
    const int v = digits ? std::stoi(text) : -1;
    if (!digits || v < lo || v > hi) {
        throw ConfigError(what + " must be an integer " + std::to_string(lo) + ".." +
                          std::to_string(hi) + ", got '" + printable(text) + "'");
    }
    return v;
}

bool parse_flag(const std::string& text, const std::string& what) {
    if (text.empty() || text == "0") return false;
    if (text == "1") return true;
    throw ConfigError(what + " must be 0 or 1, got '" + printable(text) + "'");
}

// Keeps a log folder name to letters, digits and . _ -.
std::string sanitize(std::string_view s) {
    std::string out(s);
    for (auto& c : out) {
        if (!is_word_char(c) && c != '.' && c != '-') c = '-';
    }
    return out;
}

}  // namespace

ResolvedConfig resolve_config(const RawConfig& raw) {
    ResolvedConfig c;
    RunConfig& run = c.run;

    const std::string machine = raw.machine.empty() ? "virt" : raw.machine;
    if (machine == "virt") {
        run.machine = Machine::Virt;
    } else if (machine == "sifive_u") {
        run.machine = Machine::SifiveU;
    } else {
        throw ConfigError("MACHINE must be virt or sifive_u, got '" + printable(machine) + "'");
    }
    const std::string smp = raw.smp.empty() ? "1" : raw.smp;
    if (run.machine == Machine::SifiveU) {
        // QEMU's sifive_u is one E51 monitor core plus 1..4 U54 cores.
        const bool ok = !smp.empty() && smp.size() == 1 && smp[0] >= '2' && smp[0] <= '5';
        if (!ok) {
            throw ConfigError("SMP must be an integer 2..5 on MACHINE=sifive_u (hart 0 is the E51 "
                              "monitor core, plus 1..4 U54 harts), got '" + printable(smp) + "'");
        }
        run.smp = smp[0] - '0';
    } else {
        run.smp = parse_bounded(smp, "SMP", 1, kMaxSmp);
    }
    run.require_smp = parse_flag(raw.require_smp, "REQUIRE_SMP");
    c.until_marker = parse_flag(raw.run_until_marker, "RUN_UNTIL_MARKER");
    run.cpu_limit = cpu_limit_from_kernel_args(raw.kernel_args);
    run.nonce = nonce_from_kernel_args(raw.kernel_args);
    if (run.require_smp && run.cpus() < 2) {
        if (run.harts() < 2) {
            throw ConfigError("REQUIRE_SMP=1 needs SMP=" +
                              std::to_string(run.machine == Machine::SifiveU ? 3 : 2) +
                              " or more (SMP=" + std::to_string(run.smp) +
                              (run.machine == Machine::SifiveU
                                   ? ", and on sifive_u hart 0 cannot run the kernel)"
                                   : ")"));
        }
        throw ConfigError("REQUIRE_SMP=1 needs a CPU limit of 2 or more (maxcpus=" +
                          std::to_string(run.cpu_limit) + " in KERNEL_ARGS)");
    }

    const std::string timeout = raw.run_timeout.empty() ? "90s" : raw.run_timeout;
    std::string number = timeout;
    int scale = 1;
    if (!number.empty() && (number.back() == 's' || number.back() == 'm')) {
        scale = number.back() == 'm' ? 60 : 1;
        number.pop_back();
    }
    const bool digits = !number.empty() && number.size() <= 6 &&
                        std::all_of(number.begin(), number.end(),
                                    [](unsigned char ch) { return std::isdigit(ch) != 0; });
    if (!digits || std::stoi(number) == 0) {
        throw ConfigError("RUN_TIMEOUT must look like 90, 90s or 2m, got '" + printable(timeout) + "'");
    }
    c.timeout_s = std::stoi(number) * scale;

    if (!raw.accel.empty() && raw.accel != "single" && raw.accel != "multi") {
        throw ConfigError("ACCEL must be single or multi, got '" + printable(raw.accel) + "'");
    }
    c.accel = raw.accel;

    // Runs on another machine, with another TCG mode or a kernel command
    // line get their own log folder, so they never overwrite the plain logs.
    if (raw.log_suffix) {
        c.log_suffix = sanitize(*raw.log_suffix);
    } else {
        std::vector<std::string> parts;
        if (run.machine != Machine::Virt) parts.push_back("sifive-u");
        if (!c.accel.empty()) parts.push_back(c.accel);
        // A grading nonce changes every run: it does not name the folder.
        std::string args;
        for (std::size_t i = 0; i < raw.kernel_args.size();) {
            std::size_t j = raw.kernel_args.find(' ', i);
            if (j == std::string::npos) j = raw.kernel_args.size();
            const std::string_view word(raw.kernel_args.data() + i, j - i);
            if (!word.empty() && word.rfind("nonce=", 0) != 0) args += (args.empty() ? "" : " ") + std::string(word);
            i = j + 1;
        }
        if (!args.empty()) parts.push_back(sanitize(args));
        for (const auto& p : parts) c.log_suffix += (c.log_suffix.empty() ? "" : "-") + p;
    }
    return c;
}

std::string resolve_chapter(std::string_view spec, std::vector<std::string> folders) {
    auto is_chapter = [](const std::string& f) {
        return f.size() > 3 && std::isdigit(static_cast<unsigned char>(f[0])) != 0 &&
               std::isdigit(static_cast<unsigned char>(f[1])) != 0 && f[2] == '-';
    };
    std::sort(folders.begin(), folders.end());
    if (spec.empty()) {
        for (auto it = folders.rbegin(); it != folders.rend(); ++it) {
            if (is_chapter(*it)) return *it;
        }
        throw ConfigError("no NN-* chapter folder");
    }
    const std::string unknown = "unknown CHAPTER '" + printable(spec) + "'";
    if (spec.find('/') != std::string_view::npos) throw ConfigError(unknown + " (a folder name, not a path)");
    if (std::find(folders.begin(), folders.end(), spec) != folders.end()) return std::string(spec);
    std::vector<std::string> found;
    for (const auto& f : folders) {
        if (f.size() > spec.size() && f.starts_with(spec) && f[spec.size()] == '-') found.push_back(f);
    }
    if (found.size() == 1) return found[0];
    if (found.empty()) throw ConfigError(unknown);
    std::string names;
    for (const auto& f : found) names += (names.empty() ? "" : ", ") + f;
    throw ConfigError(unknown + " is ambiguous: " + names);
}

std::string resolve_chapter_dir(std::string_view spec, const std::filesystem::path& chapters_dir) {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (!fs::is_directory(chapters_dir, ec)) {
        throw ConfigError("no chapters folder " + chapters_dir.string());
    }
    std::vector<std::string> folders;
    for (const auto& entry : fs::directory_iterator(chapters_dir, ec)) {
        if (entry.is_directory(ec)) folders.push_back(entry.path().filename().string());
    }
    try {
        return resolve_chapter(spec, std::move(folders));
    } catch (const ConfigError& e) {
        throw ConfigError(std::string(e.what()) + " in " + chapters_dir.string());
    }
}

std::string ladder_json(const std::vector<MarkerLine>& ladder, const std::string& chapter) {
    std::ostringstream j;
    j << "{\n  \"chapter\": " << json_string(chapter, true) << ",\n  \"markers\": [";
    for (std::size_t i = 0; i < ladder.size(); ++i) {
        const auto& m = ladder[i];
        const auto colon = m.origin.rfind(':');
        j << (i == 0 ? "\n" : ",\n") << "    {\"pattern\": " << json_string(m.pattern, true)
          << ", \"smp_only\": " << (m.smp_only ? "true" : "false")
          << ", \"per_cpu\": " << (m.per_cpu ? "true" : "false")
          << ", \"parked\": " << (m.parked ? "true" : "false")
          << ", \"origin\": " << json_string(m.origin, true)
          << ", \"chapter\": " << json_string(m.origin.substr(0, colon), true)
          << ", \"line\": " << m.origin.substr(colon + 1)
          << ", \"proves\": " << json_string(m.proves, true) << "}";
    }
    j << (ladder.empty() ? "]\n}\n" : "\n  ]\n}\n");
    return j.str();
}

bool matches(std::string_view pattern, std::string_view line) {
    // Walk both strings; at a placeholder, try every run of digits (longest
    // first), because "{N}{N}" or "{N}0" need to give some digits back.
    std::size_t li = 0;
    for (std::size_t pi = 0; pi < pattern.size(); ++pi) {
        const auto rest = pattern.substr(pi);
        std::size_t placeholder = 0;
        if (rest.starts_with(kAnyNumber)) placeholder = kAnyNumber.size();
        if (rest.starts_with(kCpuNumber)) placeholder = kCpuNumber.size();
        if (placeholder != 0) {
            std::size_t digits = 0;
            while (li + digits < line.size() &&
                   std::isdigit(static_cast<unsigned char>(line[li + digits])) != 0) {
                ++digits;
            }
            for (std::size_t n = digits; n >= 1; --n) {
                if (matches(rest.substr(placeholder), line.substr(li + n))) return true;
            }
            return false;
        }
        if (li >= line.size() || line[li] != pattern[pi]) return false;
        ++li;
    }
    return li == line.size();
}

std::string_view clean_line(std::string_view raw) {
    const auto last = raw.find_last_not_of(kWhitespace);
    return last == std::string_view::npos ? std::string_view{} : raw.substr(0, last + 1);
}

std::optional<std::string> forbidden_reason(std::string_view line) {
    // "FAIL" as a whole word: "KSELFTEST: ipi FAIL no ack", not "FAILOVER".
    for (auto at = line.find("FAIL"); at != std::string_view::npos; at = line.find("FAIL", at + 1)) {
        const bool starts = at == 0 || !is_word_char(line[at - 1]);
        const bool ends = at + 4 == line.size() || !is_word_char(line[at + 4]);
        if (starts && ends) return "forbidden line (FAIL): " + in_quotes(line);
    }
    std::string lower(line);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (lower.find("panic") != std::string::npos) return "forbidden line (panic): " + in_quotes(line);
    return std::nullopt;
}

std::string printable(std::string_view line) {
    constexpr std::size_t kMaxBytes = 160;
    std::string out;
    for (std::size_t i = 0; i < line.size() && i < kMaxBytes; ++i) {
        const auto c = static_cast<unsigned char>(line[i]);
        if (c >= 0x20 && c < 0x7f) {
            out += static_cast<char>(c);
        } else {
            char buf[5];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        }
    }
    if (line.size() > kMaxBytes) out += "...";
    return out;
}

// ---------------------------------------------------------------- Judge

Judge::Judge(const std::vector<MarkerLine>& ladder, RunConfig run)
    : m_expected(expected_markers(ladder, run)), m_run(run) {
    const std::string limit = std::to_string(run.cpu_limit);
    for (const auto& m : ladder) {
        const std::string pattern = replace_all(m.pattern, kCpuLimit, limit);
        if (m.smp_only) m_smp_only.push_back(pattern);
        // Any limit: a kernel that parks harts for a wrong limit still parks.
        if (m.parked) m_parked.push_back(replace_all(m.pattern, kCpuLimit, kAnyNumber));
    }
    if (m_expected.empty()) m_state = State::Complete;
}

void Judge::fail(std::string reason) {
    m_state = State::Failed;
    m_failure = std::move(reason);
}

std::string Judge::next_expected() const {
    return m_next < m_expected.size() ? m_expected[m_next] : std::string{};
}

Judge::State Judge::feed(std::string_view raw_line, std::optional<double> t) {
    if (m_state == State::Failed) return m_state;  // the first failure is the verdict
    const auto line = clean_line(raw_line);

    if (auto why = forbidden_reason(line)) {
        fail(*why);
        return m_state;
    }
    if (m_next < m_expected.size() && matches(m_expected[m_next], line)) {
        m_last_line = std::string(line);
        m_last_t = t;
        if (++m_next == m_expected.size()) m_state = State::Complete;
        return m_state;
    }
    // A marker already seen is a one-shot marker printed twice (two harts
    // both thought they were the boot hart, a selftest ran twice...).
    for (std::size_t j = 0; j < m_next; ++j) {
        if (matches(m_expected[j], line)) {
            fail("duplicate marker: " + in_quotes(line));
            return m_state;
        }
    }
    for (std::size_t j = m_next + 1; j < m_expected.size(); ++j) {
        if (matches(m_expected[j], line)) {
            fail("out of order: saw " + in_quotes(line) + " before " + in_quotes(m_expected[m_next]));
            return m_state;
        }
    }
    // With one CPU, nothing SMP may happen at all.
    if (m_run.cpus() == 1) {
        for (const auto& pattern : m_smp_only) {
            if (matches(pattern, line)) {
                fail("SMP marker in single-hart run: " + in_quotes(line));
                return m_state;
            }
        }
    }
    // With every hart within the CPU limit, none may be left parked.
    if (m_run.parked() == 0) {
        for (const auto& pattern : m_parked) {
            if (matches(pattern, line)) {
                fail("parked hart in a run without harts beyond the cpu limit: " + in_quotes(line));
                return m_state;
            }
        }
    }
    return m_state;  // anything else (firmware banner, info lines, junk) is ignored
}

Verdict Judge::base() const {
    Verdict v;
    v.markers_expected = m_expected.size();
    v.markers_seen = m_next;
    v.last_marker_s = m_last_t;
    return v;
}

Verdict Judge::transcript_only() const {
    Verdict v = base();
    if (m_state == State::Failed) {
        v.reason = m_failure;
    } else if (m_state != State::Complete) {
        v.reason = "missing marker: " + in_quotes(m_expected[m_next]) + " (last marker seen: " +
                   (m_next == 0 ? std::string("none") : in_quotes(m_last_line)) + ")";
    } else {
        v.pass = true;
    }
    return v;
}

Verdict Judge::exited(int status) const {
    Verdict v = transcript_only();
    v.qemu_exit = status;
    if (v.pass && status != 0) {
        // Every marker printed, but the kernel itself reported a failure.
        v.pass = false;
        v.reason = "kernel powered off with failure status " + std::to_string(status);
    } else if (!v.pass && m_state != State::Failed && status != 0) {
        v.reason += ", QEMU exit status " + std::to_string(status);
    }
    return v;
}

Verdict Judge::timed_out(double seconds) const {
    Verdict v = base();
    if (m_state == State::Failed) {
        v.reason = m_failure;
    } else if (m_state == State::Complete) {
        // The ladder is there, but a healthy kernel powers off by itself.
        v.reason = "timeout after " + format_seconds(seconds) +
                   "s waiting for the kernel to power off (ladder complete)";
    } else {
        v.reason = "timeout after " + format_seconds(seconds) + "s waiting for " +
                   in_quotes(m_expected[m_next]);
    }
    return v;
}

// ---------------------------------------------------------- LineSplitter

std::vector<std::string> LineSplitter::push(std::string_view bytes) {
    std::vector<std::string> lines;
    for (char c : bytes) {
        if (c == '\n') {
            lines.push_back(std::move(m_partial));
            m_partial.clear();
        } else {
            m_partial += c;
        }
    }
    return lines;
}

std::optional<std::string> LineSplitter::finish() {
    if (m_partial.empty()) return std::nullopt;
    std::string last = std::move(m_partial);
    m_partial.clear();
    return last;
}

// ---------------------------------------------------------------- output

std::string verdict_line(const Verdict& v, const std::string& chapter, int smp) {
    if (!v.pass) return "FAIL " + v.reason;
    char seconds[32] = "n/a";
    if (v.last_marker_s) std::snprintf(seconds, sizeof seconds, "%.3f", *v.last_marker_s);
    return "PASS " + chapter + " smp" + std::to_string(smp) +
           " markers=" + std::to_string(v.markers_seen) + " last_marker_s=" + seconds;
}

std::string json_string(std::string_view s, bool keep_utf8) {
    std::string out = "\"";
    for (char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += ch;
        } else if (c < 0x20 || c == 0x7f || (c > 0x7f && !keep_utf8)) {
            // Escape control bytes and non-ASCII so junk never breaks the JSON.
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
        } else {
            out += ch;
        }
    }
    return out + "\"";
}

std::string result_json(const Verdict& v, const std::string& chapter, RunConfig run) {
    std::ostringstream j;
    j << "{\n";
    j << "  \"chapter\": " << json_string(chapter) << ",\n";
    j << "  \"smp\": " << run.smp << ",\n";
    j << "  \"machine\": \"" << machine_name(run.machine) << "\",\n";
    j << "  \"cpus\": " << run.cpus() << ",\n";
    j << "  \"parked\": " << run.parked() << ",\n";
    j << "  \"require_smp\": " << (run.require_smp ? "true" : "false") << ",\n";
    j << "  \"verdict\": \"" << (v.pass ? "pass" : "fail") << "\",\n";
    j << "  \"reason\": " << json_string(v.reason) << ",\n";
    j << "  \"markers_expected\": " << v.markers_expected << ",\n";
    j << "  \"markers_seen\": " << v.markers_seen << ",\n";
    j << "  \"seconds_to_last_marker\": ";
    if (v.last_marker_s) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.3f", *v.last_marker_s);
        j << buf;
    } else {
        j << "null";
    }
    j << ",\n  \"qemu_exit\": ";
    if (v.qemu_exit) {
        j << *v.qemu_exit;
    } else {
        j << "null";
    }
    j << "\n}\n";
    return j.str();
}

}  // namespace hb::ladder
