#include "bft/node/tx_index.hpp"

#include <algorithm>
#include <bit>

namespace bft::node {

struct TxIndex::Wait {
  std::vector<TxId> ids;
  WaitDone done;
  std::size_t pending = 0;
  bool finished = false;
};

namespace {

// A slot: 0 when empty; else bit 63 set, the id's hash (its low 31 bits) in bits 32 to 62,
// and the entry's sequence number (its low 32 bits) below. A probe compares hashes in the
// table and reads an entry only when they match, and moving slots needs no entry at all.
constexpr std::uint64_t occupied = std::uint64_t{1} << 63;
constexpr std::uint64_t hash_bits = 0x7fff'ffff;

std::uint64_t slot_of(std::uint64_t hash, std::uint64_t sequence) {
  return occupied | (hash & hash_bits) << 32 | (sequence & 0xffff'ffff);
}
std::size_t hash_of(std::uint64_t slot) { return static_cast<std::size_t>(slot >> 32 & hash_bits); }

}  // namespace

TxIndex::TxIndex(std::size_t capacity, std::size_t max_waiters)
    : capacity_(std::clamp<std::size_t>(capacity, 1, std::size_t{1} << 28)),
      max_waiters_(max_waiters),
      waits_by_id_(0, TxIdHash{}) {
  // Half full at capacity: short probes. A block beyond it for a moment grows the table.
  slots_.assign(std::bit_ceil(2 * capacity_), 0);
}

std::uint64_t TxIndex::sequence_of(std::uint64_t slot) const {
  // The entries span far less than 2^32 numbers: the low 32 bits place them.
  return first_sequence_ + static_cast<std::uint32_t>(static_cast<std::uint32_t>(slot) -
                                                      static_cast<std::uint32_t>(first_sequence_));
}

std::size_t TxIndex::slot_index_locked(const TxId& id) const {
  const std::size_t mask = slots_.size() - 1;
  const std::size_t hash = hash_(id) & hash_bits;
  for (std::size_t at = hash & mask;; at = (at + 1) & mask) {
    const std::uint64_t slot = slots_[at];
    if (slot == 0) return slots_.size();
    if (hash_of(slot) == hash && entries_[sequence_of(slot) - first_sequence_].id == id) return at;
  }
}

const TxIndex::Entry* TxIndex::find_locked(const TxId& id) const {
  const std::size_t at = slot_index_locked(id);
  if (at == slots_.size()) return nullptr;
  return &entries_[sequence_of(slots_[at]) - first_sequence_];
}

void TxIndex::place(std::uint64_t slot) {
  const std::size_t mask = slots_.size() - 1;
  std::size_t at = hash_of(slot) & mask;
  while (slots_[at] != 0) at = (at + 1) & mask;
  slots_[at] = slot;
}

void TxIndex::insert_slot(std::uint64_t sequence) {
  // Below three quarters full, or twice the size (at most 2^31 slots: the hash bits kept).
  if (entries_.size() * 4 > slots_.size() * 3) grow_slots();
  place(slot_of(hash_(entries_[sequence - first_sequence_].id), sequence));
}

void TxIndex::erase_slot(const TxId& id) {
  const std::size_t mask = slots_.size() - 1;
  std::size_t hole = slot_index_locked(id);
  // Backward shift: a later slot of the probe run moves into the hole unless its home
  // lies cyclically after the hole (it would no longer be found from there).
  for (std::size_t next = (hole + 1) & mask; slots_[next] != 0; next = (next + 1) & mask) {
    const std::size_t home = hash_of(slots_[next]) & mask;
    const bool stays = hole <= next ? (hole < home && home <= next) : (hole < home || home <= next);
    if (stays) continue;
    slots_[hole] = slots_[next];
    hole = next;
  }
  slots_[hole] = 0;
}

void TxIndex::grow_slots() {
  std::vector<std::uint64_t> old(slots_.size() * 2, 0);
  old.swap(slots_);
  for (const std::uint64_t slot : old)
    if (slot != 0) place(slot);
}

void TxIndex::record(Height height, std::span<const TxId> ids, std::span<const TxResult> results) {
  std::vector<std::pair<std::shared_ptr<Wait>, std::vector<TxOutcome>>> finished;
  {
    const std::lock_guard lock(mutex_);
    for (std::size_t i = 0; i < ids.size(); ++i) {
      // A transaction committed twice (only a faulty quorum decides that) keeps its first place.
      if (find_locked(ids[i])) continue;
      const TxResult* result = i < results.size() ? &results[i] : nullptr;
      entries_.push_back({ids[i], CommittedTx{height, static_cast<std::uint32_t>(i), result ? result->code : code_ok,
                                             result ? result->log : std::string()}});
      insert_slot(first_sequence_ + entries_.size() - 1);
      const auto [first, last] = waits_by_id_.equal_range(ids[i]);
      for (auto it = first; it != last; ++it)
        if (--it->second->pending == 0) finished.emplace_back(it->second, std::vector<TxOutcome>{});
      waits_by_id_.erase(first, last);
    }
    // Before the oldest are forgotten: a wait learns of its own block whatever the capacity.
    for (auto& [wait, outcomes] : finished) {
      wait->finished = true;
      --waits_;
      outcomes = outcomes_locked(*wait);
    }
    while (entries_.size() > capacity_) {
      erase_slot(entries_.front().id);
      entries_.pop_front();
      ++first_sequence_;
    }
  }
  for (auto& [wait, outcomes] : finished) release(*wait)(std::move(outcomes));
}

TxIndex::WaitDone TxIndex::release(Wait& wait) {
  // Taken out of the wait: a caller that holds the wait (to cancel it) and is held by the
  // callback would otherwise keep both alive for ever.
  WaitDone done = std::move(wait.done);
  wait.done = nullptr;
  return done;
}

std::optional<CommittedTx> TxIndex::find(const TxId& id) const {
  const std::lock_guard lock(mutex_);
  const Entry* found = find_locked(id);
  if (!found) return std::nullopt;
  return found->where;
}

std::vector<TxOutcome> TxIndex::outcomes_locked(const Wait& wait) const {
  std::vector<TxOutcome> outcomes;
  outcomes.reserve(wait.ids.size());
  for (const TxId& id : wait.ids) {
    const Entry* found = find_locked(id);
    outcomes.push_back({id, found ? std::optional<CommittedTx>(found->where) : std::nullopt});
  }
  return outcomes;
}

Result<std::shared_ptr<TxIndex::Wait>> TxIndex::wait(std::vector<TxId> ids, WaitDone done) {
  auto wait = std::make_shared<Wait>(Wait{std::move(ids), std::move(done)});
  std::vector<TxOutcome> outcomes;
  {
    const std::lock_guard lock(mutex_);
    for (const TxId& id : wait->ids) wait->pending += find_locked(id) == nullptr;
    if (wait->pending == 0) {
      outcomes = outcomes_locked(*wait);
    } else {
      if (waits_ >= max_waiters_)
        return make_error(Errc::buffer_full, std::to_string(waits_) + " clients wait for commits already");
      ++waits_;
      for (const TxId& id : wait->ids)
        if (!find_locked(id)) waits_by_id_.emplace(id, wait);
      return wait;
    }
  }
  wait->finished = true;
  wait->done(std::move(outcomes));
  return std::shared_ptr<Wait>();
}

std::optional<std::vector<TxOutcome>> TxIndex::cancel(const std::shared_ptr<Wait>& wait) {
  WaitDone unused;  // destroyed after the lock: what it holds may be large
  const std::lock_guard lock(mutex_);
  if (!wait || wait->finished) return std::nullopt;
  unused = release(*wait);
  wait->finished = true;
  --waits_;
  for (const TxId& id : wait->ids) {
    const auto [first, last] = waits_by_id_.equal_range(id);
    for (auto it = first; it != last;) it = it->second == wait ? waits_by_id_.erase(it) : std::next(it);
  }
  return outcomes_locked(*wait);
}

std::size_t TxIndex::size() const {
  const std::lock_guard lock(mutex_);
  return entries_.size();
}

std::size_t TxIndex::waiting() const {
  const std::lock_guard lock(mutex_);
  return waits_;
}

}  // namespace bft::node
