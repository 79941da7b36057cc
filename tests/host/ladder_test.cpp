// Tests of the marker ladder rules (tools/ladder). Every rule of the gate has
// a case here that fails if the rule is broken or dropped.
#include "ladder.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <unistd.h>
#include <vector>

using namespace hb::ladder;

namespace {

// Parses `text` as chapter "99-test"; `others` are the includable chapters.
std::vector<MarkerLine> parse(const std::string& text,
                              const std::map<std::string, std::string>& others = {}) {
    return parse_ladder(text, "99-test", [&](const std::string& name) -> std::optional<std::string> {
        auto it = others.find(name);
        if (it == others.end()) return std::nullopt;
        return it->second;
    });
}

std::vector<std::string> patterns(const std::vector<MarkerLine>& ladder) {
    std::vector<std::string> out;
    for (const auto& m : ladder) out.push_back(m.pattern);
    return out;
}

// Feeds every line and returns the transcript verdict.
Verdict judge_lines(const std::string& ladder_text, const std::vector<std::string>& lines,
                    RunConfig run = {}) {
    Judge judge(parse(ladder_text), run);
    for (const auto& l : lines) judge.feed(l);
    return judge.transcript_only();
}

const std::string kBasic = "KINIT: boot hart{N}\nKSELFTEST: newtypes ok\n";
const std::string kSmp =
    "KINIT: boot hart{N}\n"
    "smp KINIT: cpu{cpu} online\n"
    "smp KSELFTEST: smp online ok\n"
    "KSELFTEST: done ok\n";

}  // namespace

// ------------------------------------------------------------- parsing

TEST(LadderParse, CommentsAndBlankLinesAreIgnored) {
    const auto l = parse("# header\n\n   \nA ok   # trailing comment\n\t# indented comment\nB ok\n");
    EXPECT_EQ(patterns(l), (std::vector<std::string>{"A ok", "B ok"}));
}

TEST(LadderParse, HashInsideAWordIsKept) {
    EXPECT_EQ(patterns(parse("task#3 ok\n")), (std::vector<std::string>{"task#3 ok"}));
}

TEST(LadderParse, CrLfFilesParse) {
    EXPECT_EQ(patterns(parse("A ok\r\nB ok\r\n")), (std::vector<std::string>{"A ok", "B ok"}));
}

TEST(LadderParse, OriginNamesChapterAndLine) {
    const auto l = parse("# c\nA ok\n");
    ASSERT_EQ(l.size(), 1u);
    EXPECT_EQ(l[0].origin, "99-test:2");
}

TEST(LadderParse, IncludeSplicesInPlace) {
    const auto l = parse("A\ninclude 01-x\nD\n", {{"01-x", "B\nC\n"}});
    EXPECT_EQ(patterns(l), (std::vector<std::string>{"A", "B", "C", "D"}));
}

TEST(LadderParse, IncludeIsRecursive) {
    const auto l = parse("include 02-b\nC\n", {{"01-a", "A\n"}, {"02-b", "include 01-a\nB\n"}});
    EXPECT_EQ(patterns(l), (std::vector<std::string>{"A", "B", "C"}));
}

TEST(LadderParse, IncludeWithTrailingComment) {
    const auto l = parse("include 01-x   # splice\n", {{"01-x", "B\n"}});
    EXPECT_EQ(patterns(l), (std::vector<std::string>{"B"}));
}

TEST(LadderParse, SameChapterIncludedTwiceInSequenceIsNotACycle) {
    const auto l = parse("include 01-x\ninclude 01-x\n", {{"01-x", "B\n"}});
    EXPECT_EQ(patterns(l), (std::vector<std::string>{"B", "B"}));
}

