// Transactions accepted from clients and waiting for a block: opaque bytes, each held once,
// bounded in count and bytes, oldest first. A transaction's id, for clients, is the
// SHA-256 of its bytes (tx_id); the pool itself finds transactions by their bytes, under a
// keyed hash (SipHash with a key drawn at start): a block's thousands of transactions are
// removed without a SHA-256 each, and no client can choose transactions that collide.
//
// Thread-safe: clients add from the HTTP threads while the node's thread reaps proposals
// and removes committed transactions; each call holds the lock for one operation.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <list>
#include <mutex>
#include <span>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "bft/codec/hash.hpp"
#include "bft/node/application.hpp"
#include "bft/result.hpp"

namespace bft::node {

using TxId = codec::Digest;

TxId tx_id(std::span<const std::uint8_t> tx) noexcept;

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

  /// Pools `tx`. Errors: check_size()'s, duplicate (pooled already), buffer_full (no
  /// room: the client retries later).
  Result<void> add(Tx tx);

  /// Whether a transaction of this size may ever be pooled. Errors: invalid_argument
  /// (empty), too_large (above max_tx_bytes).
  Result<void> check_size(std::span<const std::uint8_t> tx) const;

  /// The oldest transactions, at most `max_txs` of them, whose sizes plus
  /// `overhead_per_tx` each add up to at most `max_bytes`. They stay pooled until
  /// remove_committed() (the proposal may not be decided).
  std::vector<Tx> reap(std::size_t max_txs, std::size_t max_bytes, std::size_t overhead_per_tx) const;

  /// Drops the transactions of a decided block, wherever they are in the pool (the block
  /// may come from another proposer, whose pool had another order).
  void remove_committed(std::span<const Tx> committed);

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
  PoolKey key_of(std::span<const std::uint8_t> tx) const noexcept;

  const MempoolLimits limits_;
  mutable std::mutex mutex_;
  std::list<Tx> order_;
  const std::array<std::uint8_t, 16> hash_key_;  // SipHash's, drawn at start
  // Keys view the bytes of the transactions in order_ (list nodes do not move).
  std::unordered_map<PoolKey, std::list<Tx>::iterator, PoolKeyHash> by_bytes_;
  std::size_t bytes_ = 0;
};

}  // namespace bft::node
