// Structured, quiet-by-default logging for the node: one logfmt line per event on
// stderr, `t=<unix ms> level=<level> node=<name> event=<event> <fields>`.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "bft/result.hpp"

namespace bft::node {

enum class LogLevel : std::uint8_t { error, warn, info, debug };

/// Errors: invalid_argument (not one of error, warn, info, debug).
Result<LogLevel> parse_log_level(std::string_view text);

class Logger {
 public:
  /// Where finished lines go (each ends in a newline); standard error if empty.
  using Sink = std::function<void(std::string_view line)>;

  explicit Logger(LogLevel level = LogLevel::warn, std::string node = {}, Sink sink = {});

  bool enabled(LogLevel level) const noexcept { return level <= level_; }
  /// `fields`: further key=value pairs, already formatted (see field()).
  void log(LogLevel level, std::string_view event, std::string_view fields = {}) const;

 private:
  LogLevel level_;
  std::string node_;
  Sink sink_;
};

/// ` key=value`, the value quoted if it holds spaces, quotes or `=`.
std::string field(std::string_view key, std::string_view value);
std::string field(std::string_view key, std::uint64_t value);

}  // namespace bft::node
