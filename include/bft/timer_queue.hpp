// A host's pending core timeouts, earliest first: one implementation for every host of
// the core (the threaded runtime, the node's replica). Timers due at the same instant
// fire in the order they were scheduled, so a run on virtual time is deterministic. A
// type, not a clock: the host says what time it is.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

#include "bft/config.hpp"
#include "bft/core.hpp"

namespace bft {

/// Whose time points timers are due at (the runtime's and the node's clocks are steady).
using TimerClock = std::chrono::steady_clock;

/// now + delay, saturating at the clock's end instead of overflowing (the core saturates
/// its timeouts at the largest Duration, far beyond what a time_point can hold).
inline TimerClock::time_point deadline_after(TimerClock::time_point now, Duration delay) {
  if (delay.count() <= 0) return now;
  const auto room = std::chrono::duration_cast<Duration>(TimerClock::time_point::max() - now);
  return delay >= room ? TimerClock::time_point::max() : now + delay;
}

class TimerQueue {
 public:
  using time_point = TimerClock::time_point;

  void schedule(time_point deadline, TimeoutFired timeout) {
    heap_.push_back(Entry{deadline, next_sequence_++, timeout});
    std::push_heap(heap_.begin(), heap_.end(), later);
  }

  bool empty() const noexcept { return heap_.empty(); }
  std::size_t size() const noexcept { return heap_.size(); }

  std::optional<time_point> next_deadline() const {
    if (heap_.empty()) return std::nullopt;
    return heap_.front().deadline;
  }

  bool due(time_point now) const { return !heap_.empty() && heap_.front().deadline <= now; }

  /// The earliest timer, removed, if it is due at `now`.
  std::optional<TimeoutFired> pop_due(time_point now) {
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
    time_point deadline;
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

}  // namespace bft
