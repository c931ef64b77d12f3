// The consensus core: a pure, deterministic state machine for one node.
//
//   core.handle(input, outputs)
//
// No IO, no threads, no clock: time enters only as TimeoutFired inputs and leaves only as
// ScheduleTimeout outputs. The core never counts a message at the moment it emits it;
// the caller feeds every own proposal and vote back in as an input, like anyone else's.
#pragma once

#include <memory>
#include <optional>
#include <variant>
#include <vector>

#include "bft/config.hpp"
#include "bft/proposer.hpp"
#include "bft/result.hpp"
#include "bft/types.hpp"
#include "bft/validator_set.hpp"

namespace bft {

// ---- inputs ---------------------------------------------------------------------------

/// Start `height` at round 0 with these validators, and with a new config if one is given
/// (the seed's Status may carry a new interval). Heights only move forward.
struct StartHeight {
  Height height = 0;
  ValidatorSet validators;
  std::optional<Config> config = std::nullopt;
};

/// The application's value to propose (the seed's Feed). Without a round it serves every
/// round of the height in which this node proposes and has no valid value to re-propose.
struct ProposeValue {
  Height height = 0;
  std::optional<Round> round;
  Value value;
};

/// A proposal heard from the network (or this node's own, fed back), with what the
/// application knows of its validity. `unknown` defers prevote and precommit until a
/// VerifyResult arrives (or the round times out, see README "Asynchronous validity").
struct ReceivedProposal {
  Proposal proposal;
  Validity validity = Validity::valid;
};

/// Votes delivered together as proof, all of one height and round, one per voter and
/// type, from validators holding more than a third of the power: a polka or commit
/// certificate (a quorum for one value), a precommit-any certificate, or a skip
/// certificate. Each counts for its value even if its voter was already counted for
/// another one (the conflict is reported as evidence).
struct Certificate {
  std::vector<Vote> votes;
};

struct TimeoutFired {
  TimeoutKind kind = TimeoutKind::propose;
  Height height = 0;
  Round round = 0;
};

/// The application's asynchronous verdict on a proposed value (the seed's VerifyResp).
struct VerifyResult {
  Height height = 0;
  Round round = 0;
  Value value;
  bool valid = false;
};

using Input = std::variant<StartHeight, ProposeValue, ReceivedProposal, Vote, Certificate,
                           TimeoutFired, VerifyResult>;

// ---- outputs --------------------------------------------------------------------------

struct BroadcastProposal {
  Proposal proposal;
};

struct BroadcastVote {
  Vote vote;
};

/// The height is decided (the seed's Commit). `commit` holds the precommits that decided
/// it: a quorum for (height, round, value).
struct Decide {
  Height height = 0;
  Round round = 0;
  Value value;
  std::vector<Vote> commit;
};

/// This node proposes in (height, round) and needs a value (the seed's
/// GetProposalRequest). Answer with ProposeValue.
struct GetValue {
  Height height = 0;
  Round round = 0;
};

struct ScheduleTimeout {
  TimeoutKind kind = TimeoutKind::propose;
  Height height = 0;
  Round round = 0;
  Duration duration{0};
};

/// Proof that a validator signed two conflicting messages for the same slot.
struct Evidence {
  struct Votes {
    Vote first;
    Vote second;
  };
  struct Proposals {
    Proposal first;
    Proposal second;
  };
  std::variant<Votes, Proposals> conflict;

  const Address& offender() const;
};

/// Messages that let a lagging peer catch up: the commit of the height this node decided
/// last, to a peer still heard at that height, or this node's votes of a round the peer
/// has not reached. At most once per peer and height or round. Advisory: a late vote
/// often comes from a peer that decided at the same moment, so a network layer that
/// knows a peer's height drops help the peer no longer needs (at n validators, sending
/// them all costs n commits per height). A peer more than one height behind needs the
/// application's block sync: the core keeps only its last decision.
struct Retransmit {
  Address to;
  std::optional<Proposal> proposal;
  std::vector<Vote> votes;
};

using Output = std::variant<BroadcastProposal, BroadcastVote, Decide, GetValue, ScheduleTimeout,
                            Evidence, Retransmit>;

// ---- the core -------------------------------------------------------------------------

class Core {
 public:
  /// `self` may be absent from a height's validators: the node then follows and decides
  /// but never proposes or votes. Errors: invalid_argument (bad config, no selector).
  static Result<Core> create(Address self, Config config,
                             std::unique_ptr<ProposerSelector> proposer);

  Core(Core&&) noexcept;
  Core& operator=(Core&&) noexcept;
  ~Core();

  /// Applies one input and appends what it causes to `outputs`. An error means the input
  /// was rejected and changed nothing (but for laggard help, which a stale message may
  /// still trigger as a Retransmit output).
  Result<void> handle(Input input, std::vector<Output>& outputs);
  /// The same for a vote, read where it lies instead of copied into an Input: every node
  /// hears every validator's votes, so this is the path a cluster's traffic takes.
  Result<void> handle(const Vote& vote, std::vector<Output>& outputs);

  bool started() const noexcept;
  Height height() const noexcept;
  Round round() const noexcept;
  Step step() const noexcept;
  bool decided() const noexcept;
  const std::optional<Value>& locked_value() const noexcept;
  Round locked_round() const noexcept;
  const std::optional<Value>& valid_value() const noexcept;
  Round valid_round() const noexcept;
  const ValidatorSet& validators() const noexcept;
  const Config& config() const noexcept;
  const Address& self() const noexcept;
  /// Rounds of the current height the core holds state for (memory grows with it).
  std::size_t tracked_rounds() const noexcept;
  /// proposer(height(), round), if the selector names one.
  std::optional<Address> proposer(Round round) const;

 private:
  class Impl;
  explicit Core(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

std::string to_string(const Output& output);

}  // namespace bft
