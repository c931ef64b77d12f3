#include "bft/timer_queue.hpp"

#include <gtest/gtest.h>

namespace bft {
namespace {

using std::chrono::milliseconds;

TimerQueue::time_point at(int ms) { return TimerQueue::time_point{milliseconds{ms}}; }

TEST(TimerQueue, FiresEarliestFirstAndTiesInScheduleOrder) {
  TimerQueue timers;
  timers.schedule(at(30), TimeoutFired{TimeoutKind::precommit, 1, 0});
  timers.schedule(at(10), TimeoutFired{TimeoutKind::propose, 1, 0});
  timers.schedule(at(20), TimeoutFired{TimeoutKind::prevote, 1, 0});
  timers.schedule(at(20), TimeoutFired{TimeoutKind::prevote, 1, 1});
  EXPECT_EQ(timers.next_deadline(), at(10));

  EXPECT_FALSE(timers.pop_due(at(9)));
  EXPECT_EQ(timers.pop_due(at(25))->kind, TimeoutKind::propose);
  EXPECT_EQ(timers.pop_due(at(25))->round, 0);
  EXPECT_EQ(timers.pop_due(at(25))->round, 1);
  EXPECT_FALSE(timers.pop_due(at(25)));
  EXPECT_EQ(timers.pop_due(at(30))->kind, TimeoutKind::precommit);
  EXPECT_TRUE(timers.empty());
  EXPECT_FALSE(timers.next_deadline());
}

TEST(TimerQueue, DropBelowForgetsOlderHeights) {
  TimerQueue timers;
  timers.schedule(at(5), TimeoutFired{TimeoutKind::propose, 1, 0});
  timers.schedule(at(50), TimeoutFired{TimeoutKind::propose, 2, 0});
  timers.schedule(at(7), TimeoutFired{TimeoutKind::prevote, 1, 3});
  timers.drop_below(2);
  ASSERT_EQ(timers.size(), 1u);
  EXPECT_EQ(timers.next_deadline(), at(50));
  EXPECT_EQ(timers.pop_due(at(50))->height, 2u);
}

TEST(TimerQueue, DeadlinesSaturateInsteadOfOverflowing) {
  EXPECT_EQ(deadline_after(at(10), Duration{5}), at(15));
  EXPECT_EQ(deadline_after(at(10), Duration{0}), at(10));
  EXPECT_EQ(deadline_after(at(10), Duration::max()), TimerQueue::time_point::max());
  EXPECT_EQ(deadline_after(TimerQueue::time_point::max() - milliseconds{1}, Duration{2}), TimerQueue::time_point::max());
}

}  // namespace
}  // namespace bft
