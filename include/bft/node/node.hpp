// One validator, assembled from a configuration: the block store and the key-value
// application, the write-ahead log and sign guard, the replica, the encrypted transport
// to the other validators, and the HTTP client endpoint. A program that runs a validator
// is then: parse the command line, load the config and key, open a Node, run() it, and
// call stop() from a signal handler thread (apps/bft-node/main.cpp).
//
// Threads: run() drives consensus, the transport and the timers on the calling thread;
// the HTTP server answers clients on threads of its own (ClientApi), so no client
// request runs on, or waits for, the thread that votes.
#pragma once

#include <memory>

#include "bft/crypto/ed25519.hpp"
#include "bft/node/config.hpp"
#include "bft/node/log.hpp"
#include "bft/result.hpp"

namespace bft::node {

class Node {
 public:
  /// Creates the data directory's parts, opens and recovers the stores and the log,
  /// binds both ports. Errors: io_error (a directory, file or port), corrupt_log, the
  /// replica's recovery errors, invalid_argument (options).
  static Result<std::unique_ptr<Node>> open(NodeConfig config, crypto::Ed25519Signer signer, const Logger& logger);
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
