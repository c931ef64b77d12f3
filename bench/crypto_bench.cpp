// Throughput of the wire format and of signature verification.
//
//   bench-crypto                      everything
//   bench/run-crypto.sh <build dir>   the same, next to `openssl speed ed25519`, with the
//                                     batch verifier's scaling summarised
#include <benchmark/benchmark.h>

#include <thread>
#include <vector>

#include "benchmark_main.hpp"
#include "bft/codec/codec.hpp"
#include "bft/crypto/batch_verifier.hpp"
#include "bft/crypto/ed25519.hpp"
#include "bft/crypto/signing.hpp"
#include "crypto_workload.hpp"

namespace {

using namespace bft;
using namespace bft::bench;

void BM_EncodeVote(benchmark::State& state) {
  const codec::SignedVote vote = typical_vote(signer(1));
  Bytes buffer;
  for (auto _ : state) {
    buffer.clear();
    codec::encode_to(vote, buffer);
    benchmark::DoNotOptimize(buffer.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(buffer.size()));
}
BENCHMARK(BM_EncodeVote);

void BM_EncodeVoteNewBuffer(benchmark::State& state) {
  const codec::SignedVote vote = typical_vote(signer(1));
  for (auto _ : state) benchmark::DoNotOptimize(codec::encode(vote));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EncodeVoteNewBuffer);

void BM_DecodeVote(benchmark::State& state) {
  const Bytes bytes = codec::encode(typical_vote(signer(1)));
  for (auto _ : state) {
    auto vote = codec::decode_vote(bytes);
    benchmark::DoNotOptimize(vote);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(bytes.size()));
}
BENCHMARK(BM_DecodeVote);

void BM_VoteSignBytes(benchmark::State& state) {
  const codec::SignedVote vote = typical_vote(signer(1));
  for (auto _ : state) benchmark::DoNotOptimize(codec::vote_sign_bytes(chain(), vote.vote));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_VoteSignBytes);

void BM_Sign(benchmark::State& state) {
  const crypto::Ed25519Signer by = signer(1);
  const Bytes message = codec::vote_sign_bytes(chain(), typical_vote(by).vote);
  for (auto _ : state) benchmark::DoNotOptimize(by.sign(message));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Sign);

/// One core: the raw ed25519 verification of a vote's sign-bytes.
void BM_Verify(benchmark::State& state) {
  const crypto::Ed25519Signer by = signer(1);
  const codec::SignedVote vote = typical_vote(by);
  const Bytes message = codec::vote_sign_bytes(chain(), vote.vote);
  const crypto::Ed25519Verifier verifier(by.public_key());
  for (auto _ : state) {
    const bool valid = verifier.verify(message, vote.signature);
    benchmark::DoNotOptimize(valid);
  }
  state.SetItemsProcessed(state.iterations());
}
// Wall-clock time, like openssl speed and the batch runs: on a virtual machine, CPU time
// leaves out time the hypervisor took away.
BENCHMARK(BM_Verify)->UseRealTime();

/// Votes from 100 validators, verified by BatchVerifier::verify_votes (key lookup,
/// sign-bytes and verification per vote) in batches of 1024, on `threads` threads.
void BM_BatchVerifyVotes(benchmark::State& state) {
  const auto threads = static_cast<std::size_t>(state.range(0));
  std::vector<crypto::Ed25519Signer> signers;
  crypto::KeyRing keys;
  for (std::uint8_t i = 0; i < 100; ++i) {
    signers.push_back(signer(static_cast<std::uint8_t>(i + 1)));
    (void)keys.add(signers.back().public_key());
  }
  std::vector<codec::SignedVote> votes;
  for (std::size_t i = 0; i < 1024; ++i) {
    votes.push_back(typical_vote(signers[i % signers.size()], static_cast<Round>(i / 100)));
  }
  crypto::BatchVerifier batch(threads);
  for (auto _ : state) {
    auto results = batch.verify_votes(votes, chain(), keys);
    benchmark::DoNotOptimize(results.data());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(votes.size()));
}
BENCHMARK(BM_BatchVerifyVotes)
    ->Arg(1)
    ->Arg(std::max<int>(1, static_cast<int>(std::thread::hardware_concurrency())))
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  return bft::bench::benchmark_main(argc, argv, "bench-crypto",
                                     "Throughput of the wire format and of signature verification.");
}
