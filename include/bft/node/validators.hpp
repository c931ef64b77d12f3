// A node's validators as configured (public keys and powers), turned into what checks
// votes and certificates: the validator set (addresses and powers) and the key ring.
#pragma once

#include <cstdint>
#include <deque>
#include <span>
#include <vector>

#include "bft/crypto/ed25519.hpp"
#include "bft/crypto/key_ring.hpp"
#include "bft/crypto/signer.hpp"
#include "bft/node/application.hpp"
#include "bft/result.hpp"
#include "bft/types.hpp"
#include "bft/validator_set.hpp"

namespace bft::node {

struct ValidatorKey {
  crypto::PublicKey key;
  std::uint64_t power = 1;
  friend bool operator==(const ValidatorKey&, const ValidatorKey&) = default;
};

struct Validators {
  ValidatorSet set;
  crypto::KeyRing keys;
};

/// Addresses are derived from the keys; each validator proposes in proportion to its power.
/// The keys are `scheme`'s (ed25519 unless a simulation says otherwise).
/// Errors: ValidatorSet::create's and KeyRing::add's (empty, duplicate, zero power, ...).
Result<Validators> make_validators(std::span<const ValidatorKey> validators,
                                   const crypto::SignatureScheme& scheme = crypto::ed25519_scheme());

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
/// twice, a key that is no public key of `scheme`, the removal of a key that is not a validator, a total power above
/// ValidatorSet::max_total_power, a set left empty, a change beyond `limits` (and limits
/// that are no fraction in (0, 1]).
Result<std::vector<ValidatorKey>> apply_validator_updates(std::span<const ValidatorKey> current,
                                                          std::span<const ValidatorUpdate> updates,
                                                          const ValidatorChangeLimits& limits = {},
                                                          const crypto::SignatureScheme& scheme = crypto::ed25519_scheme());

/// The updates that turn `current` into `target` (as sets of keys with powers): a
/// changed power for each validator of both, power 0 for each of `current` only, then the
/// newcomers of `target` in its order. apply_validator_updates(current, these) gives
/// `target`'s validators, in its order if `target` lists the kept ones first in
/// `current`'s order, unless it refuses them (limits).
std::vector<ValidatorUpdate> validator_updates_between(std::span<const ValidatorKey> current,
                                                       std::span<const ValidatorKey> target);

/// The validators in force from `height` on (until the next change).
struct ValidatorEpoch {
  Height height = 1;
  std::vector<ValidatorKey> keys;
  ValidatorSet set;
};

/// The validator sets of a chain by height: the genesis set from height 1, then every
/// change validator updates made (the updates of height h are in force from h + 2). Only
/// grows. Not thread-safe: the node's thread owns it.
class ValidatorHistory {
 public:
  /// Errors: make_validators'.
  static Result<ValidatorHistory> create(std::span<const ValidatorKey> genesis,
                                         const crypto::SignatureScheme& scheme = crypto::ed25519_scheme());

  /// The set from `height` on. Errors: invalid_argument (a height not above the last
  /// change's), make_validators'.
  Result<void> change(Height height, std::span<const ValidatorKey> validators);

  /// The set in force at `height` (height 0 reads as 1). References stay valid as the
  /// history grows. A height beyond the ones a node has decided the set for is answered
  /// with the newest set: what it will be unless a later block changes it.
  const ValidatorEpoch& at(Height height) const;
  const ValidatorEpoch& newest() const { return epochs_.back(); }
  /// The keys of every validator of every set. A signature names its signer's address,
  /// which is derived from the key, so any set's key checks it; whether the signer
  /// counts, and how much, is for the set of the message's height.
  const crypto::KeyRing& keys() const noexcept { return keys_; }

 private:
  explicit ValidatorHistory(const crypto::SignatureScheme& scheme) : keys_(scheme) {}
  std::deque<ValidatorEpoch> epochs_;  // by height; a deque keeps references stable
  crypto::KeyRing keys_;
};

}  // namespace bft::node
