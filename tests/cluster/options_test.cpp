#include "cluster/options.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace bft::cluster {
namespace {

Result<Options> parse(std::vector<std::string_view> args) { return parse_options(args); }

TEST(ClusterOptions, DefaultsWithoutArguments) {
  const auto o = parse({});
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->nodes, 4u);
  EXPECT_EQ(o->duration_s, 20);
  EXPECT_EQ(o->load_per_s, 2000);
  EXPECT_EQ(o->base_port, 26600);
  EXPECT_FALSE(o->netns);
  EXPECT_FALSE(o->json);
  EXPECT_FALSE(o->p2p_plaintext);
  EXPECT_FALSE(o->metrics_port.has_value());
  EXPECT_EQ(o->full_nodes, 0u);
  EXPECT_FALSE(o->rotate);
}

TEST(ClusterOptions, FullNodesAndRotation) {
  const auto o = parse({"--nodes", "4", "--full-nodes", "2", "--rotate"});
  ASSERT_TRUE(o.ok()) << o.error().message;
  EXPECT_EQ(o->full_nodes, 2u);
  EXPECT_TRUE(o->rotate);
  EXPECT_FALSE(o->unlisted_joiners);
  const auto out = parse({"--full-nodes", "5", "--rotate-out", "--unlisted-joiners"});
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_TRUE(out->rotate_out);
  EXPECT_TRUE(out->unlisted_joiners);
}

TEST(ClusterOptions, ReadsEveryOption) {
  const auto o = parse({"--nodes", "5", "--duration", "25", "--load", "300", "--batch", "10", "--clients", "2", "--base-port", "0",
                        "--delay-ms", "10", "--loss", "0.05", "--netns", "--json", "--quiet", "--dir", "/tmp/x",
                        "--keep", "--node-bin", "/bin/true", "--log-level", "info", "--partition", "4@6:12",
                        "--kill", "1@14:17", "--kill", "2@1:2.5", "--flood-http", "3@10:18", "--p2p-plaintext"});
  ASSERT_TRUE(o.ok()) << o.error().message;
  EXPECT_EQ(o->nodes, 5u);
  EXPECT_EQ(o->duration_s, 25);
  EXPECT_EQ(o->load_per_s, 300);
  EXPECT_EQ(o->batch, 10u);
  EXPECT_EQ(o->clients, 2u);
  EXPECT_EQ(o->base_port, 0);
  EXPECT_EQ(o->delay_ms, 10u);
  EXPECT_DOUBLE_EQ(o->loss, 0.05);
  EXPECT_TRUE(o->netns && o->json && o->quiet && o->keep_dir);
  EXPECT_EQ(o->dir, "/tmp/x");
  EXPECT_EQ(o->node_bin, "/bin/true");
  EXPECT_EQ(o->log_level, "info");
  ASSERT_EQ(o->partitions.size(), 1u);
  EXPECT_EQ(o->partitions[0].nodes, std::vector<std::size_t>{4});
  EXPECT_EQ(o->partitions[0].at_s, 6);
  EXPECT_EQ(o->partitions[0].heal_s, 12);
  ASSERT_EQ(o->kills.size(), 2u);
  EXPECT_EQ(o->kills[1].node, 2u);
  EXPECT_EQ(o->kills[1].restart_s, 2.5);
  EXPECT_TRUE(o->p2p_plaintext);
  ASSERT_TRUE(o->flood.has_value());
  EXPECT_EQ(o->flood->node, 3u);
  EXPECT_EQ(o->flood->at_s, 10);
  EXPECT_EQ(o->flood->until_s, 18);
}

TEST(ClusterOptions, MetricsPortOnLoopback) {
  const auto o = parse({"--metrics-port", "9091"});
  ASSERT_TRUE(o.ok()) << o.error().message;
  EXPECT_EQ(o->metrics_port, std::optional<std::uint16_t>(9091));
  EXPECT_EQ(parse({"--metrics-port", "0"})->metrics_port, std::optional<std::uint16_t>(0));
  EXPECT_EQ(parse({})->flood_min_ratio, 0.8);
  EXPECT_EQ(parse({"--flood-min-ratio", "0"})->flood_min_ratio, 0);
}

