// A node's validators as configured (public keys and powers), turned into what checks
// votes and certificates: the validator set (addresses and powers) and the key ring.
#pragma once

#include <cstdint>
#include <span>

#include <vector>

#include "bft/crypto/key_ring.hpp"
#include "bft/crypto/signer.hpp"
#include "bft/node/application.hpp"
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

/// How far one block's validator updates may move the set.
struct ValidatorChangeLimits {
  /// The power one block's updates may move, as a fraction of the current total: the sum
  /// over the updates of |new power - old power| must stay strictly below
  /// numerator/denominator of it. The default, one third, keeps every quorum of the new
  /// set holding more than a third of the old set's power, i.e. at least one validator
  /// that was correct under the old set (with under a third faulty in each): a client that
  /// trusts the old set can follow the change, and a quorum of the new set cannot be made
  /// of newcomers alone. A larger change is spread over several blocks. The fraction must
  /// be above zero and at most one.
  std::uint64_t max_change_numerator = 1;
  std::uint64_t max_change_denominator = 3;
};

/// The set after `updates` (ABCI's semantics: a key with a power adds the validator or
/// changes its power; power 0 removes it). Validators keep their order; new ones follow
/// in the order of the updates, so every node derives the same set, proposer order
/// included. The updates apply all or not at all. Errors, all invalid_argument and all
/// decided by the inputs alone, so every node refuses the same updates: a key updated
/// twice, the removal of a key that is not a validator, a total power above
/// ValidatorSet::max_total_power, a set left empty, a change beyond `limits` (and limits
/// that are no fraction in (0, 1]).
Result<std::vector<ValidatorKey>> apply_validator_updates(std::span<const ValidatorKey> current,
                                                          std::span<const ValidatorUpdate> updates,
                                                          const ValidatorChangeLimits& limits = {});

}  // namespace bft::node
