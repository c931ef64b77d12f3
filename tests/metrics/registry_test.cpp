// Metric semantics: histogram buckets, concurrent updates, callbacks, families and the
// checks at registration.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <limits>
#include <thread>
#include <vector>

#include "bft/metrics/registry.hpp"
#include "exposition_parser.hpp"

namespace bft::metrics {
namespace {

TEST(Histogram, BoundsAreInclusiveAndBucketsCumulative) {
  Histogram histogram({1, 2, 5});
  for (double value : {1.0, 2.0, 2.0, 5.0, 5.0000001, 0.0, -3.0, 1e9}) histogram.observe(value);
  const Histogram::Snapshot snapshot = histogram.snapshot();
  EXPECT_EQ(snapshot.bounds, (std::vector<double>{1, 2, 5}));
  // le=1: 1, 0, -3; le=2: + 2, 2; le=5: + 5; +Inf: + 5.0000001, 1e9.
  EXPECT_EQ(snapshot.cumulative, (std::vector<std::uint64_t>{3, 5, 6, 8}));
  EXPECT_EQ(snapshot.count, 8u);
  EXPECT_DOUBLE_EQ(snapshot.sum, 1 + 2 + 2 + 5 + 5.0000001 + 0 - 3 + 1e9);
}

TEST(Histogram, NanCountsInInfBucket) {
  Histogram histogram({1});
  histogram.observe(std::numeric_limits<double>::quiet_NaN());
  const Histogram::Snapshot snapshot = histogram.snapshot();
  EXPECT_EQ(snapshot.cumulative, (std::vector<std::uint64_t>{0, 1}));
  EXPECT_TRUE(std::isnan(snapshot.sum));
}

TEST(Histogram, WithoutBoundsHasOnlyInf) {
  Registry registry;
  registry.histogram("only_inf", "Only +Inf.", {}).observe(4);
  EXPECT_EQ(registry.expose(),
            "# HELP only_inf Only +Inf.\n# TYPE only_inf histogram\n"
            "only_inf_bucket{le=\"+Inf\"} 1\nonly_inf_sum 4\nonly_inf_count 1\n");
}

TEST(Histogram, ExposedSeriesKeepTheInvariants) {
  Registry registry;
  Histogram& histogram = registry.histogram("sizes_bytes", "Sizes.", exponential_buckets(1, 2, 10));
  double sum = 0;
  for (int i = 0; i < 1000; ++i) {
    const double value = (i * 37) % 1500;
    histogram.observe(value);
    sum += value;
  }
  const test::Exposition parsed = test::parse_exposition(registry.expose());
  ASSERT_EQ(parsed.problems, std::vector<std::string>{});
  double previous = 0;
  for (double bound : exponential_buckets(1, 2, 10)) {
    char le[64];
    std::snprintf(le, sizeof le, "sizes_bytes_bucket{le=\"%g\"}", bound);
    const double cumulative = parsed.samples.at(le);
    EXPECT_GE(cumulative, previous) << le;
    previous = cumulative;
  }
  EXPECT_GE(parsed.samples.at("sizes_bytes_bucket{le=\"+Inf\"}"), previous);
  EXPECT_EQ(parsed.samples.at("sizes_bytes_bucket{le=\"+Inf\"}"), parsed.samples.at("sizes_bytes_count"));
  EXPECT_EQ(parsed.samples.at("sizes_bytes_count"), 1000);
  EXPECT_EQ(parsed.samples.at("sizes_bytes_sum"), sum);
}

TEST(Buckets, Exponential) {
  EXPECT_EQ(exponential_buckets(1, 2, 4), (std::vector<double>{1, 2, 4, 8}));
  EXPECT_EQ(exponential_buckets(0.5, 10, 0), std::vector<double>{});
}

TEST(Gauge, SetIncDec) {
  Gauge gauge;
  gauge.set(10);
  gauge.inc();
  gauge.inc(2.5);
  gauge.dec(4);
  EXPECT_EQ(gauge.value(), 9.5);
}

TEST(Family, ChildReferencesAreStable) {
  Registry registry;
  Family<Counter>& family = registry.counter_family("sent_total", "Sent.", {"peer"});
  Counter& first = family.with({"p0"});
  for (int i = 1; i < 200; ++i) family.with({"p" + std::to_string(i)}).inc();
  first.inc(5);
  EXPECT_EQ(&family.with({"p0"}), &first);
  EXPECT_EQ(family.with({"p0"}).value(), 5u);
  EXPECT_EQ(family.with({"p7"}).value(), 1u);
}

TEST(Concurrency, UpdatesFromManyThreadsAddUp) {
  Registry registry;
  Counter& counter = registry.counter("events_total", "Events.");
  Gauge& gauge = registry.gauge("level", "Level.");
  Histogram& histogram = registry.histogram("work_seconds", "Work.", {2, 5, 8});
  Family<Counter>& by_thread = registry.counter_family("by_thread_total", "Per thread.", {"thread", "parity"});
  constexpr int threads = 4;
  constexpr int per_thread = 50000;
  std::atomic<bool> done{false};
  // A scraper runs all along: exposing while others update must be safe.
  std::thread scraper([&] {
    while (!done.load()) EXPECT_EQ(test::parse_exposition(registry.expose()).problems, std::vector<std::string>{});
  });
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      const std::string name = "t" + std::to_string(t);
      for (int i = 0; i < per_thread; ++i) {
        counter.inc();
        gauge.inc(2);
        gauge.dec();
        histogram.observe(i % 10);
        by_thread.with({name, i % 2 == 0 ? "even" : "odd"}).inc();
        by_thread.with({"shared", "any"}).inc();
      }
    });
  }
  for (std::thread& worker : workers) worker.join();
  done = true;
  scraper.join();

  EXPECT_EQ(counter.value(), std::uint64_t{threads} * per_thread);
  EXPECT_EQ(gauge.value(), double{threads} * per_thread);
  const Histogram::Snapshot snapshot = histogram.snapshot();
  EXPECT_EQ(snapshot.count, std::uint64_t{threads} * per_thread);
  EXPECT_EQ(snapshot.sum, double{threads} * (per_thread / 10) * 45);
  // le=2: 0, 1, 2; le=5: + 3, 4, 5; le=8: + 6, 7, 8; +Inf: + 9.
  const std::uint64_t tenth = std::uint64_t{threads} * per_thread / 10;
  EXPECT_EQ(snapshot.cumulative, (std::vector<std::uint64_t>{3 * tenth, 6 * tenth, 9 * tenth, 10 * tenth}));
  EXPECT_EQ(by_thread.with({"shared", "any"}).value(), std::uint64_t{threads} * per_thread);
  EXPECT_EQ(by_thread.with({"t3", "odd"}).value(), std::uint64_t{per_thread / 2});
}

