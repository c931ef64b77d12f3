// Mempool gossip: the transactions a client gives one validator reach the others.
//
// Topology. Validators form a full mesh (the transport connects every pair), so the node a
// client chose sends each transaction it pooled straight to every peer, and a transaction
// received by gossip is not sent on: it crosses each link once by gossip (and once more
// in the proposal that includes it). Relaying would only repeat it on links that carried
// it already; full nodes, which are not in the mesh, would need it and do not exist yet.
// A peer disconnected when a batch left gets it when it connects if the batch is not yet
// held by enough peers, and in a block otherwise.
//
// Batching. Client transactions queue up (from the HTTP threads) until the node's thread
// flushes them: everything queued goes out in TxBatch frames of at most max_batch_bytes,
// so under load one frame carries many transactions. The host flushes as soon as it can
// (a flush is posted when the queue turns non-empty).
//
// Holding before answering. A client is told its transactions were accepted only once
// `required_holders` peers answered TxBatchHeld for every batch that carries them: the
// peer pooled each one (or has it committed), or its check_tx refused it. With the host's
// choice, f = (n-1)/3 of n validators, the transactions are then held by f + 1 nodes
// counting this one, so they commit although any f of them crash, this one included,
// right after the answer. (A transaction the peers' state refuses, a spent balance seen a
// block later, is held by this node only; it would fail in its block all the same unless
// the state turns again.) Until enough peers hold a batch it goes again every
// resend_interval, and to each peer that connects; if they do not within hold_timeout
// (peers down, partitioned, or refusing it), its clients are told so: the transactions
// are pooled here only, and may still commit.
//
// Admission and bounds. A received batch is decoded and checked against the sending
// peer's share on the node's thread (cheap); check_tx runs elsewhere (the host's
// admission thread, Blockchain::submit: committed and pooled ones are skipped without
// it). Each peer may have at most max_pending_txs_per_peer transactions waiting for
// admission; a batch beyond that is dropped whole (and not answered), counted and logged
// (rate-limited): a peer that floods takes its share of the admission thread and no
// more. The client queue is bounded too (max_queued_txs): beyond it transactions are
// pooled but not gossiped (counted), and their clients told they are not held elsewhere.
// Batches waiting for holders are bounded by hold_timeout.
//
// Threads: enqueue() and stats() from any thread; the rest on the node's thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
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
  /// Peers that must hold a batch before its clients are answered (0: answered once sent),
  /// until set_holders() says otherwise.
  std::size_t required_holders = 0;
  std::chrono::milliseconds hold_timeout{2'000};
  /// A peer may have refused a batch for a while (check_tx on a state a block behind or
  /// ahead of this node's), or lost it with its link: unheld batches go again this often.
  std::chrono::milliseconds resend_interval{400};
  TxBatchLimits limits = {};
};

struct TxGossipStats {
  std::uint64_t txs_sent = 0;  // transactions in batches sent (each to every peer)
  std::uint64_t batches_sent = 0;
  std::uint64_t txs_received = 0;  // in batches taken for admission
  std::uint64_t dropped_queue_full = 0;    // client transactions not gossiped: the queue was full
  std::uint64_t dropped_peer_backlog = 0;  // peers' transactions dropped: beyond the peer's share
  std::uint64_t batches_malformed = 0;
  std::uint64_t batches_held = 0;        // sent batches that enough peers hold
  std::uint64_t batches_not_held = 0;    // sent batches that timed out first
  std::uint64_t batches_resent = 0;      // unheld batches sent again (to every peer)
  std::uint64_t held_answers_sent = 0;   // TxBatchHeld sent to peers
};

class TxGossip {
 public:
  TxGossip(TxGossipOptions options, Network& network, const Logger& logger, metrics::Registry* metrics = nullptr);

  /// Runs once on the node's thread: true when enough peers hold the transactions, false
  /// when they do not within hold_timeout (or were not gossiped, the queue being full).
  using Done = std::function<void(bool held)>;

  /// Any thread: transactions a client gave this node, pooled. Returns true if the queue
  /// was empty: the host then schedules a flush().
  bool enqueue(std::vector<Tx> txs, Done done);

  /// Sends everything queued, in batches, to every peer.
  void flush(std::chrono::steady_clock::time_point now);

  /// A TxBatch or TxBatchHeld frame from `from`. For a batch: the transactions to admit,
  /// or nullopt if the frame is malformed or beyond the peer's share (counted and
  /// logged); call admitted() once they were. For a TxBatchHeld: nullopt, the answer
  /// counted (and clients answered once enough peers hold their batches).
  std::optional<TxBatch> receive(const Address& from, std::span<const std::uint8_t> frame,
                                 std::chrono::steady_clock::time_point now);
  /// The batch `sequence` of `from` (`count` transactions) handed out by receive() went
  /// through admission; if `held` (every transaction pooled, committed or refused by
  /// check_tx) `from` is told so.
  void admitted(const Address& from, std::uint64_t sequence, std::size_t count, bool held);

  /// From now on only the TxBatchHeld of `counted` peers count, and a batch needs
  /// `required` of them: a node sets the validators of its current height (a full node
  /// holding a transaction does not propose it). Batches on their way are judged again
  /// at once by the holders they have (every peer's answer is kept).
  void set_holders(std::vector<Address> counted, std::size_t required);

  /// A peer (re)connected: it gets the batches not yet held by enough peers, which it
  /// missed if it was down when they left (a node that has just started, a healed link).
  void on_peer_connected(const Address& peer);

  /// For batches not yet held by enough peers: sends again those last sent resend_interval
  /// ago, and fails the clients of those sent hold_timeout ago.
  void tick(std::chrono::steady_clock::time_point now);

  TxGossipStats stats() const;

 private:
  struct Queued {
    std::vector<Tx> txs;
    Done done;
  };
  /// A client's transactions in flight: answered when its last batch is held.
  struct Client {
    std::size_t batches_to_hold = 0;
    Done done;
  };
  struct SentBatch {
    std::shared_ptr<const Bytes> frame;
    std::chrono::steady_clock::time_point first_sent;
    std::chrono::steady_clock::time_point last_sent;
    std::vector<Address> holders;
    std::vector<std::shared_ptr<Client>> clients;
  };
  void on_held(const Address& from, std::uint64_t sequence);
  /// The batch's holders that count now.
  std::size_t counted_holders(const SentBatch& batch) const;
  /// Enough hold it: its clients whose last batch it was are answered.
  void answer_held(std::map<std::uint64_t, SentBatch>::iterator held);
  void drop(const Address& from, const char* reason, const std::string& detail,
            std::chrono::steady_clock::time_point now);

  const TxGossipOptions options_;
  std::size_t required_holders_ = options_.required_holders;
  std::optional<std::vector<Address>> counted_;  // whose holding counts; every peer's if none
  Network& network_;
  const Logger& log_;
  metrics::Family<metrics::Counter>* dropped_ = nullptr;

  mutable std::mutex mutex_;  // the queue and the stats
  std::vector<Queued> queue_;
  std::size_t queued_txs_ = 0;
  TxGossipStats stats_;

  std::unordered_map<Address, std::size_t> pending_;  // per peer, awaiting admission
  std::uint64_t next_sequence_ = 1;
  std::map<std::uint64_t, SentBatch> unheld_;  // by sequence, hence by age
  std::chrono::steady_clock::time_point next_resend_ = std::chrono::steady_clock::time_point::max();
  net::LogLimiter drop_log_{{.lines_per_interval = 5, .interval = std::chrono::seconds(10), .what = "gossip drops"}};
};

}  // namespace bft::node
