// Validators with fixed keys (four by default, all of them the genesis set, power 1), for
// tests that need real commit certificates: the Blockchain verifies them against the
// validator set of their height.
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
  /// `count` keys, the first `genesis` of them the validators of height 1.
  explicit TestValidators(std::size_t count = 4, std::size_t genesis = 4)
      : chain_id_(*codec::ChainId::create("bftcore-test")), genesis_(genesis) {
    for (std::uint8_t i = 1; i <= count; ++i) {
      crypto::Seed seed{};
      seed[0] = i;
      seed[1] = 0xb1;
      signers_.push_back(crypto::Ed25519Signer::from_seed(seed));
    }
  }

  const codec::ChainId& chain_id() const { return chain_id_; }
  Address address(std::size_t i) const { return crypto::address_of(signers_[i].public_key()); }
  const crypto::PublicKey& key(std::size_t i) const { return signers_[i].public_key(); }

  /// Blockchain options for validator `self`, its proposer clock read from `unix_ms`.
  BlockchainOptions options(std::size_t self, const std::uint64_t& unix_ms) const {
    BlockchainOptions o(chain_id_);
    for (std::size_t i = 0; i < genesis_; ++i) o.validators.push_back({signers_[i].public_key(), 1});
    o.self = address(self);
    o.unix_ms = [&unix_ms] { return unix_ms; };
    return o;
  }

  /// A commit certificate of `value` at `height`, signed by the first three validators.
  codec::QuorumCertificate certify(Height height, const Value& value) const { return certify(height, value, {0, 1, 2}); }

  /// Signed by the validators of these indices.
  codec::QuorumCertificate certify(Height height, const Value& value, std::initializer_list<std::size_t> by) const {
    std::vector<codec::SignedVote> votes;
    for (std::size_t i : by)
      votes.push_back(crypto::sign_vote(signers_[i], chain_id_, Vote{VoteType::precommit, height, 0, value, address(i)}));
    return *crypto::make_certificate(votes);
  }

 private:
  codec::ChainId chain_id_;
  std::size_t genesis_;
  std::vector<crypto::Ed25519Signer> signers_;
};

}  // namespace bft::node::testing
