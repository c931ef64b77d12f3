// Timeouts and resource bounds of the core. Durations only: the core has no clock.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

#include "bft/result.hpp"
#include "bft/types.hpp"

namespace bft {

using Duration = std::chrono::milliseconds;

struct TimeoutRule {
  Duration base{0};
  Duration per_round{0};  // added once per round, so waits grow until the network stabilises
};

struct Config {
  TimeoutRule propose{Duration{3000}, Duration{500}};
  TimeoutRule prevote{Duration{1000}, Duration{500}};
  TimeoutRule precommit{Duration{1000}, Duration{500}};

  /// Rounds above this are rejected as invalid input (bounds timeouts and memory).
  Round max_round = 1'000'000;
  /// How many distinct rounds above the current one each sender may hold votes in.
  std::size_t max_future_rounds_per_sender = 8;
  /// Distinct proposals kept per round from an equivocating proposer.
  std::size_t max_proposals_per_round = 4;
  /// Messages for heights in (height, height + future_heights] are buffered and replayed
  /// when their height starts; anything further ahead is rejected.
  Height future_heights = 2;
  /// Buffered future-height messages per sender.
  std::size_t max_buffered_per_sender = 64;
  /// Validity verdicts kept for proposals that have not arrived yet.
  std::size_t max_pending_verdicts = 64;
  /// Emit Retransmit (laggard help). Off where nothing routes it, or where the network
  /// layer catches peers up itself: at n validators each decision can answer up to n - 1
  /// late precommits with a copy of the commit.
  bool laggard_help = true;

  /// The seed library's derivation from a per-height interval: propose waits 24/30 of
  /// it, prevote and precommit 1/30 each; every further round adds half of each base.
  static Config from_interval(Duration interval);

  Duration timeout(TimeoutKind kind, Round round) const noexcept;

  /// Errors: invalid_argument (negative durations, zero bounds, max_round < 1).
  Result<void> validate() const;
};

}  // namespace bft
