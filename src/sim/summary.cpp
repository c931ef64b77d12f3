#include "bft/sim/summary.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include <nlohmann/json.hpp>

namespace bft::sim {

void Summary::add(const RunResult& run) {
  ++seeds_;
  if (!run.complete && !run.stopped_on_violation) ++seeds_incomplete_;
  if (run.failed()) failed_seeds_.push_back(run.seed);
  heights_committed_ += run.heights_committed;
  agreement_ += run.agreement_violations;
  validity_ += run.validity_violations;
  double_signs_ += run.double_signs;
  false_evidence_ += run.false_evidence;
  stops_ += run.stops;
  for (std::uint64_t reports : run.evidence_against) evidence_ += reports;
  for (std::uint32_t node : run.byzantine_nodes) {
    const std::uint64_t reports = run.evidence_against[node];
    evidence_per_node_["v" + std::to_string(node)] += reports;
    if (reports == 0) ++byzantine_without_evidence_;
  }
  rounds_sum_ += run.rounds_sum;
  latencies_us_.insert(latencies_us_.end(), run.commit_latencies_us.begin(), run.commit_latencies_us.end());
  latencies_sorted_ = latencies_us_.empty();
  liveness_bound_ = std::max(liveness_bound_, run.liveness_bound);
  if (run.complete) max_time_to_target_ = std::max(max_time_to_target_, run.time_to_target_after_heal);
  sim_time_ += run.end_time;
  events_ += run.events;
  messages_sent_ += run.messages_sent;
  messages_dropped_ += run.messages_dropped;
  messages_duplicated_ += run.messages_duplicated;
  help_sent_ += run.help_sent;
  frames_rejected_ += run.frames_rejected;
  blocks_synced_ += run.blocks_synced;
  round_changes_ += run.round_changes;
  validator_changes_ += run.validator_changes;
  crashes_ += run.crashes;
  recoveries_ += run.recoveries;
  torn_tails_repaired_ += run.torn_tails_repaired;
  unsent_after_recovery_ += run.unsent_after_recovery;
  guard_refusals_ += run.guard_refusals;
  failed_syncs_ += run.failed_syncs;
  bits_flipped_ += run.bits_flipped;
  nodes_lost_ += run.nodes_lost;
  stored_bits_flipped_ += run.stored_bits_flipped;
  txs_submitted_ += run.txs_submitted;
  txs_committed_ += run.txs_committed;
  blocks_replayed_ += run.blocks_replayed;
}

double Summary::rounds_per_height_mean() const {
  return heights_committed_ == 0 ? 0 : static_cast<double>(rounds_sum_) / static_cast<double>(heights_committed_);
}

double Summary::commit_latency_ms(double q) const {
  if (latencies_us_.empty()) return 0;
  if (!latencies_sorted_) {
    std::sort(latencies_us_.begin(), latencies_us_.end());
    latencies_sorted_ = true;
  }
  // Nearest rank: the smallest sample with at least q of all samples at or below it.
  const auto n = static_cast<double>(latencies_us_.size());
  const auto rank = static_cast<std::size_t>(std::max(1.0, std::ceil(q * n)));
  return to_ms(latencies_us_[std::min(rank, latencies_us_.size()) - 1]);
}

double Summary::heights_per_sec() const {
  return wall_ms_ <= 0 ? 0 : static_cast<double>(heights_committed_) * 1000.0 / wall_ms_;
}

std::string Summary::to_json() const {
  auto rounded = [](double x, double scale) { return std::round(x * scale) / scale; };
  nlohmann::json j;
  j["seeds"] = seeds_;
  j["seeds_incomplete"] = seeds_incomplete_;
  j["seeds_failed"] = failed_seeds_.size();
  j["heights_committed"] = heights_committed_;
  j["agreement_violations"] = agreement_;
  j["validity_violations"] = validity_;
  j["double_signs"] = double_signs_;
  j["false_evidence"] = false_evidence_;
  j["stops"] = stops_;
  j["evidence"] = evidence_;
  j["evidence_per_byzantine"] = evidence_per_node_;
  j["byzantine_without_evidence"] = byzantine_without_evidence_;
  j["rounds_per_height_mean"] = rounded(rounds_per_height_mean(), 1e4);
  j["p50_commit_latency_ms"] = rounded(commit_latency_ms(0.50), 1e3);
  j["p99_commit_latency_ms"] = rounded(commit_latency_ms(0.99), 1e3);
  j["max_commit_latency_ms"] = rounded(commit_latency_ms(1.0), 1e3);
  j["liveness_bound_ms"] = rounded(to_ms(liveness_bound_), 1e3);
  j["max_time_to_target_after_heal_ms"] = rounded(to_ms(max_time_to_target_), 1e3);
  j["simulated_ms"] = rounded(to_ms(sim_time_), 1e3);
  j["heights_per_sec"] = rounded(heights_per_sec(), 10);
  j["wall_ms"] = rounded(wall_ms_, 1e3);
  j["events"] = events_;
  j["messages_sent"] = messages_sent_;
  j["messages_dropped"] = messages_dropped_;
  j["messages_duplicated"] = messages_duplicated_;
  j["help_sent"] = help_sent_;
  j["frames_rejected"] = frames_rejected_;
  j["blocks_synced"] = blocks_synced_;
  j["round_changes"] = round_changes_;
  j["validator_changes"] = validator_changes_;
  j["crashes"] = crashes_;
  j["recoveries"] = recoveries_;
  j["torn_tails_repaired"] = torn_tails_repaired_;
  j["unsent_after_recovery"] = unsent_after_recovery_;
  j["guard_refusals"] = guard_refusals_;
  j["failed_syncs"] = failed_syncs_;
  j["bits_flipped"] = bits_flipped_;
  j["nodes_lost"] = nodes_lost_;
  j["stored_bits_flipped"] = stored_bits_flipped_;
  j["txs_submitted"] = txs_submitted_;
  j["txs_committed"] = txs_committed_;
  j["blocks_replayed"] = blocks_replayed_;
  j["failed_seeds"] = std::vector<std::uint64_t>(
      failed_seeds_.begin(), failed_seeds_.begin() + static_cast<std::ptrdiff_t>(std::min<std::size_t>(failed_seeds_.size(), 100)));
  return j.dump();
}

std::string Summary::to_text() const {
  char buffer[1024];
  std::string text;
  std::snprintf(buffer, sizeof buffer,
                "seeds: %llu (%llu incomplete, %llu failed)   heights committed: %llu   rounds/height: %.3f\n",
                static_cast<unsigned long long>(seeds_), static_cast<unsigned long long>(seeds_incomplete_),
                static_cast<unsigned long long>(failed_seeds_.size()),
                static_cast<unsigned long long>(heights_committed_), rounds_per_height_mean());
  text += buffer;
  std::snprintf(buffer, sizeof buffer,
                "safety: agreement %llu, validity %llu, double signs %llu, false evidence %llu, stops %llu\n",
                static_cast<unsigned long long>(agreement_), static_cast<unsigned long long>(validity_),
                static_cast<unsigned long long>(double_signs_), static_cast<unsigned long long>(false_evidence_),
                static_cast<unsigned long long>(stops_));
  text += buffer;
  std::snprintf(buffer, sizeof buffer,
                "liveness: every correct node at the target within %.0f ms of the heal (bound %.0f ms)\n",
                to_ms(max_time_to_target_), to_ms(liveness_bound_));
  text += buffer;
  std::snprintf(buffer, sizeof buffer, "commit latency (simulated): p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
                commit_latency_ms(0.5), commit_latency_ms(0.99), commit_latency_ms(1.0));
  text += buffer;
  text += "evidence: " + std::to_string(evidence_) + " reports";
  if (!evidence_per_node_.empty()) {
    text += " (";
    bool first = true;
    for (const auto& [node, reports] : evidence_per_node_) {
      text += (first ? "" : ", ") + node + ": " + std::to_string(reports);
      first = false;
    }
    text += ")";
  }
  text += "\n";
  std::snprintf(buffer, sizeof buffer,
                "network: %llu frames, %llu dropped, %llu duplicated, %llu rejected; %llu help, %llu blocks synced\n",
                static_cast<unsigned long long>(messages_sent_), static_cast<unsigned long long>(messages_dropped_),
                static_cast<unsigned long long>(messages_duplicated_), static_cast<unsigned long long>(frames_rejected_),
                static_cast<unsigned long long>(help_sent_), static_cast<unsigned long long>(blocks_synced_));
  text += buffer;
  std::snprintf(buffer, sizeof buffer,
                "crashes: %llu, recoveries: %llu (%llu torn tails cut, %llu own messages never sent, %llu guard "
                "refusals)\n",
                static_cast<unsigned long long>(crashes_), static_cast<unsigned long long>(recoveries_),
                static_cast<unsigned long long>(torn_tails_repaired_),
                static_cast<unsigned long long>(unsent_after_recovery_),
                static_cast<unsigned long long>(guard_refusals_));
  text += buffer;
  if (failed_syncs_ + bits_flipped_ > 0) {
    std::snprintf(buffer, sizeof buffer,
                  "disk faults: %llu failed fsyncs, %llu bits flipped (%llu in block stores), %llu nodes lost\n",
                  static_cast<unsigned long long>(failed_syncs_), static_cast<unsigned long long>(bits_flipped_),
                  static_cast<unsigned long long>(stored_bits_flipped_), static_cast<unsigned long long>(nodes_lost_));
    text += buffer;
  }
  if (txs_submitted_ > 0) {
    std::snprintf(buffer, sizeof buffer, "transactions: %llu submitted, %llu committed; %llu blocks replayed at restarts\n",
                  static_cast<unsigned long long>(txs_submitted_), static_cast<unsigned long long>(txs_committed_),
                  static_cast<unsigned long long>(blocks_replayed_));
    text += buffer;
  }
  std::snprintf(buffer, sizeof buffer, "speed: %.1f heights/s (%.0f ms wall, %.0f ms simulated, %llu events)\n",
                heights_per_sec(), wall_ms_, to_ms(sim_time_), static_cast<unsigned long long>(events_));
  text += buffer;
  return text;
}

}  // namespace bft::sim
