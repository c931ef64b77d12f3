// The consensus vocabulary: heights, rounds, votes and proposals. Plain value types.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bft/bytes.hpp"

namespace bft {

using Height = std::uint64_t;
/// Rounds count from 0; nil_round (-1) stands for "no round" (no lock, no valid value).
using Round = std::int64_t;
inline constexpr Round nil_round = -1;

enum class VoteType : std::uint8_t { prevote = 1, precommit = 2 };
enum class TimeoutKind : std::uint8_t { propose = 1, prevote = 2, precommit = 3 };
enum class Step : std::uint8_t { propose = 1, prevote = 2, precommit = 3, commit = 4 };

/// The application's verdict on a proposed value; `unknown` until it arrives (async verify).
enum class Validity : std::uint8_t { unknown = 0, valid = 1, invalid = 2 };

std::string_view to_string(VoteType type) noexcept;
std::string_view to_string(TimeoutKind kind) noexcept;
std::string_view to_string(Step step) noexcept;

struct Vote {
  VoteType type = VoteType::prevote;
  Height height = 0;
  Round round = 0;
  std::optional<Value> value;  // nullopt = nil
  Address voter;

  friend bool operator==(const Vote&, const Vote&) = default;
};

struct Proposal {
  Height height = 0;
  Round round = 0;
  Value value;
  /// The round in which `value` got a quorum of prevotes (the proposer's validRound), or
  /// nil_round. The seed library calls it lock_round.
  Round valid_round = nil_round;
  Address proposer;
  /// Optional proof for valid_round: prevotes for (height, valid_round, value). The seed
  /// library calls them lock_votes. The core counts them as ordinary prevotes.
  std::vector<Vote> lock_votes;

  friend bool operator==(const Proposal&, const Proposal&) = default;
};

std::string to_string(const Vote& vote);
std::string to_string(const Proposal& proposal);

}  // namespace bft
