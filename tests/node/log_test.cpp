// The node's logger: logfmt lines, filtered by level, to standard error or a sink.
#include "bft/node/log.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace bft::node {
namespace {

TEST(Logger, ASinkGetsEveryLineOfItsLevelWhole) {
  std::vector<std::string> lines;
  const Logger logger(LogLevel::info, "n1", [&](std::string_view line) { lines.emplace_back(line); });
  logger.log(LogLevel::warn, "disk_slow", field("ms", 12) + field("path", "a b"));
  logger.log(LogLevel::debug, "too_fine");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find(" level=warn node=n1 event=disk_slow ms=12 path=\"a b\"\n"), std::string::npos) << lines[0];
  EXPECT_EQ(lines[0].rfind("t=", 0), 0u);
}

TEST(LogLevel, ParsesItsNamesOnly) {
  EXPECT_EQ(parse_log_level("debug").value(), LogLevel::debug);
  EXPECT_FALSE(parse_log_level("loud").ok());
}

}  // namespace
}  // namespace bft::node
