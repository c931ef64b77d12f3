// --netns: one network namespace per node, all joined to a bridge in a dedicated "hub"
// namespace, so the run touches no interface, address or route of the host.
//
//   hub namespace bftc-<pid>-hub:   bridge br0 (10.77.0.254/24), ports n0 .. n<N-1>
//   node namespace bftc-<pid>-n<i>: lo, eth0 = 10.77.0.<i+1>/24, the peer of hub port n<i>
//
// The veth pairs are created inside the hub namespace with their peers placed straight
// into the node namespaces, so nothing ever appears in the host's namespace. Every run
// has its own namespaces, so the fixed subnet cannot clash with another run or the host.
// bft-cluster reaches the nodes' HTTP endpoints by moving its own (still single) thread
// into the hub namespace with setns(2): the threads and children it starts afterwards
// inherit it, and the hub's bridge address routes to every node. A partition sets a
// node's hub port down, which cuts it off from the other nodes and from bft-cluster.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "bft/result.hpp"

namespace bft::cluster {

class NetnsNetwork {
 public:
  NetnsNetwork() = default;
  NetnsNetwork(const NetnsNetwork&) = delete;
  NetnsNetwork& operator=(const NetnsNetwork&) = delete;
  /// Leaves the hub namespace and deletes every namespace this object created (their
  /// interfaces go with them). Run after the nodes are stopped.
  ~NetnsNetwork();

  /// Creates the namespaces and links. Errors (io_error): `ip` is missing, or this
  /// process may not create namespaces; whatever was created is deleted by the destructor.
  Result<void> create(std::size_t nodes);

  std::string node_namespace(std::size_t node) const;
  std::string node_address(std::size_t node) const;

  /// Moves the calling thread into the hub namespace; call while it is the only thread.
  Result<void> enter_hub();
  /// Back to the namespace bft-cluster started in; call after joining other threads.
  void leave_hub();

  /// Sets node's hub port up (connected) or down (isolated).
  Result<void> set_connected(std::size_t node, bool connected);

 private:
  Result<void> ip(std::vector<std::string> args);

  std::string prefix_;
  std::vector<std::string> created_;  // namespaces, in creation order
  int original_namespace_fd_ = -1;
};

}  // namespace bft::cluster