TEST(ClusterOptions, PartitionListsSeveralNodes) {
  const auto p = parse_partition("0,2,3@1:2");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->nodes, (std::vector<std::size_t>{0, 2, 3}));
}

TEST(ClusterOptions, RejectsMalformedFaultSpecs) {
  for (const char* bad : {"1", "1@", "1@3", "1@3:2", "1@2:2", "x@1:2", "1@-1:2", "@1:2", "1@1:2:3"})
    EXPECT_FALSE(parse_kill(bad).ok()) << bad;
  for (const char* bad : {"1,1@1:2", "1,@1:2", "1@2:1", ",1@1:2"}) EXPECT_FALSE(parse_partition(bad).ok()) << bad;
  for (const char* bad : {"1", "1@3", "1@3:2", "x@1:2", "1,2@1:2"}) EXPECT_FALSE(parse_flood(bad).ok()) << bad;
}

TEST(ClusterOptions, RejectsInconsistentRuns) {
  const std::vector<std::vector<std::string_view>> bad = {
      {"--nodes", "0"},
      {"--nodes", "65"},
      {"--nodes", "60", "--full-nodes", "5"},          // 64 nodes in all
      {"--rotate", "--full-nodes", "0"},               // someone must join
      {"--rotate", "--nodes", "3", "--full-nodes", "1"},  // a change moves a third
      {"--rotate-out", "--nodes", "4", "--full-nodes", "3"},  // one replaces each
      {"--rotate", "--rotate-out", "--full-nodes", "4"},
      {"--unlisted-joiners", "--full-nodes", "1"},        // no one joins without a rotation
      {"--nodes", "four"},
      {"--duration", "0"},
      {"--batch", "0"},
      {"--clients", "0"},
      {"--clients", "65"},
      {"--loss", "1"},
      {"--load", "-5"},
      {"--base-port", "65500"},
      {"--partition", "1@1:2"},                       // needs --netns
      {"--kill", "4@1:2"},                            // only nodes 0..3
      {"--kill", "1@1:30"},                           // restarts after the run
      {"--kill", "1@1:5", "--kill", "1@4:6"},         // overlapping windows
      {"--netns", "--partition", "0@1:21"},           // heals after the run
      {"--flood-http", "4@10:12"},                    // only nodes 0..3
      {"--flood-http", "1@10:21"},                    // ends after the run
      {"--flood-http", "1@4:10"},                     // no span as long before it
      {"--flood-http", "1@10:12", "--flood-http", "2@10:12"},
      {"--metrics-port", "70000"},
      {"--flood-min-ratio", "1.5"},
      {"--netns", "--metrics-port", "0"},             // prometheus cannot reach them
      {"--nodes"},                                    // no value
      {"--frobnicate"},
  };
  for (const auto& args : bad) {
    const auto o = parse(args);
    EXPECT_FALSE(o.ok()) << args[0];
    if (!o.ok()) {
      EXPECT_EQ(o.error().code, Errc::invalid_argument);
    }
  }
}

TEST(ClusterOptions, HelpAndVersionSkipValidation) {
  const auto o = parse({"--nodes", "0", "--help"});
  ASSERT_TRUE(o.ok());
  EXPECT_TRUE(o->help);
  EXPECT_TRUE(parse({"-h"})->help);
  const auto v = parse({"--version", "--kill", "9@1:2"});
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->version);
}

TEST(ClusterOptions, UsageErrorsNameTheOption) {
  const auto unknown = parse({"--frobnicate"});
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().message.find("--frobnicate"), std::string::npos) << unknown.error().message;
  const auto not_a_number = parse({"--nodes", "four"});
  ASSERT_FALSE(not_a_number.ok());
  EXPECT_NE(not_a_number.error().message.find("nodes"), std::string::npos) << not_a_number.error().message;
}

}  // namespace
}  // namespace bft::cluster
