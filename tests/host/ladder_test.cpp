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

// ------------------------------------------------------ proves comments

TEST(LadderProves, ConsecutiveProvesLinesJoinOntoTheNextMarker) {
    const auto l = parse("# proves: the first\n#proves:   half\n# other comment\nA ok\nB ok\n");
    ASSERT_EQ(l.size(), 2u);
    EXPECT_EQ(l[0].proves, "the first half");
    EXPECT_EQ(l[1].proves, "");  // used up by A
}

TEST(LadderProves, BlankLineOrIncludeDetachesIt) {
    const auto l = parse("# proves: lost\n\nA ok\n# proves: also lost\ninclude 01-x\nB ok\n",
                         {{"01-x", "# proves: x's own\nX ok\n"}});
    ASSERT_EQ(patterns(l), (std::vector<std::string>{"A ok", "X ok", "B ok"}));
    EXPECT_EQ(l[0].proves, "");
    EXPECT_EQ(l[1].proves, "x's own");
    EXPECT_EQ(l[2].proves, "");
}

TEST(LadderProves, TrailingCommentIsNotProves) {
    const auto l = parse("A ok # proves: nothing\n");
    EXPECT_EQ(l[0].pattern, "A ok");
    EXPECT_EQ(l[0].proves, "");
}

// ------------------------------------------------- parked harts, {limit}

const std::string kParked =
    "KINIT: boot hart{N}\n"
    "parked KINIT: hart{N} parked (cpu limit {limit})\n"
    "smp KINIT: cpu{cpu} online\n"
    "KSELFTEST: done ok\n";

TEST(LadderParked, PrefixMarksParkedLines) {
    const auto l = parse(kParked);
    EXPECT_TRUE(l[1].parked);
    EXPECT_FALSE(l[1].smp_only);
    EXPECT_FALSE(l[1].per_cpu);
    EXPECT_EQ(l[1].pattern, "KINIT: hart{N} parked (cpu limit {limit})");
}

TEST(LadderParked, PrefixesDoNotCombine) {
    EXPECT_THROW(parse("parked smp X\n"), LadderError);
    EXPECT_THROW(parse("smp parked X\n"), LadderError);
    EXPECT_THROW(parse("parked hart{cpu} parked\n"), LadderError);
    EXPECT_THROW(parse("cpu limit {lim}\n"), LadderError);
}

TEST(LadderParked, RunConfigCountsHartsCpusAndParked) {
    RunConfig r{12, true};
    EXPECT_EQ(r.harts(), 12);
    EXPECT_EQ(r.cpus(), 8);
    EXPECT_EQ(r.parked(), 4);
    r = RunConfig{4, true, Machine::Virt, 2};
    EXPECT_EQ(r.cpus(), 2);
    EXPECT_EQ(r.parked(), 2);
    r = RunConfig{3, true, Machine::SifiveU};
    EXPECT_EQ(r.harts(), 2);  // hart 0 is the E51 monitor core
    EXPECT_EQ(r.cpus(), 2);
    EXPECT_EQ(r.parked(), 0);
    EXPECT_EQ(kKernelCpuLimit, 8);
}

TEST(LadderParked, WithinTheLimitNoParkedLineIsExpected) {
    EXPECT_EQ(expected_markers(parse(kParked), {8, true}),
              (std::vector<std::string>{"KINIT: boot hart{N}", "KINIT: cpu1 online", "KINIT: cpu2 online",
                                        "KINIT: cpu3 online", "KINIT: cpu4 online", "KINIT: cpu5 online",
                                        "KINIT: cpu6 online", "KINIT: cpu7 online", "KSELFTEST: done ok"}));
}

TEST(LadderParked, BeyondTheLimitOneLinePerParkedHartAndCpusCapped) {
    const auto e = expected_markers(parse(kParked), {10, true});
    ASSERT_EQ(e.size(), 1u + 2u + 7u + 1u);
    EXPECT_EQ(e[1], "KINIT: hart{N} parked (cpu limit 8)");
    EXPECT_EQ(e[2], "KINIT: hart{N} parked (cpu limit 8)");
    EXPECT_EQ(e[9], "KINIT: cpu7 online");
}

TEST(LadderParked, ParkedLinesAreRequiredEvenWithoutRequireSmp) {
    EXPECT_EQ(expected_markers(parse(kParked), {4, false, Machine::Virt, 3}),
              (std::vector<std::string>{"KINIT: boot hart{N}", "KINIT: hart{N} parked (cpu limit 3)",
                                        "KSELFTEST: done ok"}));
}

