// Proposer selection: who proposes in (height, round). Every correct node must compute
// the same answer from the same validator set, so selectors are pure functions of
// (validators, height, round); they may cache internally.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>

#include "bft/types.hpp"
#include "bft/validator_set.hpp"

namespace bft {

class ProposerSelector {
 public:
  virtual ~ProposerSelector() = default;
  /// Index in `validators` of proposer(height, round), or nullopt when this rule names
  /// nobody for that round (then every node waits for the propose timeout).
  virtual std::optional<std::size_t> select(const ValidatorSet& validators, Height height,
                                            Round round) = 0;
};

/// validators[(round + offset) mod n], or validators[(height + round + offset) mod n]
/// when height_dependent.
std::unique_ptr<ProposerSelector> make_round_robin_selector(std::uint64_t offset = 0,
                                                            bool height_dependent = true);

/// The seed library's weighted random choice, bit-exact: seeded with height + round,
/// weighted by propose weight.
std::unique_ptr<ProposerSelector> make_seed_pcg_selector();

/// CometBFT-style priority rotation by propose weight (smooth weighted round robin):
/// over any window of W consecutive (height + round) positions, where W is the total
/// propose weight, validator i proposes exactly propose_weight(i) times.
std::unique_ptr<ProposerSelector> make_weighted_round_robin_selector();

namespace seed_pcg {

/// rand_pcg's Pcg64Mcg seeded with rand_core's seed_from_u64.
class Pcg64Mcg {
 public:
  explicit Pcg64Mcg(std::uint64_t seed) noexcept;
  std::uint64_t next_u64() noexcept;

 private:
  __extension__ using u128 = unsigned __int128;
  u128 state_;
};

/// The seed library's get_index: a weighted random index. Requires a non-empty weight
/// list whose sum is in (0, 2^64).
std::size_t get_index(std::uint64_t seed, std::span<const std::uint64_t> weights);

}  // namespace seed_pcg

}  // namespace bft
