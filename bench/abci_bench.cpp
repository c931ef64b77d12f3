// The ABCI client's own cost per call, against an in-process C++ server that answers at
// once over a Unix socket (tests/abci/fake_server.hpp): encoding, the request + Flush
// round trip and decoding, without any application work.
//   AbciBlock/N   finalize_block of N 32-byte transactions, then commit: per block
//   AbciCheckTx   one check_tx: per submitted transaction
// Figures, not assertions.
#include <benchmark/benchmark.h>

#include "../tests/abci/fake_server.hpp"
#include "benchmark_main.hpp"
#include "bft/abci/application.hpp"
#include "bft/crypto/ed25519.hpp"

namespace {

using namespace bft;

std::unique_ptr<abci::AbciApplication> connect(const abci::testing::FakeServer& server) {
  abci::AbciOptions options;
  options.address = *abci::parse_socket_address(server.address());
  options.chain_id = "bench";
  options.validators = {{crypto::Ed25519Signer::generate().public_key(), 1}};
  auto app = abci::AbciApplication::connect(std::move(options));
  if (!app) {
    std::fprintf(stderr, "abci bench: %s\n", app.error().message.c_str());
    std::exit(1);
  }
  return std::move(*app);
}

void AbciBlock(benchmark::State& state) {
  abci::testing::FakeServer server(abci::testing::behave);
  auto app = connect(server);
  const std::vector<node::Tx> txs(static_cast<std::size_t>(state.range(0)), node::Tx(32, 'x'));
  node::FinalizeBlockRequest request{};
  request.txs = txs;
  request.header.proposer = Address(Bytes(20, 1));
  for (auto _ : state) {
    ++request.header.height;
    auto finalized = app->finalize_block(request);
    auto committed = app->commit();
    if (!finalized || !committed) state.SkipWithError("the fake server failed");
    benchmark::DoNotOptimize(finalized);
  }
  state.counters["txs/s"] = benchmark::Counter(static_cast<double>(state.iterations() * txs.size()),
                                               benchmark::Counter::kIsRate);
}
BENCHMARK(AbciBlock)->Arg(0)->Arg(100)->Arg(1000)->Arg(5000)->UseRealTime();

void AbciCheckTx(benchmark::State& state) {
  abci::testing::FakeServer server(abci::testing::behave);
  auto app = connect(server);
  const node::Tx tx(32, 'x');
  for (auto _ : state) benchmark::DoNotOptimize(app->check_tx(tx, node::CheckTxKind::fresh));
}
BENCHMARK(AbciCheckTx)->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  return bft::bench::benchmark_main(argc, argv, "bench-abci",
                                    "The ABCI client's own cost per block and per CheckTx, against an in-process "
                                    "server that answers at once.");
}
