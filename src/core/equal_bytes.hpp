// Byte-string equality without a call to memcmp, for the short strings (addresses,
// value hashes: typically 20 to 32 bytes) the core compares on every vote.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>

namespace bft::detail {

inline bool equal_bytes(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) noexcept {
  const std::size_t n = a.size();
  if (n != b.size()) return false;
  const std::uint8_t* p = a.data();
  const std::uint8_t* q = b.data();
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    std::uint64_t x, y;
    std::memcpy(&x, p + i, 8);
    std::memcpy(&y, q + i, 8);
    if (x != y) return false;
  }
  for (; i < n; ++i)
    if (p[i] != q[i]) return false;
  return true;
}

}  // namespace bft::detail
