#include "bft/proposer.hpp"

#include <cassert>
#include <vector>

namespace bft {

namespace seed_pcg {

namespace {
constexpr std::uint32_t rotr32(std::uint32_t x, unsigned r) { return (x >> (r & 31)) | (x << ((32 - r) & 31)); }
constexpr std::uint64_t rotr64(std::uint64_t x, unsigned r) { return (x >> (r & 63)) | (x << ((64 - r) & 63)); }
}  // namespace

Pcg64Mcg::Pcg64Mcg(std::uint64_t seed) noexcept {
  // rand_core's seed_from_u64: a PCG32 stream fills the 16 seed bytes, little-endian.
  u128 state = 0;
  for (unsigned word = 0; word < 4; ++word) {
    seed = seed * 6364136223846793005ULL + 11634580027462260723ULL;
    const auto xorshifted = static_cast<std::uint32_t>(((seed >> 18) ^ seed) >> 27);
    const std::uint32_t value = rotr32(xorshifted, static_cast<unsigned>(seed >> 59));
    state |= static_cast<u128>(value) << (32 * word);
  }
  state_ = state | 1;  // an MCG needs an odd state
}

std::uint64_t Pcg64Mcg::next_u64() noexcept {
  constexpr u128 multiplier = (static_cast<u128>(0x2360ED051FC65DA4ULL) << 64) | 0x4385DF649FCCF645ULL;
  state_ *= multiplier;
  const auto high = static_cast<std::uint64_t>(state_ >> 64);
  const auto low = static_cast<std::uint64_t>(state_);
  return rotr64(high ^ low, static_cast<unsigned>(state_ >> 122));
}

std::size_t get_index(std::uint64_t seed, std::span<const std::uint64_t> weights) {
  std::uint64_t sum = 0;
  for (auto w : weights) sum += w;
  assert(!weights.empty() && sum > 0);
  // Rejection sampling: only draws below sum * scale map uniformly onto the weights.
  const std::uint64_t scale = ~std::uint64_t{0} / sum;
  const std::uint64_t limit = sum * scale;
  Pcg64Mcg rng(seed);
  std::uint64_t draw = rng.next_u64();
  while (draw >= limit) draw = rng.next_u64();
  std::uint64_t prefix = 0;
  for (std::size_t i = 0; i < weights.size(); ++i) {
    prefix += weights[i];
    if (draw < scale * prefix) return i;
  }
  return weights.size() - 1;  // unreachable: draw < limit = scale * sum
}

}  // namespace seed_pcg

namespace {

class RoundRobin final : public ProposerSelector {
 public:
  RoundRobin(std::uint64_t offset, bool height_dependent)
      : offset_(offset), height_dependent_(height_dependent) {}

  std::optional<std::size_t> select(const ValidatorSet& validators, Height height, Round round) override {
    const std::uint64_t n = validators.size();
    if (n == 0 || round < 0) return std::nullopt;
    std::uint64_t position = static_cast<std::uint64_t>(round) % n + offset_ % n;
    if (height_dependent_) position += height % n;
    return static_cast<std::size_t>(position % n);
  }

 private:
  std::uint64_t offset_;
  bool height_dependent_;
};

class SeedPcg final : public ProposerSelector {
 public:
  std::optional<std::size_t> select(const ValidatorSet& validators, Height height, Round round) override {
    if (validators.empty() || round < 0) return std::nullopt;
    weights_.clear();
    for (const auto& v : validators.validators()) weights_.push_back(v.propose_weight);
    return seed_pcg::get_index(height + static_cast<std::uint64_t>(round), weights_);
  }

 private:
  std::vector<std::uint64_t> weights_;  // reused between calls
};

// Smooth weighted round robin. The sequence of picks starting from all-zero priorities
// repeats with period W (the total propose weight), so proposer(h, r) is the pick at
// position (h + r) mod W: a pure function of the set, whatever history a node has. A
// cached "base" state at position h mod W makes consecutive heights O(n) each.
class WeightedRoundRobin final : public ProposerSelector {
 public:
  std::optional<std::size_t> select(const ValidatorSet& validators, Height height, Round round) override {
    if (validators.empty() || round < 0) return std::nullopt;
    const std::uint64_t period = validators.total_propose_weight();
    if (!(validators == set_)) reset(validators);
    const std::uint64_t base = height % period;
    if (base < base_position_) reset(validators);
    while (base_position_ < base) {
      pick(base_priority_);
      ++base_position_;
    }
    scratch_ = base_priority_;
    for (std::uint64_t steps = static_cast<std::uint64_t>(round) % period; steps > 0; --steps) pick(scratch_);
    return pick(scratch_);
  }

 private:
  void reset(const ValidatorSet& validators) {
    set_ = validators;
    base_position_ = 0;
    base_priority_.assign(validators.size(), 0);
  }

  std::size_t pick(std::vector<std::int64_t>& priority) const {
    const auto& validators = set_.validators();
    std::size_t best = 0;
    for (std::size_t i = 0; i < priority.size(); ++i) {
      priority[i] += static_cast<std::int64_t>(validators[i].propose_weight);
      if (priority[i] > priority[best]) best = i;
    }
    priority[best] -= static_cast<std::int64_t>(set_.total_propose_weight());
    return best;
  }

  ValidatorSet set_;
  std::uint64_t base_position_ = 0;
  std::vector<std::int64_t> base_priority_;
  std::vector<std::int64_t> scratch_;
};

}  // namespace

std::unique_ptr<ProposerSelector> make_round_robin_selector(std::uint64_t offset, bool height_dependent) {
  return std::make_unique<RoundRobin>(offset, height_dependent);
}

std::unique_ptr<ProposerSelector> make_seed_pcg_selector() { return std::make_unique<SeedPcg>(); }

std::unique_ptr<ProposerSelector> make_weighted_round_robin_selector() {
  return std::make_unique<WeightedRoundRobin>();
}

}  // namespace bft
