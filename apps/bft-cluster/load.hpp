// The load: `clients_per_node` threads per node, each a client with its own connection
// posting batches of `set` commands at a steady rate until a fixed end time, backing off
// when the node answers 503 (mempool full) or cannot be reached (killed, partitioned). The
// loops end by themselves at that time. One request in flight per client: with a single
// client per node the load could not exceed batch / (a request's round trip), so a node
// slower to answer would look slower at consensus.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

namespace bft::cluster {

struct Endpoint {
  std::string host;
  std::uint16_t port = 0;
};

class LoadDriver {
 public:
  /// `rate_per_s` commands per second in total, split evenly over the endpoints' clients.
  LoadDriver(std::vector<Endpoint> endpoints, double rate_per_s, std::size_t batch, std::size_t clients_per_node,
             std::chrono::steady_clock::time_point end);
  LoadDriver(const LoadDriver&) = delete;
  LoadDriver& operator=(const LoadDriver&) = delete;
  ~LoadDriver();

  void start();
  /// Ends the load early (interrupt, a node died); a no-op once the threads are done.
  void stop();
  void join();

  std::uint64_t accepted() const { return accepted_; }
  /// After join(): the ids (first 8 bytes) of every command a node accepted.
  std::vector<std::uint64_t> accepted_ids() const;
  std::uint64_t rejected() const { return rejected_; }

 private:
  void drive(std::size_t node, std::size_t client);

  std::vector<Endpoint> endpoints_;
  std::size_t clients_per_node_;
  double rate_per_client_;
  std::size_t batch_;
  std::chrono::steady_clock::time_point end_;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> accepted_{0};
  std::atomic<std::uint64_t> rejected_{0};
  std::vector<std::thread> threads_;
  std::vector<std::vector<std::uint64_t>> accepted_ids_;  // per client
};

}  // namespace bft::cluster
