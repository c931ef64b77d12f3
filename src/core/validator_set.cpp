#include "bft/validator_set.hpp"

#include <bit>

#include "bft/address_map.hpp"

namespace bft {

/// Looking a voter up is on the path of every vote, so the index is a flat
/// open-addressing table (linear probing, at most half full) rather than a node map.
struct ValidatorSet::Data {
  std::vector<Validator> validators;
  std::vector<std::uint32_t> slots;  // index + 1 of the validator there, 0 = empty
  std::uint64_t mask = 0;
  std::uint64_t total_propose_weight = 0;

  std::optional<std::size_t> find(const Address& address) const {
    for (std::uint64_t at = hash_address(address.bytes()) & mask;; at = (at + 1) & mask) {
      const std::uint32_t slot = slots[at];
      if (slot == 0) return std::nullopt;
      if (validators[slot - 1].address == address) return slot - 1;
    }
  }

  /// False if the address is already there.
  bool insert(const Address& address, std::size_t index) {
    std::uint64_t at = hash_address(address.bytes()) & mask;
    for (; slots[at] != 0; at = (at + 1) & mask)
      if (validators[slots[at] - 1].address == address) return false;
    slots[at] = static_cast<std::uint32_t>(index + 1);
    return true;
  }
};

Result<ValidatorSet> ValidatorSet::create(std::vector<Validator> validators) {
  if (validators.empty()) return make_error(Errc::empty_validator_set, "validator set is empty");
  if (validators.size() > max_validators)
    return make_error(Errc::invalid_argument, "more than " + std::to_string(max_validators) + " validators");
  auto data = std::make_shared<Data>();
  data->validators = std::move(validators);
  data->slots.assign(std::bit_ceil(data->validators.size() * 2), 0);
  data->mask = data->slots.size() - 1;
  std::uint64_t total_power = 0;
  for (std::size_t i = 0; i < data->validators.size(); ++i) {
    const auto& v = data->validators[i];
    if (v.power == 0)
      return make_error(Errc::zero_power, "validator " + v.address.to_string() + " has vote power 0");
    if (!data->insert(v.address, i))
      return make_error(Errc::duplicate_validator, "validator " + v.address.to_string() + " appears twice");
    // Checked one addend at a time, so the sums themselves cannot wrap.
    if (v.power > max_total_power - total_power)
      return make_error(Errc::power_overflow, "total vote power exceeds 2^60");
    if (v.propose_weight > max_total_power - data->total_propose_weight)
      return make_error(Errc::power_overflow, "total propose weight exceeds 2^60");
    total_power += v.power;
    data->total_propose_weight += v.propose_weight;
  }
  if (data->total_propose_weight == 0)
    return make_error(Errc::no_propose_weight, "every propose weight is 0: nobody could propose");
  return ValidatorSet(std::move(data), total_power);
}

std::size_t ValidatorSet::size() const noexcept { return data_ ? data_->validators.size() : 0; }

const Validator& ValidatorSet::operator[](std::size_t index) const {
  assert(index < size());
  return data_->validators[index];
}

std::span<const Validator> ValidatorSet::validators() const noexcept {
  if (!data_) return {};
  return data_->validators;
}

std::optional<std::size_t> ValidatorSet::index_of(const Address& address) const {
  if (!data_) return std::nullopt;
  return data_->find(address);
}

std::uint64_t ValidatorSet::total_propose_weight() const noexcept {
  return data_ ? data_->total_propose_weight : 0;
}

bool operator==(const ValidatorSet& a, const ValidatorSet& b) {
  if (a.data_ == b.data_) return true;
  auto va = a.validators();
  auto vb = b.validators();
  return std::equal(va.begin(), va.end(), vb.begin(), vb.end());
}

}  // namespace bft
