// A test harness around one Core: four equal validators v0..v3 by default, round-robin
// proposer validators[round mod n] (height-independent), and helpers that build inputs
// and pick outputs apart.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "bft/core.hpp"

namespace bft::test {

inline Address addr(const std::string& name) { return Address::from_text(name); }
inline Value val(const std::string& text) { return Value::from_text(text); }
inline std::optional<Value> opt(const std::string& text) { return val(text); }

inline ValidatorSet make_set(std::vector<std::uint64_t> powers) {
  std::vector<Validator> validators;
  for (std::size_t i = 0; i < powers.size(); ++i)
    validators.push_back({addr("v" + std::to_string(i)), powers[i], powers[i]});
  return ValidatorSet::create(std::move(validators)).value();
}

class Node {
 public:
  explicit Node(std::string self = "v0", std::vector<std::uint64_t> powers = {1, 1, 1, 1}, Config config = {})
      : set_(make_set(std::move(powers))),
        core_(Core::create(addr(self), config, make_round_robin_selector(0, false)).value()) {}

  Core& core() { return core_; }
  const ValidatorSet& set() const { return set_; }

  /// Feeds one input; returns what it produced (also kept in last()).
  const std::vector<Output>& feed(Input input) {
    last_.clear();
    last_result_ = core_.handle(std::move(input), last_);
    return last_;
  }
  const std::vector<Output>& last() const { return last_; }
  const Result<void>& result() const { return last_result_; }
  Errc error() const { return last_result_.error().code; }

  const std::vector<Output>& start(Height h = 1) { return feed(StartHeight{h, set_}); }
  const std::vector<Output>& proposal(const std::string& from, Round r, const std::string& value, Round vr = nil_round,
                                      Validity validity = Validity::valid, Height h = 1) {
    return feed(ReceivedProposal{Proposal{h, r, val(value), vr, addr(from), {}}, validity});
  }
  const std::vector<Output>& prevote(const std::string& from, Round r, std::optional<std::string> value, Height h = 1) {
    return feed(make_vote(VoteType::prevote, from, r, value, h));
  }
  const std::vector<Output>& precommit(const std::string& from, Round r, std::optional<std::string> value, Height h = 1) {
    return feed(make_vote(VoteType::precommit, from, r, value, h));
  }
  const std::vector<Output>& timeout(TimeoutKind kind, Round r, Height h = 1) {
    return feed(TimeoutFired{kind, h, r});
  }

  static Vote make_vote(VoteType type, const std::string& from, Round r, std::optional<std::string> value, Height h = 1) {
    Vote vote{type, h, r, std::nullopt, addr(from)};
    if (value) vote.value = val(*value);
    return vote;
  }

 private:
  ValidatorSet set_;
  Core core_;
  std::vector<Output> last_;
  Result<void> last_result_;
};

template <class T>
std::vector<T> all_of(const std::vector<Output>& outputs) {
  std::vector<T> found;
  for (const auto& o : outputs)
    if (const T* t = std::get_if<T>(&o)) found.push_back(*t);
  return found;
}

template <class T>
std::optional<T> only(const std::vector<Output>& outputs) {
  auto found = all_of<T>(outputs);
  if (found.size() != 1) return std::nullopt;
  return found.front();
}

/// The votes among the outputs, as (type, round, value) triples for compact assertions.
inline std::vector<Vote> votes_of(const std::vector<Output>& outputs) {
  std::vector<Vote> votes;
  for (const auto& b : all_of<BroadcastVote>(outputs)) votes.push_back(b.vote);
  return votes;
}

inline bool has_timeout(const std::vector<Output>& outputs, TimeoutKind kind, Round r) {
  for (const auto& t : all_of<ScheduleTimeout>(outputs))
    if (t.kind == kind && t.round == r) return true;
  return false;
}

}  // namespace bft::test
