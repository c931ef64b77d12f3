// The text Registry::expose() writes: the exact format 0.0.4 lines, escaping, and
// numbers Prometheus reads back exactly.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "bft/metrics/registry.hpp"
#include "exposition_parser.hpp"

namespace bft::metrics {
namespace {

TEST(Exposition, SmallRegistryExactText) {
  Registry registry;
  registry.counter("app_requests_total", "Requests handled.").inc(3);
  registry.gauge("app_temperature_celsius", "Current temperature.").set(21.5);
  Family<Counter>& received = registry.counter_family("app_received_total", "Messages received.", {"peer", "kind"});
  received.with({"ab12", "vote"}).inc(2);
  received.with({"ab12", "proposal"}).inc();
  Histogram& latency = registry.histogram("app_latency_seconds", "Latency.", {0.1, 0.5, 1});
  latency.observe(0.25);
  latency.observe(0.5);
  latency.observe(3);

  EXPECT_EQ(registry.expose(),
            "# HELP app_latency_seconds Latency.\n"
            "# TYPE app_latency_seconds histogram\n"
            "app_latency_seconds_bucket{le=\"0.1\"} 0\n"
            "app_latency_seconds_bucket{le=\"0.5\"} 2\n"
            "app_latency_seconds_bucket{le=\"1\"} 2\n"
            "app_latency_seconds_bucket{le=\"+Inf\"} 3\n"
            "app_latency_seconds_sum 3.75\n"
            "app_latency_seconds_count 3\n"
            "# HELP app_received_total Messages received.\n"
            "# TYPE app_received_total counter\n"
            "app_received_total{peer=\"ab12\",kind=\"proposal\"} 1\n"
            "app_received_total{peer=\"ab12\",kind=\"vote\"} 2\n"
            "# HELP app_requests_total Requests handled.\n"
            "# TYPE app_requests_total counter\n"
            "app_requests_total 3\n"
            "# HELP app_temperature_celsius Current temperature.\n"
            "# TYPE app_temperature_celsius gauge\n"
            "app_temperature_celsius 21.5\n");
  EXPECT_EQ(test::parse_exposition(registry.expose()).problems, std::vector<std::string>{});
}

TEST(Exposition, LabelledHistogramPutsLeLast) {
  Registry registry;
  registry.histogram_family("rpc_seconds", "RPC time.", {"method"}, {1}).with({"get"}).observe(0.5);
  EXPECT_EQ(registry.expose(),
            "# HELP rpc_seconds RPC time.\n"
            "# TYPE rpc_seconds histogram\n"
            "rpc_seconds_bucket{method=\"get\",le=\"1\"} 1\n"
            "rpc_seconds_bucket{method=\"get\",le=\"+Inf\"} 1\n"
            "rpc_seconds_sum{method=\"get\"} 0.5\n"
            "rpc_seconds_count{method=\"get\"} 1\n");
}

TEST(Exposition, EmptyFamilyWritesHelpAndTypeOnly) {
  Registry registry;
  registry.counter_family("peers_dropped_total", "Peers dropped.", {"reason"});
  EXPECT_EQ(registry.expose(), "# HELP peers_dropped_total Peers dropped.\n# TYPE peers_dropped_total counter\n");
}

TEST(Exposition, EscapesLabelValuesAndHelp) {
  Registry registry;
  registry.counter_family("paths_total", "A \"help\" with \\ and\na newline.", {"path"})
      .with({"C:\\dir \"quoted\"\nnext"})
      .inc();
  EXPECT_EQ(registry.expose(),
            "# HELP paths_total A \"help\" with \\\\ and\\na newline.\n"
            "# TYPE paths_total counter\n"
            "paths_total{path=\"C:\\\\dir \\\"quoted\\\"\\nnext\"} 1\n");
  EXPECT_EQ(test::parse_exposition(registry.expose()).problems, std::vector<std::string>{});
}

TEST(Exposition, UnicodeLabelValuesPassUnchanged) {
  Registry registry;
  registry.gauge_family("node_info", "Node identity.", {"name"}).with({"nœud-η"}).set(1);
  EXPECT_NE(registry.expose().find("node_info{name=\"nœud-η\"} 1\n"), std::string::npos);
}

TEST(Exposition, NonFiniteValuesUsePrometheusSpelling) {
  Registry registry;
  Family<Gauge>& values = registry.gauge_family("odd_values", "Odd values.", {"which"});
  values.with({"nan"}).set(std::numeric_limits<double>::quiet_NaN());
  values.with({"plus"}).set(std::numeric_limits<double>::infinity());
  values.with({"minus"}).set(-std::numeric_limits<double>::infinity());
  const std::string text = registry.expose();
  EXPECT_NE(text.find("odd_values{which=\"nan\"} NaN\n"), std::string::npos);
  EXPECT_NE(text.find("odd_values{which=\"plus\"} +Inf\n"), std::string::npos);
  EXPECT_NE(text.find("odd_values{which=\"minus\"} -Inf\n"), std::string::npos);
}

TEST(Exposition, FiniteValuesRoundTrip) {
  const double values[] = {0.0, -0.0, 1.0 / 3, 0.1, 1e-300, 1e300, -123456789.125, 4.9e-324,
                           std::numeric_limits<double>::max(), 9007199254740993.0};
  for (double value : values) {
    Registry registry;
    registry.gauge("value", "A value.").set(value);
    const test::Exposition parsed = test::parse_exposition(registry.expose());
    ASSERT_EQ(parsed.problems, std::vector<std::string>{}) << value;
    const double read = parsed.samples.at("value");
    EXPECT_EQ(read, value) << registry.expose();
    EXPECT_EQ(std::signbit(read), std::signbit(value)) << registry.expose();
  }
}

TEST(Exposition, CountersKeepEveryDigit) {
  Registry registry;
  registry.counter("big_total", "Big.").inc(18446744073709551615ULL);
  EXPECT_NE(registry.expose().find("big_total 18446744073709551615\n"), std::string::npos);
}

TEST(Exposition, EveryKindIsWellFormed) {
  Registry registry;
  registry.counter("a_total", "A.").inc();
  registry.gauge("b", "B.").dec(4);
  registry.counter_family("c_total", "C.", {"x", "y"}).with({"1", "2"}).inc();
  registry.gauge_family("d", "D.", {"x"}).with({"\"\\\n"}).set(0.5);
  registry.histogram("e_seconds", "E.", exponential_buckets(0.001, 10, 4)).observe(0.02);
  registry.histogram_family("f_bytes", "F.", {"kind"}, {10, 100}).with({"vote"}).observe(50);
  registry.callback_gauge("g", "G.", [] { return 7.0; });
  registry.callback_counter_family("h_total", "H.", {"peer"},
                                   [] { return std::vector<CallbackSample>{{{"p1"}, 1}, {{"p2"}, 2}}; });
  const test::Exposition parsed = test::parse_exposition(registry.expose());
  EXPECT_EQ(parsed.problems, std::vector<std::string>{});
  EXPECT_EQ(parsed.types.size(), 8u);
  EXPECT_EQ(parsed.types.at("f_bytes"), "histogram");
  EXPECT_EQ(parsed.types.at("h_total"), "counter");
  EXPECT_EQ(parsed.samples.at("h_total{peer=\"p2\"}"), 2);
}

TEST(Exposition, ParserCatchesMalformedLines) {
  // The checker itself: each of these must be reported.
  EXPECT_FALSE(test::parse_exposition("# HELP a A.\n# TYPE a gauge\na{x=\"unterminated} 1\n").problems.empty());
  EXPECT_FALSE(test::parse_exposition("# HELP a A.\n# TYPE a gauge\na 1.2.3\n").problems.empty());
  EXPECT_FALSE(test::parse_exposition("# HELP a A.\n# TYPE a gauge\nb 1\n").problems.empty());
  EXPECT_FALSE(test::parse_exposition("# HELP a A.\n# TYPE a counter\na 1\n").problems.empty());
  EXPECT_FALSE(test::parse_exposition("# HELP a A.\n# TYPE a gauge\na 1").problems.empty());
  EXPECT_TRUE(test::parse_exposition("# HELP a A.\n# TYPE a gauge\na{x=\"\\\"\"} -1e-3\n").problems.empty());
}

TEST(Exposition, ContentTypeNamesTheVersion) {
  EXPECT_EQ(exposition_content_type, "text/plain; version=0.0.4; charset=utf-8");
}

}  // namespace
}  // namespace bft::metrics
