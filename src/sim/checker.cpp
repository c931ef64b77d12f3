#include "bft/sim/checker.hpp"

#include <algorithm>

#include "bft/sim/application.hpp"

namespace bft::sim {

namespace {

std::string value_text(const std::optional<Value>& value) { return value ? value->to_string() : "nil"; }

std::string node_name(std::uint32_t node) { return "v" + std::to_string(node); }

}  // namespace

std::string_view to_string(ViolationKind kind) noexcept {
  switch (kind) {
    case ViolationKind::agreement: return "agreement";
    case ViolationKind::validity: return "validity";
    case ViolationKind::double_sign: return "double-sign";
    case ViolationKind::false_evidence: return "false-evidence";
    case ViolationKind::liveness: return "liveness";
    case ViolationKind::stopped: return "stopped";
  }
  return "?";
}

SafetyChecker::SafetyChecker(std::vector<bool> correct, std::function<bool(const Value&)> valid)
    : correct_(std::move(correct)),
      valid_(std::move(valid)),
      votes_(correct_.size()),
      proposals_(correct_.size()),
      evidence_against_(correct_.size(), 0) {}

void SafetyChecker::report(ViolationKind kind, Time at, std::string detail) {
  ++counts_[static_cast<std::size_t>(kind)];
  violations_.push_back(Violation{kind, at, std::move(detail)});
}

bool SafetyChecker::safe() const noexcept {
  return count(ViolationKind::agreement) == 0 && count(ViolationKind::validity) == 0 &&
         count(ViolationKind::double_sign) == 0 && count(ViolationKind::false_evidence) == 0 &&
         count(ViolationKind::stopped) == 0;
}

void SafetyChecker::on_proposal_sent(const Proposal& proposal) {
  auto& values = proposed_[proposal.height];
  if (std::find(values.begin(), values.end(), proposal.value) == values.end()) values.push_back(proposal.value);
}

void SafetyChecker::on_signed_proposal(std::uint32_t node, const Proposal& proposal, Time at) {
  if (!correct_[node]) return;
  auto [it, fresh] = proposals_[node].try_emplace({proposal.height, proposal.round}, proposal);
  if (!fresh && !(it->second.value == proposal.value && it->second.valid_round == proposal.valid_round))
    report(ViolationKind::double_sign, at,
           "correct " + node_name(node) + " signed two proposals: " + to_string(it->second) + " and " +
               to_string(proposal));
}

void SafetyChecker::on_signed_vote(std::uint32_t node, const Vote& vote, Time at) {
  if (!correct_[node]) return;
  auto [it, fresh] = votes_[node].try_emplace(VoteSlot{vote.height, vote.round, vote.type}, vote.value);
  if (!fresh && it->second != vote.value)
    report(ViolationKind::double_sign, at,
           "correct " + node_name(node) + " signed two " + std::string(to_string(vote.type)) + "s at h=" +
               std::to_string(vote.height) + " r=" + std::to_string(vote.round) + ": " + value_text(it->second) +
               " and " + value_text(vote.value));
}

bool SafetyChecker::decided(Height height, const Value& value) const {
  const auto first = decided_.find(height);
  return first != decided_.end() && first->second.value == value;
}

void SafetyChecker::on_decide(std::uint32_t node, Height height, Round round, const Value& value, Time at) {
  if (!correct_[node]) return;
  auto [first, fresh] = decided_.try_emplace(height, FirstDecision{node, value});
  const bool judged = !fresh && first->second.value == value;
  if (fresh) {
    decision_rounds_.emplace(height, round);
  } else if (!judged) {
    report(ViolationKind::agreement, at,
           "h=" + std::to_string(height) + ": " + node_name(first->second.node) + " decided " +
               first->second.value.to_string() + " but " + node_name(node) + " decided " + value.to_string());
  }
  const auto proposed = proposed_.find(height);
  const bool was_proposed = proposed != proposed_.end() &&
                            std::find(proposed->second.begin(), proposed->second.end(), value) != proposed->second.end();
  if (!was_proposed)
    report(ViolationKind::validity, at,
           node_name(node) + " decided " + value.to_string() + " at h=" + std::to_string(height) +
               ", which nobody proposed");
  else if (!judged && !valid_(value))
    report(ViolationKind::validity, at,
           node_name(node) + " decided the invalid value " + value.to_string() + " at h=" + std::to_string(height));
}

void SafetyChecker::on_evidence(std::uint32_t observer, std::uint32_t offender, Time at) {
  if (!correct_[observer]) return;
  ++evidence_against_[offender];
  if (correct_[offender])
    report(ViolationKind::false_evidence, at,
           node_name(observer) + " reported evidence against correct " + node_name(offender));
}

void SafetyChecker::on_invalid_commit(std::uint32_t node, std::string detail, Time at) {
  if (correct_[node]) report(ViolationKind::validity, at, node_name(node) + " " + detail);
}

void SafetyChecker::on_liveness_failure(std::string detail, Time at) {
  report(ViolationKind::liveness, at, std::move(detail));
}

void SafetyChecker::on_stop(std::string detail, Time at) { report(ViolationKind::stopped, at, std::move(detail)); }

void SafetyChecker::forget_below(Height height) {
  std::erase_if(decided_, [&](const auto& entry) { return entry.first < height; });
  std::erase_if(proposed_, [&](const auto& entry) { return entry.first < height; });
  for (auto& slots : votes_) slots.erase(slots.begin(), slots.lower_bound(VoteSlot{height, 0, VoteType::prevote}));
  for (auto& slots : proposals_) slots.erase(slots.begin(), slots.lower_bound({height, 0}));
}

}  // namespace bft::sim
