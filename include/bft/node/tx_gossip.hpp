// Mempool gossip: the transactions a client gives one validator reach the others.
//
// Topology. Validators form a full mesh (the transport connects every pair), so the node a
// client chose sends each transaction it pooled straight to every peer, and a transaction
// received by gossip is not sent on: it crosses each link once by gossip (and once more
// in the proposal that includes it). Relaying would only repeat it on links that carried
// it already; full nodes, which are not in the mesh, would need it and do not exist yet.
// A peer disconnected when a batch left misses it and gets the transaction in a block.
//
// Batching. Client transactions queue up (from the HTTP threads) until the node's thread
// flushes them: everything queued goes out in TxBatch frames of at most max_batch_bytes,
// so under load one frame carries many transactions. The host flushes as soon as it can
// (a flush is posted when the queue turns non-empty): a client is told its transactions
// were accepted only once they left for the peers (the `sent` callbacks), so a node that
// crashes after accepting has already handed them on.
//
// Admission and bounds. A received batch is decoded and checked against the sending
// peer's share on the node's thread (cheap); check_tx runs elsewhere (the host's
// admission thread, Blockchain::submit: committed and pooled ones are skipped without
// it). Each peer may have at most max_pending_txs_per_peer transactions waiting for
// admission; a batch beyond that is dropped whole, counted and logged (rate-limited): a
// peer that floods takes its share of the admission thread and no more. The client queue
// is bounded too (max_queued_txs): beyond it transactions are pooled but not gossiped
// (counted), and reach the peers in a block.
//
// Threads: enqueue() and stats() from any thread; the rest on the node's thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

#include "bft/metrics/registry.hpp"
#include "bft/net/log_limiter.hpp"
#include "bft/node/log.hpp"
#include "bft/node/replica.hpp"
#include "bft/node/wire.hpp"

namespace bft::node {

struct TxGossipOptions {
  /// Transaction bytes per TxBatch frame (a transaction larger than this goes alone).
  std::size_t max_batch_bytes = std::size_t{1} << 20;
  std::size_t max_queued_txs = 100'000;
  std::size_t max_pending_txs_per_peer = 20'000;
  TxBatchLimits limits = {};
};

struct TxGossipStats {
  std::uint64_t txs_sent = 0;  // transactions in batches sent (each to every peer)
  std::uint64_t batches_sent = 0;
  std::uint64_t txs_received = 0;  // in batches taken for admission
  std::uint64_t dropped_queue_full = 0;    // client transactions not gossiped: the queue was full
  std::uint64_t dropped_peer_backlog = 0;  // peers' transactions dropped: beyond the peer's share
  std::uint64_t batches_malformed = 0;
};

class TxGossip {
 public:
  TxGossip(TxGossipOptions options, Network& network, const Logger& logger, metrics::Registry* metrics = nullptr);

  /// Any thread: transactions a client gave this node, pooled. `sent` runs on the node's
  /// thread once they left for the peers (or were dropped from gossip, the queue being
  /// full: they are pooled all the same). Returns true if the queue was empty: the host
  /// then schedules a flush().
  bool enqueue(std::vector<Tx> txs, std::function<void()> sent);

  /// Sends everything queued, in batches, to every peer; then runs the `sent` callbacks.
  void flush();

  /// A TxBatch frame from `from`: the transactions to admit, or nullopt if the frame is
  /// malformed or beyond the peer's share (counted and logged). Call admitted() once
  /// they were.
  std::optional<std::vector<Tx>> receive(const Address& from, std::span<const std::uint8_t> frame,
                                         std::chrono::steady_clock::time_point now);
  /// `count` transactions of `from` handed out by receive() went through admission.
  void admitted(const Address& from, std::size_t count);

  TxGossipStats stats() const;

 private:
  struct Queued {
    std::vector<Tx> txs;
    std::function<void()> sent;
  };
  void drop(const Address& from, const char* reason, const std::string& detail,
            std::chrono::steady_clock::time_point now);

  const TxGossipOptions options_;
  Network& network_;
  const Logger& log_;
  metrics::Family<metrics::Counter>* dropped_ = nullptr;

  mutable std::mutex mutex_;  // the queue and the stats
  std::vector<Queued> queue_;
  std::size_t queued_txs_ = 0;
  TxGossipStats stats_;

  std::unordered_map<Address, std::size_t> pending_;  // per peer, awaiting admission
  net::LogLimiter drop_log_{{.lines_per_interval = 5, .interval = std::chrono::seconds(10), .what = "gossip drops"}};
};

}  // namespace bft::node
