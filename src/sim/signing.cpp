#include "bft/sim/signing.hpp"

#include <algorithm>
#include <vector>

#include "bft/codec/hash.hpp"

namespace bft::sim {
namespace {

/// SHA-256(key || message), then zeros: a signature's 64 bytes.
crypto::Signature simulated_signature(const crypto::PublicKey& key, std::span<const std::uint8_t> message) {
  std::vector<std::uint8_t> input(key.begin(), key.end());
  input.insert(input.end(), message.begin(), message.end());
  const auto digest = codec::sha256(input);
  crypto::Signature signature{};
  std::copy(digest.begin(), digest.end(), signature.begin());
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
