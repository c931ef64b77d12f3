// The conformance judge itself: it must pass a correct scenario and fail each kind of
// wrong one, or a green conformance run would prove nothing.
#include <gtest/gtest.h>

#include "scenario.hpp"

namespace bft::conformance {
namespace {

// v1 proposes round 0 (round_robin offset 0 over v1..v4); the node under test is v2.
std::string scenario(const std::string& events, const std::string& proposer = R"({"rule": "round_robin", "offset": 0})",
                     const std::string& node = "v2") {
  return R"({"format": "bft-scenario/1", "name": "t", "source": "test",
    "validators": [{"address": "v1", "power": 1}, {"address": "v2", "power": 1},
                   {"address": "v3", "power": 1}, {"address": "v4", "power": 1}],
    "node": ")" + node + R"(", "proposer": )" + proposer + R"(, "events": [)" + events + "]}";
}

const std::string happy = R"(
  {"in": "start", "height": 0},
  {"out": "timeout", "kind": "propose", "height": 0, "round": 0},
  {"in": "proposal", "height": 0, "round": 0, "value": "a", "valid_round": -1, "from": "v1"},
  {"out": "vote", "type": "prevote", "height": 0, "round": 0, "value": "a"},
  {"in": "vote", "type": "precommit", "height": 0, "round": 0, "value": "a", "from": "v1"},
  {"in": "vote", "type": "precommit", "height": 0, "round": 0, "value": "a", "from": "v3"},
  {"in": "vote", "type": "precommit", "height": 0, "round": 0, "value": "a", "from": "v4"},
  {"out": "decide", "height": 0, "round": 0, "value": "a"})";

Verdict judge(const std::string& text) {
  auto parsed = parse_scenario(text);
  if (!parsed.ok()) return Verdict{false, "parse: " + parsed.error().message, {}};
  return run_scenario(*parsed);
}

std::string replaced(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return text.replace(at, from.size(), to);
}

TEST(ConformanceJudge, PassesACorrectScenario) {
  const auto verdict = judge(scenario(happy));
  EXPECT_TRUE(verdict.passed) << verdict.first_difference;
}

TEST(ConformanceJudge, FailsAWrongConsensusOutput) {
  const auto verdict = judge(scenario(replaced(happy, R"("round": 0, "value": "a"},)", R"("round": 0, "value": null},)")));
  EXPECT_FALSE(verdict.passed);
  EXPECT_NE(verdict.first_difference.find("output #0"), std::string::npos) << verdict.first_difference;
}

TEST(ConformanceJudge, FailsAMissingConsensusOutput) {
  const auto verdict = judge(scenario(happy + R"(, {"in": "start", "height": 1},
    {"out": "vote", "type": "prevote", "height": 1, "round": 0, "value": null})"));
  EXPECT_FALSE(verdict.passed);
  EXPECT_NE(verdict.first_difference.find("missing"), std::string::npos) << verdict.first_difference;
}

TEST(ConformanceJudge, FailsAnUnexpectedConsensusOutput) {
  const auto verdict = judge(scenario(replaced(happy, R"({"out": "decide", "height": 0, "round": 0, "value": "a"})",
                                               R"({"out": "timeout", "kind": "precommit"})")));
  EXPECT_FALSE(verdict.passed);
  EXPECT_NE(verdict.first_difference.find("unexpected"), std::string::npos) << verdict.first_difference;
}

TEST(ConformanceJudge, FailsAnOutputProducedLaterThanTheNextInput) {
  // The decision is expected before the last precommit arrives, which is too early.
  std::string early = replaced(happy, R"({"in": "vote", "type": "precommit", "height": 0, "round": 0, "value": "a", "from": "v4"},
  {"out": "decide", "height": 0, "round": 0, "value": "a"})",
                               R"({"out": "decide", "height": 0, "round": 0, "value": "a"},
  {"in": "vote", "type": "precommit", "height": 0, "round": 0, "value": "a", "from": "v4"})");
  const auto verdict = judge(scenario(early));
  EXPECT_FALSE(verdict.passed);
  EXPECT_NE(verdict.first_difference.find("late"), std::string::npos) << verdict.first_difference;
}

TEST(ConformanceJudge, FailsAMissingAdvisoryOutputAndAllowsExtraOnes) {
  const auto missing = judge(scenario(replaced(happy, R"("kind": "propose", "height": 0, "round": 0})",
                                               R"("kind": "prevote", "height": 0, "round": 0})")));
  EXPECT_FALSE(missing.passed);
  EXPECT_NE(missing.first_difference.find("advisory"), std::string::npos) << missing.first_difference;
  // The core also schedules a precommit timeout here; the scenario need not mention it.
  EXPECT_TRUE(judge(scenario(happy)).passed);
}

