#include "translate.hpp"

#include <gtest/gtest.h>

#include <limits>

namespace bft::runtime::detail {
namespace {

Address addr(std::string_view text) { return Address::from_text(text); }
Value val(std::string_view text) { return Value::from_text(text); }

Vote seed_vote(VoteType type, Round round, std::optional<Value> value, std::string_view voter) {
  return Vote{type, 7, round, std::move(value), addr(voter)};
}

TEST(Translate, VoteRoundTripKeepsEveryFieldAndNil) {
  for (const std::optional<Value>& value : {std::optional<Value>(val("blue")), std::optional<Value>()}) {
    const Vote vote = seed_vote(VoteType::precommit, 3, value, "b");
    const bft::Vote core = to_core(Vote(vote));
    EXPECT_EQ(core, (bft::Vote{VoteType::precommit, 7, 3, value, addr("b")}));
    EXPECT_EQ(from_core(bft::Vote(core)), vote);
  }
}

TEST(Translate, EmptyValueIsAValueNotNil) {
  const bft::Vote core = to_core(seed_vote(VoteType::prevote, 0, Value{}, "a"));
  ASSERT_TRUE(core.value.has_value());
  EXPECT_TRUE(core.value->empty());
}

TEST(Translate, ProposalLockRoundIsTheCoreValidRound) {
  const Proposal fresh{7, 2, val("v"), std::nullopt, {}, addr("c")};
  const bft::Proposal core_fresh = to_core(Proposal(fresh));
  EXPECT_EQ(core_fresh.valid_round, nil_round);
  EXPECT_EQ(from_core(bft::Proposal(core_fresh)), fresh);

  const Proposal locked{7, 2, val("v"), Round{1},
                        {seed_vote(VoteType::prevote, 1, val("v"), "a"), seed_vote(VoteType::prevote, 1, val("v"), "b")},
                        addr("c")};
  const bft::Proposal core_locked = to_core(Proposal(locked));
  EXPECT_EQ(core_locked.height, 7u);
  EXPECT_EQ(core_locked.round, 2);
  EXPECT_EQ(core_locked.value, val("v"));
  EXPECT_EQ(core_locked.valid_round, 1);
  EXPECT_EQ(core_locked.proposer, addr("c"));
  ASSERT_EQ(core_locked.lock_votes.size(), 2u);
  EXPECT_EQ(core_locked.lock_votes[1], (bft::Vote{VoteType::prevote, 7, 1, val("v"), addr("b")}));
  EXPECT_EQ(from_core(bft::Proposal(core_locked)), locked);
}

TEST(Translate, DecideBecomesCommitFromThisNode) {
  const bft::Vote precommit{VoteType::precommit, 7, 1, val("v"), addr("a")};
  const Commit commit = from_core(Decide{7, 1, val("v"), {precommit}}, addr("self"));
  EXPECT_EQ(commit, (Commit{7, 1, val("v"), {seed_vote(VoteType::precommit, 1, val("v"), "a")}, addr("self")}));
}

TEST(Translate, GetValueAndRetransmit) {
  EXPECT_EQ(from_core(GetValue{4, 2}), (GetProposalRequest{4, 2}));
  const bft::Vote vote{VoteType::prevote, 7, 0, std::nullopt, addr("a")};
  const Retransmit help = from_core(bft::Retransmit{addr("d"), std::nullopt, {vote}});
  EXPECT_EQ(help, (Retransmit{addr("d"), std::nullopt, {seed_vote(VoteType::prevote, 0, std::nullopt, "a")}}));
}

TEST(Translate, StatusStartsTheNextHeightWithSeparateWeights) {
  const Status status{9, Duration{3000}, {Node{addr("a"), 0, 5}, Node{addr("b"), 2, 1}}};
  auto next = to_new_height(Status(status));
  ASSERT_TRUE(next.ok()) << next.error().message;
  EXPECT_EQ(next->height, 10u);
  EXPECT_EQ(next->interval, Duration{3000});
  ASSERT_EQ(next->validators.size(), 2u);
  EXPECT_EQ(next->validators[0], (Validator{addr("a"), 5, 0}));
  EXPECT_EQ(next->validators[1], (Validator{addr("b"), 1, 2}));
}

TEST(Translate, BadStatusIsAnError) {
  const std::vector<Node> one{Node{addr("a"), 1, 1}};
  EXPECT_EQ(to_new_height(Status{1, std::nullopt, {}}).error().code, Errc::empty_validator_set);
  EXPECT_EQ(to_new_height(Status{1, std::nullopt, {Node{addr("a"), 1, 0}}}).error().code, Errc::zero_power);
  EXPECT_EQ(to_new_height(Status{1, std::nullopt, {Node{addr("a"), 0, 1}}}).error().code, Errc::no_propose_weight);
  EXPECT_EQ(to_new_height(Status{1, std::nullopt, {one[0], one[0]}}).error().code, Errc::duplicate_validator);
  EXPECT_EQ(to_new_height(Status{1, Duration{0}, one}).error().code, Errc::invalid_argument);
  EXPECT_EQ(to_new_height(Status{1, Duration{-5}, one}).error().code, Errc::invalid_argument);
  EXPECT_EQ(to_new_height(Status{std::numeric_limits<Height>::max(), std::nullopt, one}).error().code,
            Errc::invalid_argument);
}

TEST(Translate, CommitVotesMustBeItsOwnPrecommits) {
  Commit commit{7, 1, val("v"), {seed_vote(VoteType::precommit, 1, val("v"), "a")}, addr("a")};
  EXPECT_TRUE(check_commit(commit).ok());
  for (Vote bad : {seed_vote(VoteType::prevote, 1, val("v"), "b"), seed_vote(VoteType::precommit, 0, val("v"), "b"),
                   seed_vote(VoteType::precommit, 1, val("w"), "b"), seed_vote(VoteType::precommit, 1, std::nullopt, "b"),
                   Vote{VoteType::precommit, 8, 1, val("v"), addr("b")}}) {
    Commit wrong = commit;
    wrong.lock_votes.push_back(bad);
    EXPECT_EQ(check_commit(wrong).error().code, Errc::invalid_argument);
  }
}

TEST(Translate, IntervalReplacesOnlyTheTimeouts) {
  Config base;
  base.max_round = 17;
  base.future_heights = 5;
  const Config config = with_interval(base, Duration{3000});
  EXPECT_EQ(config.propose.base, Duration{2400});
  EXPECT_EQ(config.prevote.base, Duration{100});
  EXPECT_EQ(config.precommit.base, Duration{100});
  EXPECT_EQ(config.max_round, 17);
  EXPECT_EQ(config.future_heights, 5u);
}

}  // namespace
}  // namespace bft::runtime::detail
