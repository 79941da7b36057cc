// The fault registry against the chapters' mutations files (and the variant
// gates of cmake/Gates.cmake): every fault the kernel can inject is used by
// some gate (a fault no gate
// runs proves nothing), and every fault a mutations file names exists (a
// typo there would boot a healthy kernel, which the gate would then call an
// uncaught mutation).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include "lib/faults.hpp"

namespace {

namespace fs = std::filesystem;

/// fault name -> "chapter:line" of every mutations line naming it, and
/// "Gates.cmake" for every `fault=<name>` a variant gate there boots with
/// (a fault whose gate must PASS: a defence proven against a forced race).
std::map<std::string, std::vector<std::string>> mutation_lines() {
    std::map<std::string, std::vector<std::string>> out;
    {
        std::ifstream gates(HB_GATES_CMAKE);
        std::string line;
        while (std::getline(gates, line)) {
            if (line.find_first_not_of(" \t") != std::string::npos && line[line.find_first_not_of(" \t")] == '#') continue;
            const auto at = line.find("\"fault=");
            if (at == std::string::npos || line.find("KERNEL_ARGS") == std::string::npos) continue;
            const auto begin = at + 7;
            const auto end = line.find('"', begin);
            const std::string name = line.substr(begin, end - begin);
            if (name.find('$') == std::string::npos) out[name].push_back("Gates.cmake");
        }
    }
    for (const auto& dir : fs::directory_iterator(HB_CHAPTERS_DIR)) {
        // A course lab's tree (tools/lab.py) builds chapters up to its own
        // and keeps the later chapters' mutations lines in one file here,
        // so their faults still count as used and their names as checked.
        const fs::path file = dir.is_directory() ? dir.path() / "mutations" : dir.path();
        if (!dir.is_directory() && file.extension() != ".mutations") continue;
        if (!fs::exists(file)) continue;
        std::ifstream in(file);
        std::string line;
        int n = 0;
        while (std::getline(in, line)) {
            ++n;
            if (line.empty() || line[0] == '#') continue;
            std::istringstream words(line);
            std::string name;
            words >> name;
            out[name].push_back(dir.path().filename().string() + ":" + std::to_string(n));
        }
    }
    return out;
}

TEST(FaultRegistry, EveryMutationLineNamesARegisteredFault) {
    for (const auto& [name, where] : mutation_lines()) {
        hb::Fault f{};
        EXPECT_TRUE(hb::fault_by_name(name.data(), name.size(), f))
            << "mutations line " << where.front() << " names unknown fault '" << name << "'";
    }
}

TEST(FaultRegistry, EveryFaultIsUsedBySomeMutationLine) {
    const auto lines = mutation_lines();
    for (const hb::FaultSpec& s : hb::kFaultSpecs) {
        EXPECT_TRUE(lines.count(s.name) != 0) << "fault '" << s.name << "' is run by no chapter's mutations file";
    }
}

TEST(FaultRegistry, NamesAreUniqueAndRoundTrip) {
    std::set<std::string> seen;
    for (const hb::FaultSpec& s : hb::kFaultSpecs) {
        EXPECT_TRUE(seen.insert(s.name).second) << "duplicate fault name " << s.name;
        hb::Fault f{};
        ASSERT_TRUE(hb::fault_by_name(s.name, std::string(s.name).size(), f));
        EXPECT_EQ(f, s.fault);
        EXPECT_STREQ(hb::fault_spec(f).name, s.name);
    }
}

TEST(FaultRegistry, LookupIsExactNotPrefix) {
    hb::Fault f{};
    const std::string prefix = "no-hs";
    const std::string longer = "no-hsmx";
    EXPECT_FALSE(hb::fault_by_name(prefix.data(), prefix.size(), f));
    EXPECT_FALSE(hb::fault_by_name(longer.data(), longer.size(), f));
    EXPECT_FALSE(hb::fault_by_name("", 0, f));
    // Not NUL-terminated input: the length decides.
    const char word[] = {'n', 'o', '-', 'h', 's', 'm', ' ', 'x'};
    ASSERT_TRUE(hb::fault_by_name(word, 6, f));
    EXPECT_EQ(f, hb::Fault::NoHsm);
}

}  // namespace
