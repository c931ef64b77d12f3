// Bad and unusual input: each gets a defined outcome and an error value, and leaves the
// core's state as it was (shown by the core still working normally afterwards).
#include <gtest/gtest.h>

#include "harness.hpp"

namespace bft::test {
namespace {

/// The node still decides normally: the bad input before this changed nothing.
void expect_still_decides(Node& node, Round r = 0) {
  const std::string proposer = "v" + std::to_string(r % 4);
  node.proposal(proposer, r, "good");
  for (const char* v : {"v0", "v2", "v3"}) node.precommit(v, r, "good");
  auto decide = only<Decide>(node.last());
  ASSERT_TRUE(decide);
  EXPECT_EQ(decide->value, val("good"));
  EXPECT_EQ(decide->commit.size(), 3u);
}

TEST(BadInput, EverythingBeforeTheFirstStartIsRejected) {
  Node node("v1");
  node.prevote("v0", 0, "a");
  EXPECT_EQ(node.error(), Errc::not_started);
  node.proposal("v0", 0, "a");
  EXPECT_EQ(node.error(), Errc::not_started);
  node.timeout(TimeoutKind::propose, 0);
  EXPECT_EQ(node.error(), Errc::not_started);
  node.feed(ProposeValue{1, std::nullopt, val("a")});
  EXPECT_EQ(node.error(), Errc::not_started);
  node.feed(VerifyResult{1, 0, val("a"), true});
  EXPECT_EQ(node.error(), Errc::not_started);
  node.feed(Certificate{});
  EXPECT_EQ(node.error(), Errc::not_started);
  EXPECT_FALSE(node.core().started());
}

TEST(BadInput, StartWithAnEmptySetOrAnOldHeightIsRejected) {
  Node node("v1");
  node.feed(StartHeight{1, ValidatorSet{}});
  EXPECT_EQ(node.error(), Errc::empty_validator_set);
  EXPECT_FALSE(node.core().started());
  node.start(5);
  node.start(5);
  EXPECT_EQ(node.error(), Errc::stale_height);
  node.start(4);
  EXPECT_EQ(node.error(), Errc::stale_height);
  EXPECT_EQ(node.core().height(), 5u);
}

TEST(Heights, AStartMayChangeTheConfigAndKeepsWhatWasBuffered) {
  Node node("v1");
  node.start(1);
  node.prevote("v2", 0, "kept", 2);
  Config slower;
  slower.propose = {Duration{9000}, Duration{0}};
  const auto& out = node.feed(StartHeight{2, node.set(), slower});
  ASSERT_TRUE(node.result().ok());
  auto timeout = only<ScheduleTimeout>(out);
  ASSERT_TRUE(timeout);
  EXPECT_EQ(timeout->duration, Duration{9000});
  EXPECT_EQ(node.core().config().propose.base, Duration{9000});
  node.prevote("v2", 0, "kept", 2);
  EXPECT_TRUE(node.result().ok());  // a duplicate: the buffered one was replayed
  Config broken;
  broken.max_round = 0;
  node.feed(StartHeight{3, node.set(), broken});
  EXPECT_EQ(node.error(), Errc::invalid_argument);
  EXPECT_EQ(node.core().height(), 2u);
}

TEST(BadInput, HeightZeroIsAnOrdinaryHeight) {
  Node node("v1");
  node.start(0);
  EXPECT_TRUE(node.result().ok());
  node.proposal("v0", 0, "a", nil_round, Validity::valid, 0);
  EXPECT_EQ(votes_of(node.last()).size(), 1u);
}

TEST(BadInput, VotesFromNonValidatorsAreRejected) {
  Node node("v1");
  node.start();
  node.prevote("mallory", 0, "a");
  EXPECT_EQ(node.error(), Errc::unknown_validator);
  node.precommit("mallory", 5, "a");
  EXPECT_EQ(node.error(), Errc::unknown_validator);
  EXPECT_EQ(node.core().round(), 0);
  expect_still_decides(node);
}

TEST(BadInput, ProposalsFromAnyoneButTheProposerAreIgnoredEntirely) {
  Node node("v1");
  node.start();
  node.proposal("v2", 0, "a");
  EXPECT_EQ(node.error(), Errc::not_proposer);
  node.proposal("mallory", 0, "a");
  EXPECT_EQ(node.error(), Errc::unknown_validator);
  EXPECT_TRUE(votes_of(node.last()).empty());
  for (const char* v : {"v0", "v2", "v3"}) node.precommit(v, 0, "a");
  EXPECT_TRUE(all_of<Decide>(node.last()).empty());  // the wrong proposer's value was not kept
  expect_still_decides(node, 1);
}

TEST(BadInput, OutOfRangeRoundsAreRejected) {
  Config config;
  config.max_round = 10;
  Node node("v1", {1, 1, 1, 1}, config);
  node.start();
  node.prevote("v0", -1, "a");
  EXPECT_EQ(node.error(), Errc::invalid_round);
  node.prevote("v0", 11, "a");
  EXPECT_EQ(node.error(), Errc::invalid_round);
  node.proposal("v0", -3, "a");
  EXPECT_EQ(node.error(), Errc::invalid_round);
  node.feed(TimeoutFired{TimeoutKind::propose, 1, -1});
  EXPECT_TRUE(node.result().ok());  // a timeout for another round is a stale timer: no-op
  node.feed(VerifyResult{1, 99, val("a"), true});
  EXPECT_EQ(node.error(), Errc::invalid_round);
  node.feed(ProposeValue{1, 11, val("a")});
  EXPECT_EQ(node.error(), Errc::invalid_round);
  expect_still_decides(node);
}

TEST(BadInput, TheLastRoundDoesNotTimeOutIntoANonexistentOne) {
  Config config;
  config.max_round = 1;
  Node node("v1", {1, 1, 1, 1}, config);
  node.start();
  node.timeout(TimeoutKind::precommit, 0);
  ASSERT_EQ(node.core().round(), 1);
  node.timeout(TimeoutKind::precommit, 1);
  EXPECT_EQ(node.error(), Errc::invalid_round);
  EXPECT_EQ(node.core().round(), 1);
}

TEST(BadInput, AValidRoundNotBelowTheRoundIsRejected) {
  Node node("v1");
  node.start();
  node.timeout(TimeoutKind::precommit, 0);
  node.proposal("v1", 1, "a", 1);
  EXPECT_EQ(node.error(), Errc::invalid_round);
  node.proposal("v1", 1, "a", 2);
  EXPECT_EQ(node.error(), Errc::invalid_round);
  node.proposal("v1", 1, "a", -2);
  EXPECT_EQ(node.error(), Errc::invalid_round);
  EXPECT_EQ(node.core().step(), Step::propose);
}

TEST(BadInput, LockVotesThatDoNotMatchTheProposalRejectIt) {
  Node node("v2");
  node.start();
  node.timeout(TimeoutKind::precommit, 0);
  auto proposal_with = [](std::vector<Vote> lock_votes, Round valid_round = 0) {
    return ReceivedProposal{Proposal{1, 1, val("x"), valid_round, addr("v1"), std::move(lock_votes)}, Validity::valid};
  };
  const Vote good = Node::make_vote(VoteType::prevote, "v0", 0, "x");
  Vote other_value = good;
  other_value.value = val("y");
  Vote other_round = good;
  other_round.round = 1;
  Vote precommit = good;
  precommit.type = VoteType::precommit;
  Vote stranger = good;
  stranger.voter = addr("mallory");
  for (const auto& bad : {std::vector<Vote>{good, other_value}, {other_round}, {precommit}, {stranger}, {good, good}}) {
    node.feed(proposal_with(bad));
    EXPECT_EQ(node.error(), Errc::invalid_lock_votes);
  }
  node.feed(proposal_with({good}, nil_round));
  EXPECT_EQ(node.error(), Errc::invalid_lock_votes);
  EXPECT_EQ(node.core().step(), Step::propose);
  // Nothing was stored: the real proposal with its proof is still accepted.
  node.feed(proposal_with({good, Node::make_vote(VoteType::prevote, "v1", 0, "x"),
                           Node::make_vote(VoteType::prevote, "v3", 0, "x")}));
  EXPECT_TRUE(node.result().ok());
  EXPECT_EQ(votes_of(node.last()).size(), 1u);
}

TEST(BadInput, CertificatesBelowTheSkipThresholdMixedOrWithRepeatedVotersAreRejected) {
  Node node("v1");
  node.start();
  node.proposal("v0", 0, "a");
  auto cert = [](std::vector<Vote> votes) { return Certificate{std::move(votes)}; };
  auto pc = [](const char* from, const char* value, Round r = 0, Height h = 1) {
    return Node::make_vote(VoteType::precommit, from, r, std::string(value), h);
  };
  node.feed(cert({pc("v0", "a")}));  // 1 of 4: not even f + 1
  EXPECT_EQ(node.error(), Errc::invalid_certificate);
  node.feed(cert({pc("v0", "a"), pc("v2", "a"), pc("v2", "a")}));
  EXPECT_EQ(node.error(), Errc::invalid_certificate);
  node.feed(cert({pc("v0", "a"), pc("v2", "a"), pc("v3", "a", 1)}));
  EXPECT_EQ(node.error(), Errc::invalid_certificate);
  node.feed(cert({pc("v0", "a"), pc("v2", "a"), pc("v3", "a", 0, 2)}));
  EXPECT_EQ(node.error(), Errc::invalid_certificate);
  node.feed(cert({pc("v0", "a"), pc("v2", "a"), pc("mallory", "a")}));
  EXPECT_EQ(node.error(), Errc::invalid_certificate);
  node.feed(cert({}));
  EXPECT_EQ(node.error(), Errc::invalid_certificate);
  EXPECT_FALSE(node.core().decided());
  node.feed(cert({pc("v0", "a"), pc("v2", "a"), pc("v3", "a")}));
  EXPECT_TRUE(node.core().decided());
}

TEST(Certificates, AQuorumOfPrecommitsForMixedValuesSchedulesThePrecommitTimeout) {
  Node node("v1");
  node.start();
  auto pc = [](const char* from, std::optional<std::string> value) {
    return Node::make_vote(VoteType::precommit, from, 0, value);
  };
  const auto& out = node.feed(Certificate{{pc("v0", "a"), pc("v2", std::nullopt), pc("v3", "b")}});
  EXPECT_TRUE(node.result().ok());
  EXPECT_TRUE(has_timeout(out, TimeoutKind::precommit, 0));
  EXPECT_FALSE(node.core().decided());
}

TEST(Certificates, MoreThanAThirdOfAnyVotesOfALaterRoundSkipsToIt) {
  Node node("v1");
  node.start();
  Vote prevote = Node::make_vote(VoteType::prevote, "v2", 4, "a");
  Vote precommit = Node::make_vote(VoteType::precommit, "v3", 4, std::nullopt);
  node.feed(Certificate{{prevote, precommit}});
  EXPECT_TRUE(node.result().ok());
  EXPECT_EQ(node.core().round(), 4);
  // A voter may appear once per vote type, not twice with the same type.
  Node other("v1");
  other.start();
  other.feed(Certificate{{prevote, Node::make_vote(VoteType::prevote, "v2", 4, "b")}});
  EXPECT_EQ(other.error(), Errc::invalid_certificate);
}

TEST(BadInput, DuplicatesChangeNothing) {
  Node node("v1");
  node.start();
  node.proposal("v0", 0, "a");
  EXPECT_TRUE(node.proposal("v0", 0, "a").empty());
  EXPECT_TRUE(node.result().ok());
  node.prevote("v2", 0, "a");
  node.prevote("v2", 0, "a");
  node.prevote("v2", 0, "a");
  EXPECT_TRUE(votes_of(node.last()).empty());  // v2 counted once: no polka
}

TEST(BadInput, FutureRoundsPerSenderAreBounded) {
  Config config;
  config.max_future_rounds_per_sender = 3;
  Node node("v1", {1, 1, 1, 1}, config);
  node.start();
  for (Round r = 10; r < 13; ++r) {
    node.prevote("v2", r, "junk");
    EXPECT_TRUE(node.result().ok());
  }
  node.prevote("v2", 13, "junk");
  EXPECT_EQ(node.error(), Errc::too_many_future_rounds);
  node.precommit("v2", 12, "junk");  // a round it already holds is fine
  EXPECT_TRUE(node.result().ok());
  node.prevote("v3", 13, "x");  // other senders are unaffected
  EXPECT_TRUE(node.result().ok());
  EXPECT_EQ(node.core().round(), 0);
}

TEST(BadInput, ProposalsForFutureRoundsArePerSenderBounded) {
  Config config;
  config.max_future_rounds_per_sender = 2;
  Node node("v1", {1, 1, 1, 1}, config);
  node.start();
  node.proposal("v0", 4, "a");
  node.proposal("v0", 8, "a");
  EXPECT_TRUE(node.result().ok());
  node.proposal("v0", 12, "a");
  EXPECT_EQ(node.error(), Errc::too_many_future_rounds);
  node.prevote("v0", 8, "a");  // a round it already holds
  EXPECT_TRUE(node.result().ok());
}

TEST(BadInput, RejectedProposalsLeaveNoRoundStateBehind) {
  Node node("v1");
  node.start();
  const std::size_t before = node.core().tracked_rounds();
  for (Round r = 1; r < 200; ++r) node.proposal("v2", r * 4 + 1, "spam");  // v2 is never proposer(1, 4k+1)
  EXPECT_EQ(node.error(), Errc::not_proposer);
  EXPECT_EQ(node.core().tracked_rounds(), before);
}

TEST(BadInput, ARepeatedProposalStillDeliversItsProofOfLock) {
  Node node("v2");
  node.start();
  node.timeout(TimeoutKind::precommit, 0);
  node.proposal("v1", 1, "x", 0);  // relayed without its proof: waits
  EXPECT_TRUE(votes_of(node.last()).empty());
  Proposal with_proof{1, 1, val("x"), 0, addr("v1"), {}};
  for (const char* v : {"v0", "v1", "v3"}) with_proof.lock_votes.push_back(Node::make_vote(VoteType::prevote, v, 0, "x"));
  const auto votes = votes_of(node.feed(ReceivedProposal{with_proof, Validity::valid}));
  ASSERT_EQ(votes.size(), 1u);
  EXPECT_EQ(votes[0].value, opt("x"));
}

TEST(BadInput, AnEquivocatingProposerIsBounded) {
  Config config;
  config.max_proposals_per_round = 2;
  Node node("v1", {1, 1, 1, 1}, config);
  node.start();
  node.proposal("v0", 0, "a");
  node.proposal("v0", 0, "b");
  EXPECT_TRUE(node.result().ok());
  node.proposal("v0", 0, "c");
  EXPECT_EQ(node.error(), Errc::too_many_proposals);
  EXPECT_TRUE(all_of<Evidence>(node.last()).empty());  // reported when "b" came
}

TEST(BadInput, FutureHeightsAreBufferedWithinAWindowAndPerSenderBound) {
  Config config;
  config.future_heights = 1;
  config.max_buffered_per_sender = 2;
  Node node("v1", {1, 1, 1, 1}, config);
  node.start(1);
  node.prevote("v2", 0, "a", 3);
  EXPECT_EQ(node.error(), Errc::too_far_ahead);
  node.prevote("v2", 0, "a", 2);
  node.precommit("v2", 0, "a", 2);
  EXPECT_TRUE(node.result().ok());
  node.prevote("v2", 1, "a", 2);
  EXPECT_EQ(node.error(), Errc::buffer_full);
  node.prevote("mallory", 0, "a", 2);
  EXPECT_EQ(node.error(), Errc::unknown_validator);
  node.prevote("v3", 0, "a", 2);
  EXPECT_TRUE(node.result().ok());
}

TEST(BadInput, StaleMessagesAreRejectedAndTheirValuesIgnored) {
  Node node("v1");
  node.start(3);
  node.prevote("v2", 0, "a", 2);
  EXPECT_EQ(node.error(), Errc::stale_height);
  node.feed(ProposeValue{2, std::nullopt, val("a")});
  EXPECT_EQ(node.error(), Errc::stale_height);
  node.feed(VerifyResult{2, 0, val("a"), true});
  EXPECT_EQ(node.error(), Errc::stale_height);
  node.timeout(TimeoutKind::precommit, 0, 2);
  EXPECT_TRUE(node.result().ok());
  EXPECT_EQ(node.core().round(), 0);
  node.timeout(TimeoutKind::precommit, 0, 3);
  node.feed(ProposeValue{3, 0, val("a")});
  EXPECT_EQ(node.error(), Errc::stale_round);
}

// handle(const Vote&) is handle(Input) without the copy: same outputs, same errors, same
// state, through counting, duplicates, equivocation, buffering for a later height,
// a decision, laggard help and rejection.
TEST(Votes, AVoteHandledInPlaceActsAsTheSameVoteInAnInput) {
  Node by_input("v1");
  Node in_place("v1");
  auto vote = [](VoteType type, const char* from, Round r, std::optional<std::string> value, Height h = 1) {
    return Node::make_vote(type, from, r, std::move(value), h);
  };
  const std::vector<Vote> votes{
      vote(VoteType::prevote, "v2", 0, "a"),     vote(VoteType::prevote, "v2", 0, "a"),
      vote(VoteType::prevote, "v2", 0, "b"),     vote(VoteType::prevote, "v3", 1, std::nullopt),
      vote(VoteType::prevote, "v0", 0, "a", 2),  vote(VoteType::precommit, "v0", 0, "a"),
      vote(VoteType::precommit, "v2", 0, "a"),   vote(VoteType::precommit, "v3", 0, "a"),
      vote(VoteType::precommit, "v3", 0, "a"),   vote(VoteType::prevote, "v9", 0, "a"),
  };
  for (Node* node : {&by_input, &in_place}) {
    node->start(1);
    node->proposal("v0", 0, "a");
  }
  for (const Vote& v : votes) {
    by_input.feed(v);
    std::vector<Output> out;
    const Result<void> result = in_place.core().handle(v, out);
    ASSERT_EQ(result.ok(), by_input.result().ok()) << to_string(v);
    if (!result.ok()) {
      EXPECT_EQ(result.error().code, by_input.error()) << to_string(v);
    }
    ASSERT_EQ(out.size(), by_input.last().size()) << to_string(v);
    for (std::size_t i = 0; i < out.size(); ++i) EXPECT_EQ(to_string(out[i]), to_string(by_input.last()[i]));
  }
  EXPECT_TRUE(in_place.core().decided());
  for (Node* node : {&by_input, &in_place}) node->start(2);  // replays the buffered height-2 prevote
  EXPECT_EQ(by_input.last().size(), in_place.last().size());
  EXPECT_EQ(in_place.core().height(), 2u);
}

TEST(BadInput, ErrorsHaveReadableNames) {
  EXPECT_EQ(to_string(Errc::invalid_certificate), "invalid_certificate");
  EXPECT_EQ(to_string(Errc::too_many_future_rounds), "too_many_future_rounds");
  EXPECT_EQ(to_string(VoteType::precommit), "precommit");
  EXPECT_EQ(to_string(Step::commit), "commit");
  EXPECT_EQ(to_string(Node::make_vote(VoteType::prevote, "v1", 2, std::nullopt, 7)),
            "prevote h=7 r=2 value=nil from=v1");
  EXPECT_EQ(Value(Bytes{0x00, 0xff}).to_string(), "0x00ff");
}

}  // namespace
}  // namespace bft::test
