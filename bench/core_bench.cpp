// The pure core on its happy path, one node, no signatures: each height is a StartHeight,
// the proposal, then prevotes and precommits from every validator until the decision.
// Reports votes per second (items) and heights per second (counter) per validator count.
//
//   bench-core [--benchmark_filter=...]
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "bft/core.hpp"

namespace {

using namespace bft;

/// 32-byte addresses, as derived from public keys.
std::vector<Validator> make_validators(int n) {
  std::vector<Validator> validators;
  for (int i = 0; i < n; ++i) {
    Bytes address(32, 0xa5);
    address[0] = static_cast<std::uint8_t>(i);
    address[1] = static_cast<std::uint8_t>(i >> 8);
    validators.push_back({Address(address), 1, 1});
  }
  return validators;
}

void BM_CoreHappyPath(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const auto validators = make_validators(n);
  const auto set = ValidatorSet::create(validators).value();
  auto core = Core::create(validators[1].address, Config{}, make_round_robin_selector()).value();
  const Value value(Bytes(32, 0x76));  // a block hash
  std::vector<Output> out;
  out.reserve(16);
  Height height = 0;
  std::int64_t votes = 0;
  for (auto _ : state) {
    ++height;
    out.clear();
    (void)core.handle(StartHeight{height, set}, out);
    out.clear();
    (void)core.handle(ReceivedProposal{Proposal{height, 0, value, nil_round, *core.proposer(0), {}}}, out);
    for (VoteType type : {VoteType::prevote, VoteType::precommit}) {
      for (int i = 0; i < n && !core.decided(); ++i) {
        out.clear();
        (void)core.handle(Vote{type, height, 0, value, validators[static_cast<std::size_t>(i)].address}, out);
        ++votes;
      }
    }
    if (!core.decided()) state.SkipWithError("the height was not decided");
  }
  state.SetItemsProcessed(votes);
  state.counters["heights_per_sec"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["ns_per_vote"] = benchmark::Counter(static_cast<double>(votes), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_CoreHappyPath)->Arg(4)->Arg(16)->Arg(64)->Arg(128)->Arg(256)->Arg(1024)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
