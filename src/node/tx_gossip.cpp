#include "bft/node/tx_gossip.hpp"

#include <algorithm>
#include <utility>

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
  metrics->callback_counter_family(
      "bftcore_mempool_gossip_batches_total",
      "Gossip batches this node sent that enough peers held before the hold timeout (held), or did not (not_held: "
      "their clients were told the transactions are pooled here only).",
      {"outcome"}, [this] {
        const TxGossipStats now = stats();
        return std::vector<metrics::CallbackSample>{{{"held"}, static_cast<double>(now.batches_held)},
                                                    {{"not_held"}, static_cast<double>(now.batches_not_held)}};
      });
  metrics->callback_counter("bftcore_mempool_gossip_resent_batches_total",
                            "Gossip batches sent again: not yet held by enough peers after the resend interval.",
                            stat(&TxGossipStats::batches_resent));
  metrics->callback_counter("bftcore_mempool_gossip_held_answers_sent_total",
                            "Peers' gossip batches this node pooled in full and told them so.",
                            stat(&TxGossipStats::held_answers_sent));
}

bool TxGossip::enqueue(std::vector<Tx> txs, Done done) {
  const std::lock_guard lock(mutex_);
  const bool was_empty = queue_.empty();
  if (queued_txs_ + txs.size() > options_.max_queued_txs) {
    stats_.dropped_queue_full += txs.size();
    txs.clear();  // pooled here only: flush() tells the client
  }
  queued_txs_ += txs.size();
  queue_.push_back({std::move(txs), std::move(done)});
  return was_empty;
}

void TxGossip::flush(std::chrono::steady_clock::time_point now) {
  std::vector<Queued> queued;
  {
    const std::lock_guard lock(mutex_);
    queued.swap(queue_);
    queued_txs_ = 0;
  }
  TxBatch batch;
  std::vector<std::shared_ptr<Client>> clients;  // of the batch being filled
  std::size_t batch_bytes = 0;
  std::uint64_t txs = 0;
  std::uint64_t batches = 0;
  const auto send = [&] {
    if (batch.txs.empty()) return;
    txs += batch.txs.size();
    ++batches;
    batch.sequence = next_sequence_++;
    const std::uint64_t sequence = batch.sequence;
    auto frame = std::make_shared<const Bytes>(encode_frame(WireMessage{std::move(batch)}));
    if (required_holders_ > 0) {
      unheld_.emplace(sequence, SentBatch{frame, now, now, {}, std::move(clients)});
      next_resend_ = std::min(next_resend_, now + options_.resend_interval);
    }
    network_.broadcast(std::move(frame));
    batch = TxBatch{};
    clients.clear();
    batch_bytes = 0;
  };
  // Answered at the end (a callback may enqueue again): those that wait for no holder, and
  // those whose transactions the full queue kept from the peers.
  std::vector<std::pair<Done, bool>> answer_now;
  for (Queued& request : queued) {
    std::shared_ptr<Client> client;
    if (request.txs.empty() || required_holders_ == 0)
      answer_now.emplace_back(std::move(request.done), !request.txs.empty());
    else
      client = std::make_shared<Client>(Client{0, std::move(request.done)});
    for (Tx& tx : request.txs) {
      if (batch_bytes + tx.size() > options_.max_batch_bytes || batch.txs.size() == options_.limits.max_txs) send();
      if (client && (clients.empty() || clients.back() != client)) {
        clients.push_back(client);
        ++client->batches_to_hold;
      }
      batch_bytes += tx.size();
      batch.txs.push_back(std::move(tx));
    }
  }
  send();
  {
    const std::lock_guard lock(mutex_);
    stats_.txs_sent += txs;
    stats_.batches_sent += batches;
  }
  for (auto& [done, held] : answer_now)
    if (done) done(held);
}

