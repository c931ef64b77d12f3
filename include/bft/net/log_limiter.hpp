// Keeps a flood of similar log lines (rejected connections, refused requests) from
// filling the log: within each interval the first few lines pass, the rest are only
// counted by reason, and once the interval is over one summary line reports them:
//
//   suppressed 812 rejections in the last 10 s: handshake_timeout=12, pending_limit=800
//
// An interval starts with the first line after a quiet spell and lasts `interval`.
// The caller passes the time to every call, so tests need no clock and no sleep; it
// prints what the calls return. Not thread-safe: one owner, or a mutex around it.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bft::net {

class LogLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  struct Options {
    std::size_t lines_per_interval = 5;
    std::chrono::milliseconds interval{10'000};
    std::string what = "lines";  // the noun of the summary: "suppressed N <what> ..."
  };

  LogLimiter() = default;
  explicit LogLimiter(Options options) : options_(std::move(options)) {}

  /// One event of kind `reason` whose log line is `line`. Returns what to print now, in
  /// order: the summary of an interval that has ended (if it suppressed anything), then
  /// `line` if this interval still has room for it.
  std::vector<std::string> note(std::string_view reason, std::string line, Clock::time_point now);

  /// When the current interval's summary is due, if it has one (something was suppressed).
  /// Arm a timer for it so that the last interval of a flood is reported too.
  std::optional<Clock::time_point> summary_due() const;

  /// The summary of the current interval if it has ended and suppressed anything; a new
  /// interval starts with the next event.
  std::optional<std::string> flush(Clock::time_point now);

 private:
  std::optional<std::string> close_interval();

  Options options_;
  std::optional<Clock::time_point> interval_start_;
  std::size_t printed_ = 0;
  std::uint64_t suppressed_ = 0;
  std::map<std::string, std::uint64_t, std::less<>> suppressed_by_reason_;  // sorted: stable summaries
};

}  // namespace bft::net
