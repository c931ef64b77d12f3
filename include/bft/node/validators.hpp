// A node's validators as configured (public keys and powers), turned into what checks
// votes and certificates: the validator set (addresses and powers) and the key ring.
#pragma once

#include <cstdint>
#include <span>

#include "bft/crypto/key_ring.hpp"
#include "bft/crypto/signer.hpp"
#include "bft/result.hpp"
#include "bft/validator_set.hpp"

namespace bft::node {

struct ValidatorKey {
  crypto::PublicKey key;
  std::uint64_t power = 1;
};

struct Validators {
  ValidatorSet set;
  crypto::KeyRing keys;
};

/// Addresses are derived from the keys; each validator proposes in proportion to its power.
/// Errors: ValidatorSet::create's and KeyRing::add's (empty, duplicate, zero power, ...).
Result<Validators> make_validators(std::span<const ValidatorKey> validators);

}  // namespace bft::node
