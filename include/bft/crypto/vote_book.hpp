// The signatures of votes this node has verified, so that the unsigned votes the core
// reports (Decide::commit, Proposal::lock_votes) can travel again as proofs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "bft/codec/messages.hpp"
#include "bft/sequence_table.hpp"
#include "bft/types.hpp"

namespace bft::crypto {

class VoteBook {
 public:
  /// Remembers a vote whose signature the caller has verified. Add only votes the core
  /// accepted: the core bounds how many a voter can get counted, and so bounds this book.
  void add(const codec::SignedVote& vote);
  /// The signature of exactly this vote, or nullptr.
  const codec::Signature* find(const Vote& vote) const;
  /// Drops the votes of heights below `height`, once they are decided and proven.
  void forget_below(Height height);
  std::size_t size() const noexcept { return votes_.size(); }

 private:
  // Every node looks a vote up here for each copy it hears (gossip repeats), so votes sit
  // in one vector found through a flat table, not in nodes of a tree keyed by address.
  std::size_t index_of(const Vote& vote, std::uint64_t hash) const;
  static std::uint64_t hash_of(const Vote& vote);

  std::vector<codec::SignedVote> votes_;  // an equivocating voter has one per value
  SequenceTable index_;                   // position in votes_, by hash_of()
};

}  // namespace bft::crypto
