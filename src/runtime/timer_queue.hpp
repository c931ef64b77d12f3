// The worker's pending timeouts, earliest first. Timers due at the same instant fire in
// the order they were scheduled, so a run on virtual time is deterministic.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

#include "bft/config.hpp"
#include "bft/core.hpp"
#include "bft/runtime/clock.hpp"

namespace bft::runtime::detail {

/// now + delay, saturating at the clock's end instead of overflowing (the core saturates
/// its timeouts at the largest Duration, far beyond what a time_point can hold).
inline Clock::time_point deadline_after(Clock::time_point now, Duration delay) {
  if (delay.count() <= 0) return now;
  const auto room = std::chrono::duration_cast<Duration>(Clock::time_point::max() - now);
  return delay >= room ? Clock::time_point::max() : now + delay;
}

class TimerQueue {
 public:
  void schedule(Clock::time_point deadline, TimeoutFired timeout) {
    heap_.push_back(Entry{deadline, next_sequence_++, timeout});
    std::push_heap(heap_.begin(), heap_.end(), later);
  }

  bool empty() const noexcept { return heap_.empty(); }
  std::size_t size() const noexcept { return heap_.size(); }

  std::optional<Clock::time_point> next_deadline() const {
    if (heap_.empty()) return std::nullopt;
    return heap_.front().deadline;
  }

  bool due(Clock::time_point now) const { return !heap_.empty() && heap_.front().deadline <= now; }

  /// The earliest timer, removed, if it is due at `now`.
  std::optional<TimeoutFired> pop_due(Clock::time_point now) {
    if (!due(now)) return std::nullopt;
    std::pop_heap(heap_.begin(), heap_.end(), later);
    const TimeoutFired timeout = heap_.back().timeout;
    heap_.pop_back();
    return timeout;
  }

  /// Drops the timers of heights below `height`: the core ignores them once it runs a
  /// later height, so they would only wake the worker for nothing.
  void drop_below(Height height) {
    std::erase_if(heap_, [&](const Entry& entry) { return entry.timeout.height < height; });
    std::make_heap(heap_.begin(), heap_.end(), later);
  }

 private:
  struct Entry {
    Clock::time_point deadline;
    std::uint64_t sequence;
    TimeoutFired timeout;
  };

  // std::*_heap keep the largest element first; "largest" here is the earliest timer.
  static bool later(const Entry& a, const Entry& b) {
    return a.deadline != b.deadline ? a.deadline > b.deadline : a.sequence > b.sequence;
  }

  std::vector<Entry> heap_;
  std::uint64_t next_sequence_ = 0;
};

}  // namespace bft::runtime::detail