TEST(LadderParked, MaxcpusLadderPasses) {
    const auto v = judge_lines(kParked,
                               {"KINIT: boot hart0", "KINIT: hart2 parked (cpu limit 2)",
                                "KINIT: hart3 parked (cpu limit 2)", "KINIT: cpu1 online",
                                "KSELFTEST: done ok"},
                               {4, true, Machine::Virt, 2});
    EXPECT_TRUE(v.pass) << v.reason;
}

TEST(LadderParked, OneParkedLineTooManyIsADuplicate) {
    const auto v = judge_lines(kParked,
                               {"KINIT: boot hart0", "KINIT: hart2 parked (cpu limit 3)",
                                "KINIT: hart3 parked (cpu limit 3)"},
                               {4, true, Machine::Virt, 3});
    EXPECT_FALSE(v.pass);
    EXPECT_EQ(v.reason, "duplicate marker: 'KINIT: hart3 parked (cpu limit 3)'");
}

TEST(LadderParked, ParkedLineWithoutParkedHartsFailsWhateverTheLimit) {
    const auto v = judge_lines(kParked, {"KINIT: boot hart0", "KINIT: hart3 parked (cpu limit 2)"},
                               {4, true});
    EXPECT_FALSE(v.pass);
    EXPECT_EQ(v.reason,
              "parked hart in a run without harts beyond the cpu limit: 'KINIT: hart3 parked (cpu limit 2)'");
}

TEST(LadderParked, SingleCpuRunForbidsSmpLinesEvenWithManyHarts) {
    // sifive_u with SMP=2: two harts, but only one can run the kernel.
    const auto v = judge_lines(kSmp, {"KINIT: boot hart1", "KINIT: cpu1 online"},
                               {2, false, Machine::SifiveU});
    EXPECT_EQ(v.reason, "SMP marker in single-hart run: 'KINIT: cpu1 online'");
}

TEST(LadderParked, CpuLimitFromKernelArgsFollowsTheKernel) {
    EXPECT_EQ(cpu_limit_from_kernel_args(""), 8);
    EXPECT_EQ(cpu_limit_from_kernel_args("maxcpus=2"), 2);
    EXPECT_EQ(cpu_limit_from_kernel_args("fault=skip-hart-start maxcpus=4"), 4);
    EXPECT_EQ(cpu_limit_from_kernel_args("maxcpus=2 maxcpus=3"), 3);  // the last one wins
    EXPECT_EQ(cpu_limit_from_kernel_args("maxcpus=0"), 1);            // the boot CPU always runs
    EXPECT_EQ(cpu_limit_from_kernel_args("maxcpus=99"), 8);           // capped at kMaxCpus
    EXPECT_EQ(cpu_limit_from_kernel_args("maxcpus=two"), 8);          // not a number: ignored
    EXPECT_EQ(cpu_limit_from_kernel_args("xmaxcpus=2"), 8);
}

// -------------------------------------------------------- configuration

namespace {

std::string config_error(const RawConfig& raw) {
    try {
        resolve_config(raw);
    } catch (const ConfigError& e) {
        return e.what();
    }
    return "(no error)";
}

}  // namespace

TEST(LadderConfig, DefaultsAreOneHartOnVirtFor90Seconds) {
    const auto c = resolve_config({});
    EXPECT_EQ(c.run.smp, 1);
    EXPECT_FALSE(c.run.require_smp);
    EXPECT_EQ(c.run.machine, Machine::Virt);
    EXPECT_EQ(c.run.cpu_limit, 8);
    EXPECT_FALSE(c.until_marker);
    EXPECT_EQ(c.timeout_s, 90);
    EXPECT_EQ(c.accel, "");
    EXPECT_EQ(c.log_suffix, "");
}

TEST(LadderConfig, SmpRange) {
    RawConfig raw;
    for (const char* ok : {"1", "8", "12", "32", "04"}) {
        raw.smp = ok;
        EXPECT_NO_THROW(resolve_config(raw)) << ok;
    }
    raw.smp = "04";
    EXPECT_EQ(resolve_config(raw).run.smp, 4);
    for (const char* bad : {"0", "33", "99", "-1", "abc", " ", "2x", "99999999999"}) {
        raw.smp = bad;
        EXPECT_EQ(config_error(raw), "SMP must be an integer 1..32, got '" + std::string(bad) + "'");
    }
}

TEST(LadderConfig, SifiveUNeedsTwoToFiveHarts) {
    RawConfig raw;
    raw.machine = "sifive_u";
    raw.smp = "3";
    EXPECT_EQ(resolve_config(raw).run.machine, Machine::SifiveU);
    for (const char* bad : {"1", "6", "8"}) {
        raw.smp = bad;
        EXPECT_NE(config_error(raw).find("SMP must be an integer 2..5 on MACHINE=sifive_u"), std::string::npos);
    }
    raw.smp = "2";
    raw.require_smp = "1";
    EXPECT_EQ(config_error(raw),
              "REQUIRE_SMP=1 needs SMP=3 or more (SMP=2, and on sifive_u hart 0 cannot run the kernel)");
    raw.machine = "sifive-u";
    EXPECT_EQ(config_error(raw), "MACHINE must be virt or sifive_u, got 'sifive-u'");
}

