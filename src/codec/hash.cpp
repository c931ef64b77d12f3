#include "bft/codec/hash.hpp"

#include <sodium.h>

namespace bft::codec {

static_assert(std::tuple_size_v<Digest> == crypto_hash_sha256_BYTES);

Digest sha256(std::span<const std::uint8_t> bytes) noexcept {
  // crypto_hash_sha256 is pure computation: it needs no sodium_init and cannot fail.
  Digest digest{};
  crypto_hash_sha256(digest.data(), bytes.data(), bytes.size());
  return digest;
}

}  // namespace bft::codec
