#include "bft/node/mempool.hpp"

#include <cstring>

namespace bft::node {

TxId tx_id(std::span<const std::uint8_t> tx) noexcept { return codec::sha256(tx); }

std::size_t Mempool::DigestHash::operator()(const TxId& id) const noexcept {
  // A SHA-256 is uniform already: its first bytes are a hash.
  std::size_t h = 0;
  std::memcpy(&h, id.data(), sizeof h);
  return h;
}

Result<TxId> Mempool::add(Tx tx) {
  if (tx.empty()) return make_error(Errc::invalid_argument, "an empty transaction");
  if (tx.size() > limits_.max_tx_bytes)
    return make_error(Errc::too_large, "a transaction of " + std::to_string(tx.size()) + " bytes exceeds the limit of " +
                                           std::to_string(limits_.max_tx_bytes));
  const TxId id = tx_id(tx);
  const std::lock_guard lock(mutex_);
  if (by_id_.contains(id)) return make_error(Errc::duplicate, "the transaction is in the mempool already");
  if (order_.size() >= limits_.max_txs || tx.size() > limits_.max_bytes - bytes_)
    return make_error(Errc::buffer_full, "mempool full (" + std::to_string(order_.size()) + " transactions, " +
                                             std::to_string(bytes_) + " bytes)");
  bytes_ += tx.size();
  order_.push_back({id, std::move(tx)});
  by_id_.emplace(id, std::prev(order_.end()));
  return id;
}

std::vector<Tx> Mempool::reap(std::size_t max_txs, std::size_t max_bytes, std::size_t overhead_per_tx) const {
  std::vector<Tx> txs;
  std::size_t bytes = 0;
  const std::lock_guard lock(mutex_);
  for (const Entry& entry : order_) {
    if (txs.size() == max_txs) break;
    const std::size_t size = entry.tx.size() + overhead_per_tx;
    if (size > max_bytes - bytes) break;  // keep the order: a later, smaller one waits too
    bytes += size;
    txs.push_back(entry.tx);
  }
  return txs;
}

void Mempool::remove_committed(std::span<const Tx> committed) {
  const std::lock_guard lock(mutex_);
  for (const Tx& tx : committed) {
    const auto found = by_id_.find(tx_id(tx));
    if (found == by_id_.end()) continue;
    bytes_ -= found->second->tx.size();
    order_.erase(found->second);
    by_id_.erase(found);
  }
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
