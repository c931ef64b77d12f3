#include "bft/node/validators.hpp"

#include <algorithm>
#include <iterator>
#include <set>
#include <string>

#include "bft/crypto/key_file.hpp"

namespace bft::node {

Result<Validators> make_validators(std::span<const ValidatorKey> validators, const crypto::SignatureScheme& scheme) {
  std::vector<Validator> members;
  crypto::KeyRing keys(scheme);
  for (const ValidatorKey& validator : validators) {
    if (auto added = keys.add(validator.key); !added) return added.error();
    members.push_back(Validator{crypto::address_of(validator.key), validator.power, validator.power});
  }
  auto set = ValidatorSet::create(std::move(members));
  if (!set) return set.error();
  return Validators{std::move(*set), std::move(keys)};
}

namespace {

Error refused(const std::string& why) { return make_error(Errc::invalid_argument, "validator updates refused: " + why); }

std::string named(const crypto::PublicKey& key) { return crypto::to_hex(key); }

}  // namespace

std::vector<ValidatorUpdate> validator_updates_between(std::span<const ValidatorKey> current,
                                                       std::span<const ValidatorKey> target) {
  const auto holding = [](std::span<const ValidatorKey> keys, const crypto::PublicKey& key) {
    return std::find_if(keys.begin(), keys.end(), [&](const ValidatorKey& k) { return k.key == key; });
  };
  std::vector<ValidatorUpdate> updates;
  for (const ValidatorKey& validator : current) {
    const auto wanted = holding(target, validator.key);
    if (wanted == target.end())
      updates.push_back({validator.key, 0});
    else if (wanted->power != validator.power)
      updates.push_back({validator.key, wanted->power});
  }
  for (const ValidatorKey& validator : target)
    if (holding(current, validator.key) == current.end()) updates.push_back({validator.key, validator.power});
  return updates;
}

Result<std::vector<ValidatorKey>> apply_validator_updates(std::span<const ValidatorKey> current,
                                                          std::span<const ValidatorUpdate> updates,
                                                          const ValidatorChangeLimits& limits,
                                                          const crypto::SignatureScheme& scheme) {
  if (limits.max_change_numerator == 0 || limits.max_change_numerator > limits.max_change_denominator)
    return make_error(Errc::invalid_argument, "validator change limit: a fraction of more than zero and at most one");
  std::set<crypto::PublicKey> seen;
  for (const ValidatorUpdate& update : updates) {
    if (!seen.insert(update.public_key).second) return refused("key " + named(update.public_key) + " updated twice");
    // A key no signature verifies under would hold power that can never vote.
    if (update.power > 0 && !scheme.is_public_key(update.public_key))
      return refused("key " + named(update.public_key) + " is not a valid public key");
  }

  std::vector<ValidatorKey> next(current.begin(), current.end());
  // Powers are summed in 128 bits: a Byzantine application may ask for any 64-bit power.
  unsigned __int128 moved = 0;
  for (const ValidatorUpdate& update : updates) {
    const auto member = std::find_if(next.begin(), next.end(),
                                     [&](const ValidatorKey& validator) { return validator.key == update.public_key; });
    const std::uint64_t old_power = member == next.end() ? 0 : member->power;
    moved += update.power > old_power ? update.power - old_power : old_power - update.power;
    if (member == next.end()) {
      if (update.power == 0) return refused("removes " + named(update.public_key) + ", which is not a validator");
      next.push_back({update.public_key, update.power});
    } else if (update.power == 0) {
      next.erase(member);
    } else {
      member->power = update.power;
    }
  }
  if (next.empty()) return refused("they would leave no validator");
  unsigned __int128 total = 0;
  for (const ValidatorKey& validator : next) total += validator.power;
  if (total > ValidatorSet::max_total_power)
    return refused("the total power would exceed " + std::to_string(ValidatorSet::max_total_power));
  unsigned __int128 current_total = 0;
  for (const ValidatorKey& validator : current) current_total += validator.power;
  // With the fraction at most one, moving the whole current power is always too much, and
  // below that the products stay far within 128 bits.
  if (moved >= current_total || moved * limits.max_change_denominator >= current_total * limits.max_change_numerator)
    return refused("they move " + std::to_string(static_cast<std::uint64_t>(moved)) + " of " +
                   std::to_string(static_cast<std::uint64_t>(current_total)) + " power, " +
                   std::to_string(limits.max_change_numerator) + "/" + std::to_string(limits.max_change_denominator) +
                   " or more in one block");
  return next;
}

Result<ValidatorHistory> ValidatorHistory::create(std::span<const ValidatorKey> genesis,
                                                  const crypto::SignatureScheme& scheme) {
  ValidatorHistory history(scheme);
  if (auto added = history.change(1, genesis); !added) return added.error();
  return history;
}

Result<void> ValidatorHistory::change(Height height, std::span<const ValidatorKey> validators) {
  if (!epochs_.empty() && height <= epochs_.back().height)
    return make_error(Errc::invalid_argument, "a validator set change at height " + std::to_string(height) +
                                                  ", not above the last one's, " + std::to_string(epochs_.back().height));
  auto made = make_validators(validators, keys_.scheme());
  if (!made) return made.error();
  for (const ValidatorKey& validator : validators)
    if (!keys_.find(crypto::address_of(validator.key)))
      if (auto added = keys_.add(validator.key); !added) return added;
  epochs_.push_back({height, {validators.begin(), validators.end()}, std::move(made->set)});
  return {};
}

const ValidatorEpoch& ValidatorHistory::at(Height height) const {
  const auto after = std::upper_bound(epochs_.begin(), epochs_.end(), std::max<Height>(height, 1),
                                      [](Height h, const ValidatorEpoch& epoch) { return h < epoch.height; });
  return *std::prev(after);
}

}  // namespace bft::node
