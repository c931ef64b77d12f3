#include "bft/node/validators.hpp"

namespace bft::node {

Result<Validators> make_validators(std::span<const ValidatorKey> validators) {
  std::vector<Validator> members;
  crypto::KeyRing keys;
  for (const ValidatorKey& validator : validators) {
    if (auto added = keys.add(validator.key); !added) return added.error();
    members.push_back(Validator{crypto::address_of(validator.key), validator.power, validator.power});
  }
  auto set = ValidatorSet::create(std::move(members));
  if (!set) return set.error();
  return Validators{std::move(*set), std::move(keys)};
}

}  // namespace bft::node
