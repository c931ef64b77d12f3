#include "bft/validator_set.hpp"

#include <unordered_map>

namespace bft {

struct ValidatorSet::Data {
  std::vector<Validator> validators;
  std::unordered_map<Address, std::size_t> index;
  std::uint64_t total_power = 0;
  std::uint64_t total_propose_weight = 0;
};

Result<ValidatorSet> ValidatorSet::create(std::vector<Validator> validators) {
  if (validators.empty()) return make_error(Errc::empty_validator_set, "validator set is empty");
  auto data = std::make_shared<Data>();
  data->index.reserve(validators.size());
  for (std::size_t i = 0; i < validators.size(); ++i) {
    const auto& v = validators[i];
    if (v.power == 0)
      return make_error(Errc::zero_power, "validator " + v.address.to_string() + " has vote power 0");
    if (!data->index.emplace(v.address, i).second)
      return make_error(Errc::duplicate_validator, "validator " + v.address.to_string() + " appears twice");
    // Checked one addend at a time, so the sums themselves cannot wrap.
    if (v.power > max_total_power - data->total_power)
      return make_error(Errc::power_overflow, "total vote power exceeds 2^60");
    if (v.propose_weight > max_total_power - data->total_propose_weight)
      return make_error(Errc::power_overflow, "total propose weight exceeds 2^60");
    data->total_power += v.power;
    data->total_propose_weight += v.propose_weight;
  }
  if (data->total_propose_weight == 0)
    return make_error(Errc::no_propose_weight, "every propose weight is 0: nobody could propose");
  data->validators = std::move(validators);
  return ValidatorSet(std::move(data));
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
  auto it = data_->index.find(address);
  if (it == data_->index.end()) return std::nullopt;
  return it->second;
}

std::uint64_t ValidatorSet::total_power() const noexcept { return data_ ? data_->total_power : 0; }

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
