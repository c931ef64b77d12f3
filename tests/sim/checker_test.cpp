// Each checker must be able to fail: fed a violation directly, it reports it, and it
// holds Byzantine nodes to nothing.
#include <gtest/gtest.h>

#include "bft/sim/application.hpp"
#include "bft/sim/checker.hpp"

namespace bft::sim {
namespace {

Value v(const char* text) { return Value::from_text(text); }
Address addr(int i) { return Address::from_text("v" + std::to_string(i)); }

Proposal proposal(Height h, Round r, const char* value, int proposer) {
  return Proposal{h, r, v(value), nil_round, addr(proposer), {}};
}

// Nodes 0..2 correct, node 3 Byzantine.
SafetyChecker make_checker() { return SafetyChecker({true, true, true, false}); }

TEST(SafetyChecker, AgreementHoldsForEqualDecisionsAndFailsForDifferentOnes) {
  SafetyChecker checker = make_checker();
  checker.on_proposal_sent(proposal(1, 0, "ok:a", 0));
  checker.on_proposal_sent(proposal(1, 0, "ok:b", 3));
  checker.on_decide(0, 1, 0, v("ok:a"), 10);
  checker.on_decide(1, 1, 0, v("ok:a"), 11);
  EXPECT_TRUE(checker.safe());
  checker.on_decide(2, 1, 0, v("ok:b"), 12);
  EXPECT_FALSE(checker.safe());
  ASSERT_EQ(checker.count(ViolationKind::agreement), 1u);
  EXPECT_EQ(checker.violations().front().at, 12u);
  EXPECT_NE(checker.violations().front().detail.find("v2 decided ok:b"), std::string::npos);
}

TEST(SafetyChecker, ByzantineDecisionsAreNotHeldToAgreement) {
  SafetyChecker checker = make_checker();
  checker.on_proposal_sent(proposal(1, 0, "ok:a", 0));
  checker.on_decide(0, 1, 0, v("ok:a"), 10);
  checker.on_decide(3, 1, 0, v("ok:zzz"), 11);
  EXPECT_TRUE(checker.safe());
}

TEST(SafetyChecker, ValidityNeedsAProposedAndValidValue) {
  SafetyChecker checker = make_checker();
  checker.on_decide(0, 1, 0, v("ok:never-proposed"), 1);
  EXPECT_EQ(checker.count(ViolationKind::validity), 1u);
  checker.on_proposal_sent(proposal(2, 0, "bad:x", 3));
  checker.on_decide(0, 2, 0, v("bad:x"), 2);
  EXPECT_EQ(checker.count(ViolationKind::validity), 2u);
  checker.on_proposal_sent(proposal(3, 1, "ok:fine", 1));
  checker.on_decide(0, 3, 1, v("ok:fine"), 3);
  EXPECT_EQ(checker.count(ViolationKind::validity), 2u);
  EXPECT_EQ(checker.decision_rounds().at(3), 1);
}

TEST(SafetyChecker, DoubleSignByACorrectNodeIsCaught) {
  SafetyChecker checker = make_checker();
  const Vote prevote{VoteType::prevote, 5, 2, v("ok:a"), addr(1)};
  checker.on_signed_vote(1, prevote, 1);
  checker.on_signed_vote(1, prevote, 2);  // the same vote again is fine
  Vote precommit = prevote;
  precommit.type = VoteType::precommit;
  checker.on_signed_vote(1, precommit, 3);  // another slot
  EXPECT_TRUE(checker.safe());
  Vote nil = prevote;
  nil.value.reset();
  checker.on_signed_vote(1, nil, 4);
  EXPECT_EQ(checker.count(ViolationKind::double_sign), 1u);
  checker.on_signed_vote(3, prevote, 5);  // Byzantine: not held to it
  checker.on_signed_vote(3, nil, 6);
  EXPECT_EQ(checker.count(ViolationKind::double_sign), 1u);
}

TEST(SafetyChecker, TwoProposalsFromACorrectNodeAreADoubleSign) {
  SafetyChecker checker = make_checker();
  checker.on_signed_proposal(0, proposal(1, 0, "ok:a", 0), 1);
  checker.on_signed_proposal(0, proposal(1, 1, "ok:b", 0), 2);
  EXPECT_TRUE(checker.safe());
  checker.on_signed_proposal(0, proposal(1, 0, "ok:c", 0), 3);
  EXPECT_EQ(checker.count(ViolationKind::double_sign), 1u);
}

TEST(SafetyChecker, EvidenceIsCountedPerOffenderAndAgainstACorrectNodeIsAViolation) {
  SafetyChecker checker = make_checker();
  checker.on_evidence(0, 3, 1);
  checker.on_evidence(1, 3, 2);
  checker.on_evidence(3, 3, 2);  // reported by a Byzantine node: not counted
  EXPECT_EQ(checker.evidence_against()[3], 2u);
  EXPECT_TRUE(checker.safe());
  checker.on_evidence(0, 2, 3);
  EXPECT_EQ(checker.count(ViolationKind::false_evidence), 1u);
}

TEST(SafetyChecker, ForgettingOldHeightsKeepsNewerVerdicts) {
  SafetyChecker checker = make_checker();
  checker.on_proposal_sent(proposal(1, 0, "ok:a", 0));
  checker.on_proposal_sent(proposal(2, 0, "ok:b", 1));
  checker.on_decide(0, 1, 0, v("ok:a"), 1);
  checker.on_decide(0, 2, 0, v("ok:b"), 2);
  checker.forget_below(2);
  checker.on_decide(1, 2, 0, v("ok:c"), 3);
  EXPECT_EQ(checker.count(ViolationKind::agreement), 1u);
}

TEST(Application, ValidValuesCarryTheirPrefix) {
  EXPECT_TRUE(is_valid_value(proposed_value(3, 2)));
  EXPECT_EQ(proposed_value(3, 2), v("ok:3.2"));
  EXPECT_EQ(validity_of(v("bad:1")), Validity::invalid);
}

}  // namespace
}  // namespace bft::sim
