// Human-readable names of the vocabulary, for logs, errors and test failures.
#include <cstdio>
#include <string>

#include "bft/core.hpp"
#include "bft/result.hpp"
#include "bft/types.hpp"

namespace bft {

std::string_view to_string(Errc code) noexcept {
  switch (code) {
    case Errc::invalid_argument: return "invalid_argument";
    case Errc::empty_validator_set: return "empty_validator_set";
    case Errc::duplicate_validator: return "duplicate_validator";
    case Errc::zero_power: return "zero_power";
    case Errc::no_propose_weight: return "no_propose_weight";
    case Errc::power_overflow: return "power_overflow";
    case Errc::not_started: return "not_started";
    case Errc::stale_height: return "stale_height";
    case Errc::stale_round: return "stale_round";
    case Errc::too_far_ahead: return "too_far_ahead";
    case Errc::buffer_full: return "buffer_full";
    case Errc::unknown_validator: return "unknown_validator";
    case Errc::not_proposer: return "not_proposer";
    case Errc::invalid_round: return "invalid_round";
    case Errc::too_many_future_rounds: return "too_many_future_rounds";
    case Errc::too_many_proposals: return "too_many_proposals";
    case Errc::invalid_certificate: return "invalid_certificate";
    case Errc::invalid_lock_votes: return "invalid_lock_votes";
    case Errc::decided: return "decided";
    case Errc::malformed: return "malformed";
    case Errc::non_canonical: return "non_canonical";
    case Errc::unsupported_version: return "unsupported_version";
    case Errc::too_large: return "too_large";
    case Errc::bad_signature: return "bad_signature";
    case Errc::io_error: return "io_error";
    case Errc::malformed_key: return "malformed_key";
    case Errc::insecure_key_file: return "insecure_key_file";
    case Errc::corrupt_log: return "corrupt_log";
    case Errc::replay_diverged: return "replay_diverged";
    case Errc::already_signed: return "already_signed";
    case Errc::duplicate: return "duplicate";
    case Errc::state_diverged: return "state_diverged";
  }
  return "unknown_error";
}

std::string_view to_string(VoteType type) noexcept {
  return type == VoteType::prevote ? "prevote" : "precommit";
}

std::string_view to_string(TimeoutKind kind) noexcept {
  switch (kind) {
    case TimeoutKind::propose: return "propose";
    case TimeoutKind::prevote: return "prevote";
    case TimeoutKind::precommit: return "precommit";
  }
  return "?";
}

std::string_view to_string(Step step) noexcept {
  switch (step) {
    case Step::propose: return "propose";
    case Step::prevote: return "prevote";
    case Step::precommit: return "precommit";
    case Step::commit: return "commit";
  }
  return "?";
}

std::string printable(std::span<const std::uint8_t> bytes) {
  bool text = true;
  for (auto b : bytes) text = text && b >= 0x20 && b < 0x7f;
  if (text) return std::string(bytes.begin(), bytes.end());
  static constexpr char hex[] = "0123456789abcdef";
  std::string out = "0x";
  for (auto b : bytes) {
    out += hex[b >> 4];
    out += hex[b & 0xf];
  }
  return out;
}

namespace {
std::string value_or_nil(const std::optional<Value>& value) {
  return value ? value->to_string() : std::string("nil");
}
std::string hrd(Height h, Round r) {
  return "h=" + std::to_string(h) + " r=" + std::to_string(r);
}
}  // namespace

std::string to_string(const Vote& vote) {
  return std::string(to_string(vote.type)) + " " + hrd(vote.height, vote.round) +
         " value=" + value_or_nil(vote.value) + " from=" + vote.voter.to_string();
}

std::string to_string(const Proposal& p) {
  return "proposal " + hrd(p.height, p.round) + " value=" + p.value.to_string() +
         " valid_round=" + std::to_string(p.valid_round) + " from=" + p.proposer.to_string();
}

std::string to_string(const Output& output) {
  struct Visitor {
    std::string operator()(const BroadcastProposal& o) const { return "broadcast " + to_string(o.proposal); }
    std::string operator()(const BroadcastVote& o) const { return "broadcast " + to_string(o.vote); }
    std::string operator()(const Decide& o) const {
      return "decide " + hrd(o.height, o.round) + " value=" + o.value.to_string();
    }
    std::string operator()(const GetValue& o) const { return "get_value " + hrd(o.height, o.round); }
    std::string operator()(const ScheduleTimeout& o) const {
      return "schedule timeout " + std::string(to_string(o.kind)) + " " + hrd(o.height, o.round) +
             " in " + std::to_string(o.duration.count()) + "ms";
    }
    std::string operator()(const Evidence& o) const { return "evidence against " + o.offender().to_string(); }
    std::string operator()(const Retransmit& o) const {
      return "retransmit to " + o.to.to_string() + " (" + std::to_string(o.votes.size()) + " votes" +
             (o.proposal ? ", proposal)" : ")");
    }
  };
  return std::visit(Visitor{}, output);
}

const Address& Evidence::offender() const {
  if (const auto* votes = std::get_if<Votes>(&conflict)) return votes->first.voter;
  return std::get<Proposals>(conflict).first.proposer;
}

}  // namespace bft
