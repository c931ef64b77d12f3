// Where a runtime's time comes from. The worker thread sleeps until its earliest timer
// is due or a message arrives. A real clock lets it sleep with a deadline; a ManualClock
// moves only when a test moves it and then wakes the runtimes that use it, so tests run
// on virtual time and never sleep.
#pragma once

#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>
#include <vector>

namespace bft::runtime {

class Clock {
 public:
  using time_point = std::chrono::steady_clock::time_point;
  using duration = std::chrono::steady_clock::duration;

  /// Told after the clock moves. Called on the thread that moved it.
  class Listener {
   public:
    virtual void clock_moved() = 0;

   protected:
    ~Listener() = default;
  };

  virtual ~Clock() = default;

  virtual time_point now() const noexcept = 0;

  /// The real steady_clock instant at which a sleeper waiting for `deadline` must wake,
  /// or nullopt if this clock wakes its listeners itself whenever it moves.
  virtual std::optional<time_point> wake_at(time_point deadline) const noexcept = 0;

  /// A runtime subscribes while it runs; a clock that follows real time may ignore this.
  virtual void subscribe(Listener& listener) = 0;
  /// Once this returns, `listener` is not called again.
  virtual void unsubscribe(Listener& listener) = 0;
};

/// Real time: std::chrono::steady_clock.
class SteadyClock final : public Clock {
 public:
  time_point now() const noexcept override { return std::chrono::steady_clock::now(); }
  std::optional<time_point> wake_at(time_point deadline) const noexcept override { return deadline; }
  void subscribe(Listener&) override {}
  void unsubscribe(Listener&) override {}
};

/// The process-wide real clock, used when a runtime is given none.
SteadyClock& steady_clock() noexcept;

/// Virtual time for tests: starts at the epoch and moves only through advance(). May be
/// shared by several runtimes. Thread-safe.
class ManualClock final : public Clock {
 public:
  time_point now() const noexcept override { return time_point{duration{now_.load(std::memory_order_acquire)}}; }
  std::optional<time_point> wake_at(time_point) const noexcept override { return std::nullopt; }
  void subscribe(Listener& listener) override;
  void unsubscribe(Listener& listener) override;

  /// Moves time forward by `step` (negative steps are ignored: time never goes back) and
  /// wakes every subscribed runtime, which then fires the timers now due. Returns before
  /// they have fired them: use Bft::flush() to wait for that.
  void advance(duration step);

 private:
  std::atomic<duration::rep> now_{0};
  std::mutex mutex_;  // guards listeners_; held while they are told, so unsubscribe waits
  std::vector<Listener*> listeners_;
};

}  // namespace bft::runtime
