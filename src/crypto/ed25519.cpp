#include "bft/crypto/ed25519.hpp"

#include <sodium.h>

#include <cstdio>
#include <cstdlib>

#include "bft/codec/hash.hpp"
#include "sodium.hpp"

namespace bft::crypto {

static_assert(std::tuple_size_v<PublicKey> == crypto_sign_PUBLICKEYBYTES);
static_assert(std::tuple_size_v<Signature> == crypto_sign_BYTES);
static_assert(std::tuple_size_v<Seed> == crypto_sign_SEEDBYTES);

void detail::ensure_sodium() {
  static const bool ready = [] {
    if (sodium_init() < 0) {
      std::fputs("bftcrypto: libsodium failed to initialise\n", stderr);
      std::abort();
    }
    return true;
  }();
  (void)ready;
}

Address address_of(const PublicKey& key) {
  const codec::Digest digest = codec::sha256(key);
  return Address(std::span<const std::uint8_t>(digest.data(), 20));
}

Ed25519Signer Ed25519Signer::generate() {
  detail::ensure_sodium();
  Seed seed;
  randombytes_buf(seed.data(), seed.size());
  Ed25519Signer signer = from_seed(seed);
  sodium_memzero(seed.data(), seed.size());
  return signer;
}

Ed25519Signer Ed25519Signer::from_seed(const Seed& seed) {
  detail::ensure_sodium();
  Ed25519Signer signer;
  signer.seed_ = seed;
  crypto_sign_seed_keypair(signer.public_key_.data(), signer.secret_key_.data(), seed.data());
  return signer;
}

Ed25519Signer::Ed25519Signer(Ed25519Signer&& other) noexcept
    : seed_(other.seed_), secret_key_(other.secret_key_), public_key_(other.public_key_) {
  sodium_memzero(other.seed_.data(), other.seed_.size());
  sodium_memzero(other.secret_key_.data(), other.secret_key_.size());
}

Ed25519Signer& Ed25519Signer::operator=(Ed25519Signer&& other) noexcept {
  if (this != &other) {
    seed_ = other.seed_;
    secret_key_ = other.secret_key_;
    public_key_ = other.public_key_;
    sodium_memzero(other.seed_.data(), other.seed_.size());
    sodium_memzero(other.secret_key_.data(), other.secret_key_.size());
  }
  return *this;
}

Ed25519Signer::~Ed25519Signer() {
  sodium_memzero(seed_.data(), seed_.size());
  sodium_memzero(secret_key_.data(), secret_key_.size());
}

Signature Ed25519Signer::sign(std::span<const std::uint8_t> message) const {
  Signature signature{};
  crypto_sign_detached(signature.data(), nullptr, message.data(), message.size(),
                       secret_key_.data());
  return signature;
}

bool is_valid_public_key(const PublicKey& key) noexcept {
  detail::ensure_sodium();
  return crypto_core_ed25519_is_valid_point(key.data()) == 1;
}

Ed25519Verifier::Ed25519Verifier(const PublicKey& key) : key_(key) { detail::ensure_sodium(); }

bool Ed25519Verifier::verify(std::span<const std::uint8_t> message,
                             const Signature& signature) const noexcept {
  return crypto_sign_verify_detached(signature.data(), message.data(), message.size(),
                                     key_.data()) == 0;
}

namespace {

class Ed25519Scheme final : public SignatureScheme {
 public:
  bool is_public_key(const PublicKey& key) const noexcept override { return is_valid_public_key(key); }
  std::unique_ptr<Verifier> verifier(const PublicKey& key) const override {
    return std::make_unique<Ed25519Verifier>(key);
  }
};

}  // namespace

const SignatureScheme& ed25519_scheme() noexcept {
  static const Ed25519Scheme scheme;
  return scheme;
}

}  // namespace bft::crypto
