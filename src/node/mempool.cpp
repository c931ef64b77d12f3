#include "bft/node/mempool.hpp"

#include <algorithm>

namespace bft::node {

TxId tx_id(std::span<const std::uint8_t> tx) noexcept { return codec::sha256(tx); }

Mempool::Mempool(MempoolLimits limits) : limits_(limits) {}

Result<void> Mempool::check_size(std::span<const std::uint8_t> tx) const {
  if (tx.empty()) return make_error(Errc::invalid_argument, "an empty transaction");
  if (tx.size() > limits_.max_tx_bytes)
    return make_error(Errc::too_large, "a transaction of " + std::to_string(tx.size()) + " bytes exceeds the limit of " +
                                           std::to_string(limits_.max_tx_bytes));
  return {};
}

std::size_t Mempool::slot_by_bytes(std::span<const std::uint8_t> tx, std::uint64_t hash) const {
  return by_bytes_.find(hash, first_sequence_, [&](std::uint64_t sequence) {
    const Entry& entry = entry_at(sequence);
    return entry.bytes_hash == hash && std::equal(entry.tx.begin(), entry.tx.end(), tx.begin(), tx.end());
  });
}

std::size_t Mempool::slot_by_id(const TxId& id) const {
  return by_id_.find(id_hash_(id), first_sequence_, [&](std::uint64_t sequence) { return entry_at(sequence).id == id; });
}

Result<void> Mempool::add(Tx tx, const TxId& id) {
  if (auto sized = check_size(tx); !sized) return sized;
  const std::uint64_t hash = bytes_hash_(tx);
  const std::lock_guard lock(mutex_);
  if (slot_by_bytes(tx, hash) != SequenceTable::npos)
    return make_error(Errc::duplicate, "the transaction is in the mempool already");
  if (count_ >= limits_.max_txs || tx.size() > limits_.max_bytes - bytes_)
    return make_error(Errc::buffer_full, "mempool full (" + std::to_string(count_) + " transactions, " +
                                             std::to_string(bytes_) + " bytes)");
  const std::uint64_t sequence = first_sequence_ + entries_.size();
  ++count_;
  bytes_ += tx.size();
  entries_.push_back({std::move(tx), id, hash});
  by_bytes_.insert(hash, sequence, count_);
  by_id_.insert(id_hash_(id), sequence, count_);
  return {};
}

std::vector<Tx> Mempool::reap(std::size_t max_txs, std::size_t max_bytes, std::size_t overhead_per_tx) const {
  std::vector<Tx> txs;
  std::size_t bytes = 0;
  const std::lock_guard lock(mutex_);
  for (const Entry& entry : entries_) {
    const Tx& tx = entry.tx;
    if (tx.empty()) continue;  // removed
    if (txs.size() == max_txs) break;
    const std::size_t size = tx.size() + overhead_per_tx;
    if (size > max_bytes - bytes) break;  // keep the order: a later, smaller one waits too
    bytes += size;
    txs.push_back(tx);
  }
  return txs;
}

void Mempool::erase(std::uint64_t sequence) {
  Entry& entry = entries_[sequence - first_sequence_];
  const auto is_entry = [sequence](std::uint64_t other) { return other == sequence; };
  by_bytes_.erase_at(by_bytes_.find(entry.bytes_hash, first_sequence_, is_entry));
  by_id_.erase_at(by_id_.find(id_hash_(entry.id), first_sequence_, is_entry));
  --count_;
  bytes_ -= entry.tx.size();
  Tx().swap(entry.tx);
}

void Mempool::compact() {
  // Removed entries at the front go at once; those between pooled ones once they outnumber
  // them (a block of another proposer's order, a recheck): renumbered from the front.
  while (!entries_.empty() && entries_.front().tx.empty()) {
    entries_.pop_front();
    ++first_sequence_;
  }
  if (entries_.size() <= 2 * count_ + 1024) return;
  std::deque<Entry> pooled;
  for (Entry& entry : entries_)
    if (!entry.tx.empty()) pooled.push_back(std::move(entry));
  entries_.swap(pooled);
  by_bytes_.clear();
  by_id_.clear();
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    by_bytes_.insert(entries_[i].bytes_hash, first_sequence_ + i, i + 1);
    by_id_.insert(id_hash_(entries_[i].id), first_sequence_ + i, i + 1);
  }
}

