// Signing and verification, independent of the scheme. Implementations must be safe to
// call from several threads at once: the batch verifier does so.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>

#include "bft/bytes.hpp"
#include "bft/codec/messages.hpp"

namespace bft::crypto {

using codec::Signature;
using PublicKey = std::array<std::uint8_t, 32>;

class Signer {
 public:
  virtual ~Signer() = default;
  virtual Signature sign(std::span<const std::uint8_t> message) const = 0;
  virtual const PublicKey& public_key() const noexcept = 0;
};

class Verifier {
 public:
  virtual ~Verifier() = default;
  virtual bool verify(std::span<const std::uint8_t> message,
                      const Signature& signature) const noexcept = 0;
  virtual const PublicKey& public_key() const noexcept = 0;
};

/// A signature scheme: which public keys it has and how a key checks signatures. Key
/// rings build their verifiers through one, so that a deterministic simulation can swap
/// ed25519 for a cheap scheme without touching anything that verifies.
class SignatureScheme {
 public:
  virtual ~SignatureScheme() = default;
  /// Whether `key` is a public key of this scheme that can verify a signature.
  virtual bool is_public_key(const PublicKey& key) const noexcept = 0;
  virtual std::unique_ptr<Verifier> verifier(const PublicKey& key) const = 0;
};

/// A validator address derived from its public key: the first 20 bytes of its SHA-256
/// (as in CometBFT).
Address address_of(const PublicKey& key);

}  // namespace bft::crypto
