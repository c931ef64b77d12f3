#include "cluster/delivery.hpp"

#include <algorithm>

namespace bft::cluster {

DeliveryReport check_delivery(std::vector<std::uint64_t> accepted, std::vector<std::uint64_t> committed) {
  DeliveryReport report;
  report.committed = committed.size();
  // Sorted, not hashed: millions of ids sort in a fraction of a second.
  std::sort(committed.begin(), committed.end());
  for (auto it = committed.begin(); it != committed.end();) {
    const auto next = std::upper_bound(it, committed.end(), *it);
    report.committed_twice += next - it > 1;
    it = next;
  }
  std::sort(accepted.begin(), accepted.end());
  accepted.erase(std::unique(accepted.begin(), accepted.end()), accepted.end());  // a retry accepted again
  report.accepted = accepted.size();
  for (const std::uint64_t id : accepted) report.lost += !std::binary_search(committed.begin(), committed.end(), id);
  return report;
}

}  // namespace bft::cluster
