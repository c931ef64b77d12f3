// What every fuzz target shares: a fixed four-validator network with real ed25519 keys
// (so the seed corpus can hold validly signed messages), and an invariant check that
// crashes loudly, which is how a fuzzer learns of a bug.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <vector>

#include "bft/codec/codec.hpp"
#include "bft/codec/sign_bytes.hpp"
#include "bft/crypto/ed25519.hpp"
#include "bft/crypto/key_ring.hpp"
#include "bft/validator_set.hpp"

namespace bft::fuzz {

struct Network {
  codec::ChainId chain = std::move(codec::ChainId::create("fuzz-chain")).value();
  std::vector<crypto::Ed25519Signer> signers;
  ValidatorSet validators;
  crypto::KeyRing keys;

  Address address(std::size_t i) const { return crypto::address_of(signers[i].public_key()); }
};

/// Validators 0..3 with powers 3, 1, 1, 2 (a quorum needs power 5 of 7), keys from the
/// seeds 1..4 repeated.
inline const Network& network() {
  static const Network net = [] {
    Network n;
    const std::uint64_t powers[] = {3, 1, 1, 2};
    std::vector<Validator> list;
    for (std::uint8_t i = 0; i < 4; ++i) {
      crypto::Seed seed;
      seed.fill(static_cast<std::uint8_t>(i + 1));
      n.signers.push_back(crypto::Ed25519Signer::from_seed(seed));
      list.push_back(Validator{n.address(i), powers[i], 1});
      if (!n.keys.add(n.signers.back().public_key()).ok()) std::abort();
    }
    n.validators = std::move(ValidatorSet::create(std::move(list))).value();
    return n;
  }();
  return net;
}

/// Small limits, so that the fuzzer spends its time on structure rather than size.
inline codec::Limits fuzz_limits() {
  codec::Limits limits;
  limits.max_value_size = 256;
  limits.max_address_size = 32;
  limits.max_signatures = 16;
  return limits;
}

inline void require(bool condition, const char* invariant) {
  if (!condition) {
    std::fprintf(stderr, "fuzz invariant violated: %s\n", invariant);
    std::abort();
  }
}

}  // namespace bft::fuzz
