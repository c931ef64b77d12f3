// The routes of bft-node's client endpoint, apart from the HTTP server that carries them.
//
//   POST /txs[?wait=commit[&timeout_ms=T]]
//                          body: one transaction per line (LF or CRLF; blank lines are
//                          skipped), or with Content-Type application/octet-stream
//                          the whole body as one transaction; answers each one's id
//                          (SHA-256 hex) and its status: accepted (pooled), committed
//                          (a retry of a committed one) or refused, with why; costs one
//                          request per 64 KiB of body against the client's budget. It
//                          answers once the transactions it pooled left for the peers
//                          (TxGossip). With wait=commit, once every accepted one
//                          committed (200, each with its height, index, code and log), or
//                          at the timeout (202, "timed_out", those left "pending"); the
//                          wait holds no thread (HttpLater), and at most the TxIndex's
//                          max_waiters requests wait at once (503 beyond)
//   GET  /tx/<id>          a transaction's status by id (64 hex digits): pending (in
//                          the mempool), committed (height, index in the block, the
//                          application's code and log), or unknown (never seen, refused,
//                          dropped, or committed longer ago than the TxIndex remembers)
//   GET  /kv/<key>         the application's query("/kv", key): its value (the key
//                          percent-decoded)
//   GET  /abci_query?path=P&data=D
//                          the application's query(P, D) (both percent-decoded), as
//                          JSON: code, log, value_hex, height
//   GET  /status           height, round, app hash, mempool, peers, counters (JSON)
//   GET  /metrics          the node's metrics, Prometheus text format 0.0.4
//   GET  /blocks?from=F&to=T[&tx_ids=1]
//                          block summaries (with tx_ids=1, also "tx_id_prefixes": the
//                          first 8 bytes of each transaction's id, hex, concatenated in
//                          block order), one page: at most max_blocks_per_page blocks
//                          and max_block_bytes_per_page bytes read; "next" says where
//                          the following page starts when the range did not fit; a
//                          page costs one request per 64 KiB of block data read against
//                          the client's budget (HttpLimits::client_cost_per_second)
//
// Every route runs on the HTTP server's threads, never on the node's: it reads what the
// node publishes (a StatusBoard) and what the application and block store allow any
// thread to read. Each answer is bounded in items and bytes, so no request can hold a
// lock the node needs for longer than one lookup, or make the process hold more than a
// page of blocks.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <mutex>
#include <string>

#include "bft/metrics/registry.hpp"
#include "bft/node/http_server.hpp"
#include "bft/node/blockchain.hpp"
#include "bft/node/replica.hpp"
#include "bft/types.hpp"

namespace bft::node {

/// What the node's thread knows and clients may see, copied out after its events.
struct NodeStatus {
  Height height = 0;  // the replica's current height (committed + 1 once started)
  Round round = 0;
  Step step = Step::propose;
  std::size_t peers = 0;
  ReplicaStats replica;
  /// The validators of `height` (an element of the chain's ValidatorHistory, which only
  /// grows and outlives the API); null before the node started.
  const ValidatorEpoch* validators = nullptr;
  /// Whether this node is one of them.
  bool voting = false;
};

/// One writer (the node's thread), any number of readers; a copy under a mutex.
class StatusBoard {
 public:
  void publish(const NodeStatus& status) {
    const std::lock_guard lock(mutex_);
    status_ = status;
  }
  NodeStatus read() const {
    const std::lock_guard lock(mutex_);
    return status_;
  }

 private:
  mutable std::mutex mutex_;
  NodeStatus status_;
};

struct ClientApiLimits {
  std::size_t max_blocks_per_page = 100;
  /// Block values and certificates read for one page (the first block always counts).
  std::size_t max_block_bytes_per_page = std::size_t{1} << 20;
  /// POST /txs?wait=commit: the wait without timeout_ms, and the longest one allowed.
  /// (How many may wait at once is the TxIndex's bound.)
  std::chrono::milliseconds default_wait{10'000};
  std::chrono::milliseconds max_wait{60'000};
  /// How long POST /txs waits for the gossip's verdict (held by enough peers, or not)
  /// before it answers that its transactions are not held elsewhere: a backstop for a
  /// stalled node thread, longer than the gossip's own hold timeout.
  std::chrono::milliseconds gossip_wait{5'000};
};

class ClientApi {
 public:
  /// Hands transactions this node pooled for a client to the peers (TxGossip); `done`
  /// runs once with whether enough peers hold them.
  using Broadcast = std::function<void(std::vector<Tx> txs, std::function<void(bool held)> done)>;

  /// Without `metrics`, GET /metrics is 404. Without `broadcast`, POST /txs answers as
  /// soon as the transactions are pooled. With it, a transaction is `accepted` (202) only
  /// once enough peers hold it too; otherwise it is `not_held` (503): pooled by this node
  /// only, it may still commit, and submitting it again is safe (the same bytes are the
  /// same transaction).
  ClientApi(std::string node_name, Blockchain& chain, const StatusBoard& status,
            const metrics::Registry* metrics = nullptr, ClientApiLimits limits = {}, Broadcast broadcast = {});

  /// Thread-safe; may run on several threads at once.
  HttpResponse handle(const HttpRequest& request) const;

 private:
  struct Submission;
  HttpResponse submit(const HttpRequest& request) const;
  HttpResponse transaction(std::string_view hex_id) const;
  HttpResponse query(std::string_view query) const;
  /// The validators of the node's current height, and the height they are in force from.
  HttpResponse validators() const;
  HttpResponse status() const;
  HttpResponse blocks(std::string_view query) const;

  std::string name_;
  Blockchain& chain_;
  const StatusBoard& status_;
  const metrics::Registry* metrics_;
  ClientApiLimits limits_;
  Broadcast broadcast_;
};

}  // namespace bft::node
