// What a signature covers: every field that gives a vote or proposal its meaning.
#include "bft/codec/sign_bytes.hpp"

#include <gtest/gtest.h>

#include <set>

#include "bft/codec/hash.hpp"

namespace bft::codec {
namespace {

ChainId chain(std::string_view name) { return std::move(ChainId::create(name)).value(); }

std::string hex(std::span<const std::uint8_t> bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (auto b : bytes) {
    out += digits[b >> 4];
    out += digits[b & 0xf];
  }
  return out;
}

const Vote base{VoteType::prevote, 5, 1, Value::from_text("v"), Address::from_text("alice")};

TEST(Sha256, MatchesTheStandardTestVector) {
  const std::string abc = "abc";
  EXPECT_EQ(hex(sha256(std::span(reinterpret_cast<const std::uint8_t*>(abc.data()), abc.size()))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(ChainId, AcceptsPrintableNamesOnly) {
  EXPECT_TRUE(ChainId::create("bft-mainnet-1").ok());
  EXPECT_FALSE(ChainId::create("").ok());
  EXPECT_FALSE(ChainId::create(std::string(ChainId::max_size + 1, 'x')).ok());
  EXPECT_TRUE(ChainId::create(std::string(ChainId::max_size, 'x')).ok());
  EXPECT_FALSE(ChainId::create("with space").ok());
  EXPECT_FALSE(ChainId::create("tab\t").ok());
  EXPECT_EQ(ChainId::create("").error().code, Errc::invalid_argument);
}

TEST(SignBytes, VoteLayoutIsFixed) {
  const Bytes bytes = vote_sign_bytes(chain("c1"), base);
  EXPECT_EQ(hex(bytes),
            "0a6266742d766f74652f31"   // "bft-vote/1"
            "026331"                   // "c1"
            "01"                       // prevote
            "0500000000000000"         // height 5
            "0100000000000000"         // round 1
            "01" + hex(sha256(base.value->bytes())) +
            "05000000616c696365");     // "alice"
}

TEST(SignBytes, EveryVoteFieldChangesTheBytes) {
  std::vector<Vote> votes(7, base);
  votes[1].type = VoteType::precommit;
  votes[2].height = 6;
  votes[3].round = 2;
  votes[4].value = Value::from_text("w");
  votes[5].value = std::nullopt;
  votes[6].voter = Address::from_text("bob");
  std::set<Bytes> distinct;
  for (const Vote& vote : votes) distinct.insert(vote_sign_bytes(chain("c1"), vote));
  distinct.insert(vote_sign_bytes(chain("c2"), base));
  EXPECT_EQ(distinct.size(), votes.size() + 1);
}

// Values longer than the inline 32 bytes, as blocks are, each in its own buffer.
Value long_value(std::uint8_t fill, std::size_t size = 1000) { return Value(Bytes(size, fill)); }

TEST(ValueDigests, GivesEachValuesOwnHashAcrossMoreValuesThanItRemembers) {
  ValueDigests digests;
  for (int pass = 0; pass < 3; ++pass)
    for (std::uint8_t fill = 0; fill < 9; ++fill) {
      const Value value = long_value(fill, 1000 + fill);
      EXPECT_EQ(digests.of(value), sha256(value.bytes())) << "pass " << pass << ", value " << int(fill);
    }
}

TEST(ValueDigests, ValuesThatDifferOnlyInTheLastByteGetTheirOwnHashes) {
  ValueDigests digests;
  Bytes bytes(5000, 7);
  const Value first(bytes);
  bytes.back() = 8;
  const Value second(bytes);
  EXPECT_EQ(digests.of(first), sha256(first.bytes()));
  EXPECT_EQ(digests.of(second), sha256(second.bytes()));
  EXPECT_NE(digests.of(first), digests.of(second));
}

TEST(ValueDigests, SignBytesAreTheSameWithAndWithoutThem) {
  ValueDigests digests;
  Vote vote = base;
  vote.value = long_value(3);
  EXPECT_EQ(vote_sign_bytes(chain("c1"), vote, &digests), vote_sign_bytes(chain("c1"), vote));
  vote.value = std::nullopt;
  EXPECT_EQ(vote_sign_bytes(chain("c1"), vote, &digests), vote_sign_bytes(chain("c1"), vote));
  const Proposal proposal{5, 1, long_value(4), 0, Address::from_text("alice"), {}};
  EXPECT_EQ(proposal_sign_bytes(chain("c1"), proposal, &digests), proposal_sign_bytes(chain("c1"), proposal));
}

TEST(ValueDigests, AnInternedValueSharesTheBufferOfAnEqualOneItHashed) {
  ValueDigests digests;
  const Value hashed = long_value(5, 4000);
  digests.of(hashed);
  const Bytes same(hashed.bytes().begin(), hashed.bytes().end());
  const Value interned = digests.intern(same);
  EXPECT_EQ(interned, hashed);
  EXPECT_EQ(interned.data(), hashed.data());
  // Bytes it never hashed (here: differing in the last byte) get their own buffer.
  Bytes other = same;
  other.back() ^= 1;
  const Value fresh = digests.intern(other);
  EXPECT_EQ(fresh.bytes().size(), other.size());
  EXPECT_TRUE(std::equal(other.begin(), other.end(), fresh.bytes().begin()));
  EXPECT_NE(fresh.data(), hashed.data());
}

TEST(SignBytes, EveryProposalFieldChangesTheBytes) {
  const Proposal proposal{5, 2, Value::from_text("v"), 1, Address::from_text("p"), {}};
  std::vector<Proposal> proposals(6, proposal);
  proposals[1].height = 6;
  proposals[2].round = 3;
  proposals[3].valid_round = nil_round;
  proposals[4].value = Value::from_text("w");
  proposals[5].proposer = Address::from_text("q");
  std::set<Bytes> distinct;
  for (const Proposal& p : proposals) distinct.insert(proposal_sign_bytes(chain("c1"), p));
  distinct.insert(proposal_sign_bytes(chain("c2"), proposal));
  EXPECT_EQ(distinct.size(), proposals.size() + 1);
}

TEST(SignBytes, VotesAndProposalsNeverShareBytes) {
  // Domain separation: the tags differ within their first bytes, before any field.
  const Bytes vote = vote_sign_bytes(chain("c"), base);
  const Bytes proposal =
      proposal_sign_bytes(chain("c"), Proposal{5, 1, Value::from_text("v"), 0, base.voter, {}});
  EXPECT_NE(Bytes(vote.begin(), vote.begin() + 5), Bytes(proposal.begin(), proposal.begin() + 5));
}

TEST(SignBytes, ProposalLockVotesAreNotCovered) {
  Proposal proposal{5, 2, Value::from_text("v"), 1, Address::from_text("p"), {}};
  const Bytes without = proposal_sign_bytes(chain("c"), proposal);
  proposal.lock_votes.push_back(Vote{VoteType::prevote, 5, 1, proposal.value, Address::from_text("x")});
  EXPECT_EQ(proposal_sign_bytes(chain("c"), proposal), without);
  const SignedProposal signed_proposal{5, 2, proposal.value, 1, proposal.proposer, {}, {}};
  EXPECT_EQ(proposal_sign_bytes(chain("c"), signed_proposal), without);
}

}  // namespace
}  // namespace bft::codec
