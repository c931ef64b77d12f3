// The batch verifier: per-item verdicts, whatever the number of threads.
#include "bft/crypto/batch_verifier.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <thread>

#include "fixtures.hpp"

namespace bft::crypto {
namespace {

using codec::SignedVote;
using testing::chain;

/// Every third vote is tampered with, and every seventh comes from a stranger.
struct Batch {
  explicit Batch(std::size_t size) {
    const Ed25519Signer stranger = testing::signer(200);
    for (std::size_t i = 0; i < size; ++i) {
      const auto round = static_cast<Round>(i);
      SignedVote vote = i % 7 == 6
          ? sign_vote(stranger, chain(), Vote{VoteType::prevote, 1, round, std::nullopt,
                                              address_of(stranger.public_key())})
          : net.vote(i % 4, VoteType::prevote, 1, round, Value::from_text("v"));
      if (i % 3 == 2) vote.signature[0] ^= 1;
      expected.push_back(i % 7 == 6 ? Errc::unknown_validator
                         : i % 3 == 2 ? Errc::bad_signature
                                      : std::optional<Errc>());
      votes.push_back(std::move(vote));
    }
  }

  testing::Network net{{1, 1, 1, 1}};
  std::vector<SignedVote> votes;
  std::vector<std::optional<Errc>> expected;  // nullopt: valid
};

void expect_verdicts(const Batch& batch, const std::vector<Result<void>>& results) {
  ASSERT_EQ(results.size(), batch.votes.size());
  for (std::size_t i = 0; i < results.size(); ++i) {
    if (batch.expected[i]) {
      ASSERT_FALSE(results[i].ok()) << i;
      EXPECT_EQ(results[i].error().code, *batch.expected[i]) << i;
    } else {
      EXPECT_TRUE(results[i].ok()) << i << ": " << results[i].error().message;
    }
  }
}

TEST(BatchVerifier, VerifiesVotesWithPerItemVerdicts) {
  const Batch batch(50);
  for (std::size_t threads : {1, 2, 5}) {
    BatchVerifier verifier(threads);
    EXPECT_EQ(verifier.threads(), threads);
    expect_verdicts(batch, verifier.verify_votes(batch.votes, chain(), batch.net.keys));
  }
}

TEST(BatchVerifier, DefaultsToOneThreadPerHardwareThread) {
  EXPECT_EQ(BatchVerifier().threads(), std::max(1u, std::thread::hardware_concurrency()));
}

TEST(BatchVerifier, VerifiesRawSignatureChecks) {
  const Batch batch(20);
  std::vector<Bytes> messages;
  std::vector<SignatureCheck> checks;
  std::vector<bool> expected;
  messages.reserve(batch.votes.size());
  for (std::size_t i = 0; i < batch.votes.size(); ++i) {
    const Verifier* verifier = batch.net.keys.find(batch.votes[i].vote.voter);
    if (verifier == nullptr) continue;
    messages.push_back(codec::vote_sign_bytes(chain(), batch.votes[i].vote));
    checks.push_back({verifier, messages.back(), batch.votes[i].signature});
    expected.push_back(!batch.expected[i].has_value());
  }
  BatchVerifier verifier(4);
  auto valid = std::make_unique<bool[]>(checks.size());
  EXPECT_FALSE(verifier.verify(checks, std::span(valid.get(), checks.size())));
  for (std::size_t i = 0; i < checks.size(); ++i) EXPECT_EQ(valid[i], expected[i]) << i;

  const std::size_t first_valid = 0;
  ASSERT_TRUE(expected[first_valid]);
  bool one = false;
  EXPECT_TRUE(verifier.verify(std::span(checks).first(1), std::span(&one, 1)));
  EXPECT_TRUE(one);
}

TEST(BatchVerifier, EmptyBatchIsAllValid) {
  BatchVerifier verifier(2);
  EXPECT_TRUE(verifier.verify({}, {}));
  EXPECT_TRUE(verifier.verify_votes({}, chain(), KeyRing()).empty());
}

TEST(BatchVerifier, ServesManyBatchesAndCallersFromSeveralThreads) {
  const Batch batch(30);
  BatchVerifier verifier(3);
  for (int round = 0; round < 20; ++round) {
    expect_verdicts(batch, verifier.verify_votes(batch.votes, chain(), batch.net.keys));
  }
  std::vector<std::vector<Result<void>>> results(4);
  std::vector<std::thread> callers;
  for (auto& result : results) {
    callers.emplace_back(
        [&] { result = verifier.verify_votes(batch.votes, chain(), batch.net.keys); });
  }
  for (std::thread& caller : callers) caller.join();
  for (const auto& result : results) expect_verdicts(batch, result);
}

}  // namespace
}  // namespace bft::crypto
