// The pure core on its happy path, one node, no signatures: each height is a StartHeight,
// the proposal, then prevotes and precommits from every validator until the decision.
// Reports votes per second (items) and heights per second (counter) per validator count.
//
//   bench-core [--benchmark_filter=...]
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "benchmark_main.hpp"
#include "bft/core.hpp"
#include "core_workload.hpp"

namespace {

using namespace bft;
using namespace bft::bench;

void BM_CoreHappyPath(benchmark::State& state) {
  HappyPath workload(static_cast<std::size_t>(state.range(0)));
  std::int64_t votes = 0;
  for (auto _ : state) {
    votes += static_cast<std::int64_t>(workload.next_height());
    if (!workload.decided()) state.SkipWithError("the height was not decided");
  }
  state.SetItemsProcessed(votes);
  state.counters["heights_per_sec"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["ns_per_vote"] = benchmark::Counter(static_cast<double>(votes), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_CoreHappyPath)->Arg(4)->Arg(16)->Arg(64)->Arg(128)->Arg(256)->Arg(1024)->Unit(benchmark::kMicrosecond);

}  // namespace

int main(int argc, char** argv) {
  return bft::bench::benchmark_main(argc, argv, "bench-core",
                                     "The pure core on its happy path: votes and heights per second by validator count.");
}
