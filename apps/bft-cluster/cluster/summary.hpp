// What one bft-cluster run measured and concluded, as text for people and as one JSON
// line for scripts (the last line of stdout with --json).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cluster/delivery.hpp"

namespace bft::cluster {

struct KillReport {
  std::size_t node = 0;
  double at_s = 0;
  double restart_s = 0;
  bool caught_up = false;   // its height reached the others' within the recovery bound
  double catch_up_s = 0;    // from the restart; meaningful when caught_up
};

struct PartitionReport {
  std::vector<std::size_t> nodes;
  double at_s = 0;
  double heal_s = 0;
  bool resumed = false;     // every node passed the highest pre-heal height within the bound
  double resume_s = 0;      // from the heal; meaningful when resumed
};

struct FloodReport {
  std::size_t node = 0;
  double at_s = 0;
  double until_s = 0;
  std::uint64_t requests = 0;  // sent by the hostile clients
  std::uint64_t answered = 0;  // of those, answered with any status
  double heights_per_sec_before = 0;  // over the span of the same length just before
  double heights_per_sec_during = 0;
  /// The run fails when ratio() is below it (--flood-min-ratio).
  double min_ratio = 0.8;
  /// during / before.
  double ratio() const { return heights_per_sec_before > 0 ? heights_per_sec_during / heights_per_sec_before : 0; }
};

/// What a real Prometheus (--metrics-port) read from the nodes' /metrics.
struct PrometheusReport {
  std::string url;
  std::size_t nodes_reporting = 0;  // nodes with a bftcore_consensus_height series
  std::uint64_t lowest_height = 0;  // the lowest of those heights
  double p50_commit_ms = 0;         // histogram_quantile over the last seconds
  std::string problem;              // why a query failed, if one did
};

/// --rotate: the operator's validator changes, and the node that joined after them.
struct RotationReport {
  std::size_t planned = 0;
  std::size_t applied = 0;  // committed and reported in force by every node that answered
  std::vector<std::string> changes;  // e.g. "from height 57: full-0 joins with power 1"
  std::string late_joiner;           // empty: none (fewer than two full nodes)
  std::uint64_t joined_at_height = 0;  // the highest height when it started
  std::uint64_t joiner_height = 0;     // its height at the end
  bool ok() const { return applied == planned && (late_joiner.empty() || joiner_height >= joined_at_height); }
};

/// A restarted node must catch up, and a healed cluster resume, within this many seconds.
inline constexpr double recovery_bound_s = 10;

struct RunSummary {
  std::string mode;  // "loopback" or "netns"
  std::size_t nodes = 0;
  double duration_s = 0;
  double load_per_s = 0;
  std::size_t batch = 0;
  std::uint32_t delay_ms = 0;
  double loss = 0;

  std::uint64_t heights = 0;      // the lowest committed height across nodes
  std::uint64_t max_height = 0;   // the highest
  double heights_per_sec = 0;
  double p50_commit_ms = 0;
  double p99_commit_ms = 0;
  std::uint64_t txs = 0;          // commands committed in heights 1..heights
  double txs_per_sec = 0;
  std::uint64_t commands_accepted = 0;  // commands the nodes answered 202 for
  std::uint64_t commands_rejected = 0;  // commands in POSTs answered 503 (backed off)

  /// Every accepted command committed exactly once (checked after the mempools drained);
  /// none if the committed ids could not be read (a failure then says why).
  std::optional<DeliveryReport> delivery;

  bool agreement = false;
  std::uint64_t heights_compared = 0;
  std::vector<std::string> disagreements;

  bool clean_shutdown = false;
  std::vector<std::string> shutdown_problems;  // e.g. "node-2: no exit 5 s after SIGTERM, killed"

  std::vector<KillReport> kills;
  std::vector<PartitionReport> partitions;
  std::optional<FloodReport> flood;
  std::optional<PrometheusReport> prometheus;
  std::optional<RotationReport> rotation;
  std::vector<std::string> failures;  // e.g. a node that died unexpectedly

  /// The run passes: agreement, at least one height, no unexpected deaths, a clean
  /// shutdown, every fault scenario recovered, a flood left the heights/s within
  /// its min_ratio, and Prometheus (if asked for) read a height from every node and a
  /// commit latency.
  bool ok() const;
  std::string to_text() const;
  /// One line, no trailing newline.
  std::string to_json() const;
};

}  // namespace bft::cluster
