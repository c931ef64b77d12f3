#include <gtest/gtest.h>

#include "harness.hpp"

namespace bft::test {
namespace {

TEST(ValidatorSet, RejectsAnEmptySet) {
  auto set = ValidatorSet::create({});
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.error().code, Errc::empty_validator_set);
}

TEST(ValidatorSet, RejectsDuplicateAddresses) {
  auto set = ValidatorSet::create({{addr("a"), 1, 1}, {addr("b"), 1, 1}, {addr("a"), 2, 2}});
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.error().code, Errc::duplicate_validator);
}

TEST(ValidatorSet, RejectsZeroVotePower) {
  auto set = ValidatorSet::create({{addr("a"), 1, 1}, {addr("b"), 0, 1}});
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.error().code, Errc::zero_power);
}

TEST(ValidatorSet, AcceptsZeroProposeWeightButNotForEveryone) {
  EXPECT_TRUE(ValidatorSet::create({{addr("a"), 1, 0}, {addr("b"), 1, 1}}).ok());
  auto set = ValidatorSet::create({{addr("a"), 1, 0}, {addr("b"), 1, 0}});
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.error().code, Errc::no_propose_weight);
}

TEST(ValidatorSet, RejectsTotalsThatCouldOverflowTheThresholdArithmetic) {
  const auto max = ValidatorSet::max_total_power;
  EXPECT_TRUE(ValidatorSet::create({{addr("a"), max - 1, 1}, {addr("b"), 1, 1}}).ok());
  auto votes = ValidatorSet::create({{addr("a"), max, 1}, {addr("b"), 1, 1}});
  ASSERT_FALSE(votes.ok());
  EXPECT_EQ(votes.error().code, Errc::power_overflow);
  auto wrapping = ValidatorSet::create({{addr("a"), ~std::uint64_t{0}, 1}, {addr("b"), 2, 1}});
  ASSERT_FALSE(wrapping.ok());
  EXPECT_EQ(wrapping.error().code, Errc::power_overflow);
  auto proposing = ValidatorSet::create({{addr("a"), 1, max}, {addr("b"), 1, 1}});
  ASSERT_FALSE(proposing.ok());
  EXPECT_EQ(proposing.error().code, Errc::power_overflow);
}

TEST(ValidatorSet, QuorumIsStrictlyMoreThanTwoThirdsWithUnevenWeights) {
  const auto set = make_set({1, 2, 3, 4});  // total 10
  EXPECT_FALSE(set.is_quorum(6));
  EXPECT_TRUE(set.is_quorum(7));
  EXPECT_FALSE(set.is_honest(3));
  EXPECT_TRUE(set.is_honest(4));
  const auto three = make_set({1, 1, 1});  // 2 of 3 is exactly two thirds: not a quorum
  EXPECT_FALSE(three.is_quorum(2));
  EXPECT_TRUE(three.is_quorum(3));
  EXPECT_FALSE(three.is_honest(1));
  EXPECT_TRUE(three.is_honest(2));
}

TEST(ValidatorSet, ThresholdsHoldAtTheLargestTotal) {
  const auto max = ValidatorSet::max_total_power;
  const auto set = ValidatorSet::create({{addr("a"), max / 2, 1}, {addr("b"), max / 2, 1}}).value();
  EXPECT_TRUE(set.is_quorum(max));
  EXPECT_FALSE(set.is_quorum(max / 3 * 2));
  EXPECT_TRUE(set.is_honest(max / 2));
}

TEST(ValidatorSet, LooksUpAndComparesByContent) {
  const auto a = make_set({1, 2});
  const auto b = make_set({1, 2});
  EXPECT_EQ(a.index_of(addr("v1")), 1u);
  EXPECT_EQ(a.index_of(addr("nobody")), std::nullopt);
  EXPECT_EQ(a, b);
  EXPECT_FALSE(a == make_set({1, 3}));
  EXPECT_EQ(ValidatorSet{}.size(), 0u);
  EXPECT_EQ(ValidatorSet{}.index_of(addr("v0")), std::nullopt);
}

TEST(Config, DerivesTimeoutsFromAnIntervalAsTheSeedDid) {
  const Config config = Config::from_interval(Duration{3000});
  EXPECT_EQ(config.timeout(TimeoutKind::propose, 0), Duration{2400});
  EXPECT_EQ(config.timeout(TimeoutKind::prevote, 0), Duration{100});
  EXPECT_EQ(config.timeout(TimeoutKind::precommit, 2), Duration{200});
  EXPECT_EQ(config.timeout(TimeoutKind::propose, 1), Duration{3600});
}

TEST(Config, TimeoutsSaturateInsteadOfOverflowing) {
  Config config;
  config.propose = {Duration{1}, Duration{std::numeric_limits<Duration::rep>::max() / 2}};
  EXPECT_EQ(config.timeout(TimeoutKind::propose, 1'000'000), Duration{std::numeric_limits<Duration::rep>::max()});
}

TEST(Config, ValidationRejectsNegativeTimeoutsAndZeroBounds) {
  EXPECT_TRUE(Config{}.validate().ok());
  Config negative;
  negative.prevote.base = Duration{-1};
  EXPECT_EQ(negative.validate().error().code, Errc::invalid_argument);
  Config no_rounds;
  no_rounds.max_round = 0;
  EXPECT_FALSE(no_rounds.validate().ok());
  Config no_buffer;
  no_buffer.max_buffered_per_sender = 0;
  EXPECT_FALSE(no_buffer.validate().ok());
  EXPECT_FALSE(Core::create(addr("v0"), negative, make_round_robin_selector()).ok());
  EXPECT_FALSE(Core::create(addr("v0"), Config{}, nullptr).ok());
}

}  // namespace
}  // namespace bft::test
