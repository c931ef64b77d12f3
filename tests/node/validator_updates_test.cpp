// Validator updates from the application: the set they lead to, and the updates every node
// refuses alike.
#include <gtest/gtest.h>

#include "bft/crypto/ed25519.hpp"
#include "bft/node/validators.hpp"

namespace bft::node {
namespace {

/// Real ed25519 keys: the resulting set must make a key ring.
crypto::PublicKey key(std::uint8_t id) {
  crypto::Seed seed{};
  seed.fill(id);
  return crypto::Ed25519Signer::from_seed(seed).public_key();
}

std::vector<ValidatorKey> four() { return {{key(1), 10}, {key(2), 10}, {key(3), 10}, {key(4), 10}}; }

TEST(ValidatorUpdates, AddChangeAndRemoveKeepTheOrderAndAppendNewcomers) {
  // 15 of 40 moved: within a limit of one half.
  auto next =
      apply_validator_updates(four(), std::vector<ValidatorUpdate>{{key(5), 3}, {key(2), 12}, {key(3), 0}}, {1, 2});
  ASSERT_TRUE(next.ok()) << next.error().message;
  ASSERT_EQ(next->size(), 4u);
  EXPECT_EQ((*next)[0].key, key(1));
  EXPECT_EQ((*next)[1].key, key(2));
  EXPECT_EQ((*next)[1].power, 12u);
  EXPECT_EQ((*next)[2].key, key(4));
  EXPECT_EQ((*next)[3].key, key(5));
  EXPECT_EQ((*next)[3].power, 3u);
  EXPECT_TRUE(make_validators(*next).ok());
}

TEST(ValidatorUpdates, TheUpdatesBetweenTwoSetsLeadFromOneToTheOther) {
  const std::vector<ValidatorKey> target{{key(1), 10}, {key(2), 12}, {key(4), 10}, {key(5), 3}};
  const std::vector<ValidatorUpdate> updates = validator_updates_between(four(), target);
  const std::vector<ValidatorUpdate> expected{{key(2), 12}, {key(3), 0}, {key(5), 3}};
  EXPECT_EQ(updates, expected);
  auto next = apply_validator_updates(four(), updates, {1, 2});
  ASSERT_TRUE(next.ok()) << next.error().message;
  EXPECT_EQ(*next, target);
  EXPECT_TRUE(validator_updates_between(target, target).empty());
}

TEST(ValidatorUpdates, NoUpdatesLeaveTheSetAsItIs) {
  auto next = apply_validator_updates(four(), {});
  ASSERT_TRUE(next.ok());
  ASSERT_EQ(next->size(), 4u);
  for (std::size_t i = 0; i < 4; ++i) EXPECT_EQ((*next)[i].key, four()[i].key);
}

void expect_refused(std::span<const ValidatorKey> current, std::vector<ValidatorUpdate> updates, const char* why,
                    ValidatorChangeLimits limits = {}) {
  auto next = apply_validator_updates(current, updates, limits);
  ASSERT_FALSE(next.ok()) << why;
  EXPECT_EQ(next.error().code, Errc::invalid_argument) << why;
  EXPECT_NE(next.error().message.find(why), std::string::npos) << next.error().message;
}

TEST(ValidatorUpdates, BadUpdatesAreRefusedWhole) {
  expect_refused(four(), {{key(5), 1}, {key(5), 2}}, "updated twice");
  expect_refused(four(), {{key(9), 0}}, "not a validator");
  const std::vector<ValidatorKey> one{{key(1), 10}};
  expect_refused(one, {{key(1), 0}}, "no validator", {1, 1});
  expect_refused(four(), {{key(5), ValidatorSet::max_total_power}}, "exceed", {1, 1});
  expect_refused(four(), {{key(5), ~std::uint64_t{0}}, {key(6), ~std::uint64_t{0}}}, "exceed");
  crypto::PublicKey not_a_point{};
  not_a_point.fill(0xff);
  expect_refused(four(), {{not_a_point, 1}}, "not a valid public key");
}

TEST(ValidatorHistory, EachHeightHasTheSetInForceThenAndTheRingKnowsEveryKey) {
  auto history = ValidatorHistory::create(four());
  ASSERT_TRUE(history.ok());
  const std::vector<ValidatorKey> second{{key(2), 10}, {key(3), 10}, {key(4), 10}, {key(5), 10}};
  ASSERT_TRUE(history->change(6, second).ok());
  const ValidatorEpoch& genesis = history->at(1);
  EXPECT_EQ(&history->at(0), &genesis);
  EXPECT_EQ(&history->at(5), &genesis);
  EXPECT_EQ(history->at(6).keys, second);
  EXPECT_EQ(history->at(1'000'000).height, 6u);  // the newest set, until a change says otherwise
  // References stay valid as the history grows.
  for (Height height = 7; height < 100; ++height) ASSERT_TRUE(history->change(height, four()).ok());
  EXPECT_EQ(genesis.keys, four());
  // Key 1 left the set and key 5 joined it: signatures of both still check.
  for (std::uint8_t id = 1; id <= 5; ++id) EXPECT_NE(history->keys().find(crypto::address_of(key(id))), nullptr);
  // Changes only go forward, and each must make a set.
  EXPECT_FALSE(history->change(99, four()).ok());
  EXPECT_FALSE(history->change(200, {}).ok());
}

TEST(ValidatorUpdates, AChangeOfAThirdOfThePowerOrMoreWaitsForLaterBlocks) {
  // 40 in all: moving 13 is below a third, 14 is not.
  EXPECT_TRUE(apply_validator_updates(four(), std::vector<ValidatorUpdate>{{key(5), 13}}).ok());
  expect_refused(four(), {{key(5), 14}}, "move 14 of 40");
  // A removal and an addition both move power.
  expect_refused(four(), {{key(1), 0}, {key(5), 10}}, "move 20 of 40");
  // A looser limit, and limits that are no fraction.
  EXPECT_TRUE(apply_validator_updates(four(), std::vector<ValidatorUpdate>{{key(1), 0}, {key(5), 10}}, {2, 3}).ok());
  expect_refused(four(), {}, "fraction", {0, 3});
  expect_refused(four(), {}, "fraction", {4, 3});
}

}  // namespace
}  // namespace bft::node
