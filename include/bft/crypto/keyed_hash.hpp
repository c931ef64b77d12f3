// SipHash-2-4 (libsodium's crypto_shorthash) under a key drawn when the hasher is made: for
// hash tables whose keys others choose (clients' transactions, a proposer's keys), so that
// nobody can make many of them fall into one bucket.
#pragma once

#include <array>
#include <cstdint>
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

}  // namespace bft::crypto
