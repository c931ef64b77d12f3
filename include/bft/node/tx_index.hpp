// Where recently committed transactions went, by id: the answer to GET /tx/<id>, what
// keeps a committed transaction from being pooled again (a client's retry, a peer's late
// gossip), and the clients waiting for their transactions to commit (POST /txs?wait=commit).
//
// Bounded: it remembers the last `capacity` committed transactions and forgets the oldest
// first; and at most `max_waiters` waits at once. In memory: on a restart the Blockchain
// refills it from the last blocks of its store, which keeps each transaction's result.
//
// Thread-safe: the node's thread records each block; clients look up and wait from the
// HTTP threads. One lock covers both, so a wait registered while a block is recorded
// either sees the block or is told of it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "bft/node/application.hpp"
#include "bft/node/mempool.hpp"
#include "bft/sequence_table.hpp"
#include "bft/result.hpp"

namespace bft::node {

/// Where a transaction was committed and what the application made of it.
struct CommittedTx {
  Height height = 0;
  std::uint32_t index = 0;  // in its block
  std::uint32_t code = code_ok;
  std::string log;
  friend bool operator==(const CommittedTx&, const CommittedTx&) = default;
};

/// A transaction's fate at the end of a wait: committed, or still pending (nullopt).
struct TxOutcome {
  TxId id{};
  std::optional<CommittedTx> committed;
};

class TxIndex {
 public:
  /// Called once, with the outcome of every id waited for (in the order given), on the
  /// thread that records the block completing the wait.
  using WaitDone = std::function<void(std::vector<TxOutcome>)>;
  struct Wait;

  /// `capacity` is taken between 1 and 2^28.
  explicit TxIndex(std::size_t capacity = 262'144, std::size_t max_waiters = 1024);

  /// The transactions `ids` of the block at `height`, with their results (the same
  /// count). Completes the waits this block finishes.
  void record(Height height, std::span<const TxId> ids, std::span<const TxResult> results);

  std::optional<CommittedTx> find(const TxId& id) const;
  /// Starts loading where find() of each id looks first: a caller about to look up a
  /// batch overlaps the cache misses of the lookups.
  void prefetch(std::span<const TxId> ids) const;

  /// Calls `done` once every id in `ids` is committed: at once if they are already.
  /// Returns the wait, to cancel() it at a timeout; null if the wait finished at once.
  /// Errors: buffer_full (max_waiters waits are registered).
  Result<std::shared_ptr<Wait>> wait(std::vector<TxId> ids, WaitDone done);
  /// Ends `wait` unfinished: its `done` is never called. Returns the outcomes so far, or
  /// nullopt if it finished (or was cancelled) already.
  std::optional<std::vector<TxOutcome>> cancel(const std::shared_ptr<Wait>& wait);

  std::size_t size() const;
  std::size_t waiting() const;
  std::size_t max_waiters() const noexcept { return max_waiters_; }

 private:
  struct Entry {
    TxId id;
    CommittedTx where;
  };

  std::vector<TxOutcome> outcomes_locked(const Wait& wait) const;
  static WaitDone release(Wait& wait);
  // Under the lock.
  const Entry* find_locked(const TxId& id) const;
  std::size_t slot_of_locked(const TxId& id) const;  // SequenceTable::npos if absent

  const std::size_t capacity_;
  const std::size_t max_waiters_;
  mutable std::mutex mutex_;
  // Committed transactions oldest first, entry i numbered first_sequence_ + i. No
  // allocation per transaction, and a lookup touches a slot and an entry: the index is
  // asked about every transaction each validator admits.
  std::deque<Entry> entries_;
  std::uint64_t first_sequence_ = 0;
  SequenceTable slots_;
  TxIdHash hash_;
  // Waits by each id they still wait for.
  std::unordered_multimap<TxId, std::shared_ptr<Wait>, TxIdHash> waits_by_id_;
  std::size_t waits_ = 0;
};

}  // namespace bft::node
