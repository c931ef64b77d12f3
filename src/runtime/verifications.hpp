// The application's asynchronous verdicts (VerifyResp) and the proposals waiting for
// one. A verdict judges a value at a height, whatever the round, so a value proposed
// again in a later round is not verified twice. Both lists are bounded, oldest out.
#pragma once

#include <algorithm>
#include <cstddef>
#include <deque>
#include <optional>
#include <vector>

#include "bft/bytes.hpp"
#include "bft/types.hpp"

namespace bft::runtime::detail {

class Verifications {
 public:
  explicit Verifications(std::size_t capacity) : capacity_(capacity) {}

  std::optional<Validity> verdict(Height height, const Value& value) const {
    for (const Verdict& v : verdicts_)
      if (v.height == height && v.value == value) return v.validity;
    return std::nullopt;
  }

  void record(Height height, const Value& value, bool valid) {
    const Validity validity = valid ? Validity::valid : Validity::invalid;
    for (Verdict& v : verdicts_) {
      if (v.height == height && v.value == value) {
        v.validity = validity;
        return;
      }
    }
    if (verdicts_.size() >= capacity_) verdicts_.pop_front();
    verdicts_.push_back(Verdict{height, value, validity});
  }

  /// A proposal the core holds with unknown validity.
  void await(Height height, Round round, Value value) {
    if (waiting_.size() >= capacity_) waiting_.pop_front();
    waiting_.push_back(Waiting{height, round, std::move(value)});
  }

  /// Removes and returns the rounds of `height` whose proposal of `value` awaits a verdict.
  std::vector<Round> take_waiting(Height height, const Value& value) {
    std::vector<Round> rounds;
    std::erase_if(waiting_, [&](const Waiting& w) {
      if (w.height != height || w.value != value) return false;
      rounds.push_back(w.round);
      return true;
    });
    return rounds;
  }

  void forget_below(Height height) {
    std::erase_if(verdicts_, [&](const Verdict& v) { return v.height < height; });
    std::erase_if(waiting_, [&](const Waiting& w) { return w.height < height; });
  }

 private:
  struct Verdict {
    Height height;
    Value value;
    Validity validity;
  };
  struct Waiting {
    Height height;
    Round round;
    Value value;
  };

  std::size_t capacity_;
  std::deque<Verdict> verdicts_;
  std::deque<Waiting> waiting_;
};

}  // namespace bft::runtime::detail
