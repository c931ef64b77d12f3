// Quorum certificates: built from votes or from what the core reports, verified against
// a validator set whose powers alone count.
#include "bft/crypto/certificate.hpp"

#include <gtest/gtest.h>

#include "bft/codec/codec.hpp"
#include "fixtures.hpp"

namespace bft::crypto {
namespace {

using codec::QuorumCertificate;
using codec::SignedVote;
using testing::chain;
using testing::error_of;

class Certificates : public ::testing::Test {
 protected:
  std::vector<SignedVote> precommits(std::initializer_list<std::size_t> voters, Round round = 2) {
    std::vector<SignedVote> out;
    for (std::size_t i : voters) out.push_back(net.vote(i, VoteType::precommit, 8, round, value));
    return out;
  }

  QuorumCertificate certificate(std::initializer_list<std::size_t> voters) {
    return std::move(make_certificate(precommits(voters))).value();
  }

  Result<void> verify(const QuorumCertificate& c, BatchVerifier* batch = nullptr) {
    return verify_certificate(c, chain(), net.validators, net.keys, batch);
  }

  testing::Network net{{1, 1, 1, 1}};
  Value value = Value::from_text("block-8");
};

TEST_F(Certificates, QuorumOfPrecommitsVerifies) {
  const QuorumCertificate c = certificate({0, 1, 2});
  EXPECT_EQ(c.type, VoteType::precommit);
  EXPECT_EQ(c.height, 8u);
  EXPECT_EQ(c.round, 2);
  EXPECT_EQ(c.value, value);
  EXPECT_TRUE(verify(c).ok());
  EXPECT_TRUE(verify(certificate({3, 2, 1, 0})).ok());
}

TEST_F(Certificates, PolkaOfPrevotesVerifies) {
  std::vector<SignedVote> prevotes;
  for (std::size_t i : {0, 1, 3}) prevotes.push_back(net.vote(i, VoteType::prevote, 8, 1, value));
  auto polka = make_certificate(prevotes);
  ASSERT_TRUE(polka.ok());
  EXPECT_EQ(polka->type, VoteType::prevote);
  EXPECT_TRUE(verify(*polka).ok());
}

TEST_F(Certificates, RoundTripsThroughTheWireAndStillVerifies) {
  auto decoded = codec::decode_certificate(codec::encode(certificate({2, 0, 1})));
  ASSERT_TRUE(decoded.ok());
  EXPECT_TRUE(verify(*decoded).ok());
}

TEST_F(Certificates, DuplicateVotersAreRejected) {
  auto votes = precommits({0, 1, 1});
  auto built = make_certificate(votes);
  EXPECT_EQ(error_of(built), Errc::invalid_certificate);
  EXPECT_NE(built.error().message.find("two signatures"), std::string::npos);
}

TEST_F(Certificates, MixedRoundsHeightsTypesOrValuesAreRejected) {
  std::vector<std::vector<SignedVote>> mixes(4, precommits({0, 1, 2}));
  mixes[0][2] = net.vote(2, VoteType::precommit, 8, 3, value);
  mixes[1][2] = net.vote(2, VoteType::precommit, 9, 2, value);
  mixes[2][2] = net.vote(2, VoteType::prevote, 8, 2, value);
  mixes[3][2] = net.vote(2, VoteType::precommit, 8, 2, std::nullopt);
  for (const auto& votes : mixes) {
    auto built = make_certificate(votes);
    EXPECT_EQ(error_of(built), Errc::invalid_certificate);
    EXPECT_NE(built.error().message.find("mixed"), std::string::npos);
  }
  EXPECT_EQ(error_of(make_certificate(std::span<const SignedVote>())), Errc::invalid_certificate);
}

TEST_F(Certificates, BelowTheQuorumIsRejected) {
  auto verdict = verify(certificate({0, 1}));  // 2 of 4: not more than two thirds
  EXPECT_EQ(error_of(verdict), Errc::invalid_certificate);
  EXPECT_NE(verdict.error().message.find("power 2 of 4"), std::string::npos);
  QuorumCertificate empty = certificate({0});
  empty.signatures = codec::SignatureSet();
  EXPECT_EQ(error_of(verify(empty)), Errc::invalid_certificate);
}

TEST_F(Certificates, PowerComesFromTheValidatorSetNotFromTheVoterCount) {
  // Three of four voters, but only 3 of 10 power; then one voter with 7 of 10.
  testing::Network weighted({7, 1, 1, 1});
  std::vector<SignedVote> many, heavy;
  for (std::size_t i : {1, 2, 3}) many.push_back(weighted.vote(i, VoteType::precommit, 1, 0, value));
  heavy.push_back(weighted.vote(0, VoteType::precommit, 1, 0, value));
  EXPECT_EQ(error_of(verify_certificate(*make_certificate(many), chain(), weighted.validators,
                                        weighted.keys)),
            Errc::invalid_certificate);
  EXPECT_TRUE(verify_certificate(*make_certificate(heavy), chain(), weighted.validators,
                                 weighted.keys)
                  .ok());
}

TEST_F(Certificates, VotersOutsideTheValidatorSetOrWithoutKeysAreRejected) {
  testing::Network outsider({1, 1, 1, 1, 1});  // validator 4 is not in net's set
  std::vector<SignedVote> votes = precommits({0, 1, 2});
  votes.push_back(outsider.vote(4, VoteType::precommit, 8, 2, value));
  auto verdict = verify(*make_certificate(votes));
  EXPECT_EQ(error_of(verdict), Errc::unknown_validator);
  EXPECT_NE(verdict.error().message.find("is not a validator"), std::string::npos);

  KeyRing partial;
  for (std::size_t i : {0, 1}) ASSERT_TRUE(partial.add(net.signers[i].public_key()).ok());
  verdict = verify_certificate(certificate({0, 1, 2}), chain(), net.validators, partial);
  EXPECT_EQ(error_of(verdict), Errc::unknown_validator);
  EXPECT_NE(verdict.error().message.find("no known key"), std::string::npos);
}

TEST_F(Certificates, AnyBadSignatureIsRejected) {
  const QuorumCertificate good = certificate({0, 1, 2, 3});
  for (std::size_t victim = 0; victim < 4; ++victim) {
    std::vector<codec::VoteSignature> items(good.signatures.begin(), good.signatures.end());
    items[victim].signature[5] ^= 0x40;
    QuorumCertificate bad = good;
    bad.signatures = std::move(codec::SignatureSet::create(std::move(items))).value();
    auto verdict = verify(bad);
    EXPECT_EQ(error_of(verdict), Errc::bad_signature);
    EXPECT_NE(verdict.error().message.find(good.signatures.items()[victim].voter.to_string()),
              std::string::npos);
  }
  QuorumCertificate other_round = good;
  other_round.round = 3;
  EXPECT_EQ(error_of(verify(other_round)), Errc::bad_signature);
  EXPECT_EQ(error_of(verify_certificate(good, chain("other"), net.validators, net.keys)),
            Errc::bad_signature);
}

TEST_F(Certificates, BatchVerificationGivesTheSameVerdicts) {
  BatchVerifier batch(3);
  EXPECT_TRUE(verify(certificate({0, 1, 2}), &batch).ok());
  EXPECT_EQ(error_of(verify(certificate({0, 1}), &batch)), Errc::invalid_certificate);
  QuorumCertificate bad = certificate({0, 1, 2});
  bad.value = Value::from_text("other");
  EXPECT_EQ(error_of(verify(bad, &batch)), Errc::bad_signature);
}

TEST_F(Certificates, BuiltFromTheCoresDecideWithSignaturesFromTheBook) {
  VoteBook book;
  Decide decide{8, 2, value, {}};
  for (const SignedVote& vote : precommits({3, 1, 0})) {
    book.add(vote);
    decide.commit.push_back(vote.vote);
  }
  auto commit = make_certificate(decide.commit, book);
  ASSERT_TRUE(commit.ok()) << commit.error().message;
  EXPECT_TRUE(verify(*commit).ok());
  EXPECT_TRUE(std::is_permutation(decide.commit.begin(), decide.commit.end(),
                                  commit->certificate().votes.begin()));

  decide.commit.push_back(net.vote(2, VoteType::precommit, 8, 2, value).vote);  // not in the book
  auto missing = make_certificate(decide.commit, book);
  EXPECT_EQ(error_of(missing), Errc::invalid_certificate);
  EXPECT_NE(missing.error().message.find("no signature"), std::string::npos);
}

}  // namespace
}  // namespace bft::crypto
