// The simulator's only source of randomness: xoshiro256** seeded through splitmix64.
// Everything here is specified bit for bit (no std::*_distribution, whose results differ
// between standard libraries), so a seed reproduces the same run on every platform.
#pragma once

#include <cstdint>

namespace bft::sim {

class Rng {
 public:
  explicit Rng(std::uint64_t seed) noexcept {
    for (auto& word : state_) word = splitmix64(seed);
  }

  /// An independent generator for one concern (network, adversary, ...), so that adding
  /// draws to one concern does not shift the random sequence of another.
  Rng fork(std::uint64_t stream) noexcept { return Rng(next() ^ splitmix_mix(stream)); }

  std::uint64_t next() noexcept {
    const std::uint64_t result = rotl(state_[1] * 5, 7) * 9;
    const std::uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = rotl(state_[3], 45);
    return result;
  }

  /// Uniform in [0, bound); bound > 0. Lemire's multiply-shift with rejection.
  std::uint64_t below(std::uint64_t bound) noexcept {
    __extension__ using u128 = unsigned __int128;
    u128 product = static_cast<u128>(next()) * bound;
    auto low = static_cast<std::uint64_t>(product);
    if (low < bound) {
      const std::uint64_t threshold = (0 - bound) % bound;
      while (low < threshold) {
        product = static_cast<u128>(next()) * bound;
        low = static_cast<std::uint64_t>(product);
      }
    }
    return static_cast<std::uint64_t>(product >> 64);
  }

  /// Uniform in [low, high]; low <= high.
  std::uint64_t between(std::uint64_t low, std::uint64_t high) noexcept {
    if (high - low == ~std::uint64_t{0}) return next();
    return low + below(high - low + 1);
  }

  /// True with probability p (p <= 0: never, p >= 1: always).
  bool chance(double p) noexcept {
    if (p <= 0) return false;
    return static_cast<double>(next() >> 11) * 0x1.0p-53 < p;
  }

 private:
  static constexpr std::uint64_t rotl(std::uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }
  static constexpr std::uint64_t splitmix_mix(std::uint64_t z) noexcept {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  static std::uint64_t splitmix64(std::uint64_t& x) noexcept {
    x += 0x9e3779b97f4a7c15ULL;
    return splitmix_mix(x);
  }

  std::uint64_t state_[4];
};

}  // namespace bft::sim
