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
#include <functional>
#include <list>
#include <mutex>
#include <span>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "bft/codec/hash.hpp"
#include "bft/crypto/keyed_hash.hpp"
#include "bft/node/application.hpp"
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

  bool contains(std::span<const std::uint8_t> tx) const;
  bool contains(const TxId& id) const;
  std::size_t size() const;
  std::size_t bytes() const;
  const MempoolLimits& limits() const noexcept { return limits_; }

 private:
  // A pooled transaction's bytes with their keyed hash, computed once: a lookup compares
  // hashes before bytes, and the table never hashes a pooled transaction again.
  struct PoolKey {
    std::string_view bytes;
    std::uint64_t hash = 0;
    friend bool operator==(const PoolKey& a, const PoolKey& b) noexcept {
      return a.hash == b.hash && a.bytes == b.bytes;
    }
  };
  struct PoolKeyHash {
    std::size_t operator()(const PoolKey& key) const noexcept { return static_cast<std::size_t>(key.hash); }
  };
  struct Entry {
    Tx tx;
    TxId id;
  };
  using ByBytes = std::unordered_map<PoolKey, std::list<Entry>::iterator, PoolKeyHash>;

  PoolKey key_of(std::span<const std::uint8_t> tx) const noexcept;

  /// Under the lock.
  void erase(ByBytes::iterator found);

  const MempoolLimits limits_;
  mutable std::mutex mutex_;
  const crypto::KeyedHash bytes_hash_;
  std::list<Entry> order_;
  // Keys view the bytes of the transactions in order_ (list nodes do not move).
  ByBytes by_bytes_;
  std::unordered_set<TxId, TxIdHash> ids_;  // GET /tx/<id> asks by id
  std::size_t bytes_ = 0;
};

}  // namespace bft::node