TEST(ConformanceJudge, AbsentFieldsAreWildcards) {
  const auto verdict = judge(scenario(replaced(happy, R"({"out": "decide", "height": 0, "round": 0, "value": "a"})",
                                               R"({"out": "decide"})")));
  EXPECT_TRUE(verdict.passed) << verdict.first_difference;
}

TEST(ConformanceJudge, ATableRuleWithAMissingEntryFails) {
  const auto ok = judge(scenario(happy, R"({"rule": "table", "table": {"0/0": "v1", "0/1": "v2"}})"));
  EXPECT_TRUE(ok.passed) << ok.first_difference;
  const auto missing = judge(scenario(happy, R"({"rule": "table", "table": {"0/1": "v2"}})"));
  EXPECT_FALSE(missing.passed);
  EXPECT_NE(missing.first_difference.find("0/0"), std::string::npos) << missing.first_difference;
}

TEST(ConformanceJudge, SeedPcgAndHeightRoundRobinRulesChooseTheirProposers) {
  // seed_pcg with four equal weights picks index 1 (v2) for h + r = 0: v2 must propose.
  const std::string events = R"({"in": "start", "height": 0}, {"out": "get_value", "height": 0, "round": 0})";
  EXPECT_TRUE(judge(scenario(events, R"({"rule": "seed_pcg"})")).passed);
  EXPECT_FALSE(judge(scenario(events, R"({"rule": "round_robin", "offset": 0})")).passed);
  EXPECT_TRUE(judge(scenario(R"({"in": "start", "height": 3}, {"out": "get_value", "height": 3, "round": 0})",
                             R"({"rule": "round_robin_height", "offset": 2})")).passed);
}

TEST(ConformanceJudge, AVerifyResultLaterInTheFileMakesTheProposalWaitForIt) {
  const std::string events = R"(
    {"in": "start", "height": 0},
    {"in": "proposal", "height": 0, "round": 0, "value": "a", "valid_round": -1, "from": "v1"},
    {"in": "verify_result", "height": 0, "round": 0, "value": "a", "valid": false},
    {"out": "vote", "type": "prevote", "height": 0, "round": 0, "value": null})";
  EXPECT_TRUE(judge(scenario(events)).passed);
  const std::string explicit_valid = replaced(events, R"("from": "v1"})", R"("from": "v1", "valid": true})");
  EXPECT_FALSE(judge(scenario(explicit_valid)).passed);  // prevoted a at once
}

TEST(ConformanceJudge, TheValueInvalidIsInvalidByDefault) {
  const std::string events = R"(
    {"in": "start", "height": 0},
    {"in": "proposal", "height": 0, "round": 0, "value": "invalid", "valid_round": -1, "from": "v1"},
    {"out": "vote", "type": "prevote", "height": 0, "round": 0, "value": null})";
  EXPECT_TRUE(judge(scenario(events)).passed);
}

TEST(ConformanceJudge, AnObserverNodeNeverVotes) {
  const std::string events = R"(
    {"in": "start", "height": 0},
    {"in": "proposal", "height": 0, "round": 0, "value": "a", "valid_round": -1, "from": "v1"},
    {"out": "vote", "type": "prevote", "height": 0, "round": 0, "value": "a"})";
  EXPECT_TRUE(judge(scenario(events)).passed);
  EXPECT_FALSE(judge(scenario(events, R"({"rule": "round_robin", "offset": 0})", "outsider")).passed);
}

TEST(ConformanceJudge, RejectsMalformedFiles) {
  EXPECT_FALSE(parse_scenario("not json").ok());
  EXPECT_FALSE(parse_scenario(replaced(scenario(happy), "bft-scenario/1", "bft-scenario/2")).ok());
  EXPECT_FALSE(parse_scenario(scenario(R"({"in": "teleport", "height": 0})")).ok());
  EXPECT_FALSE(parse_scenario(scenario(R"({"in": "start"})")).ok());
  EXPECT_FALSE(parse_scenario(scenario(R"({"in": "start", "height": -1})")).ok());
  EXPECT_FALSE(parse_scenario(scenario(R"({"in": "vote", "type": "maybe", "height": 0, "round": 0, "value": "a", "from": "v1"})")).ok());
  EXPECT_FALSE(parse_scenario(scenario(happy, R"({"rule": "dice"})")).ok());
  const auto error = parse_scenario(scenario(R"({"in": "start", "height": 0}, {"in": "timeout", "kind": "nap", "height": 0, "round": 0})"));
  ASSERT_FALSE(error.ok());
  EXPECT_NE(error.error().message.find("event 1"), std::string::npos) << error.error().message;
}

TEST(ConformanceJudge, AnInvalidValidatorSetFailsTheScenario) {
  const auto verdict = judge(replaced(scenario(happy), R"({"address": "v4", "power": 1})", R"({"address": "v4", "power": 0})"));
  EXPECT_FALSE(verdict.passed);
}

}  // namespace
}  // namespace bft::conformance
