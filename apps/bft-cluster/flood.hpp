// A hostile client for --flood-http: several threads send one node's HTTP endpoint the
// most expensive requests it has (long block ranges, status, reads, large bodies that do
// not parse), back to back, from a start time to an end time. bft-cluster measures the
// cluster's heights per second during the flood against the same span just before it:
// a node that serves clients on its consensus thread would stall the chain.
//
// On loopback the flood comes from 127.0.0.2, another client address than the run's load
// and monitor (127.0.0.1), as an attacker's would be.
//
// The flood's threads lower their own scheduling priority: they share this machine's
// cores with the nodes, and the run should measure whether a node lets clients delay its
// votes, not how the kernel splits two cores between an attacker and four nodes.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

#include "load.hpp"

namespace bft::cluster {

class HttpFlood {
 public:
  /// `source`: the address the hostile clients connect from (empty: the system's
  /// choice), so a node can tell them from the run's own load and monitor.
  HttpFlood(Endpoint target, std::string source, std::size_t clients, std::chrono::steady_clock::time_point from,
            std::chrono::steady_clock::time_point until);
  HttpFlood(const HttpFlood&) = delete;
  HttpFlood& operator=(const HttpFlood&) = delete;
  ~HttpFlood();

  void start();
  void stop();
  void join();

  std::uint64_t requests() const { return requests_; }
  /// Requests answered with a status (any), as opposed to failed connections or timeouts.
  std::uint64_t answered() const { return answered_; }

 private:
  void attack(std::size_t client);

  Endpoint target_;
  std::string source_;
  std::size_t clients_;
  std::chrono::steady_clock::time_point from_, until_;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> requests_{0};
  std::atomic<std::uint64_t> answered_{0};
  std::vector<std::thread> threads_;
};

}  // namespace bft::cluster
