#include "bft/sim/signing.hpp"

#include <sodium.h>

#include <algorithm>

#include "bft/codec/hash.hpp"

namespace bft::sim {
namespace {

static_assert(crypto_shorthash_siphashx24_KEYBYTES <= std::tuple_size_v<crypto::PublicKey>);

/// SipHash-2-4 with a 128-bit output, keyed by the key's first 16 bytes, over the message;
/// then zeros: a signature's 64 bytes. A keyed hash, not a signature: what a simulation
/// needs is that each node's signatures differ and that a changed byte fails, and this
/// costs a fraction of a SHA-256 (which was a fifth of a simulation's time).
crypto::Signature simulated_signature(const crypto::PublicKey& key, std::span<const std::uint8_t> message) {
  crypto::Signature signature{};
  crypto_shorthash_siphashx24(signature.data(), message.data(), message.size(), key.data());
  return signature;
}

class SimulatedVerifier final : public crypto::Verifier {
 public:
  explicit SimulatedVerifier(const crypto::PublicKey& key) : key_(key) {}
  bool verify(std::span<const std::uint8_t> message, const crypto::Signature& signature) const noexcept override {
    return simulated_signature(key_, message) == signature;
  }
  const crypto::PublicKey& public_key() const noexcept override { return key_; }

 private:
  crypto::PublicKey key_;
};

class SimulatedScheme final : public crypto::SignatureScheme {
 public:
  bool is_public_key(const crypto::PublicKey&) const noexcept override { return true; }
  std::unique_ptr<crypto::Verifier> verifier(const crypto::PublicKey& key) const override {
    return std::make_unique<SimulatedVerifier>(key);
  }
};

}  // namespace

SimulatedSigner::SimulatedSigner(std::uint32_t node) {
  const std::uint8_t label[] = {'s', 'i', 'm', static_cast<std::uint8_t>(node), static_cast<std::uint8_t>(node >> 8),
                                static_cast<std::uint8_t>(node >> 16), static_cast<std::uint8_t>(node >> 24)};
  const auto digest = codec::sha256(label);
  std::copy(digest.begin(), digest.end(), key_.begin());
}

crypto::Signature SimulatedSigner::sign(std::span<const std::uint8_t> message) const {
  return simulated_signature(key_, message);
}

const crypto::SignatureScheme& simulated_scheme() noexcept {
  static const SimulatedScheme scheme;
  return scheme;
}

}  // namespace bft::sim
