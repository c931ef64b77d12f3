// The replica's Application for bft-node: blocks of key-value commands, proposed from
// the mempool, stored durably (BlockStore) before they are applied (KvStore).
//
// Threads: the replica's calls (propose, is_valid, commit, committed) come from the node's
// thread; the client API's (submit, get, app_hash, mempool_size, txs_committed, store
// reads) from any other, at the same time. Each is short: a client never holds a lock
// the node waits for longer than one lookup or one append to the pool.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "bft/codec/messages.hpp"
#include "bft/metrics/registry.hpp"
#include "bft/node/block_store.hpp"
#include "bft/node/kv.hpp"
#include "bft/node/mempool.hpp"
#include "bft/node/replica.hpp"

namespace bft::node {

class KvApplication final : public Application {
 public:
  /// Rebuilds the key-value state from every stored block (their certificates were
  /// checked when they were stored). Errors: the store's (io_error, corrupt_log).
  /// `metrics`, if given, gets the application's and mempool's figures (commit time,
  /// the block store's append time, mempool size, bytes and refusals, transactions
  /// committed); it must outlive the application.
  static Result<std::unique_ptr<KvApplication>> open(BlockStore store, MempoolLimits mempool_limits,
                                                     std::size_t block_max_txs, metrics::Registry* metrics = nullptr);

  Value propose(Height height) override;
  bool is_valid(const Value& value) override;
  /// Stores, then applies. `now_unix_ms` for the block's metadata comes from the clock
  /// given at construction.
  Result<void> commit(const codec::QuorumCertificate& commit, std::uint32_t commit_ms) override;
  Height committed_height() const override { return store_.tip(); }
  Result<std::optional<codec::QuorumCertificate>> committed(Height height) const override;

  /// Into the mempool: all of `commands` or none (Mempool::add's errors).
  Result<void> submit(std::vector<Command> commands);
  std::optional<std::string> get(std::string_view key) const;
  codec::Digest app_hash() const;
  std::size_t mempool_size() const;
  const BlockStore& store() const noexcept { return store_; }
  std::uint64_t txs_committed() const noexcept { return txs_committed_.load(std::memory_order_relaxed); }

 private:
  KvApplication(BlockStore store, MempoolLimits mempool_limits, std::size_t block_max_txs);
  void register_metrics(metrics::Registry& registry);

  BlockStore store_;
  mutable std::mutex state_mutex_;
  KvStore state_;
  mutable std::mutex mempool_mutex_;
  Mempool mempool_;
  std::size_t block_max_txs_;
  std::atomic<std::uint64_t> txs_committed_{0};
  metrics::Histogram* commit_seconds_ = nullptr;
  metrics::Histogram* block_append_seconds_ = nullptr;
  metrics::Counter* mempool_refused_ = nullptr;
  std::optional<codec::QuorumCertificate> last_commit_;  // the one peers ask for most
};

}  // namespace bft::node
