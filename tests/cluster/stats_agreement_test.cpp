#include <gtest/gtest.h>

#include "cluster/agreement.hpp"
#include "cluster/stats.hpp"

namespace bft::cluster {
namespace {

TEST(Percentile, NearestRank) {
  EXPECT_EQ(percentile({}, 50), 0);
  EXPECT_EQ(percentile({7}, 99), 7);
  const std::vector<double> samples = {5, 1, 4, 2, 3, 10, 9, 8, 7, 6};
  EXPECT_EQ(percentile(samples, 50), 5);
  EXPECT_EQ(percentile(samples, 90), 9);
  EXPECT_EQ(percentile(samples, 99), 10);
  EXPECT_EQ(percentile(samples, 100), 10);
  EXPECT_EQ(percentile(samples, 0), 1);
}

std::vector<BlockInfo> chain(std::vector<std::string> hashes, std::uint64_t first = 1) {
  std::vector<BlockInfo> blocks;
  for (std::size_t i = 0; i < hashes.size(); ++i) blocks.push_back({first + i, hashes[i], 0, 0, 0});
  return blocks;
}

TEST(Agreement, EqualPrefixesAgree) {
  const std::vector<std::vector<BlockInfo>> chains = {chain({"a", "b", "c"}), chain({"a", "b"}), chain({"a", "b", "c", "d"})};
  const auto report = check_agreement(chains);
  EXPECT_TRUE(report.agreement);
  EXPECT_EQ(report.heights_compared, 3u);  // height 4 has one node only
  EXPECT_TRUE(report.disagreements.empty());
}

TEST(Agreement, ReportsTheConflictingNodesAndHashes) {
  const std::vector<std::vector<BlockInfo>> chains = {chain({"a", "b", "c"}), chain({"a", "b", "c"}), chain({"a", "x", "c"})};
  const auto report = check_agreement(chains);
  EXPECT_FALSE(report.agreement);
  ASSERT_EQ(report.disagreements.size(), 1u);
  const Disagreement& d = report.disagreements[0];
  EXPECT_EQ(d.height, 2u);
  EXPECT_EQ(d.node_a, 0u);
  EXPECT_EQ(d.hash_a, "b");
  EXPECT_EQ(d.node_b, 2u);
  EXPECT_EQ(d.hash_b, "x");
}

TEST(Agreement, ComparesOnlySharedHeightsInAnyOrder) {
  std::vector<BlockInfo> late = chain({"c", "d"}, 3);  // a restarted node that fetched from 3
  std::reverse(late.begin(), late.end());
  const std::vector<std::vector<BlockInfo>> chains = {chain({"a", "b", "c", "d"}), late};
  const auto report = check_agreement(chains);
  EXPECT_TRUE(report.agreement);
  EXPECT_EQ(report.heights_compared, 2u);
}

TEST(Agreement, BoundsTheReportedConflicts) {
  std::vector<std::string> left;
  std::vector<std::string> right;
  for (int i = 0; i < 50; ++i) {
    left.push_back("l" + std::to_string(i));
    right.push_back("r" + std::to_string(i));
  }
  const std::vector<std::vector<BlockInfo>> chains = {chain(left), chain(right)};
  const auto report = check_agreement(chains);
  EXPECT_FALSE(report.agreement);
  ASSERT_EQ(report.disagreements.size(), max_reported_disagreements);
  EXPECT_EQ(report.disagreements.front().height, 1u);
}

TEST(Agreement, NoChainsAgreeTrivially) {
  const auto report = check_agreement({});
  EXPECT_TRUE(report.agreement);
  EXPECT_EQ(report.heights_compared, 0u);
}

}  // namespace
}  // namespace bft::cluster