TEST(LadderConfig, RequireSmpNeedsTwoCpus) {
    RawConfig raw;
    raw.require_smp = "1";
    EXPECT_EQ(config_error(raw), "REQUIRE_SMP=1 needs SMP=2 or more (SMP=1)");
    raw.smp = "4";
    raw.kernel_args = "maxcpus=1";
    EXPECT_EQ(config_error(raw), "REQUIRE_SMP=1 needs a CPU limit of 2 or more (maxcpus=1 in KERNEL_ARGS)");
    raw.kernel_args = "maxcpus=2";
    EXPECT_EQ(resolve_config(raw).run.cpus(), 2);
    raw.require_smp = "yes";
    EXPECT_EQ(config_error(raw), "REQUIRE_SMP must be 0 or 1, got 'yes'");
}

TEST(LadderConfig, FlagsTimeoutAndAccel) {
    RawConfig raw;
    raw.run_until_marker = "1";
    EXPECT_TRUE(resolve_config(raw).until_marker);
    raw.run_until_marker = "2";
    EXPECT_EQ(config_error(raw), "RUN_UNTIL_MARKER must be 0 or 1, got '2'");
    raw.run_until_marker = "";
    for (auto [text, seconds] : {std::pair{"45", 45}, {"45s", 45}, {"2m", 120}}) {
        raw.run_timeout = text;
        EXPECT_EQ(resolve_config(raw).timeout_s, seconds) << text;
    }
    for (const char* bad : {"0", "0s", "soon", "5h", "m", "-3"}) {
        raw.run_timeout = bad;
        EXPECT_EQ(config_error(raw), "RUN_TIMEOUT must look like 90, 90s or 2m, got '" + std::string(bad) + "'");
    }
    raw.run_timeout = "";
    raw.accel = "fast";
    EXPECT_EQ(config_error(raw), "ACCEL must be single or multi, got 'fast'");
}

TEST(LadderConfig, LogSuffixNamesTheVariant) {
    RawConfig raw;
    raw.machine = "sifive_u";
    raw.smp = "3";
    raw.accel = "single";
    raw.kernel_args = "fault=no-hsm maxcpus=2";
    EXPECT_EQ(resolve_config(raw).log_suffix, "sifive-u-single-fault-no-hsm-maxcpus-2");
    raw.log_suffix = "mine/../x";
    EXPECT_EQ(resolve_config(raw).log_suffix, "mine-..-x");
    raw.log_suffix = "";
    EXPECT_EQ(resolve_config(raw).log_suffix, "");
}

TEST(LadderConfig, ChapterResolution) {
    const std::vector<std::string> folders{"02-hart-boot", "01-newtypes", "04-runqueues", "notes",
                                           "03-trap-stacks", "10-x", "10-y"};
    EXPECT_EQ(resolve_chapter("", folders), "10-y");  // the last NN-* folder
    EXPECT_EQ(resolve_chapter("02", folders), "02-hart-boot");
    EXPECT_EQ(resolve_chapter("02-hart-boot", folders), "02-hart-boot");
    EXPECT_EQ(resolve_chapter("notes", folders), "notes");
    EXPECT_THROW(resolve_chapter("05", folders), ConfigError);
    EXPECT_THROW(resolve_chapter("0", folders), ConfigError);  // `0` means 0-*, not 0*
    EXPECT_THROW(resolve_chapter("../02-hart-boot", folders), ConfigError);
    EXPECT_THROW(resolve_chapter("", {"notes"}), ConfigError);
    try {
        resolve_chapter("10", folders);
        FAIL() << "ambiguous chapter accepted";
    } catch (const ConfigError& e) {
        EXPECT_STREQ(e.what(), "unknown CHAPTER '10' is ambiguous: 10-x, 10-y");
    }
}

// ------------------------------------------------------------ list --json

