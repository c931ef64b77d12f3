#include "bft/wal/parallel_sync.hpp"

namespace bft::wal {

ParallelSync::ParallelSync() : worker_([this] { work(); }) {}

ParallelSync::~ParallelSync() {
  {
    const std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  worker_.join();
}

Result<void> ParallelSync::run(const Job& there, const Job& here) {
  {
    const std::lock_guard lock(mutex_);
    job_ = &there;
    result_.reset();
  }
  changed_.notify_all();
  Result<void> mine = here();
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return result_.has_value(); });
  if (!mine) return mine;
  return *std::exchange(result_, std::nullopt);
}

void ParallelSync::work() {
  std::unique_lock lock(mutex_);
  for (;;) {
    changed_.wait(lock, [&] { return stopping_ || job_ != nullptr; });
    if (stopping_) return;
    const Job* job = std::exchange(job_, nullptr);
    lock.unlock();
    Result<void> outcome = (*job)();
    lock.lock();
    result_ = std::move(outcome);
    changed_.notify_all();
  }
}

}  // namespace bft::wal
