// SHA-256 (libsodium's): the value hash that signatures commit to, and the basis of
// addresses derived from public keys.
#pragma once

#include <array>
#include <cstdint>
#include <span>

namespace bft::codec {

using Digest = std::array<std::uint8_t, 32>;

Digest sha256(std::span<const std::uint8_t> bytes) noexcept;

}  // namespace bft::codec
