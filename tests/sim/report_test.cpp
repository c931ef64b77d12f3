// What bft-sim reports: the JSON summary's figures and the SVG timeline.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "bft/sim/simulation.hpp"
#include "bft/sim/summary.hpp"

namespace bft::sim {
namespace {

RunResult fake_run(std::uint64_t seed, bool complete, std::vector<std::uint32_t> latencies) {
  RunResult r;
  r.seed = seed;
  r.complete = complete;
  r.heights_committed = 10;
  r.rounds_sum = 12;
  r.byzantine_nodes = {1};
  r.evidence_against = {0, 5, 0, 0};
  r.commit_latencies_us = std::move(latencies);
  r.liveness_bound = from_ms(5000);
  if (!complete) r.violations.push_back(Violation{ViolationKind::liveness, 1, "stuck"});
  return r;
}

TEST(Summary, JsonCarriesEveryRequiredFigure) {
  Summary summary;
  std::vector<std::uint32_t> latencies;
  for (std::uint32_t i = 1; i <= 100; ++i) latencies.push_back(i * 1000);  // 1..100 ms
  summary.add(fake_run(1, true, latencies));
  summary.add(fake_run(2, false, {}));
  summary.set_wall_ms(4);
  const auto j = nlohmann::json::parse(summary.to_json());
  for (const char* key : {"seeds", "seeds_incomplete", "heights_committed", "agreement_violations",
                          "validity_violations", "double_signs", "evidence", "rounds_per_height_mean",
                          "p50_commit_latency_ms", "p99_commit_latency_ms", "heights_per_sec", "wall_ms"})
    EXPECT_TRUE(j.contains(key)) << key;
  EXPECT_EQ(j["seeds"], 2);
  EXPECT_EQ(j["seeds_incomplete"], 1);
  EXPECT_EQ(j["failed_seeds"], nlohmann::json::array({2}));
  EXPECT_EQ(j["heights_committed"], 20);
  EXPECT_EQ(j["evidence"], 10);
  EXPECT_EQ(j["evidence_per_byzantine"]["v1"], 10);
  EXPECT_DOUBLE_EQ(j["rounds_per_height_mean"].get<double>(), 1.2);
  EXPECT_DOUBLE_EQ(j["p50_commit_latency_ms"].get<double>(), 50);
  EXPECT_DOUBLE_EQ(j["p99_commit_latency_ms"].get<double>(), 99);
  EXPECT_DOUBLE_EQ(j["heights_per_sec"].get<double>(), 5000);
  EXPECT_EQ(summary.to_json().find('\n'), std::string::npos);  // one line
}

TEST(Timeline, DrawsNodesStepsMessagesDecisionsAndPartitions) {
  SimOptions options;
  options.validators = 4;
  options.heights = 3;
  options.byzantine = 1;
  options.fault = Fault::equivocate;
  options.network.default_link.drop = 0.1;
  options.network.partitions.push_back(*parse_partition("0|1,2,3@50..120"));
  Trace trace;
  RunHooks hooks;
  hooks.trace = &trace;
  ASSERT_TRUE(run_simulation(options, 5, hooks));
  EXPECT_EQ(trace.node_names.size(), 4u);
  EXPECT_FALSE(trace.steps.empty());
  EXPECT_FALSE(trace.messages.empty());
  EXPECT_GE(trace.decisions.size(), 9u);  // 3 correct nodes x 3 heights

  std::ostringstream svg;
  write_timeline_svg(trace, svg);
  const std::string text = svg.str();
  EXPECT_EQ(text.rfind("<svg", 0), 0u);
  EXPECT_NE(text.find("</svg>"), std::string::npos);
  EXPECT_NE(text.find("(byz)"), std::string::npos);
  EXPECT_NE(text.find("decided h=3"), std::string::npos);
  EXPECT_NE(text.find("partition 0|1,2,3@50..120"), std::string::npos);
  EXPECT_NE(text.find("prevote"), std::string::npos);
  EXPECT_NE(text.find(" lost</title>"), std::string::npos);
}

TEST(Timeline, WindowAndMessageCapBoundTheDrawing) {
  SimOptions options;
  options.validators = 4;
  options.heights = 20;
  Trace trace;
  RunHooks hooks;
  hooks.trace = &trace;
  ASSERT_TRUE(run_simulation(options, 1, hooks));
  TimelineOptions window;
  window.from = from_ms(100);
  window.to = from_ms(200);
  window.max_messages = 10;
  std::ostringstream svg;
  write_timeline_svg(trace, svg, window);
  EXPECT_NE(svg.str().find("more messages not drawn"), std::string::npos);
  EXPECT_NE(svg.str().find("100.0 .. 200.0 ms"), std::string::npos);
}

}  // namespace
}  // namespace bft::sim
