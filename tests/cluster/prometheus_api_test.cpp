#include "cluster/prometheus_api.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace bft::cluster {
namespace {

TEST(PrometheusApi, ConfigScrapesEveryNodeWithItsName) {
  const std::string yaml =
      prometheus_config({{"node-0", "127.0.0.1:26700"}, {"node-1", "127.0.0.1:26701"}}, std::chrono::seconds(1));
  EXPECT_NE(yaml.find("scrape_interval: 1s"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("job_name: bftcore"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("- targets: ['127.0.0.1:26701']\n        labels:\n          node: 'node-1'"), std::string::npos)
      << yaml;
}

TEST(PrometheusApi, ReadsAnInstantVector) {
  const auto samples = parse_instant_vector(R"({"status":"success","data":{"resultType":"vector","result":[
      {"metric":{"__name__":"bftcore_consensus_height","node":"node-0"},"value":[1733300000.5,"42"]},
      {"metric":{"node":"node-1"},"value":[1733300000.5,"NaN"]},
      {"metric":{},"value":[1733300000.5,"0.0035"]}]}})");
  ASSERT_TRUE(samples.ok()) << samples.error().message;
  ASSERT_EQ(samples->size(), 3u);
  EXPECT_EQ((*samples)[0].node, "node-0");
  EXPECT_EQ((*samples)[0].value, 42);
  EXPECT_TRUE(std::isnan((*samples)[1].value));
  EXPECT_EQ((*samples)[2].node, "");
  EXPECT_DOUBLE_EQ((*samples)[2].value, 0.0035);
}

TEST(PrometheusApi, RefusesWhatIsNotASuccessfulVector) {
  for (const char* body : {"", "[]", R"({"status":"error","error":"bad query"})",
                           R"({"status":"success","data":{"resultType":"matrix","result":[]}})",
                           R"({"status":"success","data":{"resultType":"vector","result":[{"value":[1,"x1"]}]}})",
                           R"({"status":"success","data":{"resultType":"vector","result":[{"value":[1,2]}]}})"})
    EXPECT_FALSE(parse_instant_vector(body).ok()) << body;
}

TEST(PrometheusApi, UrlEncodesAQuery) {
  EXPECT_EQ(url_encode("rate(x_bucket[30s])"), "rate%28x_bucket%5B30s%5D%29");
  EXPECT_EQ(url_encode("a b+c"), "a%20b%2Bc");
  EXPECT_EQ(url_encode("safe-_.~09AZaz"), "safe-_.~09AZaz");
}

}  // namespace
}  // namespace bft::cluster
