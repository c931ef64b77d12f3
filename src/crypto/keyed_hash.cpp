#include "bft/crypto/keyed_hash.hpp"

#include <sodium.h>

#include "sodium.hpp"

namespace bft::crypto {

static_assert(crypto_shorthash_BYTES == sizeof(std::uint64_t) && crypto_shorthash_KEYBYTES == 16);

KeyedHash::KeyedHash() {
  detail::ensure_sodium();
  randombytes_buf(key_.data(), key_.size());
}

std::uint64_t KeyedHash::operator()(std::span<const std::uint8_t> bytes) const noexcept {
  std::uint64_t hash = 0;
  crypto_shorthash(reinterpret_cast<unsigned char*>(&hash), bytes.data(), bytes.size(), key_.data());
  return hash;
}

KeyedDigestHash::KeyedDigestHash() {
  detail::ensure_sodium();
  randombytes_buf(&key_, sizeof key_);
}

std::uint64_t KeyedHash::operator()(std::string_view text) const noexcept {
  return (*this)(std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
}

}  // namespace bft::crypto
