// Two fdatasyncs at once. A node must make its sign guard and its log durable before an
// own message leaves; they are different files, and their flushes overlap on the device
// (two at once take about as long as one, docs/PERFORMANCE.md), so running them on two
// threads halves the wait on the critical path of every height.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

#include "bft/result.hpp"

namespace bft::wal {

class ParallelSync {
 public:
  using Job = std::function<Result<void>()>;

  ParallelSync();  // starts the worker thread
  ~ParallelSync();  // stops and joins it
  ParallelSync(const ParallelSync&) = delete;
  ParallelSync& operator=(const ParallelSync&) = delete;

  /// Runs `there` on the worker thread and `here` on the caller's and returns once both
  /// have: here's error if it failed, else there's. One call at a time.
  Result<void> run(const Job& there, const Job& here);

 private:
  void work();

  std::mutex mutex_;
  std::condition_variable changed_;
  const Job* job_ = nullptr;  // set by run(), cleared by the worker when it took it
  std::optional<Result<void>> result_;
  bool stopping_ = false;
  std::thread worker_;
};

}  // namespace bft::wal
