#include "cluster/summary.hpp"

#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

namespace bft::cluster {

namespace {

std::string format(const char* pattern, auto... args) {
  char line[512];
  std::snprintf(line, sizeof line, pattern, args...);
  return line;
}

std::string node_list(const std::vector<std::size_t>& nodes) {
  std::string text;
  for (std::size_t node : nodes) text += (text.empty() ? "" : ",") + std::to_string(node);
  return text;
}

/// JSON numbers rounded to what the measurement supports, so the line stays readable.
/// Dividing (not multiplying by 2) yields the double nearest the decimal.
double round_to(double value, int decimals) {
  const double scale = std::pow(10.0, decimals);
  return std::round(value * scale) / scale;
}

}  // namespace

bool RunSummary::ok() const {
  if (!agreement || heights < 1 || !clean_shutdown || !failures.empty()) return false;
  if (delivery && !delivery->ok()) return false;
  for (const KillReport& kill : kills)
    if (!kill.caught_up) return false;
  for (const PartitionReport& partition : partitions)
    if (!partition.resumed) return false;
  if (flood && flood->ratio() < flood->min_ratio) return false;
  if (rotation && !rotation->ok()) return false;
  if (prometheus && (!prometheus->problem.empty() || prometheus->nodes_reporting != nodes ||
                     !(prometheus->p50_commit_ms > 0)))
    return false;
  return true;
}

std::string RunSummary::to_text() const {
  std::string text;
  text += format("bft-cluster: %zu nodes (%s), %.0f s at %.0f commands/s in batches of %zu", nodes, mode.c_str(),
                 duration_s, load_per_s, batch);
  if (delay_ms != 0 || loss != 0) text += format(", faults: delay %u ms, loss %.3f", delay_ms, loss);
  text += "\n";
  text += format("heights:    %llu committed by every node (highest %llu), %.2f heights/s\n",
                 static_cast<unsigned long long>(heights), static_cast<unsigned long long>(max_height), heights_per_sec);
  text += format("commit:     p50 %.1f ms, p99 %.1f ms\n", p50_commit_ms, p99_commit_ms);
  text += format("txs:        %llu committed, %.0f txs/s (%llu accepted, %llu refused with 503)\n",
                 static_cast<unsigned long long>(txs), txs_per_sec, static_cast<unsigned long long>(commands_accepted),
                 static_cast<unsigned long long>(commands_rejected));
  if (delivery)
    text += format("delivery:   %llu accepted, %llu committed, %llu lost, %llu committed twice\n",
                   static_cast<unsigned long long>(delivery->accepted), static_cast<unsigned long long>(delivery->committed),
                   static_cast<unsigned long long>(delivery->lost),
                   static_cast<unsigned long long>(delivery->committed_twice));
  text += format("agreement:  %s (%llu heights compared across nodes)\n", agreement ? "yes" : "NO",
                 static_cast<unsigned long long>(heights_compared));
  for (const std::string& d : disagreements) text += "  " + d + "\n";
  for (const KillReport& k : kills) {
    text += format("kill:       node %zu at %.1f s, restarted at %.1f s: ", k.node, k.at_s, k.restart_s);
    text += k.caught_up ? format("caught up in %.1f s\n", k.catch_up_s)
                        : format("did NOT catch up within %.0f s\n", recovery_bound_s);
  }
  for (const PartitionReport& p : partitions) {
    text += format("partition:  nodes %s from %.1f s to %.1f s: ", node_list(p.nodes).c_str(), p.at_s, p.heal_s);
    text += p.resumed ? format("progress resumed %.1f s after the heal\n", p.resume_s)
                      : format("progress did NOT resume within %.0f s of the heal\n", recovery_bound_s);
  }
  if (flood)
    text += format("http flood: node %zu from %.1f s to %.1f s, %llu requests (%llu answered): %.1f heights/s "
                   "before, %.1f during (%.0f%%%s)\n",
                   flood->node, flood->at_s, flood->until_s, static_cast<unsigned long long>(flood->requests),
                   static_cast<unsigned long long>(flood->answered), flood->heights_per_sec_before,
                   flood->heights_per_sec_during, flood->ratio() * 100,
                   flood->ratio() < flood->min_ratio ? ", below the bound" : "");
  if (prometheus) {
    text += format("prometheus: %s: height of %zu of %zu nodes (lowest %llu), commit p50 %.1f ms",
                   prometheus->url.c_str(), prometheus->nodes_reporting, nodes,
                   static_cast<unsigned long long>(prometheus->lowest_height), prometheus->p50_commit_ms);
    text += prometheus->problem.empty() ? "\n" : "; " + prometheus->problem + "\n";
  }
  if (rotation) {
    text += format("validators: %zu of %zu changes applied\n", rotation->applied, rotation->planned);
    for (const std::string& change : rotation->changes) text += "  " + change + "\n";
    if (!rotation->late_joiner.empty())
      text += format("  %s started at height %llu and reached %llu: %s\n", rotation->late_joiner.c_str(),
                     static_cast<unsigned long long>(rotation->joined_at_height),
                     static_cast<unsigned long long>(rotation->joiner_height),
                     rotation->joiner_height >= rotation->joined_at_height ? "caught up" : "did NOT catch up");
  }
  text += format("shutdown:   %s\n", clean_shutdown ? "clean (every node exited 0 after SIGTERM)" : "NOT clean");
  for (const std::string& problem : shutdown_problems) text += "  " + problem + "\n";
  for (const std::string& failure : failures) text += "failure:    " + failure + "\n";
  text += format("result:     %s\n", ok() ? "PASS" : "FAIL");
  return text;
}

std::string RunSummary::to_json() const {
  using nlohmann::json;
  json kill_list = json::array();
  for (const KillReport& k : kills)
    kill_list.push_back({{"node", k.node}, {"at_s", k.at_s}, {"restart_s", k.restart_s}, {"caught_up", k.caught_up},
                         {"catch_up_s", k.caught_up ? json(round_to(k.catch_up_s, 2)) : json(nullptr)}});
  json partition_list = json::array();
  for (const PartitionReport& p : partitions)
    partition_list.push_back({{"nodes", p.nodes}, {"at_s", p.at_s}, {"heal_s", p.heal_s}, {"resumed", p.resumed},
                              {"resume_s", p.resumed ? json(round_to(p.resume_s, 2)) : json(nullptr)}});
  json flood_report = nullptr;
  if (flood)
    flood_report = {{"node", flood->node},
                    {"at_s", flood->at_s},
                    {"until_s", flood->until_s},
                    {"requests", flood->requests},
                    {"answered", flood->answered},
                    {"heights_per_sec_before", round_to(flood->heights_per_sec_before, 2)},
                    {"heights_per_sec_during", round_to(flood->heights_per_sec_during, 2)},
                    {"ratio", round_to(flood->ratio(), 3)},
                    {"min_ratio", flood->min_ratio}};
  json prometheus_report = nullptr;
  if (prometheus)
    prometheus_report = {{"url", prometheus->url},
                         {"nodes_reporting", prometheus->nodes_reporting},
                         {"lowest_height", prometheus->lowest_height},
                         {"p50_commit_ms", round_to(prometheus->p50_commit_ms, 2)},
                         {"problem", prometheus->problem}};
  json rotation_report = nullptr;
  if (rotation)
    rotation_report = {{"planned", rotation->planned},
                       {"applied", rotation->applied},
                       {"changes", rotation->changes},
                       {"late_joiner", rotation->late_joiner},
                       {"joined_at_height", rotation->joined_at_height},
                       {"joiner_height", rotation->joiner_height}};
  const json out = {
      {"mode", mode},
      {"nodes", nodes},
      {"duration_s", duration_s},
      {"load_per_s", load_per_s},
      {"batch", batch},
      {"delay_ms", delay_ms},
      {"loss", loss},
      {"heights", heights},
      {"max_height", max_height},
      {"heights_per_sec", round_to(heights_per_sec, 2)},
      {"p50_commit_ms", round_to(p50_commit_ms, 1)},
      {"p99_commit_ms", round_to(p99_commit_ms, 1)},
      {"txs", txs},
      {"txs_per_sec", round_to(txs_per_sec, 1)},
      {"commands_accepted", commands_accepted},
      {"commands_rejected", commands_rejected},
      {"accepted", delivery ? json(delivery->accepted) : json(nullptr)},
      {"committed", delivery ? json(delivery->committed) : json(nullptr)},
      {"lost", delivery ? json(delivery->lost) : json(nullptr)},
      {"committed_twice", delivery ? json(delivery->committed_twice) : json(nullptr)},
      {"agreement", agreement},
      {"heights_compared", heights_compared},
      {"disagreements", disagreements},
      {"clean_shutdown", clean_shutdown},
      {"shutdown_problems", shutdown_problems},
      {"kills", kill_list},
      {"partitions", partition_list},
      {"http_flood", flood_report},
      {"prometheus", prometheus_report},
      {"validator_changes", rotation_report},
      {"failures", failures},
      {"ok", ok()},
  };
  return out.dump();
}

}  // namespace bft::cluster
