#include "bft/node/tx_index.hpp"

#include <algorithm>

namespace bft::node {

struct TxIndex::Wait {
  std::vector<TxId> ids;
  WaitDone done;
  std::size_t pending = 0;
  bool finished = false;
};

TxIndex::TxIndex(std::size_t capacity, std::size_t max_waiters)
    : capacity_(std::clamp<std::size_t>(capacity, 1, std::size_t{1} << 28)),
      max_waiters_(max_waiters),
      // Half full at capacity: short probes. A block beyond it for a moment grows the table.
      slots_(capacity_),
      waits_by_id_(0, TxIdHash{}) {}

std::size_t TxIndex::slot_of_locked(const TxId& id) const {
  return slots_.find(hash_(id), first_sequence_,
                     [&](std::uint64_t sequence) { return entries_[sequence - first_sequence_].id == id; });
}

const TxIndex::Entry* TxIndex::find_locked(const TxId& id) const {
  const std::size_t at = slot_of_locked(id);
  if (at == SequenceTable::npos) return nullptr;
  return &entries_[slots_.sequence_at(at, first_sequence_) - first_sequence_];
}

void TxIndex::record(Height height, std::span<const TxId> ids, std::span<const TxResult> results) {
  std::vector<std::pair<std::shared_ptr<Wait>, std::vector<TxOutcome>>> finished;
  {
    const std::lock_guard lock(mutex_);
    for (std::size_t i = 0; i < ids.size(); ++i) {
      if (i + SequenceTable::prefetch_distance < ids.size()) slots_.prefetch(hash_(ids[i + SequenceTable::prefetch_distance]));
      // A transaction committed twice (only a faulty quorum decides that) keeps its first place.
      if (find_locked(ids[i])) continue;
      const TxResult* result = i < results.size() ? &results[i] : nullptr;
      entries_.push_back({ids[i], CommittedTx{height, static_cast<std::uint32_t>(i), result ? result->code : code_ok,
                                             result ? result->log : std::string()}});
      slots_.insert(hash_(ids[i]), first_sequence_ + entries_.size() - 1, entries_.size());
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
    const std::size_t forgotten = entries_.size() > capacity_ ? entries_.size() - capacity_ : 0;
    for (std::size_t i = 0; i < forgotten; ++i) {
      if (SequenceTable::prefetch_distance < forgotten - i) slots_.prefetch(hash_(entries_[SequenceTable::prefetch_distance].id));
      slots_.erase_at(slot_of_locked(entries_.front().id));
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

void TxIndex::prefetch(std::span<const TxId> ids) const {
  const std::lock_guard lock(mutex_);
  for (const TxId& id : ids) slots_.prefetch(hash_(id));
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
