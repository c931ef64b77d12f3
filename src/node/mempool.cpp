#include "bft/node/mempool.hpp"

#include <sodium.h>

#include <cstring>

namespace bft::node {

namespace {

std::string_view view(std::span<const std::uint8_t> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

}  // namespace

TxId tx_id(std::span<const std::uint8_t> tx) noexcept { return codec::sha256(tx); }

Mempool::PoolKey Mempool::key_of(std::span<const std::uint8_t> tx) const noexcept {
  static_assert(crypto_shorthash_BYTES == sizeof(std::uint64_t) && crypto_shorthash_KEYBYTES == 16);
  PoolKey key{view(tx), 0};
  crypto_shorthash(reinterpret_cast<unsigned char*>(&key.hash), tx.data(), tx.size(), hash_key_.data());
  return key;
}

namespace {

std::array<std::uint8_t, 16> random_key() {
  if (sodium_init() < 0) std::abort();  // idempotent; without it no randomness is safe
  std::array<std::uint8_t, 16> key{};
  randombytes_buf(key.data(), key.size());
  return key;
}

}  // namespace

Mempool::Mempool(MempoolLimits limits) : limits_(limits), hash_key_(random_key()) {}

Result<void> Mempool::check_size(std::span<const std::uint8_t> tx) const {
  if (tx.empty()) return make_error(Errc::invalid_argument, "an empty transaction");
  if (tx.size() > limits_.max_tx_bytes)
    return make_error(Errc::too_large, "a transaction of " + std::to_string(tx.size()) + " bytes exceeds the limit of " +
                                           std::to_string(limits_.max_tx_bytes));
  return {};
}

Result<void> Mempool::add(Tx tx) {
  if (auto sized = check_size(tx); !sized) return sized;
  const PoolKey key = key_of(tx);
  const std::lock_guard lock(mutex_);
  if (by_bytes_.contains(key)) return make_error(Errc::duplicate, "the transaction is in the mempool already");
  if (order_.size() >= limits_.max_txs || tx.size() > limits_.max_bytes - bytes_)
    return make_error(Errc::buffer_full, "mempool full (" + std::to_string(order_.size()) + " transactions, " +
                                             std::to_string(bytes_) + " bytes)");
  bytes_ += tx.size();
  order_.push_back(std::move(tx));
  const auto entry = std::prev(order_.end());
  by_bytes_.emplace(PoolKey{view(*entry), key.hash}, entry);
  return {};
}

std::vector<Tx> Mempool::reap(std::size_t max_txs, std::size_t max_bytes, std::size_t overhead_per_tx) const {
  std::vector<Tx> txs;
  std::size_t bytes = 0;
  const std::lock_guard lock(mutex_);
  for (const Tx& tx : order_) {
    if (txs.size() == max_txs) break;
    const std::size_t size = tx.size() + overhead_per_tx;
    if (size > max_bytes - bytes) break;  // keep the order: a later, smaller one waits too
    bytes += size;
    txs.push_back(tx);
  }
  return txs;
}

void Mempool::remove_committed(std::span<const Tx> committed) {
  std::vector<PoolKey> keys;
  keys.reserve(committed.size());
  for (const Tx& tx : committed) keys.push_back(key_of(tx));  // hashed before the lock is taken
  const std::lock_guard lock(mutex_);
  for (const PoolKey& key : keys) {
    const auto found = by_bytes_.find(key);
    if (found == by_bytes_.end()) continue;
    const auto entry = found->second;
    bytes_ -= entry->size();
    by_bytes_.erase(found);  // before its key's bytes go with the entry
    order_.erase(entry);
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
