// The seed library's message vocabulary (bft-core 0.1, Rust): what a runtime handle takes
// (CoreInput) and gives (CoreOutput). Same type and field names as the seed, so code
// ported from it reads the same; the types are plain values.
//
// Differences from the seed, all deliberate:
// - rounds are bft::Round (signed; the core rejects negative ones) and weights are 64-bit;
// - a nil vote is `proposal == std::nullopt`, not an empty byte vector, so the empty
//   value stays a value like any other;
// - Status::interval is a bft::Duration (milliseconds), GetProposalRequest also names
//   the round it is asked for.
#pragma once

#include <cstdint>
#include <optional>
#include <variant>
#include <vector>

#include "bft/bytes.hpp"
#include "bft/config.hpp"
#include "bft/types.hpp"

namespace bft::runtime {

struct Vote {
  VoteType vote_type = VoteType::prevote;
  Height height = 0;
  Round round = 0;
  std::optional<Value> proposal;  // nullopt = nil
  Address voter;

  friend bool operator==(const Vote&, const Vote&) = default;
};

struct Proposal {
  Height height = 0;
  Round round = 0;
  Value content;
  /// The round in which `content` got a quorum of prevotes, if any (the core's valid_round).
  std::optional<Round> lock_round;
  /// Those prevotes, as proof of lock_round.
  std::vector<Vote> lock_votes;
  Address proposer;

  friend bool operator==(const Proposal&, const Proposal&) = default;
};

/// As output: this node decided `proposal` at (height, round); `lock_votes` are the
/// precommits that decided it and `address` is this node. As input: a commit learnt
/// elsewhere (e.g. from sync), see Bft::send_bft_msg.
struct Commit {
  Height height = 0;
  Round round = 0;
  Value proposal;
  std::vector<Vote> lock_votes;
  Address address;

  friend bool operator==(const Commit&, const Commit&) = default;
};

/// The application's value for `height` (answers GetProposalRequest).
struct Feed {
  Height height = 0;
  Value proposal;

  friend bool operator==(const Feed&, const Feed&) = default;
};

/// One validator of a Status: vote weight and propose weight are separate.
struct Node {
  Address address;
  std::uint64_t propose_weight = 0;
  std::uint64_t vote_weight = 0;

  friend bool operator==(const Node&, const Node&) = default;
};

/// `height` is committed: run height + 1 with these authorities and, if given, this
/// per-height interval (from which every timeout derives, see Config::from_interval).
struct Status {
  Height height = 0;
  std::optional<Duration> interval;
  std::vector<Node> authority_list;

  friend bool operator==(const Status&, const Status&) = default;
};

/// The application's asynchronous verdict on a proposed value of the current height.
struct VerifyResp {
  bool is_pass = false;
  Value proposal;

  friend bool operator==(const VerifyResp&, const VerifyResp&) = default;
};

/// Run the state machine (it starts paused).
struct Start {
  friend bool operator==(const Start&, const Start&) = default;
};

/// Stop processing until the next Start; what arrives meanwhile waits, in order.
struct Pause {
  friend bool operator==(const Pause&, const Pause&) = default;
};

/// This node proposes at (height, round) and has no value yet: answer with a Feed.
struct GetProposalRequest {
  Height height = 0;
  Round round = 0;

  friend bool operator==(const GetProposalRequest&, const GetProposalRequest&) = default;
};

using CoreInput = std::variant<Start, Pause, Status, Feed, Proposal, Vote, Commit, VerifyResp>;
using CoreOutput = std::variant<Proposal, Vote, Commit, GetProposalRequest>;

/// Not in the seed: messages for one lagging peer only (the commit of a height it has not
/// decided, or this node's votes of a round it has not reached). Deliver them to `to` as
/// ordinary inputs.
struct Retransmit {
  Address to;
  std::optional<Proposal> proposal;
  std::vector<Vote> votes;

  friend bool operator==(const Retransmit&, const Retransmit&) = default;
};

}  // namespace bft::runtime
