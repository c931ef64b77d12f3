#include "cluster/stats.hpp"

#include <algorithm>
#include <cmath>

namespace bft::cluster {

double percentile(std::vector<double> samples, double p) {
  if (samples.empty()) return 0;
  const double clamped = std::clamp(p, 0.0, 100.0);
  // Nearest rank: ceil(p/100 * n), at least 1.
  const auto rank = std::max<std::size_t>(
      1, static_cast<std::size_t>(std::ceil(clamped / 100.0 * static_cast<double>(samples.size()))));
  const auto index = static_cast<std::ptrdiff_t>(rank - 1);
  std::nth_element(samples.begin(), samples.begin() + index, samples.end());
  return samples[static_cast<std::size_t>(index)];
}

}  // namespace bft::cluster
