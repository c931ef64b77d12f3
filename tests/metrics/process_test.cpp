// The process collector reads plausible figures of this very process.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>

#include "bft/metrics/process.hpp"
#include "exposition_parser.hpp"

namespace bft::metrics {
namespace {

TEST(ProcessMetrics, PlausibleValues) {
  Registry registry;
  register_process_metrics(registry);
  // Burn a little CPU so the counter has something to count.
  volatile double sink = 0;
  for (int i = 0; i < 20'000'000; ++i) sink = sink + i;
  const test::Exposition parsed = test::parse_exposition(registry.expose());
  ASSERT_EQ(parsed.problems, std::vector<std::string>{});

  EXPECT_EQ(parsed.types.at("process_cpu_seconds_total"), "counter");
  EXPECT_EQ(parsed.types.at("process_resident_memory_bytes"), "gauge");
  EXPECT_GT(parsed.samples.at("process_resident_memory_bytes"), 0);
  EXPECT_GE(parsed.samples.at("process_virtual_memory_bytes"), parsed.samples.at("process_resident_memory_bytes"));
  EXPECT_GE(parsed.samples.at("process_open_fds"), 3);
  EXPECT_GE(parsed.samples.at("process_max_fds"), parsed.samples.at("process_open_fds"));
  EXPECT_GT(parsed.samples.at("process_cpu_seconds_total"), 0);

  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  const double started = parsed.samples.at("process_start_time_seconds");
  EXPECT_LE(started, now + 1);
  EXPECT_GT(started, now - 24 * 3600);
}

TEST(ProcessMetrics, OpenFdsFollowsTheProcess) {
  Registry registry;
  register_process_metrics(registry);
  const double before = test::parse_exposition(registry.expose()).samples.at("process_open_fds");
  int pipe_ends[2];
  ASSERT_EQ(::pipe(pipe_ends), 0);
  const double during = test::parse_exposition(registry.expose()).samples.at("process_open_fds");
  ::close(pipe_ends[0]);
  ::close(pipe_ends[1]);
  EXPECT_EQ(during, before + 2);
}

}  // namespace
}  // namespace bft::metrics
