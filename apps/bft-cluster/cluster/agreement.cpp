#include "cluster/agreement.hpp"

#include <map>

namespace bft::cluster {

AgreementReport check_agreement(std::span<const std::vector<BlockInfo>> chains) {
  struct FirstSeen {
    std::size_t node;
    const std::string* hash;
    bool compared = false;
  };
  std::map<std::uint64_t, FirstSeen> by_height;
  std::map<std::uint64_t, std::vector<Disagreement>> conflicts;  // ordered by height
  for (std::size_t node = 0; node < chains.size(); ++node) {
    for (const BlockInfo& block : chains[node]) {
      auto [it, inserted] = by_height.try_emplace(block.height, FirstSeen{node, &block.hash});
      if (inserted) continue;
      it->second.compared = true;
      if (*it->second.hash != block.hash)
        conflicts[block.height].push_back({block.height, it->second.node, *it->second.hash, node, block.hash});
    }
  }
  AgreementReport report;
  for (const auto& [height, seen] : by_height) report.heights_compared += seen.compared ? 1 : 0;
  report.agreement = conflicts.empty();
  for (auto& [height, list] : conflicts)
    for (Disagreement& d : list)
      if (report.disagreements.size() < max_reported_disagreements) report.disagreements.push_back(std::move(d));
  return report;
}

}  // namespace bft::cluster
