// One test (or a few) per rule of Algorithm 1, named by its line number. Four equal
// validators v0..v3 unless a test says otherwise; proposer(h, r) = v[r mod 4]; the node
// under test is v1 (so it does not propose in round 0) unless a test says otherwise.
#include <gtest/gtest.h>

#include "harness.hpp"

namespace bft::test {
namespace {

/// Drives `node` in round r to step prevote with a prevote for `value` (as v1, non-proposer).
void prevote_on(Node& node, Round r, const std::string& value) {
  node.proposal("v" + std::to_string(r % 4), r, value);
  ASSERT_EQ(node.core().step(), Step::prevote);
}

void quorum_prevotes(Node& node, Round r, std::optional<std::string> value) {
  for (const char* v : {"v0", "v1", "v2"}) node.prevote(v, r, value);
}

// ---- L11 StartRound ----

TEST(L11_StartRound, NonProposerSchedulesProposeTimeoutAndWaits) {
  Node node("v1");
  const auto& out = node.start();
  EXPECT_TRUE(has_timeout(out, TimeoutKind::propose, 0));
  EXPECT_TRUE(all_of<BroadcastProposal>(out).empty());
  EXPECT_TRUE(all_of<GetValue>(out).empty());
  EXPECT_EQ(node.core().step(), Step::propose);
  EXPECT_EQ(node.core().round(), 0);
}

TEST(L11_StartRound, ProposerWithoutAValueAsksTheApplication) {
  Node node("v0");
  const auto& out = node.start();
  auto get = only<GetValue>(out);
  ASSERT_TRUE(get);
  EXPECT_EQ(get->height, 1u);
  EXPECT_EQ(get->round, 0);
  EXPECT_TRUE(all_of<BroadcastProposal>(out).empty());
}

TEST(L11_StartRound, ProposerProposesTheApplicationsValueWithNoValidRound) {
  Node node("v0");
  node.start();
  auto proposal = only<BroadcastProposal>(node.feed(ProposeValue{1, std::nullopt, val("block")}));
  ASSERT_TRUE(proposal);
  EXPECT_EQ(proposal->proposal, (Proposal{1, 0, val("block"), nil_round, addr("v0"), {}}));
}

TEST(L11_StartRound, ProposerReproposesItsValidValueWithProofOfLock) {
  Node node("v1");  // v1 proposes in round 1
  node.start();
  prevote_on(node, 0, "x");
  quorum_prevotes(node, 0, "x");  // L36: valid value x in round 0
  node.timeout(TimeoutKind::precommit, 0);
  const auto proposal = only<BroadcastProposal>(node.last());
  ASSERT_TRUE(proposal);
  EXPECT_EQ(proposal->proposal.round, 1);
  EXPECT_EQ(proposal->proposal.value, val("x"));
  EXPECT_EQ(proposal->proposal.valid_round, 0);
  ASSERT_EQ(proposal->proposal.lock_votes.size(), 3u);
  for (const Vote& v : proposal->proposal.lock_votes) {
    EXPECT_EQ(v.type, VoteType::prevote);
    EXPECT_EQ(v.round, 0);
    EXPECT_EQ(v.value, opt("x"));
  }
  EXPECT_TRUE(all_of<GetValue>(node.last()).empty());
}

TEST(L11_StartRound, ALateValueIsStillProposedOnceAfterThePrevoteStep) {
  Node node("v0");
  node.start();
  node.timeout(TimeoutKind::propose, 0);
  ASSERT_EQ(node.core().step(), Step::prevote);
  EXPECT_EQ(all_of<BroadcastProposal>(node.feed(ProposeValue{1, 0, val("late")})).size(), 1u);
  EXPECT_TRUE(all_of<BroadcastProposal>(node.feed(ProposeValue{1, 0, val("later")})).empty());
}

TEST(L11_StartRound, AValueForAnotherRoundWaitsForThatRound) {
  Node node("v1");
  node.start();
  EXPECT_TRUE(all_of<BroadcastProposal>(node.feed(ProposeValue{1, 1, val("for-round-1")})).empty());
  node.timeout(TimeoutKind::precommit, 0);
  auto proposal = only<BroadcastProposal>(node.last());
  ASSERT_TRUE(proposal);
  EXPECT_EQ(proposal->proposal.value, val("for-round-1"));
}

// ---- L22 proposal without valid round ----

TEST(L22_Proposal, PrevotesAValidProposalWhenNotLocked) {
  Node node("v1");
  node.start();
  const auto votes = votes_of(node.proposal("v0", 0, "a"));
  ASSERT_EQ(votes.size(), 1u);
  EXPECT_EQ(votes[0], Node::make_vote(VoteType::prevote, "v1", 0, "a"));
  EXPECT_EQ(node.core().step(), Step::prevote);
}

TEST(L22_Proposal, PrevotesNilForAnInvalidProposal) {
  Node node("v1");
  node.start();
  const auto votes = votes_of(node.proposal("v0", 0, "a", nil_round, Validity::invalid));
  ASSERT_EQ(votes.size(), 1u);
  EXPECT_EQ(votes[0].value, std::nullopt);
}

TEST(L22_Proposal, PrevotesNilWhenLockedOnAnotherValueAndTheLockedValueWhenEqual) {
  Node node("v1");
  node.start();
  prevote_on(node, 0, "x");
  quorum_prevotes(node, 0, "x");
  ASSERT_EQ(node.core().locked_value(), opt("x"));
  node.timeout(TimeoutKind::precommit, 0);  // round 1: v1 proposes x itself
  node.timeout(TimeoutKind::precommit, 1);  // round 2: v2 proposes
  auto votes = votes_of(node.proposal("v2", 2, "y"));
  ASSERT_EQ(votes.size(), 1u);
  EXPECT_EQ(votes[0].value, std::nullopt);
  node.timeout(TimeoutKind::precommit, 2);  // round 3: v3 proposes the locked value
  votes = votes_of(node.proposal("v3", 3, "x"));
  ASSERT_EQ(votes.size(), 1u);
  EXPECT_EQ(votes[0].value, opt("x"));
}

TEST(L22_Proposal, OnlyInStepPropose) {
  Node node("v1");
  node.start();
  node.timeout(TimeoutKind::propose, 0);
  EXPECT_TRUE(votes_of(node.proposal("v0", 0, "a")).empty());
}

// ---- L28 proposal with valid round and proof of lock ----

TEST(L28_ProofOfLock, PrevotesWhenAQuorumPrevotedTheValueInTheValidRound) {
  Node node("v1");
  node.start();
  node.timeout(TimeoutKind::propose, 0);  // prevoted nil in round 0, not locked
  for (const char* v : {"v0", "v2", "v3"}) node.prevote(v, 0, "x");
  node.timeout(TimeoutKind::precommit, 0);
  EXPECT_TRUE(votes_of(node.proposal("v1", 1, "x", 0)).size() == 1);
  EXPECT_EQ(votes_of(node.last())[0].value, opt("x"));
}

TEST(L28_ProofOfLock, WaitsForTheQuorumOfTheValidRound) {
  Node node("v2");
  node.start();
  node.timeout(TimeoutKind::precommit, 0);
  EXPECT_TRUE(votes_of(node.proposal("v1", 1, "x", 0)).empty());
  node.prevote("v0", 0, "x");
  node.prevote("v1", 0, "x");
  EXPECT_TRUE(votes_of(node.last()).empty());
  const auto votes = votes_of(node.prevote("v3", 0, "x"));
  ASSERT_EQ(votes.size(), 1u);
  EXPECT_EQ(votes[0], Node::make_vote(VoteType::prevote, "v2", 1, "x"));
}

TEST(L28_ProofOfLock, EmbeddedLockVotesServeAsTheProof) {
  Node node("v2");
  node.start();
  node.timeout(TimeoutKind::precommit, 0);
  Proposal p{1, 1, val("x"), 0, addr("v1"), {}};
  for (const char* v : {"v0", "v1", "v3"}) p.lock_votes.push_back(Node::make_vote(VoteType::prevote, v, 0, "x"));
  const auto votes = votes_of(node.feed(ReceivedProposal{p, Validity::valid}));
  ASSERT_EQ(votes.size(), 1u);
  EXPECT_EQ(votes[0].value, opt("x"));
}

TEST(L28_ProofOfLock, PrevotesNilWhenLockedLaterOnAnotherValue) {
  Node node("v1");
  node.start();
  node.timeout(TimeoutKind::precommit, 0);  // round 1 (v1 proposes; it has no value)
  node.proposal("v1", 1, "y");
  quorum_prevotes(node, 1, "y");  // locked on y in round 1
  ASSERT_EQ(node.core().locked_round(), 1);
  for (const char* v : {"v0", "v2", "v3"}) node.prevote(v, 0, "x");  // an older polka for x
  node.timeout(TimeoutKind::precommit, 1);  // round 2, v2 re-proposes x from round 0
  const auto votes = votes_of(node.proposal("v2", 2, "x", 0));
  ASSERT_EQ(votes.size(), 1u);
  EXPECT_EQ(votes[0].value, std::nullopt);
}

TEST(L28_ProofOfLock, ALockFromTheValidRoundItselfDoesNotBlock) {
  // lockedRound <= vr, not <: a node locked on x in round 0 still prevotes y re-proposed
  // from round 0. Two polkas in one round need equivocators, whose certified votes count.
  Node node("v1");
  node.start();
  prevote_on(node, 0, "x");
  quorum_prevotes(node, 0, "x");
  ASSERT_EQ(node.core().locked_round(), 0);
  Certificate polka_for_y;
  for (const char* v : {"v0", "v2", "v3"}) polka_for_y.votes.push_back(Node::make_vote(VoteType::prevote, v, 0, "y"));
  node.feed(polka_for_y);
  node.timeout(TimeoutKind::precommit, 0);
  node.timeout(TimeoutKind::precommit, 1);
  const auto votes = votes_of(node.proposal("v2", 2, "y", 0));
  ASSERT_EQ(votes.size(), 1u);
  EXPECT_EQ(votes[0].value, opt("y"));
}

TEST(L28_ProofOfLock, TheProofCountsDespiteAnEarlierConflictingPrevote) {
  // v0 equivocates: this node saw its prevote for y first, then the proof of lock for x
  // carries v0's prevote for x. The proof is a polka certificate: all three votes count.
  Node node("v2");
  node.start();
  node.prevote("v0", 0, "y");
  node.timeout(TimeoutKind::precommit, 0);
  Proposal p{1, 1, val("x"), 0, addr("v1"), {}};
  for (const char* v : {"v0", "v1", "v3"}) p.lock_votes.push_back(Node::make_vote(VoteType::prevote, v, 0, "x"));
  const auto& out = node.feed(ReceivedProposal{p, Validity::valid});
  const auto votes = votes_of(out);
  ASSERT_EQ(votes.size(), 1u);
  EXPECT_EQ(votes[0].value, opt("x"));
  EXPECT_EQ(all_of<Evidence>(out).size(), 1u);
}

// ---- L34 prevote timeout ----

TEST(L34_PrevoteTimeout, ScheduledOnceOnAQuorumOfMixedPrevotes) {
  Node node("v1");
  node.start();
  prevote_on(node, 0, "a");
  node.prevote("v0", 0, "a");
  node.prevote("v1", 0, "b");
  EXPECT_FALSE(has_timeout(node.last(), TimeoutKind::prevote, 0));
  EXPECT_TRUE(has_timeout(node.prevote("v2", 0, std::nullopt), TimeoutKind::prevote, 0));
  EXPECT_FALSE(has_timeout(node.prevote("v3", 0, std::nullopt), TimeoutKind::prevote, 0));
}

TEST(L34_PrevoteTimeout, NotInStepPropose) {
  Node node("v1");
  node.start();
  for (const char* v : {"v0", "v2", "v3"}) node.prevote(v, 0, "a");
  EXPECT_FALSE(has_timeout(node.last(), TimeoutKind::prevote, 0));
}

// ---- L36 polka for a valid proposal ----

TEST(L36_Polka, LocksAndPrecommitsInStepPrevote) {
  Node node("v1");
  node.start();
  prevote_on(node, 0, "a");
  node.prevote("v0", 0, "a");
  node.prevote("v2", 0, "a");
  node.prevote("v3", 0, "a");
  const auto precommits = votes_of(node.last());
  ASSERT_EQ(precommits.size(), 1u);
  EXPECT_EQ(precommits[0], Node::make_vote(VoteType::precommit, "v1", 0, "a"));
  EXPECT_EQ(node.core().locked_value(), opt("a"));
  EXPECT_EQ(node.core().locked_round(), 0);
  EXPECT_EQ(node.core().valid_value(), opt("a"));
  EXPECT_EQ(node.core().valid_round(), 0);
  EXPECT_EQ(node.core().step(), Step::precommit);
}

TEST(L36_Polka, InStepPrecommitUpdatesTheValidValueWithoutLocking) {
  Node node("v1");
  node.start();
  node.proposal("v0", 0, "a");
  node.timeout(TimeoutKind::prevote, 0);  // precommitted nil without a quorum
  ASSERT_EQ(node.core().step(), Step::precommit);
  for (const char* v : {"v0", "v2", "v3"}) node.prevote(v, 0, "a");
  EXPECT_TRUE(votes_of(node.last()).empty());
  EXPECT_EQ(node.core().locked_round(), nil_round);
  EXPECT_EQ(node.core().valid_value(), opt("a"));
  EXPECT_EQ(node.core().valid_round(), 0);
}

TEST(L36_Polka, NeedsTheProposal) {
  Node node("v1");
  node.start();
  node.timeout(TimeoutKind::propose, 0);
  for (const char* v : {"v0", "v2", "v3"}) node.prevote(v, 0, "a");
  EXPECT_TRUE(votes_of(node.last()).empty());
  EXPECT_EQ(node.core().locked_round(), nil_round);
  const auto votes = votes_of(node.proposal("v0", 0, "a"));
  ASSERT_EQ(votes.size(), 1u);
  EXPECT_EQ(votes[0].value, opt("a"));
}

TEST(L36_Polka, CountsWeightNotHeads) {
  Node node("v1", {1, 1, 1, 7});  // v3 alone holds 7 of 10
  node.start();
  prevote_on(node, 0, "a");
  node.prevote("v0", 0, "a");
  node.prevote("v1", 0, "a");
  node.prevote("v2", 0, "a");  // three heads, 3 of 10: nothing
  EXPECT_TRUE(votes_of(node.last()).empty());
  const auto votes = votes_of(node.prevote("v3", 0, "a"));
  ASSERT_EQ(votes.size(), 1u);
  EXPECT_EQ(votes[0].type, VoteType::precommit);
}

// ---- L44 nil polka ----

TEST(L44_NilPolka, PrecommitsNil) {
  Node node("v1");
  node.start();
  prevote_on(node, 0, "a");
  for (const char* v : {"v0", "v2", "v3"}) node.prevote(v, 0, std::nullopt);
  auto votes = votes_of(node.last());
  ASSERT_EQ(votes.size(), 1u);
  EXPECT_EQ(votes[0], Node::make_vote(VoteType::precommit, "v1", 0, std::nullopt));
  EXPECT_EQ(node.core().locked_round(), nil_round);
}

// ---- L47 precommit timeout ----

TEST(L47_PrecommitTimeout, ScheduledOnceOnAQuorumOfMixedPrecommitsInAnyStep) {
  Node node("v1");
  node.start();
  node.precommit("v0", 0, "a");
  node.precommit("v2", 0, std::nullopt);
  EXPECT_FALSE(has_timeout(node.last(), TimeoutKind::precommit, 0));
  EXPECT_TRUE(has_timeout(node.precommit("v3", 0, "b"), TimeoutKind::precommit, 0));
  EXPECT_EQ(node.core().step(), Step::propose);
  EXPECT_FALSE(has_timeout(node.precommit("v1", 0, "a"), TimeoutKind::precommit, 0));
}

// ---- L49 decision ----

TEST(L49_Decide, DecidesOnAProposalAndAQuorumOfPrecommits) {
  Node node("v1");
  node.start();
  node.proposal("v0", 0, "a");
  node.precommit("v0", 0, "a");
  node.precommit("v2", 0, "a");
  EXPECT_TRUE(all_of<Decide>(node.last()).empty());
  auto decide = only<Decide>(node.precommit("v3", 0, "a"));
  ASSERT_TRUE(decide);
  EXPECT_EQ(decide->height, 1u);
  EXPECT_EQ(decide->round, 0);
  EXPECT_EQ(decide->value, val("a"));
  ASSERT_EQ(decide->commit.size(), 3u);
  for (const Vote& v : decide->commit) {
    EXPECT_EQ(v.type, VoteType::precommit);
    EXPECT_EQ(v.value, opt("a"));
    EXPECT_NE(v.voter, addr("v1"));
  }
  EXPECT_TRUE(node.core().decided());
  EXPECT_EQ(node.core().step(), Step::commit);
}

TEST(L49_Decide, DecidesForAPastRound) {
  Node node("v1");
  node.start();
  node.timeout(TimeoutKind::precommit, 0);
  node.timeout(TimeoutKind::precommit, 1);
  ASSERT_EQ(node.core().round(), 2);
  node.proposal("v0", 0, "a");
  for (const char* v : {"v0", "v2", "v3"}) node.precommit(v, 0, "a");
  auto decide = only<Decide>(node.last());
  ASSERT_TRUE(decide);
  EXPECT_EQ(decide->round, 0);
}

TEST(L49_Decide, DecidesWhenTheProposalArrivesLast) {
  Node node("v1");
  node.start();
  for (const char* v : {"v0", "v2", "v3"}) node.precommit(v, 0, "a");
  EXPECT_TRUE(all_of<Decide>(node.last()).empty());
  EXPECT_TRUE(only<Decide>(node.proposal("v0", 0, "a")));
}

TEST(L49_Decide, NeverForAnInvalidValueAndOnlyOncePerHeight) {
  Node node("v1");
  node.start();
  node.proposal("v0", 0, "a", nil_round, Validity::invalid);
  for (const char* v : {"v0", "v2", "v3"}) node.precommit(v, 0, "a");
  EXPECT_TRUE(all_of<Decide>(node.last()).empty());

  Node other("v1");
  other.start();
  other.proposal("v0", 0, "a");
  for (const char* v : {"v0", "v2", "v3"}) other.precommit(v, 0, "a");
  ASSERT_TRUE(other.core().decided());
  other.precommit("v1", 0, "a");
  EXPECT_EQ(other.error(), Errc::decided);
  EXPECT_TRUE(all_of<Decide>(other.last()).empty());
  EXPECT_TRUE(other.timeout(TimeoutKind::precommit, 0).empty());
  EXPECT_EQ(other.core().round(), 0);
}

TEST(L49_Decide, ComesBeforeTheRoundSkip) {
  Node node("v1");
  node.start();
  node.proposal("v1", 1, "a");  // proposer(1, 1) is v1: stored for round 1
  // Three precommits of round 1 at once enable both the decision and the skip to round 1.
  Certificate certificate;
  for (const char* v : {"v0", "v2", "v3"}) certificate.votes.push_back(Node::make_vote(VoteType::precommit, v, 1, "a"));
  auto decide = only<Decide>(node.feed(certificate));
  ASSERT_TRUE(decide);
  EXPECT_EQ(decide->round, 1);
  EXPECT_EQ(node.core().round(), 0);
  EXPECT_FALSE(has_timeout(node.last(), TimeoutKind::propose, 1));
}

// ---- L55 round skip ----

TEST(L55_RoundSkip, JoinsARoundWhereMoreThanAThirdOfThePowerIs) {
  Node node("v1");
  node.start();
  node.prevote("v2", 3, "a");
  EXPECT_EQ(node.core().round(), 0);
  node.precommit("v3", 3, std::nullopt);  // distinct senders across types
  EXPECT_EQ(node.core().round(), 3);
  EXPECT_EQ(node.core().step(), Step::propose);
  EXPECT_TRUE(has_timeout(node.last(), TimeoutKind::propose, 3));
}

TEST(L55_RoundSkip, OneSenderWithTwoVotesIsNotEnough) {
  Node node("v1");
  node.start();
  node.prevote("v2", 3, "a");
  node.precommit("v2", 3, "a");
  EXPECT_EQ(node.core().round(), 0);
}

TEST(L55_RoundSkip, NeverBackwards) {
  Node node("v1");
  node.start();
  node.timeout(TimeoutKind::precommit, 0);
  node.timeout(TimeoutKind::precommit, 1);
  node.prevote("v2", 1, "a");
  node.prevote("v3", 1, "a");
  EXPECT_EQ(node.core().round(), 2);
}

// ---- L57, L61, L65 timeouts ----

TEST(L57_ProposeTimeout, PrevotesNilOnlyInStepProposeOfItsRound) {
  Node node("v1");
  node.start();
  EXPECT_TRUE(node.timeout(TimeoutKind::propose, 1).empty());  // another round
  auto votes = votes_of(node.timeout(TimeoutKind::propose, 0));
  ASSERT_EQ(votes.size(), 1u);
  EXPECT_EQ(votes[0], Node::make_vote(VoteType::prevote, "v1", 0, std::nullopt));
  EXPECT_TRUE(node.timeout(TimeoutKind::propose, 0).empty());  // no longer in propose
}

TEST(L61_PrevoteTimeout, PrecommitsNilOnlyInStepPrevote) {
  Node node("v1");
  node.start();
  EXPECT_TRUE(node.timeout(TimeoutKind::prevote, 0).empty());
  node.timeout(TimeoutKind::propose, 0);
  auto votes = votes_of(node.timeout(TimeoutKind::prevote, 0));
  ASSERT_EQ(votes.size(), 1u);
  EXPECT_EQ(votes[0], Node::make_vote(VoteType::precommit, "v1", 0, std::nullopt));
  EXPECT_EQ(node.core().step(), Step::precommit);
}

TEST(L65_PrecommitTimeout, StartsTheNextRoundFromAnyStep) {
  Node node("v1");
  node.start();
  EXPECT_TRUE(node.timeout(TimeoutKind::precommit, 1).empty());
  node.timeout(TimeoutKind::precommit, 0);
  EXPECT_EQ(node.core().round(), 1);
  EXPECT_EQ(node.core().step(), Step::propose);
  EXPECT_TRUE(only<GetValue>(node.last()));  // v1 proposes round 1
}

TEST(Timeouts, GrowWithTheRound) {
  Node node("v1");
  node.start();
  const auto t1 = only<ScheduleTimeout>(node.timeout(TimeoutKind::precommit, 0));
  const auto t2 = only<ScheduleTimeout>(node.timeout(TimeoutKind::precommit, 1));
  ASSERT_TRUE(t1 && t2);
  EXPECT_EQ(t1->kind, TimeoutKind::propose);
  EXPECT_EQ(t1->round, 1);
  EXPECT_EQ(t2->round, 2);
  EXPECT_EQ(t1->duration, Config{}.timeout(TimeoutKind::propose, 1));
  EXPECT_GT(t2->duration, t1->duration);
}

// ---- the node hears itself only through its inputs ----

TEST(OwnMessages, AreCountedOnlyWhenFedBack) {
  Node node("v1");
  node.start();
  prevote_on(node, 0, "a");
  node.prevote("v0", 0, "a");
  node.prevote("v2", 0, "a");
  EXPECT_TRUE(votes_of(node.last()).empty());  // its own prevote has not come back yet
  EXPECT_EQ(votes_of(node.prevote("v1", 0, "a")).size(), 1u);
}

TEST(OwnMessages, TheProposerPrevotesItsProposalWhenItComesBack) {
  Node node("v0");
  node.start();
  const auto proposal = only<BroadcastProposal>(node.feed(ProposeValue{1, std::nullopt, val("b")}));
  ASSERT_TRUE(proposal);
  EXPECT_TRUE(votes_of(node.last()).empty());
  const auto votes = votes_of(node.feed(ReceivedProposal{proposal->proposal, Validity::valid}));
  ASSERT_EQ(votes.size(), 1u);
  EXPECT_EQ(votes[0].value, opt("b"));
}

// ---- asynchronous validity ----

TEST(AsyncValidity, NoPrevoteUntilTheVerdict) {
  Node node("v1");
  node.start();
  EXPECT_TRUE(votes_of(node.proposal("v0", 0, "a", nil_round, Validity::unknown)).empty());
  EXPECT_EQ(node.core().step(), Step::propose);
  const auto votes = votes_of(node.feed(VerifyResult{1, 0, val("a"), true}));
  ASSERT_EQ(votes.size(), 1u);
  EXPECT_EQ(votes[0].value, opt("a"));
}

TEST(AsyncValidity, ANegativeVerdictGivesANilPrevote) {
  Node node("v1");
  node.start();
  node.proposal("v0", 0, "a", nil_round, Validity::unknown);
  const auto votes = votes_of(node.feed(VerifyResult{1, 0, val("a"), false}));
  ASSERT_EQ(votes.size(), 1u);
  EXPECT_EQ(votes[0].value, std::nullopt);
}

TEST(AsyncValidity, TheProposeTimeoutPrevotesNilWhileTheVerdictIsPending) {
  Node node("v1");
  node.start();
  node.proposal("v0", 0, "a", nil_round, Validity::unknown);
  const auto votes = votes_of(node.timeout(TimeoutKind::propose, 0));
  ASSERT_EQ(votes.size(), 1u);
  EXPECT_EQ(votes[0].value, std::nullopt);
  // A late positive verdict still lets the value be decided.
  for (const char* v : {"v0", "v2", "v3"}) node.precommit(v, 0, "a");
  EXPECT_TRUE(all_of<Decide>(node.last()).empty());
  EXPECT_TRUE(only<Decide>(node.feed(VerifyResult{1, 0, val("a"), true})));
}

TEST(AsyncValidity, AVerdictBeforeTheProposalIsKeptForIt) {
  Node node("v1");
  node.start();
  EXPECT_TRUE(node.feed(VerifyResult{1, 0, val("a"), false}).empty());
  const auto votes = votes_of(node.proposal("v0", 0, "a", nil_round, Validity::unknown));
  ASSERT_EQ(votes.size(), 1u);
  EXPECT_EQ(votes[0].value, std::nullopt);
}

TEST(AsyncValidity, NoPrecommitForAValueOfUnknownValidity) {
  Node node("v1");
  node.start();
  node.proposal("v0", 0, "a", nil_round, Validity::unknown);
  node.timeout(TimeoutKind::propose, 0);
  for (const char* v : {"v0", "v2", "v3"}) node.prevote(v, 0, "a");
  EXPECT_TRUE(votes_of(node.last()).empty());
  const auto votes = votes_of(node.feed(VerifyResult{1, 0, val("a"), true}));
  ASSERT_EQ(votes.size(), 1u);
  EXPECT_EQ(votes[0], Node::make_vote(VoteType::precommit, "v1", 0, "a"));
}

// ---- heights ----

TEST(Heights, MessagesForTheNextHeightAreReplayedWhenItStarts) {
  Node node("v1");
  node.start(1);
  node.proposal("v0", 0, "next", nil_round, Validity::valid, 2);
  EXPECT_TRUE(node.result().ok());
  for (const char* v : {"v0", "v2", "v3"}) node.precommit(v, 0, "next", 2);
  EXPECT_TRUE(node.last().empty());
  auto decide = only<Decide>(node.start(2));
  ASSERT_TRUE(decide);
  EXPECT_EQ(decide->height, 2u);
  EXPECT_EQ(decide->value, val("next"));
}

TEST(Heights, NothingHappensAtADecidedHeightUntilTheNextStart) {
  Node node("v1");
  node.start(1);
  node.proposal("v0", 0, "a");
  for (const char* v : {"v0", "v2", "v3"}) node.precommit(v, 0, "a");
  ASSERT_TRUE(node.core().decided());
  node.prevote("v2", 5, "z");
  EXPECT_EQ(node.error(), Errc::decided);
  EXPECT_EQ(node.core().round(), 0);
  node.start(2);
  EXPECT_FALSE(node.core().decided());
  EXPECT_EQ(node.core().height(), 2u);
  EXPECT_EQ(node.core().locked_round(), nil_round);
  EXPECT_EQ(node.core().valid_round(), nil_round);
}

// ---- evidence ----

TEST(Evidence, ADoubleVoteIsReportedOnceAndNotCounted) {
  Node node("v1");
  node.start();
  node.prevote("v2", 0, "a");
  auto evidence = only<Evidence>(node.prevote("v2", 0, "b"));
  ASSERT_TRUE(evidence);
  EXPECT_EQ(evidence->offender(), addr("v2"));
  const auto& conflict = std::get<Evidence::Votes>(evidence->conflict);
  EXPECT_EQ(conflict.first.value, opt("a"));
  EXPECT_EQ(conflict.second.value, opt("b"));
  EXPECT_TRUE(all_of<Evidence>(node.prevote("v2", 0, std::nullopt)).empty());
  // b has v0, v3 and v2's second vote: only two real votes, no polka.
  node.proposal("v0", 0, "b");
  node.prevote("v0", 0, "b");
  node.prevote("v3", 0, "b");
  EXPECT_TRUE(votes_of(node.last()).empty());
}

TEST(Evidence, ADoubleProposalIsReported) {
  Node node("v1");
  node.start();
  node.proposal("v0", 0, "a");
  auto evidence = only<Evidence>(node.proposal("v0", 0, "b"));
  ASSERT_TRUE(evidence);
  EXPECT_EQ(evidence->offender(), addr("v0"));
  // Both proposals are kept: a quorum for the second one still decides.
  for (const char* v : {"v0", "v2", "v3"}) node.precommit(v, 0, "b");
  auto decide = only<Decide>(node.last());
  ASSERT_TRUE(decide);
  EXPECT_EQ(decide->value, val("b"));
}

TEST(Certificates, CountForTheirValueEvenAfterAnotherVoteOfTheSameSender) {
  Node node("v1");
  node.start();
  node.proposal("v0", 0, "a");
  node.precommit("v0", 0, std::nullopt);
  Certificate certificate;
  for (const char* v : {"v0", "v2", "v3"}) certificate.votes.push_back(Node::make_vote(VoteType::precommit, v, 0, "a"));
  const auto& out = node.feed(certificate);
  EXPECT_TRUE(only<Decide>(out));
  EXPECT_EQ(all_of<Evidence>(out).size(), 1u);  // v0 signed nil and a
}

// ---- laggard help ----

TEST(LaggardHelp, APeerInALowerRoundGetsThisNodesVotesOnce) {
  Node node("v1");
  node.start();
  node.timeout(TimeoutKind::precommit, 0);  // round 1
  node.proposal("v1", 1, "a");              // prevotes a in round 1
  node.prevote("v1", 1, "a");               // which comes back as an input
  auto help = only<Retransmit>(node.prevote("v3", 0, std::nullopt));
  ASSERT_TRUE(help);
  EXPECT_EQ(help->to, addr("v3"));
  ASSERT_EQ(help->votes.size(), 1u);
  EXPECT_EQ(help->votes[0], Node::make_vote(VoteType::prevote, "v1", 1, "a"));
  EXPECT_FALSE(only<Retransmit>(node.precommit("v3", 0, std::nullopt)));
}

// An own vote that never came back as an input may never have been signed or sent (the
// double-sign guard refused it, or the node crashed first): help must not carry it.
// (bft-sim --validators 4 --heights 50 --seed 83 --crash-restart: a restarted node's
// refused precommit reached its peers as help, and came back as false evidence.)
TEST(LaggardHelp, AnOwnVoteThatDidNotComeBackIsNeverHelp) {
  Node node("v1");
  node.start();
  node.timeout(TimeoutKind::precommit, 0);  // round 1
  node.proposal("v1", 1, "a");              // emits a prevote for a, never fed back
  EXPECT_FALSE(only<Retransmit>(node.prevote("v3", 0, std::nullopt)));
  node.prevote("v1", 1, "a");  // now it is
  auto help = only<Retransmit>(node.prevote("v2", 0, std::nullopt));
  ASSERT_TRUE(help);
  EXPECT_EQ(help->votes, std::vector<Vote>{Node::make_vote(VoteType::prevote, "v1", 1, "a")});
}

TEST(LaggardHelp, OffMeansNoRetransmitAtAll) {
  Config quiet;
  quiet.laggard_help = false;
  Node node("v1", {1, 1, 1, 1}, quiet);
  node.start(1);
  node.proposal("v0", 0, "a");
  node.prevote("v1", 0, "a");
  for (const char* v : {"v0", "v2", "v3"}) node.precommit(v, 0, "a");
  EXPECT_FALSE(only<Retransmit>(node.prevote("v3", 0, std::nullopt)));  // a decided height
  node.start(2);
  node.timeout(TimeoutKind::propose, 0, 2);
  node.prevote("v1", 0, std::nullopt, 2);
  EXPECT_FALSE(only<Retransmit>(node.precommit("v2", 0, "a", 1)));      // the last decision
  EXPECT_TRUE(all_of<Retransmit>(node.last()).empty());
}

/// v1 decides "a" at height 1 round 0 and starts height 2.
Node decided_node() {
  Node node("v1");
  node.start(1);
  node.proposal("v0", 0, "a");
  for (const char* v : {"v0", "v2", "v3"}) node.precommit(v, 0, "a");
  node.start(2);
  return node;
}

TEST(LaggardHelp, APeerThatWentToAnotherRoundOfADecidedHeightGetsTheCommitOnce) {
  Node node = decided_node();
  auto help = only<Retransmit>(node.prevote("v2", 1, std::nullopt, 1));
  EXPECT_EQ(node.error(), Errc::stale_height);
  ASSERT_TRUE(help);
  EXPECT_EQ(help->to, addr("v2"));
  ASSERT_TRUE(help->proposal);
  EXPECT_EQ(help->proposal->value, val("a"));
  EXPECT_EQ(help->votes.size(), 3u);
  EXPECT_FALSE(only<Retransmit>(node.precommit("v2", 1, std::nullopt, 1)));
}

TEST(LaggardHelp, APeerThatVotedNilInTheDecisionRoundGetsTheCommit) {
  Node node = decided_node();
  EXPECT_TRUE(only<Retransmit>(node.precommit("v3", 0, std::nullopt, 1)));
}

TEST(LaggardHelp, APeerThatPrecommittedTheDecidedValueMayStillNeedTheCommit) {
  // It may have lost the other precommits, and no timeout moves a node waiting for them.
  Node node = decided_node();
  EXPECT_TRUE(only<Retransmit>(node.precommit("v2", 0, "a", 1)));
}

TEST(LaggardHelp, TheCommitIsTheDecidedOneAfterTheValidatorsChange) {
  Node node("v1");
  node.start(1);
  node.proposal("v0", 0, "a");
  node.precommit("v0", 0, "a");
  node.precommit("v3", 0, "a");
  const auto decide = only<Decide>(node.precommit("v2", 0, "a"));
  ASSERT_TRUE(decide);
  // Height 2 has other validators in another order; the commit still names height 1's.
  std::vector<Validator> next{{addr("v2"), 1, 1}, {addr("v1"), 1, 1}, {addr("w"), 1, 1}};
  node.feed(StartHeight{2, ValidatorSet::create(std::move(next)).value()});
  const auto help = only<Retransmit>(node.precommit("v2", 0, std::nullopt, 1));
  ASSERT_TRUE(help);
  EXPECT_EQ(help->votes, decide->commit);
  EXPECT_EQ(decide->commit.size(), 3u);
}

// Height 2 is run with its own set, given at its start: v0 left, w and x joined.
TEST(ValidatorChange, EachHeightCountsTheVotesOfItsOwnSetAndALeaverSignsNothing) {
  Node node("v0");
  node.start(1);
  node.proposal("v1", 0, "a");
  for (const char* v : {"v1", "v2", "v3"}) node.precommit(v, 0, "a");
  std::vector<Validator> next{{addr("v1"), 1, 1}, {addr("v2"), 1, 1}, {addr("w"), 1, 1}, {addr("x"), 1, 1}};
  node.feed(StartHeight{2, ValidatorSet::create(std::move(next)).value()});
  // v0 follows: it neither proposes nor votes, not even when a step times out.
  EXPECT_TRUE(all_of<BroadcastProposal>(node.last()).empty());
  EXPECT_TRUE(all_of<GetValue>(node.last()).empty());
  EXPECT_TRUE(votes_of(node.timeout(TimeoutKind::propose, 0, 2)).empty());
  // v3 left with it: its vote does not count. The newcomers' do.
  node.prevote("v3", 0, "b", 2);
  EXPECT_EQ(node.error(), Errc::unknown_validator);
  node.proposal("v1", 0, "b", nil_round, Validity::valid, 2);  // round 0: the new set's first
  for (const char* v : {"v1", "w", "x"}) node.prevote(v, 0, "b", 2);
  for (const char* v : {"v1", "w"}) EXPECT_TRUE(all_of<Decide>(node.precommit(v, 0, "b", 2)).empty());
  const auto decide = only<Decide>(node.precommit("x", 0, "b", 2));
  ASSERT_TRUE(decide);
  EXPECT_EQ(decide->height, 2u);
  EXPECT_TRUE(votes_of(node.last()).empty());
}

TEST(LaggardHelp, ACertificateNamesNoSenderSoGetsNoHelp) {
  Node node("v1");
  node.start(1);
  node.proposal("v0", 0, "a");
  for (const char* v : {"v0", "v2", "v3"}) node.precommit(v, 0, "a");
  Certificate late;
  for (const char* v : {"v2", "v0", "v3"}) late.votes.push_back(Node::make_vote(VoteType::precommit, v, 0, "a"));
  EXPECT_TRUE(node.feed(late).empty());
  EXPECT_EQ(node.error(), Errc::decided);
}

// ---- observers ----

TEST(Observer, FollowsAndDecidesWithoutEverVoting) {
  Node node("watcher");
  node.start();
  node.proposal("v0", 0, "a");
  for (const char* v : {"v0", "v1", "v2"}) node.prevote(v, 0, "a");
  EXPECT_TRUE(votes_of(node.last()).empty());
  for (const char* v : {"v0", "v1", "v2"}) node.precommit(v, 0, "a");
  EXPECT_TRUE(only<Decide>(node.last()));
  node.start(2);
  EXPECT_TRUE(node.timeout(TimeoutKind::propose, 0, 2).empty());
}

}  // namespace
}  // namespace bft::test
