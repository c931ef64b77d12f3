// Hashers for hash tables whose keys others choose (clients' transactions, a proposer's
// keys), under a key drawn when the hasher is made, so that nobody can make many keys fall
// into one bucket. KeyedHash: SipHash-2-4 (libsodium's crypto_shorthash) of any bytes.
// KeyedDigestHash: for keys that are SHA-256 digests already, a keyed mix of their first
// eight bytes, a few instructions (a hash table may hash a key several times per lookup).
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

namespace bft::crypto {

class KeyedHash {
 public:
  /// A fresh random key.
  KeyedHash();
  std::uint64_t operator()(std::span<const std::uint8_t> bytes) const noexcept;
  std::uint64_t operator()(std::string_view text) const noexcept;

 private:
  std::array<std::uint8_t, 16> key_;
};

/// Nobody can choose a digest's bytes, only grind for them: to share a bucket under an
/// unknown key, two digests must share their first eight bytes.
class KeyedDigestHash {
 public:
  /// A fresh random key.
  KeyedDigestHash();
  std::uint64_t operator()(std::span<const std::uint8_t, 32> digest) const noexcept {
    std::uint64_t x = 0;
    std::memcpy(&x, digest.data(), sizeof x);
    // MurmurHash3's finalizer: a bijection, so distinct keyed prefixes never collide.
    x ^= key_;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
  }

 private:
  std::uint64_t key_ = 0;
};

}  // namespace bft::crypto
