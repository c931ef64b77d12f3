#include "bft/crypto/batch_verifier.hpp"

#include <algorithm>
#include <atomic>
#include <cassert>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "bft/crypto/signing.hpp"
#include "sodium.hpp"

namespace bft::crypto {

/// A fixed set of worker threads that run one job at a time. A job is "call task(i) for
/// every i in [0, count)"; the workers and the calling thread take indices from a shared
/// counter until none are left, so a slow item never leaves other threads idle.
class BatchVerifier::Pool {
 public:
  explicit Pool(std::size_t threads) {
    workers_.reserve(threads - 1);
    for (std::size_t i = 1; i < threads; ++i) workers_.emplace_back([this] { work(); });
  }

  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  ~Pool() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    for (std::thread& worker : workers_) worker.join();
  }

  std::size_t threads() const noexcept { return workers_.size() + 1; }

  void run(std::size_t count, const std::function<void(std::size_t)>& task) {
    std::lock_guard turn(run_mutex_);
    if (count <= 1 || workers_.empty()) {  // not worth waking anyone
      for (std::size_t i = 0; i < count; ++i) task(i);
      return;
    }
    {
      std::lock_guard lock(mutex_);
      task_ = &task;
      count_ = count;
      next_.store(0, std::memory_order_relaxed);
      busy_ = workers_.size();
      ++generation_;
    }
    wake_.notify_all();
    drain();
    std::unique_lock lock(mutex_);
    done_.wait(lock, [this] { return busy_ == 0; });
    task_ = nullptr;
  }

 private:
  void work() {
    std::uint64_t seen = 0;
    std::unique_lock lock(mutex_);
    for (;;) {
      wake_.wait(lock, [&] { return stopping_ || generation_ != seen; });
      if (stopping_) return;
      seen = generation_;
      lock.unlock();
      drain();
      lock.lock();
      if (--busy_ == 0) done_.notify_one();
    }
  }

  /// task_ and count_ were published under mutex_ before the generation changed, and stay
  /// unchanged until every worker has reported back.
  void drain() {
    for (std::size_t i = next_.fetch_add(1, std::memory_order_relaxed); i < count_;
         i = next_.fetch_add(1, std::memory_order_relaxed)) {
      (*task_)(i);
    }
  }

  std::vector<std::thread> workers_;
  std::mutex run_mutex_;  // one job at a time
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  const std::function<void(std::size_t)>* task_ = nullptr;
  std::size_t count_ = 0;
  std::atomic<std::size_t> next_{0};
  std::size_t busy_ = 0;
  std::uint64_t generation_ = 0;
  bool stopping_ = false;
};

namespace {

std::size_t machine_threads() {
  return std::max<std::size_t>(1, std::thread::hardware_concurrency());
}

}  // namespace

BatchVerifier::BatchVerifier(std::size_t threads)
    : pool_(std::make_unique<Pool>(threads == 0 ? machine_threads() : threads)) {
  detail::ensure_sodium();
}

BatchVerifier::~BatchVerifier() = default;

std::size_t BatchVerifier::threads() const noexcept { return pool_->threads(); }

bool BatchVerifier::verify(std::span<const SignatureCheck> checks, std::span<bool> valid) {
  assert(valid.size() == checks.size());
  pool_->run(checks.size(), [&](std::size_t i) {
    valid[i] = checks[i].verifier->verify(checks[i].message, checks[i].signature);
  });
  return std::all_of(valid.begin(), valid.end(), [](bool v) { return v; });
}

std::vector<Result<void>> BatchVerifier::verify_votes(std::span<const codec::SignedVote> votes,
                                                      const codec::ChainId& chain,
                                                      const KeyRing& keys) {
  std::vector<Result<void>> results(votes.size());
  pool_->run(votes.size(),
             [&](std::size_t i) { results[i] = verify_vote(votes[i], chain, keys); });
  return results;
}

}  // namespace bft::crypto
