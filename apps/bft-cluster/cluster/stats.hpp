// Order statistics over latency samples.
#pragma once

#include <vector>

namespace bft::cluster {

/// The nearest-rank percentile (p in [0, 100]) of `samples`: the smallest sample with at
/// least p% of all samples at or below it, so the result is always an observed value.
/// 0 for no samples.
double percentile(std::vector<double> samples, double p);

}  // namespace bft::cluster
