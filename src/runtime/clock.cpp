#include "bft/runtime/clock.hpp"

#include <algorithm>

namespace bft::runtime {

SteadyClock& steady_clock() noexcept {
  static SteadyClock clock;
  return clock;
}

void ManualClock::subscribe(Listener& listener) {
  const std::lock_guard lock(mutex_);
  listeners_.push_back(&listener);
}

void ManualClock::unsubscribe(Listener& listener) {
  const std::lock_guard lock(mutex_);
  std::erase(listeners_, &listener);
}

void ManualClock::advance(duration step) {
  if (step.count() <= 0) return;
  // Listeners are told under the lock so that one that unsubscribes (a runtime being
  // destroyed) is never told after unsubscribe() returns.
  const std::lock_guard lock(mutex_);
  now_.fetch_add(step.count(), std::memory_order_acq_rel);
  for (Listener* listener : listeners_) listener->clock_moved();
}

}  // namespace bft::runtime
