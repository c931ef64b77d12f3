#include <gtest/gtest.h>

#include <map>

#include "bft/proposer.hpp"
#include "harness.hpp"

namespace bft::test {
namespace {

TEST(SeedPcg, FirstDrawMatchesTheSeedLibrary) {
  EXPECT_EQ(seed_pcg::Pcg64Mcg(0).next_u64(), 0x5603f242407deca2ULL);
  EXPECT_EQ(seed_pcg::Pcg64Mcg(1).next_u64(), 0xdb51d062deef2483ULL);
  EXPECT_EQ(seed_pcg::Pcg64Mcg(2).next_u64(), 0xae6e1b24fd2d3d1dULL);
  EXPECT_EQ(seed_pcg::Pcg64Mcg(42).next_u64(), 0x92d6e5d942f4ad9bULL);
  EXPECT_EQ(seed_pcg::Pcg64Mcg(0xdeadbeef).next_u64(), 0xf0ba7b9d01eb7eceULL);
}

TEST(SeedPcg, GetIndexMatchesTheSeedLibraryWithEqualWeights) {
  const std::vector<std::uint64_t> weights{1, 1, 1, 1};
  const std::vector<std::size_t> expected{1, 3, 2, 0, 0, 3, 1, 2, 2, 0, 0, 3, 0, 2, 3, 3};
  for (std::uint64_t seed = 0; seed < expected.size(); ++seed)
    EXPECT_EQ(seed_pcg::get_index(seed, weights), expected[seed]) << "seed " << seed;
}

TEST(SeedPcg, GetIndexMatchesTheSeedLibraryWithUnequalWeights) {
  const std::vector<std::uint64_t> weights{5, 1, 3, 10};
  const std::vector<std::size_t> expected{2, 3, 3, 0, 0, 3, 2, 3, 3, 0, 0, 3, 0, 3, 3, 3};
  for (std::uint64_t seed = 0; seed < expected.size(); ++seed)
    EXPECT_EQ(seed_pcg::get_index(seed, weights), expected[seed]) << "seed " << seed;
}

TEST(SeedPcg, SelectorSeedsWithHeightPlusRoundAndUsesProposeWeights) {
  std::vector<Validator> validators;
  const std::uint64_t propose_weights[] = {5, 1, 3, 10};
  for (int i = 0; i < 4; ++i) validators.push_back({addr("v" + std::to_string(i)), 1, propose_weights[i]});
  const auto set = ValidatorSet::create(validators).value();
  auto selector = make_seed_pcg_selector();
  const std::vector<std::size_t> expected{2, 3, 3, 0, 0, 3, 2, 3, 3, 0, 0, 3, 0, 3, 3, 3};
  for (std::uint64_t seed = 0; seed < expected.size(); ++seed) {
    EXPECT_EQ(selector->select(set, seed, 0), expected[seed]);
    EXPECT_EQ(selector->select(set, 0, static_cast<Round>(seed)), expected[seed]);
  }
}

TEST(SeedPcg, ZeroProposeWeightNeverProposes) {
  const std::vector<std::uint64_t> weights{0, 1, 0, 1};
  for (std::uint64_t seed = 0; seed < 500; ++seed) {
    const auto index = seed_pcg::get_index(seed, weights);
    EXPECT_TRUE(index == 1 || index == 3);
  }
}

TEST(RoundRobin, HeightIndependentRotatesByRoundWithOffset) {
  const auto set = make_set({1, 1, 1, 1, 1});
  auto selector = make_round_robin_selector(2, false);
  EXPECT_EQ(selector->select(set, 0, 0), 2u);
  EXPECT_EQ(selector->select(set, 9, 0), 2u);
  EXPECT_EQ(selector->select(set, 9, 4), 1u);
}

TEST(RoundRobin, HeightDependentRotatesByHeightPlusRound) {
  const auto set = make_set({1, 1, 1, 1});
  auto selector = make_round_robin_selector(1, true);
  EXPECT_EQ(selector->select(set, 0, 0), 1u);
  EXPECT_EQ(selector->select(set, 1, 0), 2u);
  EXPECT_EQ(selector->select(set, 2, 3), 2u);
  // No overflow at the top of the ranges.
  EXPECT_EQ(selector->select(set, ~Height{0}, 1), ((~Height{0}) % 4 + 1 + 1) % 4);
}

TEST(RoundRobin, NamesNobodyForNegativeRoundsOrEmptySets) {
  auto selector = make_round_robin_selector();
  EXPECT_EQ(selector->select(make_set({1}), 0, -1), std::nullopt);
  EXPECT_EQ(selector->select(ValidatorSet{}, 0, 0), std::nullopt);
}

ValidatorSet weighted(std::vector<std::uint64_t> propose_weights) {
  std::vector<Validator> validators;
  for (std::size_t i = 0; i < propose_weights.size(); ++i)
    validators.push_back({addr("v" + std::to_string(i)), 1, propose_weights[i]});
  return ValidatorSet::create(validators).value();
}

TEST(WeightedRoundRobin, EachValidatorProposesInProportionToItsWeightOverAPeriod) {
  const std::vector<std::uint64_t> weights{5, 1, 3, 10, 0};
  const auto set = weighted(weights);
  auto selector = make_weighted_round_robin_selector();
  const std::uint64_t period = 19;
  for (Height start : {Height{0}, Height{7}, Height{100}}) {
    std::map<std::size_t, std::uint64_t> count;
    for (Height h = start; h < start + period; ++h) ++count[*selector->select(set, h, 0)];
    for (std::size_t i = 0; i < weights.size(); ++i) EXPECT_EQ(count[i], weights[i]) << "validator " << i;
  }
}

TEST(WeightedRoundRobin, IsAPureFunctionOfHeightAndRound) {
  const auto set = weighted({4, 7, 1, 2});
  auto sequential = make_weighted_round_robin_selector();
  std::vector<std::size_t> seen;
  for (Height h = 0; h < 40; ++h)
    for (Round r = 0; r < 3; ++r) seen.push_back(*sequential->select(set, h, r));
  // Fresh selectors, asked in another order, agree: a restarted node computes the same.
  std::size_t i = 0;
  for (Height h = 0; h < 40; ++h) {
    for (Round r = 0; r < 3; ++r, ++i) {
      auto fresh = make_weighted_round_robin_selector();
      EXPECT_EQ(*fresh->select(set, h, r), seen[i]) << "h=" << h << " r=" << r;
    }
  }
  EXPECT_EQ(*sequential->select(set, 3, 2), *sequential->select(set, 4, 1));
}

TEST(WeightedRoundRobin, SpreadsAHeavyValidatorsTurnsInsteadOfBunchingThem) {
  const auto set = weighted({3, 1});
  auto selector = make_weighted_round_robin_selector();
  std::vector<std::size_t> order;
  for (Height h = 0; h < 8; ++h) order.push_back(*selector->select(set, h, 0));
  EXPECT_EQ(order, (std::vector<std::size_t>{0, 0, 1, 0, 0, 0, 1, 0}));
}

}  // namespace
}  // namespace bft::test
