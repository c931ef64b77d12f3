// Weighted vote tallies of one height: per round, per vote type, per value (nil included).
// Validators are referred to by their index in the height's ValidatorSet.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "bft/types.hpp"

namespace bft::detail {

/// A fixed-size set of validator indices.
class SenderSet {
 public:
  explicit SenderSet(std::size_t n = 0) : words_((n + 63) / 64, 0) {}
  /// True if `index` was not in the set yet.
  bool insert(std::size_t index) {
    auto& word = words_[index >> 6];
    const std::uint64_t bit = std::uint64_t{1} << (index & 63);
    const bool added = (word & bit) == 0;
    word |= bit;
    return added;
  }
  bool contains(std::size_t index) const { return (words_[index >> 6] >> (index & 63)) & 1; }
  std::size_t count() const {
    std::size_t members = 0;
    for (std::uint64_t word : words_) members += static_cast<std::size_t>(__builtin_popcountll(word));
    return members;
  }
  template <class F>
  void for_each(F&& f) const {
    for (std::size_t w = 0; w < words_.size(); ++w)
      for (std::uint64_t bits = words_[w]; bits != 0; bits &= bits - 1)
        f(w * 64 + static_cast<std::size_t>(__builtin_ctzll(bits)));
  }

 private:
  std::vector<std::uint64_t> words_;
};

struct ValueTally {
  std::optional<Value> value;  // nullopt = nil
  std::uint64_t power = 0;
  SenderSet senders;
};

enum class VoteOutcome {
  counted,      // the vote added power to its value
  duplicate,    // nothing new: the same vote again
  conflicting,  // a different vote from a sender already counted: evidence, not counted
};

/// The votes of one (round, type). A sender's first vote counts; a later different one
/// is equivocation. Votes from certificates count for their value regardless.
class VoteTally {
 public:
  explicit VoteTally(std::size_t validators);

  VoteOutcome add(std::size_t sender, std::uint64_t power, const std::optional<Value>& value);
  /// Counted or duplicate, never conflicting: a certified vote is proof on its own (the
  /// caller reports the conflict with an earlier vote as evidence).
  VoteOutcome add_certified(std::size_t sender, std::uint64_t power, const std::optional<Value>& value);

  /// The value `sender`'s first vote was for; only valid if the sender has voted.
  const std::optional<Value>& first_vote_of(std::size_t sender) const;
  bool has_voted(std::size_t sender) const { return first_slot_[sender] != no_slot; }
  /// True the first time equivocation of `sender` is reported in this tally.
  bool mark_reported(std::size_t sender);

  std::uint64_t power_for(const std::optional<Value>& value) const;
  /// For a (non-nil) value, without copying it into an optional: the rules ask this
  /// after every input, so it must not allocate.
  std::uint64_t power_for(const Value& value) const;
  /// Power of distinct senders, whatever they voted for.
  std::uint64_t any_power() const { return any_power_; }
  const ValueTally* find(const std::optional<Value>& value) const;
  const ValueTally* find(const Value& value) const;

 private:
  static constexpr std::uint32_t no_slot = ~std::uint32_t{0};
  std::uint32_t slot_for(const std::optional<Value>& value);

  std::size_t validators_;
  std::vector<std::uint32_t> first_slot_;  // per sender: the slot of its first vote
  std::vector<ValueTally> slots_;          // few values per round in practice: linear search
  SenderSet any_senders_;
  std::uint64_t any_power_ = 0;
  std::optional<SenderSet> reported_;  // allocated on the first equivocation only
};

/// Everything the core tracks about one round of the current height.
struct RoundVotes {
  explicit RoundVotes(std::size_t validators)
      : prevotes(validators), precommits(validators), senders(validators) {}

  VoteTally& of(VoteType type) { return type == VoteType::prevote ? prevotes : precommits; }
  const VoteTally& of(VoteType type) const { return type == VoteType::prevote ? prevotes : precommits; }

  VoteTally prevotes;
  VoteTally precommits;
  SenderSet senders;  // distinct senders of either type: the f+1 round skip
  std::uint64_t sender_power = 0;
};

}  // namespace bft::detail