std::vector<TxId> Mempool::remove_committed(std::span<const Tx> committed) {
  std::vector<std::uint64_t> hashes;
  hashes.reserve(committed.size());
  for (const Tx& tx : committed) hashes.push_back(bytes_hash_(tx));  // hashed before the lock is taken
  std::vector<TxId> ids;
  ids.reserve(committed.size());
  std::vector<std::uint64_t> pooled;  // their entries' sequence numbers
  pooled.reserve(committed.size());
  const std::lock_guard lock(mutex_);
  // A full pool's tables are larger than the caches. The first pass finds the block's
  // transactions, loading the slots of those sixteen ahead and the id slots the second
  // pass erases; neither pass waits for one miss after another.
  for (std::size_t i = 0; i < committed.size(); ++i) {
    if (i + SequenceTable::prefetch_distance < committed.size()) by_bytes_.prefetch(hashes[i + SequenceTable::prefetch_distance]);
    const std::size_t found = slot_by_bytes(committed[i], hashes[i]);
    if (found == SequenceTable::npos) {
      ids.push_back(tx_id(committed[i]));
      continue;
    }
    const std::uint64_t sequence = by_bytes_.sequence_at(found, first_sequence_);
    ids.push_back(entry_at(sequence).id);
    by_id_.prefetch(id_hash_(ids.back()));
    pooled.push_back(sequence);
  }
  for (const std::uint64_t sequence : pooled)
    if (!entry_at(sequence).tx.empty()) erase(sequence);  // a block may repeat a transaction
  compact();
  return ids;
}

std::size_t Mempool::recheck(const std::function<bool(const Tx&)>& keep) {
  std::vector<Tx> pooled;
  {
    const std::lock_guard lock(mutex_);
    pooled.reserve(count_);
    for (const Entry& entry : entries_)
      if (!entry.tx.empty()) pooled.push_back(entry.tx);
  }
  std::vector<const Tx*> refused;
  for (const Tx& tx : pooled)
    if (!keep(tx)) refused.push_back(&tx);
  std::size_t dropped = 0;
  const std::lock_guard lock(mutex_);
  for (const Tx* tx : refused) {
    const std::size_t found = slot_by_bytes(*tx, bytes_hash_(*tx));
    if (found == SequenceTable::npos) continue;
    erase(by_bytes_.sequence_at(found, first_sequence_));
    ++dropped;
  }
  compact();
  return dropped;
}

void Mempool::prefetch(std::span<const Tx> txs, std::span<const TxId> ids) const {
  std::vector<std::uint64_t> hashes;
  hashes.reserve(txs.size());
  for (const Tx& tx : txs) hashes.push_back(bytes_hash_(tx));
  const std::lock_guard lock(mutex_);
  for (std::size_t i = 0; i < txs.size(); ++i) {
    by_bytes_.prefetch(hashes[i]);
    if (i < ids.size()) by_id_.prefetch(id_hash_(ids[i]));
  }
}

bool Mempool::contains(std::span<const std::uint8_t> tx) const {
  const std::uint64_t hash = bytes_hash_(tx);
  const std::lock_guard lock(mutex_);
  return slot_by_bytes(tx, hash) != SequenceTable::npos;
}

bool Mempool::contains(const TxId& id) const {
  const std::lock_guard lock(mutex_);
  return slot_by_id(id) != SequenceTable::npos;
}

std::size_t Mempool::size() const {
  const std::lock_guard lock(mutex_);
  return count_;
}

std::size_t Mempool::bytes() const {
  const std::lock_guard lock(mutex_);
  return bytes_;
}

}  // namespace bft::node