std::optional<TxBatch> TxGossip::receive(const Address& from, std::span<const std::uint8_t> frame,
                                         std::chrono::steady_clock::time_point now) {
  auto decoded = decode_frame(frame, {}, options_.limits);
  if (decoded) {
    if (const auto* held = std::get_if<TxBatchHeld>(&*decoded)) {
      on_held(from, held->sequence);
      return std::nullopt;
    }
  }
  if (!decoded || !std::holds_alternative<TxBatch>(*decoded)) {
    {
      const std::lock_guard lock(mutex_);
      ++stats_.batches_malformed;
    }
    drop(from, "malformed", decoded ? "not mempool gossip" : decoded.error().message, now);
    return std::nullopt;
  }
  TxBatch batch = std::move(std::get<TxBatch>(*decoded));
  std::size_t& pending = pending_[from];
  if (pending + batch.txs.size() > options_.max_pending_txs_per_peer) {
    {
      const std::lock_guard lock(mutex_);
      stats_.dropped_peer_backlog += batch.txs.size();
    }
    drop(from, "peer_backlog",
         std::to_string(batch.txs.size()) + " transactions beyond the peer's share (" + std::to_string(pending) +
             " pending)",
         now);
    return std::nullopt;
  }
  pending += batch.txs.size();
  const std::lock_guard lock(mutex_);
  stats_.txs_received += batch.txs.size();
  return batch;
}

void TxGossip::admitted(const Address& from, std::uint64_t sequence, std::size_t count, bool held) {
  std::size_t& pending = pending_[from];
  pending -= std::min(pending, count);
  if (!held) return;
  network_.send(from, std::make_shared<const Bytes>(encode_frame(WireMessage{TxBatchHeld{sequence}})));
  const std::lock_guard lock(mutex_);
  ++stats_.held_answers_sent;
}

void TxGossip::on_held(const Address& from, std::uint64_t sequence) {
  // Not found: held by enough peers already, timed out, or a sequence never sent.
  const auto found = unheld_.find(sequence);
  if (found == unheld_.end()) return;
  SentBatch& batch = found->second;
  if (std::find(batch.holders.begin(), batch.holders.end(), from) != batch.holders.end()) return;
  batch.holders.push_back(from);
  if (counted_holders(batch) >= required_holders_) answer_held(found);
}

std::size_t TxGossip::counted_holders(const SentBatch& batch) const {
  if (!counted_) return batch.holders.size();
  return static_cast<std::size_t>(std::count_if(batch.holders.begin(), batch.holders.end(), [&](const Address& holder) {
    return std::find(counted_->begin(), counted_->end(), holder) != counted_->end();
  }));
}

void TxGossip::answer_held(std::map<std::uint64_t, SentBatch>::iterator held) {
  const std::vector<std::shared_ptr<Client>> clients = std::move(held->second.clients);
  unheld_.erase(held);
  {
    const std::lock_guard lock(mutex_);
    ++stats_.batches_held;
  }
  for (const std::shared_ptr<Client>& client : clients)
    if (--client->batches_to_hold == 0 && client->done) std::exchange(client->done, nullptr)(true);
}

void TxGossip::set_holders(std::vector<Address> counted, std::size_t required) {
  counted_ = std::move(counted);
  required_holders_ = required;
  // Batches on their way are judged by the new set too: a newcomer may hold them already.
  for (auto batch = unheld_.begin(); batch != unheld_.end();) {
    const auto next = std::next(batch);
    if (counted_holders(batch->second) >= required_holders_) answer_held(batch);
    batch = next;
  }
}

void TxGossip::on_peer_connected(const Address& peer) {
  for (const auto& [sequence, batch] : unheld_)
    if (std::find(batch.holders.begin(), batch.holders.end(), peer) == batch.holders.end())
      network_.send(peer, batch.frame);
}

void TxGossip::tick(std::chrono::steady_clock::time_point now) {
  while (!unheld_.empty() && now - unheld_.begin()->second.first_sent >= options_.hold_timeout) {
    const std::vector<std::shared_ptr<Client>> clients = std::move(unheld_.begin()->second.clients);
    unheld_.erase(unheld_.begin());
    {
      const std::lock_guard lock(mutex_);
      ++stats_.batches_not_held;
    }
    // A client with batches in several frames is failed by the first that times out.
    for (const std::shared_ptr<Client>& client : clients)
      if (client->done) std::exchange(client->done, nullptr)(false);
  }
  // Called after every event: the batches are looked through only when one is due.
  if (unheld_.empty() || now < next_resend_) return;
  next_resend_ = std::chrono::steady_clock::time_point::max();
  std::uint64_t resent = 0;
  for (auto& [sequence, batch] : unheld_) {
    if (now - batch.last_sent >= options_.resend_interval) {
      batch.last_sent = now;
      network_.broadcast(batch.frame);
      ++resent;
    }
    next_resend_ = std::min(next_resend_, batch.last_sent + options_.resend_interval);
  }
  const std::lock_guard lock(mutex_);
  stats_.batches_resent += resent;
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
