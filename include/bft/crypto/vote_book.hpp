// The signatures of votes this node has verified, so that the unsigned votes the core
// reports (Decide::commit, Proposal::lock_votes) can travel again as proofs.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <tuple>
#include <vector>

#include "bft/codec/messages.hpp"
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
  std::size_t size() const noexcept { return size_; }

 private:
  using Slot = std::tuple<Round, VoteType, Address>;
  struct Entry {
    std::optional<Value> value;
    codec::Signature signature;
  };
  using Slots = std::map<Slot, std::vector<Entry>>;  // several entries only if the voter equivocated
  std::map<Height, Slots> heights_;
  std::size_t size_ = 0;
};

}  // namespace bft::crypto
