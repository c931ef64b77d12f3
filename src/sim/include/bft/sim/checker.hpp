// The safety checkers, run on every message a node signs and every decision it makes:
// agreement, validity, no double signing by correct nodes, and no evidence against them.
// Only correct nodes are held to the protocol; Byzantine nodes are what is checked against.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "bft/sim/application.hpp"
#include "bft/sim/event_queue.hpp"
#include "bft/types.hpp"

namespace bft::sim {

/// `stopped`: a correct replica stopped (or could not open its disks) although no fault
/// was injected into it.
enum class ViolationKind : std::uint8_t { agreement, validity, double_sign, false_evidence, liveness, stopped };

std::string_view to_string(ViolationKind kind) noexcept;

struct Violation {
  ViolationKind kind = ViolationKind::agreement;
  Time at = 0;
  std::string detail;
};

class SafetyChecker {
 public:
  /// correct[i]: whether node i follows the protocol. `valid`: the values a correct
  /// node's application accepts.
  explicit SafetyChecker(std::vector<bool> correct, std::function<bool(const Value&)> valid = is_valid_value);

  /// Any node (Byzantine included) put this proposal on the wire: its value counts as
  /// proposed at its height.
  void on_proposal_sent(const Proposal& proposal);
  /// A node signed this proposal / vote (checked for correct nodes only).
  void on_signed_proposal(std::uint32_t node, const Proposal& proposal, Time at);
  void on_signed_vote(std::uint32_t node, const Vote& vote, Time at);
  /// A node decided `value` at `height`: agreement with every earlier decision of a
  /// correct node at that height, and validity (judged once per height and value).
  void on_decide(std::uint32_t node, Height height, Round round, const Value& value, Time at);
  /// Whether a correct node decided `value` at `height` already (what is judged of a
  /// decision need not be judged again for the same value).
  bool decided(Height height, const Value& value) const;
  /// `observer`'s core reported `offender` for equivocation.
  void on_evidence(std::uint32_t observer, std::uint32_t offender, Time at);
  /// A correct node committed a block the clients' transactions cannot explain (one no
  /// client sent, or one committed before): a validity violation.
  void on_invalid_commit(std::uint32_t node, std::string detail, Time at);
  void on_liveness_failure(std::string detail, Time at);
  void on_stop(std::string detail, Time at);

  /// Drops what only matters for heights below `height` (every correct node has decided
  /// them; their records can no longer change a verdict).
  void forget_below(Height height);

  const std::vector<Violation>& violations() const noexcept { return violations_; }
  std::uint64_t count(ViolationKind kind) const noexcept { return counts_[static_cast<std::size_t>(kind)]; }
  bool safe() const noexcept;
  /// Evidence reports by correct nodes against each node.
  const std::vector<std::uint64_t>& evidence_against() const noexcept { return evidence_against_; }
  /// The round in which each height was first decided by a correct node.
  const std::map<Height, Round>& decision_rounds() const noexcept { return decision_rounds_; }

 private:
  struct FirstDecision {
    std::uint32_t node;
    Value value;
  };
  using VoteSlot = std::tuple<Height, Round, VoteType>;

  void report(ViolationKind kind, Time at, std::string detail);

  std::vector<bool> correct_;
  std::function<bool(const Value&)> valid_;
  std::unordered_map<Height, FirstDecision> decided_;
  std::unordered_map<Height, std::vector<Value>> proposed_;
  std::vector<std::map<VoteSlot, std::optional<Value>>> votes_;  // per correct node
  std::vector<std::map<std::pair<Height, Round>, Proposal>> proposals_;
  std::vector<std::uint64_t> evidence_against_;
  std::map<Height, Round> decision_rounds_;
  std::vector<Violation> violations_;
  std::uint64_t counts_[6] = {};
};

}  // namespace bft::sim
