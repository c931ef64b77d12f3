// Totals over the seeds of a batch, and the JSON object bft-sim prints last.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "bft/sim/simulation.hpp"

namespace bft::sim {

class Summary {
 public:
  void add(const RunResult& run);
  /// Wall-clock time of the whole batch, measured by the caller.
  void set_wall_ms(double wall_ms) { wall_ms_ = wall_ms; }

  std::uint64_t seeds() const noexcept { return seeds_; }
  std::uint64_t seeds_incomplete() const noexcept { return seeds_incomplete_; }
  std::uint64_t seeds_failed() const noexcept { return failed_seeds_.size(); }
  const std::vector<std::uint64_t>& failed_seeds() const noexcept { return failed_seeds_; }
  std::uint64_t heights_committed() const noexcept { return heights_committed_; }
  std::uint64_t agreement_violations() const noexcept { return agreement_; }
  std::uint64_t validity_violations() const noexcept { return validity_; }
  std::uint64_t double_signs() const noexcept { return double_signs_; }
  std::uint64_t false_evidence() const noexcept { return false_evidence_; }
  std::uint64_t evidence() const noexcept { return evidence_; }
  /// Evidence reports by correct nodes against each node, over the seeds it was Byzantine in.
  const std::map<std::string, std::uint64_t>& evidence_per_byzantine() const noexcept { return evidence_per_node_; }
  /// (seed, Byzantine node) pairs that no correct node reported.
  std::uint64_t byzantine_without_evidence() const noexcept { return byzantine_without_evidence_; }
  double rounds_per_height_mean() const;
  /// Commit latency (StartHeight to Decide at each correct node) in simulated ms; q in [0, 1].
  double commit_latency_ms(double q) const;
  Time liveness_bound() const noexcept { return liveness_bound_; }
  Time max_time_to_target_after_heal() const noexcept { return max_time_to_target_; }
  double heights_per_sec() const;
  double wall_ms() const noexcept { return wall_ms_; }
  std::uint64_t crashes() const noexcept { return crashes_; }
  std::uint64_t recoveries() const noexcept { return recoveries_; }

  /// One line of JSON with every figure above and the network counters.
  std::string to_json() const;
  /// A few lines for a person.
  std::string to_text() const;

 private:
  std::uint64_t seeds_ = 0;
  std::uint64_t seeds_incomplete_ = 0;
  std::vector<std::uint64_t> failed_seeds_;
  std::uint64_t heights_committed_ = 0;
  std::uint64_t agreement_ = 0;
  std::uint64_t validity_ = 0;
  std::uint64_t double_signs_ = 0;
  std::uint64_t false_evidence_ = 0;
  std::uint64_t stops_ = 0;
  std::uint64_t evidence_ = 0;
  std::map<std::string, std::uint64_t> evidence_per_node_;
  std::uint64_t byzantine_without_evidence_ = 0;
  std::uint64_t rounds_sum_ = 0;
  mutable std::vector<std::uint32_t> latencies_us_;
  mutable bool latencies_sorted_ = true;
  Time liveness_bound_ = 0;
  Time max_time_to_target_ = 0;
  Time sim_time_ = 0;
  std::uint64_t events_ = 0;
  std::uint64_t messages_sent_ = 0;
  std::uint64_t messages_dropped_ = 0;
  std::uint64_t messages_duplicated_ = 0;
  std::uint64_t help_sent_ = 0;
  std::uint64_t frames_rejected_ = 0;
  std::uint64_t blocks_synced_ = 0;
  std::uint64_t round_changes_ = 0;
  std::uint64_t validator_changes_ = 0;
  std::uint64_t crashes_ = 0;
  std::uint64_t recoveries_ = 0;
  std::uint64_t torn_tails_repaired_ = 0;
  std::uint64_t unsent_after_recovery_ = 0;
  std::uint64_t guard_refusals_ = 0;
  std::uint64_t failed_syncs_ = 0;
  std::uint64_t bits_flipped_ = 0;
  std::uint64_t nodes_lost_ = 0;
  std::uint64_t stored_bits_flipped_ = 0;
  std::uint64_t txs_submitted_ = 0;
  std::uint64_t txs_committed_ = 0;
  std::uint64_t blocks_replayed_ = 0;
  double wall_ms_ = 0;
};

}  // namespace bft::sim
