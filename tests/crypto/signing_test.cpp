// Signed votes and proposals: round trips, tampering, wrong keys, replay.
#include "bft/crypto/signing.hpp"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <tuple>

#include "bft/codec/codec.hpp"
#include "fixtures.hpp"

namespace bft::crypto {
namespace {

using codec::Signature;
using codec::SignedProposal;
using codec::SignedVote;
using testing::chain;
using testing::error_of;

class Signing : public ::testing::Test {
 protected:
  testing::Network net{{1, 1, 1, 1}};
  Value value = Value::from_text("block-7");
};

TEST_F(Signing, VoteRoundTripsThroughTheWire) {
  for (auto v : {std::optional<Value>(value), std::optional<Value>()}) {
    const SignedVote vote = net.vote(0, VoteType::precommit, 7, 2, v);
    auto decoded = codec::decode_vote(codec::encode(vote));
    ASSERT_TRUE(decoded.ok());
    EXPECT_TRUE(verify_vote(*decoded, chain(), net.keys).ok());
  }
}

TEST_F(Signing, AnyAlteredByteOfAnEncodedVoteFailsDecodingOrVerification) {
  const Bytes bytes = codec::encode(net.vote(1, VoteType::prevote, 3, 0, value));
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    for (std::uint8_t flip : {std::uint8_t{0x01}, std::uint8_t{0x80}}) {
      Bytes altered = bytes;
      altered[i] ^= flip;
      auto decoded = codec::decode_vote(altered);
      EXPECT_FALSE(decoded.ok() && verify_vote(*decoded, chain(), net.keys).ok())
          << "byte " << i << " flip " << int{flip};
    }
  }
}

TEST_F(Signing, VoteSignedWithAnotherKeyIsRejected) {
  // Validator 1 signs a vote that claims to be validator 0's.
  const SignedVote forged =
      sign_vote(net.signers[1], chain(), Vote{VoteType::prevote, 1, 0, value, net.address(0)});
  auto verdict = verify_vote(forged, chain(), net.keys);
  EXPECT_EQ(error_of(verdict), Errc::bad_signature);
  EXPECT_NE(verdict.error().message.find(net.address(0).to_string()), std::string::npos);
}

TEST_F(Signing, VoteOfAnUnknownVoterIsRejected) {
  const Ed25519Signer stranger = testing::signer(99);
  const SignedVote vote = sign_vote(
      stranger, chain(), Vote{VoteType::prevote, 1, 0, value, address_of(stranger.public_key())});
  EXPECT_EQ(error_of(verify_vote(vote, chain(), net.keys)), Errc::unknown_validator);
}

TEST_F(Signing, SignatureDoesNotReplayOnAnotherChain) {
  const SignedVote vote = net.vote(0, VoteType::precommit, 1, 0, value, chain("chain-a"));
  EXPECT_TRUE(verify_vote(vote, chain("chain-a"), net.keys).ok());
  EXPECT_EQ(error_of(verify_vote(vote, chain("chain-b"), net.keys)), Errc::bad_signature);
}

TEST_F(Signing, SignatureDoesNotReplayForAnotherHeightRoundTypeOrValue) {
  const SignedVote vote = net.vote(2, VoteType::prevote, 10, 1, value);
  std::vector<SignedVote> replays(5, vote);
  replays[0].vote.height = 11;
  replays[1].vote.round = 2;
  replays[2].vote.type = VoteType::precommit;
  replays[3].vote.value = Value::from_text("other");
  replays[4].vote.value = std::nullopt;
  for (const SignedVote& replay : replays) {
    EXPECT_EQ(error_of(verify_vote(replay, chain(), net.keys)), Errc::bad_signature)
        << to_string(replay.vote);
  }
}

TEST_F(Signing, ProposalWithProofOfLockRoundTripsAndVerifies) {
  VoteBook book;
  Proposal proposal{5, 3, value, 1, net.address(0), {}};
  for (std::size_t i : {1, 2, 3}) {
    const SignedVote lock = net.vote(i, VoteType::prevote, 5, 1, value);
    book.add(lock);
    proposal.lock_votes.push_back(lock.vote);
  }
  auto signed_proposal = sign_proposal(net.signers[0], chain(), proposal, book);
  ASSERT_TRUE(signed_proposal.ok()) << signed_proposal.error().message;
  auto decoded = codec::decode_proposal(codec::encode(*signed_proposal));
  ASSERT_TRUE(decoded.ok());
  EXPECT_TRUE(verify_proposal(*decoded, chain(), net.keys).ok());
  const Proposal back = decoded->proposal();
  EXPECT_EQ(back.lock_votes.size(), 3u);
  EXPECT_TRUE(std::is_permutation(back.lock_votes.begin(), back.lock_votes.end(),
                                  proposal.lock_votes.begin()));
  EXPECT_EQ(error_of(verify_proposal(*decoded, chain("elsewhere"), net.keys)),
            Errc::bad_signature);
}

TEST_F(Signing, ProposalTamperingIsDetected) {
  VoteBook book;
  const SignedVote lock = net.vote(1, VoteType::prevote, 5, 0, value);
  book.add(lock);
  auto signed_proposal =
      sign_proposal(net.signers[0], chain(), Proposal{5, 1, value, 0, net.address(0), {lock.vote}}, book);
  ASSERT_TRUE(signed_proposal.ok());

  SignedProposal other_value = *signed_proposal;
  other_value.value = Value::from_text("block-8");
  EXPECT_EQ(error_of(verify_proposal(other_value, chain(), net.keys)), Errc::bad_signature);

  SignedProposal other_round = *signed_proposal;
  other_round.round = 2;
  EXPECT_EQ(error_of(verify_proposal(other_round, chain(), net.keys)), Errc::bad_signature);

  // A lock signature moved to another voter.
  SignedProposal moved = *signed_proposal;
  moved.lock_votes = std::move(codec::SignatureSet::create(
                                   {{net.address(2), signed_proposal->lock_votes.items()[0].signature}}))
                         .value();
  EXPECT_EQ(error_of(verify_proposal(moved, chain(), net.keys)), Errc::bad_signature);

  SignedProposal unknown = *signed_proposal;
  unknown.proposer = Address::from_text("nobody");
  EXPECT_EQ(error_of(verify_proposal(unknown, chain(), net.keys)), Errc::unknown_validator);
}

TEST_F(Signing, ProposalWithMismatchedOrUnsignedLockVotesIsNotSigned) {
  VoteBook book;
  const SignedVote lock = net.vote(1, VoteType::prevote, 5, 0, value);
  book.add(lock);
  const Proposal good{5, 1, value, 0, net.address(0), {lock.vote}};
  ASSERT_TRUE(sign_proposal(net.signers[0], chain(), good, book).ok());

  Proposal other_round = good;
  other_round.lock_votes[0].round = 1;
  Proposal precommit = good;
  precommit.lock_votes[0].type = VoteType::precommit;
  Proposal other_value = good;
  other_value.lock_votes[0].value = Value::from_text("x");
  Proposal unsigned_vote = good;
  unsigned_vote.lock_votes.push_back(Vote{VoteType::prevote, 5, 0, value, net.address(2)});
  Proposal repeated = good;
  repeated.lock_votes.push_back(lock.vote);
  for (const Proposal& bad : {other_round, precommit, other_value, unsigned_vote, repeated}) {
    EXPECT_EQ(error_of(sign_proposal(net.signers[0], chain(), bad, book)), Errc::invalid_lock_votes)
        << to_string(bad);
  }
}

TEST(VoteBook, FindsExactlyTheVotesItWasGivenUntilForgotten) {
  testing::Network net({1, 1});
  VoteBook book;
  const SignedVote a = net.vote(0, VoteType::prevote, 4, 0, Value::from_text("a"));
  const SignedVote b = net.vote(0, VoteType::prevote, 4, 0, Value::from_text("b"));  // equivocation
  const SignedVote later = net.vote(1, VoteType::precommit, 5, 0, std::nullopt);
  book.add(a);
  book.add(b);
  book.add(later);
  book.add(a);
  EXPECT_EQ(book.size(), 3u);
  ASSERT_NE(book.find(a.vote), nullptr);
  EXPECT_EQ(*book.find(a.vote), a.signature);
  EXPECT_EQ(*book.find(b.vote), b.signature);
  EXPECT_EQ(*book.find(later.vote), later.signature);
  Vote other = a.vote;
  other.round = 1;
  EXPECT_EQ(book.find(other), nullptr);
  other = a.vote;
  other.value = std::nullopt;
  EXPECT_EQ(book.find(other), nullptr);

  book.forget_below(5);
  EXPECT_EQ(book.size(), 1u);
  EXPECT_EQ(book.find(a.vote), nullptr);
  EXPECT_NE(book.find(later.vote), nullptr);
}

// Many voters (some sharing their first bytes, some with short addresses), rounds,
// heights and equivocations: the book answers as a map of every vote it was given would,
// through additions and forgetting.
TEST(VoteBook, AgreesWithAMapOfItsVotesThroughAdditionsAndForgetting) {
  std::vector<Address> voters;
  for (std::uint8_t i = 0; i < 24; ++i) {
    Bytes bytes(i % 3 == 0 ? 32 : i % 3 == 1 ? 20 : 2, 0xab);
    bytes.back() = i;  // equal first bytes: only the tail tells them apart
    voters.emplace_back(bytes);
  }
  std::map<std::tuple<Height, Round, VoteType, Address, std::optional<Value>>, Signature> model;
  VoteBook book;
  std::mt19937_64 random(7);
  auto draw_vote = [&](Height lowest) {
    Vote vote{random() % 2 ? VoteType::prevote : VoteType::precommit, lowest + static_cast<Height>(random() % 4),
              static_cast<Round>(random() % 3), std::nullopt, voters[random() % voters.size()]};
    if (random() % 4 != 0) vote.value = Value::from_text(random() % 5 == 0 ? "other" : "block");
    return vote;
  };
  auto key_of = [](const Vote& v) { return std::make_tuple(v.height, v.round, v.type, v.voter, v.value); };
  Height lowest = 0;
  for (int step = 0; step < 20'000; ++step) {
    const Vote vote = draw_vote(lowest);
    if (random() % 2 == 0) {
      Signature signature{};
      for (auto& byte : signature) byte = static_cast<std::uint8_t>(random());
      book.add(SignedVote{vote, signature});
      model.emplace(key_of(vote), signature);  // the first signature of a vote stays
    }
    const auto expected = model.find(key_of(vote));
    const Signature* found = book.find(vote);
    ASSERT_EQ(found != nullptr, expected != model.end()) << to_string(vote);
    if (found) {
      ASSERT_EQ(*found, expected->second);
    }
    if (step % 1'000 == 999) {
      ++lowest;
      book.forget_below(lowest);
      std::erase_if(model, [&](const auto& entry) { return std::get<0>(entry.first) < lowest; });
    }
    ASSERT_EQ(book.size(), model.size());
  }
}

}  // namespace
}  // namespace bft::crypto
