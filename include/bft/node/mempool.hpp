// Transactions accepted from clients and waiting for a block: opaque bytes, each held once,
// bounded in count and bytes, oldest first. A transaction's id, for clients, is the
// SHA-256 of its bytes (tx_id); the pool itself finds transactions by their bytes, under a
// keyed hash (SipHash with a key drawn at start): a block's thousands of transactions are
// removed without a SHA-256 each, and no client can choose transactions that collide.
//
// Thread-safe: clients add from the HTTP threads while the node's thread reaps proposals
// and removes committed transactions; each call holds the lock for one operation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <span>
#include <vector>

#include "bft/codec/hash.hpp"
#include "bft/crypto/keyed_hash.hpp"
#include "bft/node/application.hpp"
#include "bft/sequence_table.hpp"
#include "bft/result.hpp"

namespace bft::node {

using TxId = codec::Digest;

TxId tx_id(std::span<const std::uint8_t> tx) noexcept;

/// Hashes ids for hash tables under a key drawn at construction: ids are SHA-256 of
/// transactions clients choose, so unkeyed, a client could grind ids into one bucket.
struct TxIdHash {
  crypto::KeyedDigestHash hash;
  std::size_t operator()(const TxId& id) const noexcept { return static_cast<std::size_t>(hash(id)); }
};

struct MempoolLimits {
  std::size_t max_txs = 10'000;
  /// Sum of the pooled transactions' sizes.
  std::size_t max_bytes = std::size_t{64} << 20;
  /// One transaction; above it a client gets too_large (HTTP 413).
  std::size_t max_tx_bytes = std::size_t{1} << 20;
};

class Mempool {
 public:
  explicit Mempool(MempoolLimits limits = {});

  /// Pools `tx`, whose tx_id() is `id` (the caller has it already). Errors: check_size()'s,
  /// duplicate (pooled already), buffer_full (no room: the client retries later).
  Result<void> add(Tx tx, const TxId& id);

  /// Whether a transaction of this size may ever be pooled. Errors: invalid_argument
  /// (empty), too_large (above max_tx_bytes).
  Result<void> check_size(std::span<const std::uint8_t> tx) const;

  /// The oldest transactions, at most `max_txs` of them, whose sizes plus
  /// `overhead_per_tx` each add up to at most `max_bytes`. They stay pooled until
  /// remove_committed() (the proposal may not be decided).
  std::vector<Tx> reap(std::size_t max_txs, std::size_t max_bytes, std::size_t overhead_per_tx) const;

  /// Drops the transactions of a decided block, wherever they are in the pool (the block
  /// may come from another proposer, whose pool had another order). Returns their ids in
  /// the block's order: a pooled one's as stored, the others hashed here.
  std::vector<TxId> remove_committed(std::span<const Tx> committed);

  /// Asks `keep` about every pooled transaction, oldest first, and drops those it refuses;
  /// returns how many it dropped. `keep` runs without the pool's lock (clients keep
  /// adding meanwhile), so it may be slow; a transaction removed meanwhile stays removed.
  std::size_t recheck(const std::function<bool(const Tx&)>& keep);

  /// Starts loading where add() and contains() of these transactions (`ids[i]` is
  /// `txs[i]`'s) look first: a caller about to submit a batch overlaps the cache misses.
  void prefetch(std::span<const Tx> txs, std::span<const TxId> ids) const;

  bool contains(std::span<const std::uint8_t> tx) const;
  bool contains(const TxId& id) const;
  std::size_t size() const;
  std::size_t bytes() const;
  const MempoolLimits& limits() const noexcept { return limits_; }

 private:
  // Pooled transactions in arrival order, entry i numbered first_sequence_ + i. A removed
  // one leaves an empty entry (no pooled transaction is empty) until it reaches the front
  // or the entries are compacted; two tables find entries by bytes and by id. No
  // allocation per transaction beyond its bytes: every validator pools every transaction.
  struct Entry {
    Tx tx;
    TxId id{};
    std::uint64_t bytes_hash = 0;  // keyed: compared before the bytes
  };

  /// Under the lock: the table slot of a pooled transaction, SequenceTable::npos if none.
  std::size_t slot_by_bytes(std::span<const std::uint8_t> tx, std::uint64_t hash) const;
  std::size_t slot_by_id(const TxId& id) const;
  const Entry& entry_at(std::uint64_t sequence) const { return entries_[sequence - first_sequence_]; }
  void erase(std::uint64_t sequence);
  void compact();

  const MempoolLimits limits_;
  mutable std::mutex mutex_;
  const crypto::KeyedHash bytes_hash_;
  const TxIdHash id_hash_;
  std::deque<Entry> entries_;
  std::uint64_t first_sequence_ = 0;
  SequenceTable by_bytes_;
  SequenceTable by_id_;  // GET /tx/<id> asks by id
  std::size_t count_ = 0;
  std::size_t bytes_ = 0;
};

}  // namespace bft::node