TEST(LadderParse, IncludeCycleIsAnError) {
    try {
        parse("include 01-a\n", {{"01-a", "include 02-b\n"}, {"02-b", "include 01-a\n"}});
        FAIL() << "a cycle must not parse";
    } catch (const LadderError& e) {
        EXPECT_NE(std::string(e.what()).find("include cycle"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("01-a -> 02-b -> 01-a"), std::string::npos) << e.what();
    }
}

TEST(LadderParse, SelfIncludeIsACycle) {
    EXPECT_THROW(parse("include 99-test\n"), LadderError);
}

TEST(LadderParse, MissingIncludeIsAnError) {
    try {
        parse("A\ninclude 42-nowhere\n");
        FAIL() << "a missing include must not parse";
    } catch (const LadderError& e) {
        EXPECT_NE(std::string(e.what()).find("42-nowhere"), std::string::npos);
        EXPECT_NE(std::string(e.what()).find("99-test:2"), std::string::npos);
    }
}

TEST(LadderParse, IncludeNeedsExactlyOneName) {
    EXPECT_THROW(parse("include a b\n", {{"a", "A\n"}}), LadderError);
}

TEST(LadderParse, UnknownPlaceholderIsAnError) {
    EXPECT_THROW(parse("KINIT: boot hart{n}\n"), LadderError);
    EXPECT_THROW(parse("KINIT: {hart}\n"), LadderError);
    EXPECT_THROW(parse("KINIT: {N\n"), LadderError);
    EXPECT_THROW(parse("KINIT: N}\n"), LadderError);
}

TEST(LadderParse, SmpPrefixMarksSmpOnlyLines) {
    const auto l = parse("A\nsmp B\nsmpish C\n");
    ASSERT_EQ(l.size(), 3u);
    EXPECT_FALSE(l[0].smp_only);
    EXPECT_TRUE(l[1].smp_only);
    EXPECT_EQ(l[1].pattern, "B");
    EXPECT_FALSE(l[2].smp_only) << "only the word `smp` is the prefix";
    EXPECT_EQ(l[2].pattern, "smpish C");
}

TEST(LadderParse, CpuPlaceholderImpliesSmp) {
    const auto l = parse("KINIT: cpu{cpu} online\n");
    ASSERT_EQ(l.size(), 1u);
    EXPECT_TRUE(l[0].smp_only);
    EXPECT_TRUE(l[0].per_cpu);
}

TEST(LadderParse, LoadsFromChaptersDirectory) {
    namespace fs = std::filesystem;
    const fs::path root = fs::temp_directory_path() / ("hb-ladder-test-" + std::to_string(::getpid()));
    fs::create_directories(root / "01-a");
    fs::create_directories(root / "02-b");
    std::ofstream(root / "01-a" / "markers") << "A ok\n";
    std::ofstream(root / "02-b" / "markers") << "include 01-a\nB ok\n";
    const auto l = load_ladder(root / "02-b" / "markers", root);
    EXPECT_EQ(patterns(l), (std::vector<std::string>{"A ok", "B ok"}));
    EXPECT_EQ(l[1].origin, "02-b:2");
    EXPECT_THROW(load_ladder(root / "03-none" / "markers", root), LadderError);
    fs::remove_all(root);
}

// ------------------------------------------------------ expected lines

TEST(LadderExpected, SingleHartGetsOnlyNonSmpLines) {
    EXPECT_EQ(expected_markers(parse(kSmp), {1, false}),
              (std::vector<std::string>{"KINIT: boot hart{N}", "KSELFTEST: done ok"}));
}

TEST(LadderExpected, SmpLinesAreNotRequiredWithoutRequireSmp) {
    EXPECT_EQ(expected_markers(parse(kSmp), {4, false}),
              (std::vector<std::string>{"KINIT: boot hart{N}", "KSELFTEST: done ok"}));
}

TEST(LadderExpected, RequireSmpExpandsCpuLinesInOrder) {
    EXPECT_EQ(expected_markers(parse(kSmp), {4, true}),
              (std::vector<std::string>{"KINIT: boot hart{N}", "KINIT: cpu1 online",
                                        "KINIT: cpu2 online", "KINIT: cpu3 online",
                                        "KSELFTEST: smp online ok", "KSELFTEST: done ok"}));
}

TEST(LadderExpected, TwoHartsHaveOneSecondary) {
    const auto e = expected_markers(parse("smp cpu{cpu} of {N}\n"), {2, true});
    EXPECT_EQ(e, (std::vector<std::string>{"cpu1 of {N}"}));
}

// ------------------------------------------------------------ matching

TEST(LadderMatch, ExactTextMatches) {
    EXPECT_TRUE(matches("KSELFTEST: newtypes ok", "KSELFTEST: newtypes ok"));
    EXPECT_FALSE(matches("KSELFTEST: newtypes ok", "KSELFTEST: newtypes ok!"));
    EXPECT_FALSE(matches("KSELFTEST: newtypes ok", "KSELFTEST: newtypes o"));
    EXPECT_FALSE(matches("KSELFTEST: newtypes ok", " KSELFTEST: newtypes ok"));
    EXPECT_FALSE(matches("KSELFTEST: newtypes ok", "kselftest: newtypes ok"));
}

TEST(LadderMatch, NumberMatchesOneOrMoreDigits) {
    EXPECT_TRUE(matches("hart{N}", "hart0"));
    EXPECT_TRUE(matches("hart{N}", "hart123"));
    EXPECT_FALSE(matches("hart{N}", "hart"));
    EXPECT_FALSE(matches("hart{N}", "hartx"));
    EXPECT_FALSE(matches("hart{N}", "hart1x"));
    EXPECT_FALSE(matches("hart{N}", "hart-1"));
}

TEST(LadderMatch, NumberInTheMiddle) {
    EXPECT_TRUE(matches("KINIT: hart{N} online", "KINIT: hart3 online"));
    EXPECT_FALSE(matches("KINIT: hart{N} online", "KINIT: hart3 offline"));
}

TEST(LadderMatch, NumberGivesDigitsBack) {
    EXPECT_TRUE(matches("{N}0", "100"));
    EXPECT_TRUE(matches("{N}{N}", "12"));
    EXPECT_FALSE(matches("{N}{N}", "1"));
}

TEST(LadderMatch, CpuPlaceholderMatchesDigits) {
    EXPECT_TRUE(matches("cpu{cpu} online", "cpu7 online"));
    EXPECT_FALSE(matches("cpu{cpu} online", "cpuX online"));
}

TEST(LadderLines, TrailingCarriageReturnAndBlanksAreStripped) {
    EXPECT_EQ(clean_line("KINIT: boot hart0\r"), "KINIT: boot hart0");
    EXPECT_EQ(clean_line("KINIT: boot hart0  \t\r\n"), "KINIT: boot hart0");
    EXPECT_EQ(clean_line("  indented"), "  indented");
    EXPECT_EQ(clean_line("\r"), "");
}

// ------------------------------------------------------- forbidden lines

TEST(LadderForbidden, FailWordIsForbidden) {
    EXPECT_TRUE(forbidden_reason("KSELFTEST: ipi FAIL no ack"));
    EXPECT_TRUE(forbidden_reason("FAIL"));
    EXPECT_TRUE(forbidden_reason("selftest: FAIL"));
    EXPECT_TRUE(forbidden_reason("[FAIL] x"));
    EXPECT_NE(forbidden_reason("x FAIL y")->find("FAIL"), std::string::npos);
}

TEST(LadderForbidden, FailInsideAnotherWordIsAllowed) {
    EXPECT_FALSE(forbidden_reason("FAILOVER ready"));
    EXPECT_FALSE(forbidden_reason("NOFAIL"));
    EXPECT_FALSE(forbidden_reason("fail counter 0"));  // the word is upper case
}

TEST(LadderForbidden, PanicInAnyCaseIsForbidden) {
    EXPECT_TRUE(forbidden_reason("panic: out of memory"));
    EXPECT_TRUE(forbidden_reason("Kernel PANIC at trap.cpp:42"));
    EXPECT_TRUE(forbidden_reason("hart 1 panicked"));
    EXPECT_FALSE(forbidden_reason("KINIT: boot hart0"));
}

TEST(LadderForbidden, ReasonQuotesTheLine) {
    const auto r = forbidden_reason("KSELFTEST: smp FAIL hart 2 missing");
    ASSERT_TRUE(r);
    EXPECT_NE(r->find("'KSELFTEST: smp FAIL hart 2 missing'"), std::string::npos) << *r;
}

TEST(LadderLines, PrintableEscapesJunkAndCutsLongLines) {
    EXPECT_EQ(printable(std::string("a\0b\x7f\xff", 5)), "a\\x00b\\x7f\\xff");
    const auto cut = printable(std::string(1000, 'x'));
    EXPECT_LT(cut.size(), 200u);
    EXPECT_TRUE(cut.ends_with("..."));
}

// --------------------------------------------------------------- judge

TEST(LadderJudge, GoodLadderPasses) {
    const auto v = judge_lines(kBasic, {"KINIT: boot hart2", "KSELFTEST: newtypes ok"});
    EXPECT_TRUE(v.pass) << v.reason;
    EXPECT_EQ(v.markers_seen, 2u);
    EXPECT_EQ(v.markers_expected, 2u);
}

TEST(LadderJudge, OtherLinesAndJunkAreIgnored) {
    const auto v = judge_lines(kBasic, {"OpenSBI v1.1", "", std::string("\x00\x01\xfe\xff", 4),
                                        "KINIT: boot hart0\r", "KINIT: heap 64 KiB",
                                        "KINIT: boot hart0 is here", "\x1b[0m garbage",
                                        "KSELFTEST: newtypes ok\r"});
    EXPECT_TRUE(v.pass) << v.reason;
}

TEST(LadderJudge, JunkDoesNotReplaceAMissingMarker) {
    const auto v = judge_lines(kBasic, {"KINIT: boot hart0", std::string("\xff\xfe", 2),
                                        "KSELFTEST: newtypes o"});
    EXPECT_FALSE(v.pass);
    EXPECT_EQ(v.reason,
              "missing marker: 'KSELFTEST: newtypes ok' (last marker seen: 'KINIT: boot hart0')");
}

TEST(LadderJudge, NothingSeenNamesTheFirstMarker) {
    const auto v = judge_lines(kBasic, {"OpenSBI v1.1"});
    EXPECT_FALSE(v.pass);
    EXPECT_EQ(v.reason, "missing marker: 'KINIT: boot hart{N}' (last marker seen: none)");
    EXPECT_EQ(v.markers_seen, 0u);
}

TEST(LadderJudge, OutOfOrderFailsAtOnce) {
    Judge judge(parse("A ok\nB ok\nC ok\n"), {});
    EXPECT_EQ(judge.feed("A ok"), Judge::State::Running);
    EXPECT_EQ(judge.feed("C ok"), Judge::State::Failed);
    EXPECT_EQ(judge.failure(), "out of order: saw 'C ok' before 'B ok'");
}

TEST(LadderJudge, DuplicateOneShotMarkerFails) {
    Judge judge(parse(kBasic), {});
    judge.feed("KINIT: boot hart0");
    EXPECT_EQ(judge.feed("KINIT: boot hart1"), Judge::State::Failed);
    EXPECT_EQ(judge.failure(), "duplicate marker: 'KINIT: boot hart1'");
}

TEST(LadderJudge, DuplicateAfterCompleteFails) {
    Judge judge(parse(kBasic), {});
    judge.feed("KINIT: boot hart0");
    EXPECT_EQ(judge.feed("KSELFTEST: newtypes ok"), Judge::State::Complete);
    EXPECT_EQ(judge.feed("KSELFTEST: newtypes ok"), Judge::State::Failed);
    EXPECT_FALSE(judge.exited(0).pass);
}

TEST(LadderJudge, RepeatedPatternInTheLadderIsExpectedTwice) {
    const auto v = judge_lines("tick {N}\nmid\ntick {N}\n", {"tick 1", "mid", "tick 2"});
    EXPECT_TRUE(v.pass) << v.reason;
}

TEST(LadderJudge, ForbiddenLineFailsEvenAfterComplete) {
    Judge judge(parse(kBasic), {});
    judge.feed("KINIT: boot hart0");
    judge.feed("KSELFTEST: newtypes ok");
    EXPECT_EQ(judge.feed("KSELFTEST: late FAIL boom"), Judge::State::Failed);
    EXPECT_NE(judge.failure().find("forbidden line (FAIL)"), std::string::npos);
}

TEST(LadderJudge, PanicLineFails) {
    const auto v = judge_lines(kBasic, {"KINIT: boot hart0", "panic: bad trap"});
    EXPECT_FALSE(v.pass);
    EXPECT_NE(v.reason.find("panic"), std::string::npos);
}

TEST(LadderJudge, FirstFailureSticks) {
    Judge judge(parse(kBasic), {});
    judge.feed("KSELFTEST: x FAIL first");
    judge.feed("panic: second");
    judge.feed("KINIT: boot hart0");
    EXPECT_EQ(judge.state(), Judge::State::Failed);
    EXPECT_NE(judge.failure().find("first"), std::string::npos);
}

TEST(LadderJudge, SmpMarkerInSingleHartRunFails) {
    const auto v = judge_lines(kSmp, {"KINIT: boot hart0", "KSELFTEST: smp online ok"}, {1, false});
    EXPECT_FALSE(v.pass);
    EXPECT_EQ(v.reason, "SMP marker in single-hart run: 'KSELFTEST: smp online ok'");
}

TEST(LadderJudge, CpuLineInSingleHartRunFails) {
    const auto v = judge_lines(kSmp, {"KINIT: boot hart0", "KINIT: cpu7 online"}, {1, false});
    EXPECT_FALSE(v.pass);
    EXPECT_NE(v.reason.find("SMP marker in single-hart run"), std::string::npos);
}

TEST(LadderJudge, SingleHartPassesWithoutSmpLines) {
    const auto v = judge_lines(kSmp, {"KINIT: boot hart0", "KSELFTEST: done ok"}, {1, false});
    EXPECT_TRUE(v.pass) << v.reason;
}

TEST(LadderJudge, OptionalSmpLinesAreIgnoredWithoutRequireSmp) {
    // Present, absent or in any order: none of it matters without REQUIRE_SMP.
    EXPECT_TRUE(judge_lines(kSmp, {"KINIT: boot hart1", "KSELFTEST: done ok"}, {2, false}).pass);
    EXPECT_TRUE(judge_lines(kSmp,
                            {"KINIT: boot hart1", "KSELFTEST: smp online ok", "KINIT: cpu1 online",
                             "KSELFTEST: done ok"},
                            {2, false})
                    .pass);
}

TEST(LadderJudge, RequireSmpNeedsEveryCpuLine) {
    const RunConfig run{3, true};
    EXPECT_TRUE(judge_lines(kSmp,
                            {"KINIT: boot hart2", "KINIT: cpu1 online", "KINIT: cpu2 online",
                             "KSELFTEST: smp online ok", "KSELFTEST: done ok"},
                            run)
                    .pass);
    const auto missing = judge_lines(
        kSmp, {"KINIT: boot hart2", "KINIT: cpu1 online", "KSELFTEST: smp online ok"}, run);
    EXPECT_FALSE(missing.pass);
    EXPECT_NE(missing.reason.find("out of order: saw 'KSELFTEST: smp online ok' before "
                                  "'KINIT: cpu2 online'"),
              std::string::npos)
        << missing.reason;
}

TEST(LadderJudge, CpuLinesMustComeInCpuOrder) {
    const auto v = judge_lines(kSmp, {"KINIT: boot hart0", "KINIT: cpu2 online"}, {3, true});
    EXPECT_FALSE(v.pass);
    EXPECT_NE(v.reason.find("out of order"), std::string::npos);
}

TEST(LadderJudge, CpuBeyondSmpIsIgnoredNotExpected) {
    // With SMP=2 only cpu1 exists; a stray "cpu5 online" matches nothing expected.
    const auto v = judge_lines(kSmp,
                               {"KINIT: boot hart0", "KINIT: cpu1 online", "KINIT: cpu5 online",
                                "KSELFTEST: smp online ok", "KSELFTEST: done ok"},
                               {2, true});
    EXPECT_TRUE(v.pass) << v.reason;
}

TEST(LadderJudge, EmptyLadderIsComplete) {
    Judge judge(parse("# nothing\n"), {});
    EXPECT_EQ(judge.state(), Judge::State::Complete);
    EXPECT_TRUE(judge.exited(0).pass);
}

TEST(LadderJudge, NextExpectedFollowsProgress) {
    Judge judge(parse(kBasic), {});
    EXPECT_EQ(judge.next_expected(), "KINIT: boot hart{N}");
    judge.feed("KINIT: boot hart0");
    EXPECT_EQ(judge.next_expected(), "KSELFTEST: newtypes ok");
    EXPECT_EQ(judge.seen_count(), 1u);
    judge.feed("KSELFTEST: newtypes ok");
    EXPECT_EQ(judge.next_expected(), "");
}

// --------------------------------------------------------- final verdict

TEST(LadderVerdict, CompleteAndExitZeroPasses) {
    Judge judge(parse(kBasic), {});
    judge.feed("KINIT: boot hart0");
    judge.feed("KSELFTEST: newtypes ok");
    const auto v = judge.exited(0);
    EXPECT_TRUE(v.pass);
    EXPECT_EQ(v.qemu_exit, 0);
}

TEST(LadderVerdict, CompleteButFailureStatusFails) {
    Judge judge(parse(kBasic), {});
    judge.feed("KINIT: boot hart0");
    judge.feed("KSELFTEST: newtypes ok");
    const auto v = judge.exited(1);
    EXPECT_FALSE(v.pass);
    EXPECT_EQ(v.reason, "kernel powered off with failure status 1");
    EXPECT_EQ(v.qemu_exit, 1);
}

TEST(LadderVerdict, IncompleteWithFailureStatusNamesTheMissingMarker) {
    Judge judge(parse(kBasic), {});
    judge.feed("KINIT: boot hart0");
    const auto v = judge.exited(1);
    EXPECT_FALSE(v.pass);
    EXPECT_TRUE(v.reason.starts_with("missing marker: 'KSELFTEST: newtypes ok'")) << v.reason;
    EXPECT_NE(v.reason.find("exit status 1"), std::string::npos) << v.reason;
}

TEST(LadderVerdict, IncompleteWithExitZeroFails) {
    Judge judge(parse(kBasic), {});
    judge.feed("KINIT: boot hart0");
    EXPECT_FALSE(judge.exited(0).pass);
}

TEST(LadderVerdict, TimeoutNamesTheNextMarker) {
    Judge judge(parse(kBasic), {});
    judge.feed("KINIT: boot hart0");
    const auto v = judge.timed_out(90);
    EXPECT_FALSE(v.pass);
    EXPECT_EQ(v.reason, "timeout after 90s waiting for 'KSELFTEST: newtypes ok'");
    EXPECT_FALSE(v.qemu_exit);
}

TEST(LadderVerdict, TimeoutAfterCompleteWaitsForPowerOff) {
    Judge judge(parse(kBasic), {});
    judge.feed("KINIT: boot hart0");
    judge.feed("KSELFTEST: newtypes ok");
    const auto v = judge.timed_out(1.5);
    EXPECT_FALSE(v.pass);
    EXPECT_EQ(v.reason, "timeout after 1.5s waiting for the kernel to power off (ladder complete)");
}

TEST(LadderVerdict, FailureBeatsTimeoutAndExitStatus) {
    Judge judge(parse(kBasic), {});
    judge.feed("KINIT: boot hart0");
    judge.feed("KINIT: boot hart0");
    EXPECT_TRUE(judge.timed_out(5).reason.starts_with("duplicate marker"));
    EXPECT_TRUE(judge.exited(0).reason.starts_with("duplicate marker"));
}

TEST(LadderVerdict, LastMarkerTimeIsRecorded) {
    Judge judge(parse(kBasic), {});
    judge.feed("KINIT: boot hart0", 0.1);
    judge.feed("KSELFTEST: newtypes ok", 0.25);
    judge.feed("KINIT: unrelated", 0.9);
    ASSERT_TRUE(judge.transcript_only().last_marker_s);
    EXPECT_DOUBLE_EQ(*judge.transcript_only().last_marker_s, 0.25);
}

TEST(LadderVerdict, VerdictLineFormats) {
    Verdict pass;
    pass.pass = true;
    pass.markers_seen = 2;
    pass.last_marker_s = 0.1534;
    EXPECT_EQ(verdict_line(pass, "01-newtypes", 2),
              "PASS 01-newtypes smp2 markers=2 last_marker_s=0.153");
    pass.last_marker_s.reset();
    EXPECT_EQ(verdict_line(pass, "01-newtypes", 1),
              "PASS 01-newtypes smp1 markers=2 last_marker_s=n/a");
    Verdict fail;
    fail.reason = "duplicate marker: 'x'";
    EXPECT_EQ(verdict_line(fail, "01-newtypes", 1), "FAIL duplicate marker: 'x'");
}

TEST(LadderVerdict, ResultJsonHasEveryField) {
    Verdict v;
    v.reason = "forbidden line (FAIL): 'a \"b\"'";
    v.markers_expected = 3;
    v.markers_seen = 1;
    v.qemu_exit = 1;
    const auto j = result_json(v, "02-hart-boot", {2, true});
    EXPECT_NE(j.find("\"chapter\": \"02-hart-boot\""), std::string::npos) << j;
    EXPECT_NE(j.find("\"smp\": 2"), std::string::npos);
    EXPECT_NE(j.find("\"require_smp\": true"), std::string::npos);
    EXPECT_NE(j.find("\"verdict\": \"fail\""), std::string::npos);
    EXPECT_NE(j.find("\"reason\": \"forbidden line (FAIL): 'a \\\"b\\\"'\""), std::string::npos) << j;
    EXPECT_NE(j.find("\"markers_expected\": 3"), std::string::npos);
    EXPECT_NE(j.find("\"markers_seen\": 1"), std::string::npos);
    EXPECT_NE(j.find("\"seconds_to_last_marker\": null"), std::string::npos);
    EXPECT_NE(j.find("\"qemu_exit\": 1"), std::string::npos);
}

TEST(LadderVerdict, JsonStringEscapesControlAndNonAscii) {
    EXPECT_EQ(json_string(std::string("a\n\x01\xff\\", 5)), "\"a\\u000a\\u0001\\u00ff\\\\\"");
}

// -------------------------------------------------------- line splitter

TEST(LadderSplitter, PartialLinesWaitForTheirNewline) {
    LineSplitter s;
    EXPECT_TRUE(s.push("KIN").empty());
    EXPECT_EQ(s.push("IT: boot hart0\r\nKSELF"), (std::vector<std::string>{"KINIT: boot hart0\r"}));
    EXPECT_EQ(s.push("TEST: newtypes ok\n\n"),
              (std::vector<std::string>{"KSELFTEST: newtypes ok", ""}));
    EXPECT_FALSE(s.finish());
}

TEST(LadderSplitter, FinishReturnsTheUnterminatedLastLine) {
    LineSplitter s;
    s.push("a\nb");
    EXPECT_EQ(s.finish(), std::optional<std::string>("b"));
    EXPECT_FALSE(s.finish());
}
