// Deterministic validators with ed25519 keys, shared by the crypto tests.
#pragma once

#include <vector>

#include "bft/codec/sign_bytes.hpp"
#include "bft/crypto/ed25519.hpp"
#include "bft/crypto/key_ring.hpp"
#include "bft/crypto/signing.hpp"
#include "bft/validator_set.hpp"

namespace bft::crypto::testing {

inline codec::ChainId chain(std::string_view name = "test-chain") {
  return std::move(codec::ChainId::create(name)).value();
}

inline Ed25519Signer signer(std::uint8_t index) {
  Seed seed{};
  seed.fill(index);
  return Ed25519Signer::from_seed(seed);
}

/// Validators 0..powers.size()-1 with the given vote powers, their signers and key ring.
struct Network {
  explicit Network(std::vector<std::uint64_t> powers) {
    std::vector<Validator> list;
    for (std::size_t i = 0; i < powers.size(); ++i) {
      signers.push_back(signer(static_cast<std::uint8_t>(i + 1)));
      list.push_back(Validator{address(i), powers[i], 1});
      EXPECT_TRUE(keys.add(signers.back().public_key()).ok());
    }
    validators = std::move(ValidatorSet::create(std::move(list))).value();
  }

  Address address(std::size_t i) const { return address_of(signers[i].public_key()); }

  codec::SignedVote vote(std::size_t i, VoteType type, Height h, Round r,
                         std::optional<Value> value, const codec::ChainId& on = chain()) const {
    return sign_vote(signers[i], on, Vote{type, h, r, std::move(value), address(i)});
  }

  std::vector<Ed25519Signer> signers;
  KeyRing keys;
  ValidatorSet validators;
};

template <class T>
Errc error_of(const Result<T>& result) {
  EXPECT_FALSE(result.ok());
  return result.ok() ? Errc::invalid_argument : result.error().code;
}

}  // namespace bft::crypto::testing
