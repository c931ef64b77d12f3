#include "bft/net/log_limiter.hpp"

#include <utility>

namespace bft::net {
namespace {

std::string duration_text(std::chrono::milliseconds duration) {
  if (duration.count() % 1000 == 0) return std::to_string(duration.count() / 1000) + " s";
  return std::to_string(duration.count()) + " ms";
}

}  // namespace

std::vector<std::string> LogLimiter::note(std::string_view reason, std::string line, Clock::time_point now) {
  std::vector<std::string> out;
  if (interval_start_ && now >= *interval_start_ + options_.interval) {
    if (auto summary = close_interval()) out.push_back(std::move(*summary));
  }
  if (!interval_start_) interval_start_ = now;
  if (printed_ < options_.lines_per_interval) {
    ++printed_;
    out.push_back(std::move(line));
    return out;
  }
  ++suppressed_;
  const auto it = suppressed_by_reason_.find(reason);
  if (it != suppressed_by_reason_.end()) {
    ++it->second;
  } else {
    suppressed_by_reason_.emplace(std::string(reason), 1);
  }
  return out;
}

std::optional<LogLimiter::Clock::time_point> LogLimiter::summary_due() const {
  if (!interval_start_ || suppressed_ == 0) return std::nullopt;
  return *interval_start_ + options_.interval;
}

std::optional<std::string> LogLimiter::flush(Clock::time_point now) {
  if (!interval_start_ || now < *interval_start_ + options_.interval) return std::nullopt;
  return close_interval();
}

std::optional<std::string> LogLimiter::close_interval() {
  std::optional<std::string> summary;
  if (suppressed_ > 0) {
    std::string text = "suppressed " + std::to_string(suppressed_) + " " + options_.what + " in the last " +
                       duration_text(options_.interval) + ":";
    const char* separator = " ";
    for (const auto& [reason, count] : suppressed_by_reason_) {
      text += separator + reason + "=" + std::to_string(count);
      separator = ", ";
    }
    summary = std::move(text);
  }
  interval_start_.reset();
  printed_ = 0;
  suppressed_ = 0;
  suppressed_by_reason_.clear();
  return summary;
}

}  // namespace bft::net
