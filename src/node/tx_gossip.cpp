#include "bft/node/tx_gossip.hpp"

#include "bft/crypto/key_file.hpp"

namespace bft::node {

TxGossip::TxGossip(TxGossipOptions options, Network& network, const Logger& logger, metrics::Registry* metrics)
    : options_(options), network_(network), log_(logger) {
  if (!metrics) return;
  const auto stat = [this](std::uint64_t TxGossipStats::*field) {
    return [this, field] { return static_cast<double>(stats().*field); };
  };
  metrics->callback_counter("bftcore_mempool_gossip_sent_txs_total",
                            "Transactions this node sent to its peers in gossip batches (each to every peer).",
                            stat(&TxGossipStats::txs_sent));
  metrics->callback_counter("bftcore_mempool_gossip_sent_batches_total", "Gossip batches this node sent.",
                            stat(&TxGossipStats::batches_sent));
  metrics->callback_counter("bftcore_mempool_gossip_received_txs_total",
                            "Transactions received from peers and taken for admission.",
                            stat(&TxGossipStats::txs_received));
  metrics->callback_counter_family(
      "bftcore_mempool_gossip_dropped_total",
      "Gossip dropped: peer_backlog (a peer's transactions beyond its share), malformed (batches), queue_full "
      "(client transactions pooled but not gossiped).",
      {"reason"}, [this] {
        const TxGossipStats now = stats();
        return std::vector<metrics::CallbackSample>{{{"peer_backlog"}, static_cast<double>(now.dropped_peer_backlog)},
                                                    {{"malformed"}, static_cast<double>(now.batches_malformed)},
                                                    {{"queue_full"}, static_cast<double>(now.dropped_queue_full)}};
      });
}

bool TxGossip::enqueue(std::vector<Tx> txs, std::function<void()> sent) {
  const std::lock_guard lock(mutex_);
  const bool was_empty = queue_.empty();
  if (queued_txs_ + txs.size() > options_.max_queued_txs) {
    stats_.dropped_queue_full += txs.size();
    txs.clear();  // the callback still runs: the transactions are pooled
  }
  queued_txs_ += txs.size();
  queue_.push_back({std::move(txs), std::move(sent)});
  return was_empty;
}

void TxGossip::flush() {
  std::vector<Queued> queued;
  {
    const std::lock_guard lock(mutex_);
    queued.swap(queue_);
    queued_txs_ = 0;
  }
  TxBatch batch;
  std::size_t batch_bytes = 0;
  std::uint64_t txs = 0;
  std::uint64_t batches = 0;
  const auto send = [&] {
    if (batch.txs.empty()) return;
    txs += batch.txs.size();
    ++batches;
    network_.broadcast(std::make_shared<const Bytes>(encode_frame(WireMessage{std::move(batch)})));
    batch = TxBatch{};
    batch_bytes = 0;
  };
  for (Queued& request : queued)
    for (Tx& tx : request.txs) {
      if (batch_bytes + tx.size() > options_.max_batch_bytes || batch.txs.size() == options_.limits.max_txs) send();
      batch_bytes += tx.size();
      batch.txs.push_back(std::move(tx));
    }
  send();
  {
    const std::lock_guard lock(mutex_);
    stats_.txs_sent += txs;
    stats_.batches_sent += batches;
  }
  for (Queued& request : queued)
    if (request.sent) request.sent();
}

std::optional<std::vector<Tx>> TxGossip::receive(const Address& from, std::span<const std::uint8_t> frame,
                                                 std::chrono::steady_clock::time_point now) {
  auto decoded = decode_frame(frame, {}, options_.limits);
  if (!decoded || !std::holds_alternative<TxBatch>(*decoded)) {
    {
      const std::lock_guard lock(mutex_);
      ++stats_.batches_malformed;
    }
    drop(from, "malformed", decoded ? "not a transaction batch" : decoded.error().message, now);
    return std::nullopt;
  }
  std::vector<Tx> txs = std::move(std::get<TxBatch>(*decoded).txs);
  std::size_t& pending = pending_[from];
  if (pending + txs.size() > options_.max_pending_txs_per_peer) {
    {
      const std::lock_guard lock(mutex_);
      stats_.dropped_peer_backlog += txs.size();
    }
    drop(from, "peer_backlog",
         std::to_string(txs.size()) + " transactions beyond the peer's share (" + std::to_string(pending) + " pending)",
         now);
    return std::nullopt;
  }
  pending += txs.size();
  const std::lock_guard lock(mutex_);
  stats_.txs_received += txs.size();
  return txs;
}

void TxGossip::admitted(const Address& from, std::size_t count) {
  std::size_t& pending = pending_[from];
  pending -= std::min(pending, count);
}

void TxGossip::drop(const Address& from, const char* reason, const std::string& detail,
                    std::chrono::steady_clock::time_point now) {
  const std::string fields = field("from", crypto::to_hex(from.bytes().first(std::min<std::size_t>(from.size(), 4)))) +
                             field("reason", reason) + field("detail", detail);
  for (const std::string& line : drop_log_.note(reason, fields, now)) {
    if (line == fields)
      log_.log(LogLevel::warn, "gossip_dropped", fields);
    else
      log_.log(LogLevel::warn, "gossip_drops_suppressed", field("summary", line));
  }
}

TxGossipStats TxGossip::stats() const {
  const std::lock_guard lock(mutex_);
  return stats_;
}

}  // namespace bft::node
