// WAL figures next to the disk's own limit, measured in the same run and directory
// (BFT_WAL_BENCH_DIR, default: a fresh directory under /tmp):
//   RawWriteFdatasync  write(~100 bytes) + fdatasync in a loop: the disk's limit
//   WalOwnVoteDurable  one own vote appended under the default policy (write + fdatasync)
//   WalBatched/N       N received votes buffered, then one sync: appends/s with batching
//   OwnVoteGuardThenWal{Growing,Preallocated}  what a node does before an own vote
//                      leaves: the sign guard's record and the WAL's, each made durable,
//                      in files that grow with each append or that were preallocated (as
//                      bft-node does: a sync then flushes data only, no size to commit)
// Figures, not assertions: the WAL aims to stay within 1.2x of the raw loop.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "benchmark_main.hpp"
#include "bft/wal/sign_guard.hpp"
#include "bft/wal/wal.hpp"

namespace {

std::string bench_dir(const char* name) {
  const char* base = std::getenv("BFT_WAL_BENCH_DIR");
  std::filesystem::path root = base ? base : std::filesystem::temp_directory_path();
  std::filesystem::path dir = root / (std::string("bft-wal-bench-") + name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

bft::ValidatorSet validators() {
  std::vector<bft::Validator> vs;
  for (int i = 0; i < 4; ++i) vs.push_back(bft::Validator{bft::Address::from_text("v" + std::to_string(i)), 1, 1});
  return std::move(bft::ValidatorSet::create(std::move(vs)).value());
}

bft::Vote sample_vote(bft::Round round) {
  return bft::Vote{bft::VoteType::prevote, 1, round, bft::Value::from_text("ok:0123456789abcdef0123456789abcdef"),
                   bft::Address::from_text("v0-0123456789abcdef")};
}

void RawWriteFdatasync(benchmark::State& state) {
  const std::string dir = bench_dir("raw");
  const std::string path = dir + "/raw.log";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) {
    state.SkipWithError("open failed");
    return;
  }
  bft::Bytes payload;
  bft::wal::encode_record(bft::wal::OwnVote{sample_vote(0), bft::Bytes(64, 1)}, payload);
  payload.resize(payload.size() + bft::wal::frame_header_size);
  for (auto _ : state) {
    if (::write(fd, payload.data(), payload.size()) != static_cast<ssize_t>(payload.size()) || ::fdatasync(fd) != 0) {
      state.SkipWithError("write/fdatasync failed");
      break;
    }
  }
  ::close(fd);
  std::filesystem::remove_all(dir);
  state.SetItemsProcessed(state.iterations());
}

void WalOwnVoteDurable(benchmark::State& state) {
  const std::string dir = bench_dir("own");
  auto storage = bft::wal::open_directory(dir);
  auto opened = bft::wal::Wal::open(**storage);
  if (!opened || !opened->wal.append(bft::StartHeight{1, validators()})) {
    state.SkipWithError("open failed");
    return;
  }
  bft::Round round = 0;
  for (auto _ : state) {
    if (!opened->wal.append(bft::wal::OwnVote{sample_vote(round++), bft::Bytes(64, 1)})) {
      state.SkipWithError("append failed");
      break;
    }
  }
  std::filesystem::remove_all(dir);
  state.SetItemsProcessed(state.iterations());
}

void WalBatched(benchmark::State& state) {
  const std::string dir = bench_dir("batch");
  auto storage = bft::wal::open_directory(dir);
  auto opened = bft::wal::Wal::open(**storage);
  if (!opened || !opened->wal.append(bft::StartHeight{1, validators()})) {
    state.SkipWithError("open failed");
    return;
  }
  const auto batch = static_cast<bft::Round>(state.range(0));
  bft::Round round = 0;
  for (auto _ : state) {
    for (bft::Round i = 0; i < batch; ++i) (void)opened->wal.append(sample_vote(round++));
    if (!opened->wal.sync()) {
      state.SkipWithError("sync failed");
      break;
    }
  }
  std::filesystem::remove_all(dir);
  state.SetItemsProcessed(state.iterations() * batch);
}

/// What a node does before an own vote leaves: the guard's record and the WAL's, each
/// made durable, in files as they are created or preallocated (as bft-node does).
void OwnVoteGuardThenWal(benchmark::State& state, std::uint64_t preallocate) {
  const std::string wal_dir = bench_dir(preallocate ? "wal-pre" : "wal");
  const std::string guard_dir = bench_dir(preallocate ? "guard-pre" : "guard");
  auto wal_storage = bft::wal::open_directory(wal_dir);
  auto guard_storage = bft::wal::open_directory(guard_dir);
  bft::wal::WalOptions options;
  options.preallocate_bytes = preallocate;
  auto opened = bft::wal::Wal::open(**wal_storage, options);
  auto guard = bft::wal::SignGuard::open(**guard_storage, bft::wal::SignGuard::default_keep_heights, preallocate);
  if (!opened || !guard || !opened->wal.append(bft::StartHeight{1, validators()})) {
    state.SkipWithError("open failed");
    return;
  }
  bft::Round round = 0;
  for (auto _ : state) {
    const bft::Vote vote = sample_vote(round++);
    if (!guard->authorize(vote) || !opened->wal.append(bft::wal::OwnVote{vote, bft::Bytes(64, 1)})) {
      state.SkipWithError("append or sync failed");
      break;
    }
  }
  std::filesystem::remove_all(wal_dir);
  std::filesystem::remove_all(guard_dir);
  state.SetItemsProcessed(state.iterations());
}

void OwnVoteGuardThenWalGrowing(benchmark::State& state) { OwnVoteGuardThenWal(state, 0); }
// Enough zeros for every record of the run: the benchmark stays in one segment.
void OwnVoteGuardThenWalPreallocated(benchmark::State& state) { OwnVoteGuardThenWal(state, 64 << 20); }

}  // namespace

BENCHMARK(RawWriteFdatasync)->UseRealTime();
BENCHMARK(WalOwnVoteDurable)->UseRealTime();
BENCHMARK(WalBatched)->Arg(1)->Arg(16)->Arg(256)->UseRealTime();
BENCHMARK(OwnVoteGuardThenWalGrowing)->UseRealTime();
BENCHMARK(OwnVoteGuardThenWalPreallocated)->UseRealTime();
int main(int argc, char** argv) {
  return bft::bench::benchmark_main(argc, argv, "bench-wal",
                                     "WAL appends and syncs next to the disk's own write + fdatasync limit.");
}
