#include "bft/crypto/key_ring.hpp"

#include "bft/crypto/ed25519.hpp"

namespace bft::crypto {

KeyRing::KeyRing(const SignatureScheme& scheme) : scheme_(&scheme) {}

KeyRing::KeyRing() : KeyRing(ed25519_scheme()) {}

Result<void> KeyRing::add(Address address, std::unique_ptr<Verifier> verifier) {
  if (verifier == nullptr) {
    return make_error(Errc::invalid_argument, "no verifier for " + address.to_string());
  }
  if (verifiers_.contains(address)) {
    return make_error(Errc::duplicate_validator,
                      "address " + address.to_string() + " already has a key");
  }
  if (!keys_.insert(verifier->public_key()).second) {
    return make_error(Errc::duplicate_validator,
                      "the key for " + address.to_string() + " already signs for another address");
  }
  verifiers_.emplace(std::move(address), std::move(verifier));
  return {};
}

Result<void> KeyRing::add(const PublicKey& key) {
  return add(address_of(key), scheme_->verifier(key));
}

const Verifier* KeyRing::find(const Address& address) const noexcept {
  auto it = verifiers_.find(address);
  return it == verifiers_.end() ? nullptr : it->second.get();
}

}  // namespace bft::crypto
