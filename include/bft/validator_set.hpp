// The validators of one height: addresses, vote power and (separate) propose weight.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "bft/bytes.hpp"
#include "bft/result.hpp"

namespace bft {

struct Validator {
  Address address;
  std::uint64_t power = 0;           // vote weight, > 0
  std::uint64_t propose_weight = 0;  // proposer-selection weight, may be 0 (never proposes)

  friend bool operator==(const Validator&, const Validator&) = default;
};

/// An immutable, validated validator set. Copies share one representation, so passing a
/// set of thousands of validators to every height costs a reference count.
class ValidatorSet {
 public:
  /// Both the total vote power and the total propose weight are capped so that the
  /// integer threshold tests (power * 3 > total * 2) can never overflow 64 bits.
  static constexpr std::uint64_t max_total_power = std::uint64_t{1} << 60;
  /// Far above any real deployment; keeps indices within 32 bits.
  static constexpr std::size_t max_validators = std::size_t{1} << 24;

  /// An empty set; the core rejects it where a real one is needed.
  ValidatorSet() = default;

  /// Errors: empty_validator_set, duplicate_validator, zero_power, no_propose_weight,
  /// power_overflow, invalid_argument (more than max_validators).
  static Result<ValidatorSet> create(std::vector<Validator> validators);

  std::size_t size() const noexcept;
  bool empty() const noexcept { return size() == 0; }
  const Validator& operator[](std::size_t index) const;
  std::span<const Validator> validators() const noexcept;
  std::optional<std::size_t> index_of(const Address& address) const;
  /// Inline: the quorum tests below ask for it after every vote.
  std::uint64_t total_power() const noexcept { return total_power_; }
  std::uint64_t total_propose_weight() const noexcept;

  /// More than two thirds of the total vote power.
  bool is_quorum(std::uint64_t power) const noexcept { return power * 3 > total_power() * 2; }
  /// More than one third: at least one correct validator is among the senders.
  bool is_honest(std::uint64_t power) const noexcept { return power * 3 > total_power(); }

  friend bool operator==(const ValidatorSet& a, const ValidatorSet& b);

 private:
  struct Data;
  ValidatorSet(std::shared_ptr<const Data> data, std::uint64_t total_power)
      : data_(std::move(data)), total_power_(total_power) {}
  std::shared_ptr<const Data> data_;
  std::uint64_t total_power_ = 0;
};

}  // namespace bft
