// Who signs for which address: the public keys of the validators a node knows of.
// ValidatorSet says how much a voter weighs; KeyRing says how to check its signature.
#pragma once

#include <cstddef>
#include <memory>
#include <set>
#include <unordered_map>

#include "bft/bytes.hpp"
#include "bft/crypto/signer.hpp"
#include "bft/result.hpp"

namespace bft::crypto {

class KeyRing {
 public:
  /// Keys added by key alone get `scheme`'s verifiers; the scheme must outlive the ring.
  explicit KeyRing(const SignatureScheme& scheme);
  KeyRing();  // ed25519

  /// Errors: invalid_argument (no verifier), duplicate_validator (the address is taken,
  /// or its key already signs for another address: then one signature could count as
  /// two validators' votes).
  Result<void> add(Address address, std::unique_ptr<Verifier> verifier);
  /// A key of the ring's scheme under its derived address, address_of(key).
  Result<void> add(const PublicKey& key);
  const SignatureScheme& scheme() const noexcept { return *scheme_; }

  /// nullptr if `address` has no key here.
  const Verifier* find(const Address& address) const noexcept;
  std::size_t size() const noexcept { return verifiers_.size(); }

 private:
  const SignatureScheme* scheme_;
  std::unordered_map<Address, std::unique_ptr<Verifier>> verifiers_;
  std::set<PublicKey> keys_;
};

}  // namespace bft::crypto
