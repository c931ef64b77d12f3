#include "bft/node/log.hpp"

#include <chrono>
#include <cstdio>

namespace bft::node {
namespace {

constexpr std::string_view level_names[] = {"error", "warn", "info", "debug"};

}  // namespace

Result<LogLevel> parse_log_level(std::string_view text) {
  for (std::size_t i = 0; i < std::size(level_names); ++i)
    if (text == level_names[i]) return static_cast<LogLevel>(i);
  return make_error(Errc::invalid_argument, "log level must be error, warn, info or debug, not '" + std::string(text) + "'");
}

Logger::Logger(LogLevel level, std::string node, Sink sink)
    : level_(level), node_(std::move(node)), sink_(std::move(sink)) {}

void Logger::log(LogLevel level, std::string_view event, std::string_view fields) const {
  if (!enabled(level)) return;
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  std::string line = "t=" + std::to_string(ms) + " level=" + std::string(level_names[static_cast<std::size_t>(level)]);
  if (!node_.empty()) line += field("node", node_);
  line += field("event", event);
  line += fields;
  line += '\n';
  if (sink_) return sink_(line);
  // One write per line, so lines of concurrent processes sharing a terminal stay whole.
  std::fwrite(line.data(), 1, line.size(), stderr);
}

std::string field(std::string_view key, std::string_view value) {
  const bool quote = value.empty() || value.find_first_of(" \"=\t\n") != std::string_view::npos;
  std::string out = " " + std::string(key) + "=";
  if (!quote) return out + std::string(value);
  out += '"';
  for (char c : value) {
    if (c == '"' || c == '\\') out += '\\';
    out += (c == '\n') ? ' ' : c;
  }
  return out + '"';
}

std::string field(std::string_view key, std::uint64_t value) { return field(key, std::to_string(value)); }

}  // namespace bft::node
