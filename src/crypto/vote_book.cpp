#include "bft/crypto/vote_book.hpp"

#include <algorithm>

#include "bft/address_map.hpp"

namespace bft::crypto {

namespace {

// splitmix64's finalizer: spreads the bits of one word over all of them.
std::uint64_t mix(std::uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

// The value is left out: a voter has one value per slot unless it equivocates, and the
// equality in index_of() tells those apart.
std::uint64_t VoteBook::hash_of(const Vote& vote) {
  std::uint64_t h = mix(static_cast<std::uint64_t>(vote.height) * 4 + static_cast<std::uint64_t>(vote.type));
  h = mix(h ^ static_cast<std::uint64_t>(vote.round));
  return mix(h ^ hash_address(vote.voter.bytes()));
}

std::size_t VoteBook::index_of(const Vote& vote, std::uint64_t hash) const {
  const std::size_t at = index_.find(hash, 0, [&](std::uint64_t i) { return votes_[i].vote == vote; });
  return at == SequenceTable::npos ? SequenceTable::npos : index_.sequence_at(at, 0);
}

void VoteBook::add(const codec::SignedVote& signed_vote) {
  const std::uint64_t hash = hash_of(signed_vote.vote);
  if (index_of(signed_vote.vote, hash) != SequenceTable::npos) return;
  votes_.push_back(signed_vote);
  index_.insert(hash, votes_.size() - 1, votes_.size());
}

const codec::Signature* VoteBook::find(const Vote& vote) const {
  const std::size_t i = index_of(vote, hash_of(vote));
  return i == SequenceTable::npos ? nullptr : &votes_[i].signature;
}

void VoteBook::forget_below(Height height) {
  const auto forgotten = [height](const codec::SignedVote& v) { return v.vote.height < height; };
  if (std::none_of(votes_.begin(), votes_.end(), forgotten)) return;
  votes_.erase(std::remove_if(votes_.begin(), votes_.end(), forgotten), votes_.end());
  index_.clear();
  for (std::size_t i = 0; i < votes_.size(); ++i) index_.insert(hash_of(votes_[i].vote), i, i + 1);
}

}  // namespace bft::crypto
