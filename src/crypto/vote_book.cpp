#include "bft/crypto/vote_book.hpp"

#include <algorithm>

namespace bft::crypto {

void VoteBook::add(const codec::SignedVote& signed_vote) {
  const Vote& vote = signed_vote.vote;
  auto& entries = heights_[vote.height][Slot{vote.round, vote.type, vote.voter}];
  auto same_value = [&vote](const Entry& e) { return e.value == vote.value; };
  if (std::find_if(entries.begin(), entries.end(), same_value) != entries.end()) return;
  entries.push_back(Entry{vote.value, signed_vote.signature});
  ++size_;
}

const codec::Signature* VoteBook::find(const Vote& vote) const {
  auto height = heights_.find(vote.height);
  if (height == heights_.end()) return nullptr;
  auto slot = height->second.find(Slot{vote.round, vote.type, vote.voter});
  if (slot == height->second.end()) return nullptr;
  for (const Entry& entry : slot->second) {
    if (entry.value == vote.value) return &entry.signature;
  }
  return nullptr;
}

void VoteBook::forget_below(Height height) {
  const auto end = heights_.lower_bound(height);
  for (auto it = heights_.begin(); it != end; ++it) {
    for (const auto& [slot, entries] : it->second) size_ -= entries.size();
  }
  heights_.erase(heights_.begin(), end);
}

}  // namespace bft::crypto
