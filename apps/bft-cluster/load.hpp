// The load: one thread per node posting batches of `set` commands at a steady rate until
// a fixed end time, backing off when the node answers 503 (mempool full) or cannot be
// reached (killed, partitioned). The loop ends by itself at that time.
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
  /// `rate_per_s` commands per second in total, split evenly over the endpoints.
  LoadDriver(std::vector<Endpoint> endpoints, double rate_per_s, std::size_t batch,
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
  void drive(std::size_t node);

  std::vector<Endpoint> endpoints_;
  double rate_per_node_;
  std::size_t batch_;
  std::chrono::steady_clock::time_point end_;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> accepted_{0};
  std::atomic<std::uint64_t> rejected_{0};
  std::vector<std::thread> threads_;
  std::vector<std::vector<std::uint64_t>> accepted_ids_;  // per node's thread
};

}  // namespace bft::cluster
