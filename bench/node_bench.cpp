// What one transaction costs the engine and the KV demo, piece by piece, on blocks of the
// size a saturated cluster decides (BFT_NODE_BENCH_DIR, default: a fresh directory under
// /tmp, holds the LevelDB state):
//   KvBlock/N           finalize_block + commit of a block of N `set` commands with fresh
//                       keys, on a state that grows across iterations (per tx: counters)
//   LtHashAdd           one pair into the app hash (the expansion and the lane sums)
//   MempoolAddRemove/N  N transactions pooled (with their ids), then removed as a committed
//                       block
//   DecodeBlock/N       a block of N transactions decoded
//   TxIndexBlock/N      a full transaction index (262,144 ids) asked about N ids twice, as
//                       admission does, then recording them as a block (the oldest go)
// Figures, not assertions.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "benchmark_main.hpp"
#include "bft/crypto/lthash.hpp"
#include "bft/node/block.hpp"
#include "bft/node/tx_index.hpp"
#include "bft/node/kv_application.hpp"
#include "bft/node/mempool.hpp"

namespace {

using namespace bft;
using namespace bft::node;

std::string bench_dir(const char* name) {
  const char* base = std::getenv("BFT_NODE_BENCH_DIR");
  std::filesystem::path root = base ? base : std::filesystem::temp_directory_path();
  std::filesystem::path dir = root / (std::string("bft-node-bench-") + name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  return dir.string();
}

/// `count` commands `set bench-<n> value-<n>` with n from `first`: fresh keys each block,
/// as bft-cluster's load sends.
std::vector<Tx> commands(std::uint64_t first, std::size_t count) {
  std::vector<Tx> txs;
  txs.reserve(count);
  for (std::uint64_t n = first; n < first + count; ++n)
    txs.push_back(encode_tx(Command{"bench-" + std::to_string(n), "value-" + std::to_string(n)}));
  return txs;
}

void KvBlock(benchmark::State& state) {
  const std::string dir = bench_dir("kv");
  auto app = std::move(KvApplication::open(dir).value());
  const auto block_txs = static_cast<std::size_t>(state.range(0));
  Height height = 0;
  for (auto _ : state) {
    state.PauseTiming();
    const std::vector<Tx> txs = commands(height * block_txs, block_txs);
    FinalizeBlockRequest request;
    request.header.height = ++height;
    request.txs = txs;
    state.ResumeTiming();
    auto finalized = app->finalize_block(request);
    auto committed = app->commit();
    if (!finalized || !committed) state.SkipWithError("finalize or commit failed");
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
  app.reset();
  std::filesystem::remove_all(dir);
}
BENCHMARK(KvBlock)->Arg(5000)->Unit(benchmark::kMillisecond);

void LtHashAdd(benchmark::State& state) {
  crypto::LtHash16 hash;
  Bytes element(40, 7);
  std::uint64_t n = 0;
  for (auto _ : state) {
    element[0] = static_cast<std::uint8_t>(++n);
    hash.add(element);
  }
  benchmark::DoNotOptimize(hash.digest());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(LtHashAdd);

void MempoolAddRemove(benchmark::State& state) {
  const auto count = static_cast<std::size_t>(state.range(0));
  Mempool pool(MempoolLimits{.max_txs = count, .max_bytes = count * 64, .max_tx_bytes = 1024});
  std::uint64_t first = 0;
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<Tx> txs = commands(first, count);
    first += count;
    state.ResumeTiming();
    for (const Tx& tx : txs)
      if (!pool.add(tx, tx_id(tx))) state.SkipWithError("add failed");
    pool.remove_committed(txs);
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(MempoolAddRemove)->Arg(5000)->Unit(benchmark::kMillisecond);

void TxIndexBlock(benchmark::State& state) {
  const auto count = static_cast<std::size_t>(state.range(0));
  TxIndex index;
  std::uint64_t next = 0;
  const auto block_ids = [&] {
    std::vector<TxId> ids;
    for (const Tx& tx : commands(next, count)) ids.push_back(tx_id(tx));
    next += count;
    return ids;
  };
  const std::vector<TxResult> results(count);
  Height height = 0;
  while (index.size() < 262'144) index.record(++height, block_ids(), results);
  for (auto _ : state) {
    state.PauseTiming();
    const std::vector<TxId> ids = block_ids();
    state.ResumeTiming();
    for (const TxId& id : ids) {
      benchmark::DoNotOptimize(index.find(id));
      benchmark::DoNotOptimize(index.find(id));
    }
    index.record(++height, ids, results);
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(TxIndexBlock)->Arg(5000)->Unit(benchmark::kMillisecond);

void DecodeBlock(benchmark::State& state) {
  BlockHeader header;
  header.height = 1;
  header.proposer = Address::from_text("proposer");
  const Value block = encode_block(header, commands(0, static_cast<std::size_t>(state.range(0))));
  for (auto _ : state) benchmark::DoNotOptimize(decode_block(block.bytes()));
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(DecodeBlock)->Arg(5000)->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  return bft::bench::benchmark_main(argc, argv, "bench-node",
                                    "What a transaction costs the engine and the KV demo (Google Benchmark)");
}
