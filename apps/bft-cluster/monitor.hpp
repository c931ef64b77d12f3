// Watches the nodes while the load runs: one thread per node polls GET /status every
// 250 ms and fetches the node's new blocks, for the progress line and the recovery checks.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "load.hpp"

namespace bft::cluster {

struct NodeView {
  bool reachable = false;  // the last poll got an answer
  std::uint64_t height = 0;
  std::uint64_t txs_committed = 0;
  std::chrono::steady_clock::time_point sampled{};  // when the last answer arrived
  std::deque<double> recent_commit_ms;              // of its latest blocks
};

class Monitor {
 public:
  explicit Monitor(std::vector<Endpoint> endpoints);
  Monitor(const Monitor&) = delete;
  Monitor& operator=(const Monitor&) = delete;
  ~Monitor();

  void start();
  void stop();
  std::vector<NodeView> snapshot() const;

 private:
  void poll(std::size_t node);

  std::vector<Endpoint> endpoints_;
  mutable std::mutex mutex_;
  std::vector<NodeView> views_;
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
};

}  // namespace bft::cluster
