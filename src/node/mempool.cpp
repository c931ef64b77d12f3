#include "bft/node/mempool.hpp"

#include <cstring>

namespace bft::node {

namespace {

std::string_view view(std::span<const std::uint8_t> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

}  // namespace

TxId tx_id(std::span<const std::uint8_t> tx) noexcept { return codec::sha256(tx); }

Mempool::Mempool(MempoolLimits limits) : limits_(limits) {}

Mempool::PoolKey Mempool::key_of(std::span<const std::uint8_t> tx) const noexcept { return {view(tx), bytes_hash_(tx)}; }

Result<void> Mempool::check_size(std::span<const std::uint8_t> tx) const {
  if (tx.empty()) return make_error(Errc::invalid_argument, "an empty transaction");
  if (tx.size() > limits_.max_tx_bytes)
    return make_error(Errc::too_large, "a transaction of " + std::to_string(tx.size()) + " bytes exceeds the limit of " +
                                           std::to_string(limits_.max_tx_bytes));
  return {};
}

Result<void> Mempool::add(Tx tx, const TxId& id) {
  if (auto sized = check_size(tx); !sized) return sized;
  const PoolKey key = key_of(tx);
  const std::lock_guard lock(mutex_);
  if (by_bytes_.contains(key)) return make_error(Errc::duplicate, "the transaction is in the mempool already");
  if (order_.size() >= limits_.max_txs || tx.size() > limits_.max_bytes - bytes_)
    return make_error(Errc::buffer_full, "mempool full (" + std::to_string(order_.size()) + " transactions, " +
                                             std::to_string(bytes_) + " bytes)");
  bytes_ += tx.size();
  order_.push_back({std::move(tx), id});
  const auto entry = std::prev(order_.end());
  by_bytes_.emplace(PoolKey{view(entry->tx), key.hash}, entry);
  ids_.insert(id);
  return {};
}

std::vector<Tx> Mempool::reap(std::size_t max_txs, std::size_t max_bytes, std::size_t overhead_per_tx) const {
  std::vector<Tx> txs;
  std::size_t bytes = 0;
  const std::lock_guard lock(mutex_);
  for (const Entry& entry : order_) {
    const Tx& tx = entry.tx;
    if (txs.size() == max_txs) break;
    const std::size_t size = tx.size() + overhead_per_tx;
    if (size > max_bytes - bytes) break;  // keep the order: a later, smaller one waits too
    bytes += size;
    txs.push_back(tx);
  }
  return txs;
}

void Mempool::erase(ByBytes::iterator found) {
  const auto entry = found->second;
  bytes_ -= entry->tx.size();
  ids_.erase(entry->id);
  by_bytes_.erase(found);  // before its key's bytes go with the entry
  order_.erase(entry);
}

std::vector<TxId> Mempool::remove_committed(std::span<const Tx> committed) {
  std::vector<PoolKey> keys;
  keys.reserve(committed.size());
  for (const Tx& tx : committed) keys.push_back(key_of(tx));  // hashed before the lock is taken
  std::vector<TxId> ids;
  ids.reserve(committed.size());
  const std::lock_guard lock(mutex_);
  for (std::size_t i = 0; i < committed.size(); ++i) {
    const auto found = by_bytes_.find(keys[i]);
    if (found == by_bytes_.end()) {
      ids.push_back(tx_id(committed[i]));
      continue;
    }
    ids.push_back(found->second->id);
    erase(found);
  }
  return ids;
}

std::size_t Mempool::recheck(const std::function<bool(const Tx&)>& keep) {
  std::vector<Tx> pooled;
  {
    const std::lock_guard lock(mutex_);
    pooled.reserve(order_.size());
    for (const Entry& entry : order_) pooled.push_back(entry.tx);
  }
  std::vector<const Tx*> refused;
  for (const Tx& tx : pooled)
    if (!keep(tx)) refused.push_back(&tx);
  std::size_t dropped = 0;
  const std::lock_guard lock(mutex_);
  for (const Tx* tx : refused) {
    const auto found = by_bytes_.find(key_of(*tx));
    if (found == by_bytes_.end()) continue;
    erase(found);
    ++dropped;
  }
  return dropped;
}

bool Mempool::contains(std::span<const std::uint8_t> tx) const {
  const PoolKey key = key_of(tx);
  const std::lock_guard lock(mutex_);
  return by_bytes_.contains(key);
}

bool Mempool::contains(const TxId& id) const {
  const std::lock_guard lock(mutex_);
  return ids_.contains(id);
}

std::size_t Mempool::size() const {
  const std::lock_guard lock(mutex_);
  return order_.size();
}

std::size_t Mempool::bytes() const {
  const std::lock_guard lock(mutex_);
  return bytes_;
}

}  // namespace bft::node
