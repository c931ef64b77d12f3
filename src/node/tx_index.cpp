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
    : capacity_(std::max<std::size_t>(capacity, 1)),
      max_waiters_(max_waiters),
      committed_(0, TxIdHash{}),
      waits_by_id_(0, TxIdHash{}) {}

void TxIndex::record(Height height, std::span<const TxId> ids, std::span<const TxResult> results) {
  std::vector<std::pair<std::shared_ptr<Wait>, std::vector<TxOutcome>>> finished;
  {
    const std::lock_guard lock(mutex_);
    for (std::size_t i = 0; i < ids.size(); ++i) {
      const TxResult* result = i < results.size() ? &results[i] : nullptr;
      CommittedTx where{height, static_cast<std::uint32_t>(i), result ? result->code : code_ok,
                        result ? result->log : std::string()};
      // A transaction committed twice (only a faulty quorum decides that) keeps its first place.
      if (!committed_.emplace(ids[i], std::move(where)).second) continue;
      order_.push_back(ids[i]);
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
    while (order_.size() > capacity_) {
      committed_.erase(order_.front());
      order_.pop_front();
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
  const auto found = committed_.find(id);
  if (found == committed_.end()) return std::nullopt;
  return found->second;
}

std::vector<TxOutcome> TxIndex::outcomes_locked(const Wait& wait) const {
  std::vector<TxOutcome> outcomes;
  outcomes.reserve(wait.ids.size());
  for (const TxId& id : wait.ids) {
    const auto found = committed_.find(id);
    outcomes.push_back({id, found == committed_.end() ? std::nullopt : std::optional<CommittedTx>(found->second)});
  }
  return outcomes;
}

Result<std::shared_ptr<TxIndex::Wait>> TxIndex::wait(std::vector<TxId> ids, WaitDone done) {
  auto wait = std::make_shared<Wait>(Wait{std::move(ids), std::move(done)});
  std::vector<TxOutcome> outcomes;
  {
    const std::lock_guard lock(mutex_);
    for (const TxId& id : wait->ids) wait->pending += !committed_.contains(id);
    if (wait->pending == 0) {
      outcomes = outcomes_locked(*wait);
    } else {
      if (waits_ >= max_waiters_)
        return make_error(Errc::buffer_full, std::to_string(waits_) + " clients wait for commits already");
      ++waits_;
      for (const TxId& id : wait->ids)
        if (!committed_.contains(id)) waits_by_id_.emplace(id, wait);
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
  return committed_.size();
}

std::size_t TxIndex::waiting() const {
  const std::lock_guard lock(mutex_);
  return waits_;
}

}  // namespace bft::node