TEST(Callback, ReadAtEachScrape) {
  Registry registry;
  std::atomic<std::uint64_t> decided{0};
  registry.callback_counter("decided_heights_total", "Heights decided.",
                            [&] { return static_cast<double>(decided.load()); });
  registry.callback_gauge("height", "Height.", [&] { return static_cast<double>(decided.load() + 1); });
  EXPECT_EQ(test::parse_exposition(registry.expose()).samples.at("decided_heights_total"), 0);
  decided = 41;
  const test::Exposition parsed = test::parse_exposition(registry.expose());
  EXPECT_EQ(parsed.problems, std::vector<std::string>{});
  EXPECT_EQ(parsed.samples.at("decided_heights_total"), 41);
  EXPECT_EQ(parsed.samples.at("height"), 42);
  EXPECT_EQ(parsed.types.at("decided_heights_total"), "counter");
  EXPECT_EQ(parsed.types.at("height"), "gauge");
}

TEST(Callback, NoValueLeavesTheSampleOut) {
  Registry registry;
  registry.callback_gauge("unreadable", "Could not be read.", [] { return std::optional<double>{}; });
  EXPECT_EQ(registry.expose(), "# HELP unreadable Could not be read.\n# TYPE unreadable gauge\n");
}

TEST(Callback, LabelledSamples) {
  Registry registry;
  std::vector<CallbackSample> peers{{{"ab12"}, 3}, {{"cd34"}, 4}};
  registry.callback_gauge_family("peer_queue", "Queued per peer.", {"peer"}, [&] { return peers; });
  EXPECT_EQ(registry.expose(),
            "# HELP peer_queue Queued per peer.\n# TYPE peer_queue gauge\n"
            "peer_queue{peer=\"ab12\"} 3\npeer_queue{peer=\"cd34\"} 4\n");
}

