// The signed messages that travel between nodes: the core's Vote and Proposal with the
// signatures that make them attributable, and quorum certificates (proofs).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <variant>
#include <vector>

#include "bft/bytes.hpp"
#include "bft/core.hpp"
#include "bft/result.hpp"
#include "bft/types.hpp"

namespace bft::codec {

/// An ed25519 signature (64 bytes), opaque to the codec.
using Signature = std::array<std::uint8_t, 64>;

/// One voter's signature on a vote whose other fields are shared by the whole set.
struct VoteSignature {
  Address voter;
  Signature signature{};

  friend bool operator==(const VoteSignature&, const VoteSignature&) = default;
};

/// Signatures of distinct voters, kept in ascending voter order so that a set has
/// exactly one encoding.
class SignatureSet {
 public:
  SignatureSet() = default;
  /// Sorts by voter. Errors: invalid_certificate (two signatures of one voter).
  static Result<SignatureSet> create(std::vector<VoteSignature> signatures);

  std::span<const VoteSignature> items() const noexcept { return items_; }
  std::size_t size() const noexcept { return items_.size(); }
  bool empty() const noexcept { return items_.empty(); }
  auto begin() const noexcept { return items_.begin(); }
  auto end() const noexcept { return items_.end(); }

  friend bool operator==(const SignatureSet&, const SignatureSet&) = default;

 private:
  explicit SignatureSet(std::vector<VoteSignature> items) : items_(std::move(items)) {}
  std::vector<VoteSignature> items_;
};

struct SignedVote {
  Vote vote;
  Signature signature{};  // by vote.voter over vote_sign_bytes(chain, vote)

  friend bool operator==(const SignedVote&, const SignedVote&) = default;
};

/// A proposal as it travels. Its proof of lock (the core's Proposal::lock_votes) travels
/// as voters' signatures only: every lock vote is a prevote for (height, valid_round,
/// value), so repeating those fields (and a possibly large value) per vote would be waste.
struct SignedProposal {
  Height height = 0;
  Round round = 0;
  Value value;
  Round valid_round = nil_round;
  Address proposer;
  Signature signature{};  // by proposer over proposal_sign_bytes(chain, ...)
  SignatureSet lock_votes;  // empty unless valid_round >= 0

  /// The core's view, lock votes expanded to prevotes for (height, valid_round, value).
  Proposal proposal() const;

  friend bool operator==(const SignedProposal&, const SignedProposal&) = default;
};

/// Votes of one (type, height, round, value) from distinct voters: a commit certificate
/// (precommits) or a polka certificate (prevotes). It carries no voting power: whoever
/// verifies it looks every voter up in its own validator set.
struct QuorumCertificate {
  VoteType type = VoteType::precommit;
  Height height = 0;
  Round round = 0;
  std::optional<Value> value;  // nullopt = nil
  SignatureSet signatures;

  /// The vote `signature` signs.
  Vote vote_of(const VoteSignature& signature) const;
  /// The core's Certificate input: every signature expanded to its vote.
  Certificate certificate() const;

  friend bool operator==(const QuorumCertificate&, const QuorumCertificate&) = default;
};

/// What one node sends another. Its encoding is the node-to-node envelope.
using Message = std::variant<SignedProposal, SignedVote, QuorumCertificate>;

}  // namespace bft::codec
