// Signing fixtures shared by bench-crypto and bft-bench.
#pragma once

#include <cstdint>

#include "bft/codec/sign_bytes.hpp"
#include "bft/crypto/ed25519.hpp"
#include "bft/crypto/signing.hpp"
#include "core_workload.hpp"

namespace bft::bench {

inline const codec::ChainId& chain() {
  static const codec::ChainId id = std::move(codec::ChainId::create("bench-chain")).value();
  return id;
}

/// A deterministic signer: the seed is `index` repeated.
inline crypto::Ed25519Signer signer(std::uint8_t index) {
  crypto::Seed seed;
  seed.fill(index);
  return crypto::Ed25519Signer::from_seed(seed);
}

/// A typical vote: a precommit for a 32-byte block hash from a 20-byte address.
inline codec::SignedVote typical_vote(const crypto::Signer& by, Round round = 0) {
  return crypto::sign_vote(by, chain(),
                           Vote{VoteType::precommit, 1'000'000, round, block_hash(), crypto::address_of(by.public_key())});
}

}  // namespace bft::bench
