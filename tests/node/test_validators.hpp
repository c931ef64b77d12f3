// Four validators with fixed keys, for tests that need real commit certificates: the
// Blockchain verifies them against the validator set when it loads stored blocks.
#pragma once

#include <vector>

#include "bft/codec/messages.hpp"
#include "bft/crypto/certificate.hpp"
#include "bft/crypto/ed25519.hpp"
#include "bft/crypto/signing.hpp"
#include "bft/node/blockchain.hpp"

namespace bft::node::testing {

class TestValidators {
 public:
  TestValidators() : chain_id_(*codec::ChainId::create("bftcore-test")) {
    for (std::uint8_t i = 1; i <= 4; ++i) {
      crypto::Seed seed{};
      seed[0] = i;
      seed[1] = 0xb1;
      signers_.push_back(crypto::Ed25519Signer::from_seed(seed));
    }
  }

  const codec::ChainId& chain_id() const { return chain_id_; }
  Address address(std::size_t i) const { return crypto::address_of(signers_[i].public_key()); }

  /// Blockchain options for validator `self`, its proposer clock read from `unix_ms`.
  BlockchainOptions options(std::size_t self, const std::uint64_t& unix_ms) const {
    BlockchainOptions o(chain_id_);
    for (const auto& signer : signers_) o.validators.push_back({signer.public_key(), 1});
    o.self = address(self);
    o.unix_ms = [&unix_ms] { return unix_ms; };
    return o;
  }

  /// A commit certificate of `value` at `height`, signed by the first three validators.
  codec::QuorumCertificate certify(Height height, const Value& value) const {
    std::vector<codec::SignedVote> votes;
    for (std::size_t i = 0; i < 3; ++i)
      votes.push_back(crypto::sign_vote(signers_[i], chain_id_, Vote{VoteType::precommit, height, 0, value, address(i)}));
    return *crypto::make_certificate(votes);
  }

 private:
  codec::ChainId chain_id_;
  std::vector<crypto::Ed25519Signer> signers_;
};

}  // namespace bft::node::testing
