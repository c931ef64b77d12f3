// The rejection log limiter, on explicit times: the first lines of an interval pass,
// the rest are counted by reason and summarised once the interval is over.
#include "bft/net/log_limiter.hpp"

#include <gtest/gtest.h>

namespace bft::net {
namespace {

using namespace std::chrono_literals;
using Lines = std::vector<std::string>;

class LogLimiterTest : public ::testing::Test {
 protected:
  LogLimiter limiter{{3, 10s, "rejections"}};
  const LogLimiter::Clock::time_point t0{};  // any origin
};

TEST_F(LogLimiterTest, TheFirstLinesOfAnIntervalPassAndTheRestAreSummarised) {
  EXPECT_EQ(limiter.note("pending_limit", "a", t0), Lines{"a"});
  EXPECT_EQ(limiter.note("pending_limit", "b", t0 + 1s), Lines{"b"});
  EXPECT_FALSE(limiter.summary_due());  // nothing suppressed yet
  EXPECT_EQ(limiter.note("handshake_timeout", "c", t0 + 2s), Lines{"c"});
  for (int i = 0; i < 40; ++i) EXPECT_TRUE(limiter.note("pending_limit", "x", t0 + 3s).empty());
  for (int i = 0; i < 2; ++i) EXPECT_TRUE(limiter.note("handshake_timeout", "y", t0 + 9s).empty());
  ASSERT_TRUE(limiter.summary_due());
  EXPECT_EQ(*limiter.summary_due(), t0 + 10s);  // the interval began with the first line

  // The next line after the interval brings the summary of the old one first.
  EXPECT_EQ(limiter.note("auth_failed", "d", t0 + 12s),
            (Lines{"suppressed 42 rejections in the last 10 s: handshake_timeout=2, pending_limit=40", "d"}));
  EXPECT_FALSE(limiter.summary_due());
}

TEST_F(LogLimiterTest, FlushReportsAnIntervalThatEndedInSilence) {
  for (int i = 0; i < 5; ++i) limiter.note("accept_failed", "line", t0);
  EXPECT_FALSE(limiter.flush(t0 + 9999ms));  // not over yet
  EXPECT_EQ(limiter.flush(t0 + 10s), "suppressed 2 rejections in the last 10 s: accept_failed=2");
  EXPECT_FALSE(limiter.flush(t0 + 30s));  // reported once
  EXPECT_FALSE(limiter.summary_due());
  // A fresh interval: lines pass again.
  EXPECT_EQ(limiter.note("accept_failed", "again", t0 + 31s), Lines{"again"});
}

TEST_F(LogLimiterTest, AnIntervalWithoutSuppressedLinesEndsWithoutASummary) {
  limiter.note("r", "1", t0);
  limiter.note("r", "2", t0 + 1s);
  EXPECT_FALSE(limiter.flush(t0 + 11s));
  EXPECT_EQ(limiter.note("r", "3", t0 + 12s), Lines{"3"});
}

TEST_F(LogLimiterTest, AnIntervalStartsWithTheFirstLineAfterAQuietSpell) {
  for (int i = 0; i < 4; ++i) limiter.note("r", "old", t0);
  EXPECT_EQ(limiter.flush(t0 + 10s), "suppressed 1 rejections in the last 10 s: r=1");
  // Quiet until t0 + 100 s: the new interval runs from there, not from a fixed grid.
  EXPECT_EQ(limiter.note("r", "new", t0 + 100s), Lines{"new"});
  for (int i = 0; i < 3; ++i) limiter.note("r", "more", t0 + 105s);
  EXPECT_EQ(*limiter.summary_due(), t0 + 110s);
}

TEST(LogLimiter, OtherIntervalsAreNamedInMilliseconds) {
  LogLimiter limiter({0, 1500ms, "requests"});
  EXPECT_TRUE(limiter.note("too_large", "x", {}).empty());
  EXPECT_EQ(limiter.flush(LogLimiter::Clock::time_point{} + 2s),
            "suppressed 1 requests in the last 1500 ms: too_large=1");
}

}  // namespace
}  // namespace bft::net
