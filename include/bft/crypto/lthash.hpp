// LtHash16: a homomorphic hash of a multiset (Bellare–Micciancio; the parameters of Lewi
// et al., "Securing update propagation with homomorphic hashing", Facebook, 2019).
//
// Why: an application's state hash that is updated in O(size of the change) and depends
// only on the set of elements, never on the order or history that produced it. Replacing
// one element is remove(old) + add(new); two states holding the same elements hash alike.
//
// The state is 1024 lanes of uint16. An element is expanded to 2048 bytes: its BLAKE2b-256
// hash keys a ChaCha20 keystream (libsodium, zero nonce), read as 1024 little-endian
// uint16. add() adds the expansion lane-wise mod 2^16, remove() subtracts it; the empty
// multiset is all zeros. digest() is BLAKE2b-256 of the serialized state (lanes in order,
// little-endian), which is also the 2048-byte form serialize() returns.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "bft/codec/hash.hpp"
#include "bft/result.hpp"

namespace bft::crypto {

class LtHash16 {
 public:
  static constexpr std::size_t lane_count = 1024;
  static constexpr std::size_t state_size = lane_count * 2;

  /// The hash of the empty multiset.
  LtHash16() = default;

  void add(std::span<const std::uint8_t> element);
  /// Undoes one add() of the same element. Removing an element never added is allowed
  /// (the state then stands for a multiset with a negative count); callers that keep
  /// a set remove only what they added.
  void remove(std::span<const std::uint8_t> element);

  codec::Digest digest() const noexcept;

  std::array<std::uint8_t, state_size> serialize() const noexcept;
  /// Errors: malformed (not exactly state_size bytes). Every state_size-byte string is a
  /// valid state.
  static Result<LtHash16> deserialize(std::span<const std::uint8_t> bytes);

  friend bool operator==(const LtHash16&, const LtHash16&) = default;

 private:
  std::array<std::uint16_t, lane_count> lanes_{};
};

}  // namespace bft::crypto
