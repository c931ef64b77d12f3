// The replica's Application for bft-node: blocks of key-value commands, proposed from
// the mempool, stored durably (BlockStore) before they are applied (KvStore).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bft/codec/messages.hpp"
#include "bft/node/block_store.hpp"
#include "bft/node/kv.hpp"
#include "bft/node/mempool.hpp"
#include "bft/node/replica.hpp"

namespace bft::node {

class KvApplication final : public Application {
 public:
  /// Rebuilds the key-value state from every stored block (their certificates were
  /// checked when they were stored). Errors: the store's (io_error, corrupt_log).
  static Result<std::unique_ptr<KvApplication>> open(BlockStore store, MempoolLimits mempool_limits,
                                                     std::size_t block_max_txs);

  Value propose(Height height) override;
  bool is_valid(const Value& value) override;
  /// Stores, then applies. `now_unix_ms` for the block's metadata comes from the clock
  /// given at construction.
  Result<void> commit(const codec::QuorumCertificate& commit, std::uint32_t commit_ms) override;
  Height committed_height() const override { return store_.tip(); }
  Result<std::optional<codec::QuorumCertificate>> committed(Height height) const override;

  const KvStore& state() const noexcept { return state_; }
  Mempool& mempool() noexcept { return mempool_; }
  const BlockStore& store() const noexcept { return store_; }
  std::uint64_t txs_committed() const noexcept { return txs_committed_; }

 private:
  KvApplication(BlockStore store, MempoolLimits mempool_limits, std::size_t block_max_txs);

  BlockStore store_;
  KvStore state_;
  Mempool mempool_;
  std::size_t block_max_txs_;
  std::uint64_t txs_committed_ = 0;
  std::optional<codec::QuorumCertificate> last_commit_;  // the one peers ask for most
};

}  // namespace bft::node
