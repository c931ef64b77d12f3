// Ed25519 on libsodium. Verification rejects non-canonical signatures and small-order
// public keys, so a valid signature cannot be altered into another valid one.
#pragma once

#include <array>
#include <cstdint>

#include "bft/crypto/signer.hpp"

namespace bft::crypto {

/// The 32 secret bytes an ed25519 key pair derives from.
using Seed = std::array<std::uint8_t, 32>;

class Ed25519Signer final : public Signer {
 public:
  /// A fresh key pair from the operating system's random source.
  static Ed25519Signer generate();
  /// The key pair that `seed` determines (tests, simulations, and key files).
  static Ed25519Signer from_seed(const Seed& seed);

  Ed25519Signer(Ed25519Signer&& other) noexcept;
  Ed25519Signer& operator=(Ed25519Signer&& other) noexcept;
  Ed25519Signer(const Ed25519Signer&) = delete;
  Ed25519Signer& operator=(const Ed25519Signer&) = delete;
  /// Wipes the secret key.
  ~Ed25519Signer() override;

  Signature sign(std::span<const std::uint8_t> message) const override;
  const PublicKey& public_key() const noexcept override { return public_key_; }
  /// The secret seed, for writing key files. Keep copies short-lived.
  const Seed& seed() const noexcept { return seed_; }

 private:
  Ed25519Signer() = default;
  Seed seed_{};
  std::array<std::uint8_t, 64> secret_key_{};  // libsodium's form: seed then public key
  PublicKey public_key_{};
};

/// Whether `key` can be an ed25519 public key that signs: a canonical encoding of a point
/// of the curve's main subgroup, not of small order. A key that fails this would never
/// verify a signature, so a configuration that names one is a mistake worth reporting.
bool is_valid_public_key(const PublicKey& key) noexcept;

class Ed25519Verifier final : public Verifier {
 public:
  explicit Ed25519Verifier(const PublicKey& key);

  bool verify(std::span<const std::uint8_t> message,
              const Signature& signature) const noexcept override;
  const PublicKey& public_key() const noexcept override { return key_; }

 private:
  PublicKey key_;
};

/// The scheme of Ed25519Verifier and is_valid_public_key: what nodes use.
const SignatureScheme& ed25519_scheme() noexcept;

}  // namespace bft::crypto
