// Signatures for simulation: deterministic and a keyed hash each to make and check, behind the
// same Signer / SignatureScheme interfaces as ed25519, so that the shipped replica runs
// unchanged. Not a signature scheme for anything but a simulation: anyone who knows a
// public key can sign for it. A simulated Byzantine node signs with its own signer only.
#pragma once

#include <cstdint>

#include "bft/crypto/signer.hpp"

namespace bft::sim {

class SimulatedSigner final : public crypto::Signer {
 public:
  /// The key of simulated node `node`: distinct per node, the same in every run.
  explicit SimulatedSigner(std::uint32_t node);
  crypto::Signature sign(std::span<const std::uint8_t> message) const override;
  const crypto::PublicKey& public_key() const noexcept override { return key_; }

 private:
  crypto::PublicKey key_{};
};

/// Verifies SimulatedSigner's signatures; every 32 bytes are a key.
const crypto::SignatureScheme& simulated_scheme() noexcept;

}  // namespace bft::sim
