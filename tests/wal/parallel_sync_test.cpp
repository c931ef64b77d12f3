#include "bft/wal/parallel_sync.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace bft::wal {
namespace {

/// Waits (bounded) until `flag` is set: each job below needs the other running at the
/// same time to finish well.
bool wait_for(const std::atomic<bool>& flag) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!flag.load()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

TEST(ParallelSync, RunsBothJobsAtTheSameTime) {
  ParallelSync sync;
  for (int i = 0; i < 100; ++i) {
    std::atomic<bool> there_started = false;
    std::atomic<bool> here_started = false;
    std::thread::id there_thread;
    const auto result = sync.run(
        [&]() -> Result<void> {
          there_thread = std::this_thread::get_id();
          there_started = true;
          if (!wait_for(here_started)) return make_error(Errc::io_error, "not concurrent");
          return {};
        },
        [&]() -> Result<void> {
          here_started = true;
          if (!wait_for(there_started)) return make_error(Errc::io_error, "not concurrent");
          return {};
        });
    ASSERT_TRUE(result) << result.error().message;
    EXPECT_NE(there_thread, std::this_thread::get_id());
  }
}

TEST(ParallelSync, ReportsTheCallersErrorFirstThenTheWorkers) {
  ParallelSync sync;
  const auto ok = []() -> Result<void> { return {}; };
  const auto failing = [](const char* what) {
    return [what]() -> Result<void> { return make_error(Errc::io_error, what); };
  };
  EXPECT_TRUE(sync.run(ok, ok));
  EXPECT_EQ(sync.run(failing("there"), ok).error().message, "there");
  EXPECT_EQ(sync.run(ok, failing("here")).error().message, "here");
  EXPECT_EQ(sync.run(failing("there"), failing("here")).error().message, "here");
  EXPECT_TRUE(sync.run(ok, ok));  // a failure leaves no result behind for the next run
}

}  // namespace
}  // namespace bft::wal