TEST(LadderJson, UnexpandedLadderWithOriginsAndProves) {
    const auto l = parse("# proves: it \"boots\" \xe2\x80\x94 really\ninclude 01-x\nparked P {limit}\n",
                         {{"01-x", "\nsmp cpu{cpu} up\n"}});
    const auto j = ladder_json(l, "99-test");
    EXPECT_EQ(j,
              "{\n  \"chapter\": \"99-test\",\n  \"markers\": [\n"
              "    {\"pattern\": \"cpu{cpu} up\", \"smp_only\": true, \"per_cpu\": true, \"parked\": false, "
              "\"origin\": \"01-x:2\", \"chapter\": \"01-x\", \"line\": 2, \"proves\": \"\"},\n"
              "    {\"pattern\": \"P {limit}\", \"smp_only\": false, \"per_cpu\": false, \"parked\": true, "
              "\"origin\": \"99-test:3\", \"chapter\": \"99-test\", \"line\": 3, \"proves\": \"\"}\n"
              "  ]\n}\n");
    const auto k = ladder_json(parse("# proves: it \"boots\" \xe2\x80\x94 really\nA ok\n"), "99-test");
    // Quotes escaped, UTF-8 from the tree kept as is.
    EXPECT_NE(k.find("\"proves\": \"it \\\"boots\\\" \xe2\x80\x94 really\""), std::string::npos) << k;
    EXPECT_EQ(ladder_json({}, "99-test"), "{\n  \"chapter\": \"99-test\",\n  \"markers\": []\n}\n");
}

TEST(LadderVerdict, ResultJsonNamesMachineCpusAndParked) {
    const auto j = result_json(Verdict{}, "04-runqueues", {3, true, Machine::SifiveU});
    EXPECT_NE(j.find("\"machine\": \"sifive_u\""), std::string::npos) << j;
    EXPECT_NE(j.find("\"cpus\": 2"), std::string::npos) << j;
    EXPECT_NE(j.find("\"parked\": 0"), std::string::npos) << j;
}

// ------------------------------------------------------------- the nonce

TEST(LadderNonce, ReadFromTheKernelCommandLine) {
    EXPECT_EQ(nonce_from_kernel_args(""), "");
    EXPECT_EQ(nonce_from_kernel_args("maxcpus=2"), "");
    EXPECT_EQ(nonce_from_kernel_args("nonce=a1b2"), "a1b2");
    EXPECT_EQ(nonce_from_kernel_args("nonce=aa fault=no-kick nonce=bb"), "bb");  // the last one wins
    EXPECT_THROW(nonce_from_kernel_args("nonce="), ConfigError);
    EXPECT_THROW(nonce_from_kernel_args("nonce=ABC"), ConfigError);   // lower case only
    EXPECT_THROW(nonce_from_kernel_args("nonce=a{N}"), ConfigError);  // no ladder placeholders
    EXPECT_THROW(nonce_from_kernel_args("nonce=" + std::string(33, 'a')), ConfigError);
    EXPECT_EQ(nonce_from_kernel_args("nonce=" + std::string(32, 'a')), std::string(32, 'a'));
}

TEST(LadderNonce, EveryMarkerMustCarryIt) {
    RunConfig run{2, true};
    run.nonce = "f00d";
    const auto ladder = parse(kSmp);
    EXPECT_EQ(expected_markers(ladder, run),
              (std::vector<std::string>{"KINIT: boot hart{N} nonce=f00d", "KINIT: cpu1 online nonce=f00d",
                                        "KSELFTEST: smp online ok nonce=f00d", "KSELFTEST: done ok nonce=f00d"}));
    const auto good = judge_lines(kSmp,
                                  {"KINIT: boot hart3 nonce=f00d", "KINIT: cpu1 online nonce=f00d",
                                   "KSELFTEST: smp online ok nonce=f00d", "KSELFTEST: done ok nonce=f00d"},
                                  run);
    EXPECT_TRUE(good.pass) << good.reason;
    // A transcript from a run without the nonce (or with another one) does not pass.
    const auto replayed = judge_lines(
        kSmp, {"KINIT: boot hart3", "KINIT: cpu1 online", "KSELFTEST: smp online ok", "KSELFTEST: done ok"}, run);
    EXPECT_FALSE(replayed.pass);
    const auto other = judge_lines(kSmp,
                                   {"KINIT: boot hart3 nonce=beef", "KINIT: cpu1 online nonce=beef",
                                    "KSELFTEST: smp online ok nonce=beef", "KSELFTEST: done ok nonce=beef"},
                                   run);
    EXPECT_FALSE(other.pass);
}

TEST(LadderNonce, ConfigValidatesItAndKeepsItOutOfTheLogFolder) {
    RawConfig raw;
    raw.kernel_args = "fault=no-kick nonce=abc123";
    const auto c = resolve_config(raw);
    EXPECT_EQ(c.run.nonce, "abc123");
    EXPECT_EQ(c.log_suffix, "fault-no-kick");
    raw.kernel_args = "nonce=abc123";
    EXPECT_EQ(resolve_config(raw).log_suffix, "");
    raw.kernel_args = "nonce=Not-Ok";
    EXPECT_EQ(config_error(raw),
              "nonce= in KERNEL_ARGS (NONCE) must be 1..32 characters of 0-9 and a-z, got 'Not-Ok'");
}
