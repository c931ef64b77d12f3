#include "bft/crypto/lthash.hpp"

#include <sodium.h>

#include <bit>
#include <cstring>
#include <string>

#include "sodium.hpp"

namespace bft::crypto {
namespace {

static_assert(crypto_stream_chacha20_KEYBYTES == 32);
static_assert(std::tuple_size_v<codec::Digest> == crypto_generichash_BYTES);

using Expansion = std::array<std::uint8_t, LtHash16::state_size>;

Expansion expand(std::span<const std::uint8_t> element) {
  detail::ensure_sodium();
  std::array<std::uint8_t, crypto_stream_chacha20_KEYBYTES> key;
  crypto_generichash(key.data(), key.size(), element.data(), element.size(), nullptr, 0);
  // Each element has its own key, so one fixed nonce never repeats a (key, nonce) pair
  // across different elements.
  const std::array<std::uint8_t, crypto_stream_chacha20_NONCEBYTES> nonce{};
  Expansion out;
  crypto_stream_chacha20(out.data(), out.size(), nonce.data(), key.data());
  return out;
}

std::uint16_t lane_at(std::span<const std::uint8_t> bytes, std::size_t lane) {
  return static_cast<std::uint16_t>(bytes[2 * lane] | (bytes[2 * lane + 1] << 8));
}

/// The expansion as little-endian lanes. On a little-endian machine that is a copy, and
/// the lane sums below compile to vector additions; elsewhere the bytes are assembled.
std::array<std::uint16_t, LtHash16::lane_count> lanes_of(const Expansion& expansion) {
  std::array<std::uint16_t, LtHash16::lane_count> lanes;
  if constexpr (std::endian::native == std::endian::little) {
    static_assert(sizeof lanes == sizeof expansion);
    std::memcpy(lanes.data(), expansion.data(), sizeof lanes);
  } else {
    for (std::size_t i = 0; i < lanes.size(); ++i) lanes[i] = lane_at(expansion, i);
  }
  return lanes;
}

}  // namespace

void LtHash16::add(std::span<const std::uint8_t> element) {
  const auto lanes = lanes_of(expand(element));
  for (std::size_t i = 0; i < lane_count; ++i) lanes_[i] = static_cast<std::uint16_t>(lanes_[i] + lanes[i]);
}

void LtHash16::remove(std::span<const std::uint8_t> element) {
  const auto lanes = lanes_of(expand(element));
  for (std::size_t i = 0; i < lane_count; ++i) lanes_[i] = static_cast<std::uint16_t>(lanes_[i] - lanes[i]);
}

codec::Digest LtHash16::digest() const noexcept {
  detail::ensure_sodium();
  const auto state = serialize();
  codec::Digest out;
  crypto_generichash(out.data(), out.size(), state.data(), state.size(), nullptr, 0);
  return out;
}

std::array<std::uint8_t, LtHash16::state_size> LtHash16::serialize() const noexcept {
  std::array<std::uint8_t, state_size> out;
  for (std::size_t i = 0; i < lane_count; ++i) {
    out[2 * i] = static_cast<std::uint8_t>(lanes_[i]);
    out[2 * i + 1] = static_cast<std::uint8_t>(lanes_[i] >> 8);
  }
  return out;
}

Result<LtHash16> LtHash16::deserialize(std::span<const std::uint8_t> bytes) {
  if (bytes.size() != state_size)
    return make_error(Errc::malformed, "lthash: a state of " + std::to_string(bytes.size()) + " bytes (expected " +
                                           std::to_string(state_size) + ")");
  LtHash16 hash;
  for (std::size_t i = 0; i < lane_count; ++i) hash.lanes_[i] = lane_at(bytes, i);
  return hash;
}

}  // namespace bft::crypto