TEST(Registry, RemoveUnregisters) {
  Registry registry;
  registry.callback_gauge("goes_away", "Goes away.", [] { return 1.0; });
  registry.gauge("stays", "Stays.").set(2);
  EXPECT_TRUE(registry.remove("goes_away"));
  EXPECT_FALSE(registry.remove("goes_away"));
  EXPECT_EQ(registry.expose(), "# HELP stays Stays.\n# TYPE stays gauge\nstays 2\n");
  registry.gauge("goes_away", "Registered again.").set(3);
  EXPECT_NE(registry.expose().find("goes_away 3\n"), std::string::npos);
}

TEST(Names, MetricNames) {
  for (const char* good : {"a", "_a", ":a", "bft_height", "ns:sub_metric_total", "A9_"})
    EXPECT_TRUE(is_valid_metric_name(good)) << good;
  for (const char* bad : {"", "9a", "a-b", "a b", "a.b", "é", "a{"}) EXPECT_FALSE(is_valid_metric_name(bad)) << bad;
}

TEST(Names, LabelNames) {
  for (const char* good : {"peer", "_peer", "p9", "_"}) EXPECT_TRUE(is_valid_label_name(good)) << good;
  for (const char* bad : {"", "9p", "p:q", "__name__", "__x", "p-q"}) EXPECT_FALSE(is_valid_label_name(bad)) << bad;
}

// Misuse is a bug in the registering code: the process stops with a message naming it.
TEST(RegistrationDeathTest, RejectsMisuse) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  Registry registry;
  registry.histogram("latency_seconds", "Latency.", {1});
  registry.counter("sent_total", "Sent.");
  EXPECT_DEATH(registry.gauge("bad-name", "Bad."), "invalid metric name 'bad-name'");
  EXPECT_DEATH(registry.counter("requests", "No suffix."), "requests: a counter's name must end in _total");
  EXPECT_DEATH(registry.callback_counter("reads", "No suffix.", [] { return 1.0; }), "must end in _total");
  EXPECT_DEATH(registry.gauge_family("g", "G.", {"__reserved"}), "invalid label name '__reserved'");
  EXPECT_DEATH(registry.gauge_family("g", "G.", {"a", "a"}), "label 'a' given twice");
  EXPECT_DEATH(registry.histogram_family("h", "H.", {"le"}, {1}), "'le' is the histogram's own bucket label");
  EXPECT_DEATH(registry.histogram("h", "H.", {2, 1}), "strictly increasing");
  EXPECT_DEATH(registry.histogram("h", "H.", {1, std::numeric_limits<double>::infinity()}), "finite");
  EXPECT_DEATH(registry.counter("sent_total", "Again."), "'sent_total' collides");
  EXPECT_DEATH(registry.gauge("latency_seconds_count", "Clash."), "collides with the registered 'latency_seconds'");
  EXPECT_DEATH(registry.counter_family("x_total", "X.", {"peer"}).with({"a", "b"}), "2 label values for 1 label");
  EXPECT_DEATH(exponential_buckets(0, 2, 3), "start > 0");
}

}  // namespace
}  // namespace bft::metrics
