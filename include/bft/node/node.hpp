// One validator, assembled from a configuration around an Application: the engine's
// block store and mempool (Blockchain), the write-ahead log and sign guard, the replica,
// the encrypted transport to the other validators, and the HTTP client endpoint. A
// program that runs a validator is then: parse the command line, load the config and
// key, open its application, open a Node on it, run() it, and call stop() from a signal
// handler thread (apps/bft-node/main.cpp, examples/bank).
//
// Threads: run() drives consensus, the transport and the timers on the calling thread;
// the HTTP server answers clients on threads of its own (ClientApi), so no client
// request runs on, or waits for, the thread that votes.
#pragma once

#include <memory>

#include "bft/crypto/ed25519.hpp"
#include "bft/node/application.hpp"
#include "bft/node/config.hpp"
#include "bft/node/log.hpp"
#include "bft/result.hpp"

namespace bft::node {

class Node {
 public:
  /// Creates the data directory's parts, opens the block store and runs the start-up
  /// handshake with `app` (Blockchain::open), recovers the log, binds both ports.
  /// Errors: io_error (a directory, file or port), corrupt_log, state_diverged and
  /// invalid_argument (an application and a block store that disagree; options), the
  /// replica's recovery errors. `app` must outlive the Node.
  static Result<std::unique_ptr<Node>> open(NodeConfig config, crypto::Ed25519Signer signer, Application& app,
                                            const Logger& logger);
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  /// Runs until stop() (returns 0) or a fatal error, e.g. a failed disk write (returns 1).
  int run();
  /// Any thread: ends run() soon after.
  void stop();

  std::uint16_t p2p_port() const;
  std::uint16_t http_port() const;

 private:
  class Impl;
  explicit Node(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace bft::node
