#include <gtest/gtest.h>

#include <cmath>

#include <nlohmann/json.hpp>

#include "cluster/node_api.hpp"
#include "cluster/summary.hpp"

namespace bft::cluster {
namespace {

using nlohmann::json;

TEST(NodeApi, ConfigHasEveryFieldBftNodeReads) {
  const NodeConfig config{"chain", "node-1", "10.77.0.2:26600", "10.77.0.2:26700", "node-1.key", "node-1", "warn",
                          {{"node-0", std::string(64, 'a'), "10.77.0.1:26600"}, {"node-1", std::string(64, 'b'), "10.77.0.2:26600"}},
                          {{"full-0", std::string(64, 'c'), "10.77.0.3:26600"}}, std::string(64, 'd'),
                          10, 0.25, true};
  const json parsed = json::parse(to_json(config));
  EXPECT_EQ(parsed["chain_id"], "chain");
  EXPECT_EQ(parsed["name"], "node-1");
  EXPECT_EQ(parsed["listen"], "10.77.0.2:26600");
  EXPECT_EQ(parsed["http"], "10.77.0.2:26700");
  EXPECT_EQ(parsed["key_file"], "node-1.key");
  EXPECT_EQ(parsed["data_dir"], "node-1");
  EXPECT_EQ(parsed["log_level"], "warn");
  ASSERT_EQ(parsed["validators"].size(), 2u);
  EXPECT_EQ(parsed["validators"][0]["public_key"], std::string(64, 'a'));
  EXPECT_EQ(parsed["validators"][1]["address"], "10.77.0.2:26600");
  EXPECT_EQ(parsed["validators"][1]["power"], 1);
  EXPECT_EQ(parsed["faults"]["delay_ms"], 10);
  EXPECT_EQ(parsed["faults"]["loss"], 0.25);
  EXPECT_EQ(parsed["p2p_plaintext"], true);
  ASSERT_EQ(parsed["full_nodes"].size(), 1u);
  EXPECT_EQ(parsed["full_nodes"][0]["public_key"], std::string(64, 'c'));
  EXPECT_FALSE(parsed["full_nodes"][0].contains("power"));
  EXPECT_EQ(parsed["operator_public_key"], std::string(64, 'd'));
}

TEST(NodeApi, ParsesValidators) {
  const auto v = parse_validators(
      R"({"height":9,"from_height":7,"validators":[{"public_key":"aa","address":"a1","power":2},)"
      R"({"public_key":"bb","address":"b1","power":1}]})");
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_EQ(v->height, 9u);
  EXPECT_EQ(v->from_height, 7u);
  ASSERT_EQ(v->powers.size(), 2u);
  EXPECT_EQ(v->powers[0], (std::pair<std::string, std::uint64_t>{"aa", 2}));
  EXPECT_EQ(v->addresses[1], "b1");
  EXPECT_FALSE(parse_validators(R"({"height":9,"from_height":7,"validators":[{"public_key":"aa"}]})").ok());
  EXPECT_FALSE(parse_validators(R"({"height":9,"validators":[]})").ok());
}

TEST(NodeApi, ParsesStatus) {
  const auto s = parse_status(
      R"({"name":"node-0","height":42,"round":1,"app_hash":"ab","mempool":3,"peers":3,"txs_committed":900})");
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->name, "node-0");
  EXPECT_EQ(s->height, 42u);
  EXPECT_EQ(s->round, 1);
  EXPECT_EQ(s->txs_committed, 900u);
}

TEST(NodeApi, RejectsBrokenStatus) {
  for (const char* bad : {"", "[]", "not json", R"({"name":"n","height":"x","round":0,"app_hash":"","mempool":0,"peers":0,"txs_committed":0})",
                          R"({"name":"n","round":0,"app_hash":"","mempool":0,"peers":0,"txs_committed":0})"}) {
    const auto s = parse_status(bad);
    EXPECT_FALSE(s.ok()) << bad;
    if (!s.ok()) {
      EXPECT_EQ(s.error().code, Errc::malformed);
    }
  }
}

TEST(NodeApi, ParsesBlocks) {
  const auto b = parse_blocks(
      R"({"blocks":[{"height":1,"hash":"aa","txs":0,"commit_ms":12.5,"decided_unix_ms":1700000000000,"proposer":"p1"},)"
      R"({"height":2,"hash":"bb","txs":50,"commit_ms":9,"decided_unix_ms":1700000000100,"proposer":"p2"}]})");
  ASSERT_TRUE(b.ok()) << b.error().message;
  ASSERT_EQ(b->size(), 2u);
  EXPECT_EQ((*b)[1].height, 2u);
  EXPECT_EQ((*b)[1].hash, "bb");
  EXPECT_EQ((*b)[1].txs, 50u);
  EXPECT_EQ((*b)[0].commit_ms, 12.5);
  EXPECT_EQ((*b)[1].decided_unix_ms, 1700000000100);
  EXPECT_EQ((*b)[1].proposer, "p2");
  EXPECT_FALSE(parse_blocks(R"({"blocks":[{"height":1}]})").ok());
  EXPECT_FALSE(parse_blocks(R"({"blocks":[1]})").ok());
  EXPECT_FALSE(parse_blocks(R"({})").ok());
}

TEST(NodeApi, SetCommandsAreOnePerLine) {
  EXPECT_EQ(make_set_commands("c1-", 7, 2), "set c1-7 v7\nset c1-8 v8\n");
  EXPECT_EQ(make_set_commands("k", 0, 0), "");
}

RunSummary passing() {
  RunSummary s;
  s.mode = "loopback";
  s.nodes = 4;
  s.heights = 12;
  s.agreement = true;
  s.clean_shutdown = true;
  return s;
}

TEST(Delivery, CountsLostAndTwiceCommittedIds) {
  // 1 and 2 committed once, 3 never, 4 twice; 5 committed without being counted accepted
  // (its answer never arrived), 2 accepted twice (a retry).
  const DeliveryReport report = check_delivery({1, 2, 2, 3, 4}, {4, 1, 5, 4, 2});
  EXPECT_EQ(report.accepted, 4u);
  EXPECT_EQ(report.committed, 5u);
  EXPECT_EQ(report.lost, 1u);
  EXPECT_EQ(report.committed_twice, 1u);
  EXPECT_FALSE(report.ok());
  EXPECT_TRUE(check_delivery({1, 2}, {2, 1, 3}).ok());
}

TEST(Delivery, ReadsIdsFromAnswersAndBlocks) {
  const std::string a(64, 'a');
  const std::string b = "00000000000000ff" + std::string(48, '0');
  const auto ids = parse_accepted_ids(R"({"accepted":1,"txs":[{"id":")" + a + R"(","status":"accepted"},)" +
                                      R"({"id":")" + b + R"(","status":"committed","height":3},)" +
                                      R"({"id":")" + a + R"(","status":"refused","code":1}]})");
  ASSERT_TRUE(ids.ok()) << ids.error().message;
  EXPECT_EQ(*ids, (std::vector<std::uint64_t>{0xaaaaaaaaaaaaaaaaull, 0xffull}));
  EXPECT_FALSE(parse_accepted_ids(R"({"txs":[{"status":"accepted"}]})").ok());
  EXPECT_FALSE(parse_id_prefixes("abc").ok());
  EXPECT_FALSE(parse_id_prefixes("zzzzzzzzzzzzzzzz").ok());
  const auto blocks = parse_blocks(
      R"({"blocks":[{"height":1,"hash":"h","txs":2,"commit_ms":1,"decided_unix_ms":1,"proposer":"p","tx_id_prefixes":"00000000000000010000000000000002"}]})");
  ASSERT_TRUE(blocks.ok()) << blocks.error().message;
  EXPECT_EQ(blocks->at(0).tx_ids, (std::vector<std::uint64_t>{1, 2}));
  EXPECT_FALSE(parse_blocks(R"({"blocks":[{"height":1,"hash":"h","txs":3,"commit_ms":1,"decided_unix_ms":1,"proposer":"p","tx_id_prefixes":"0000000000000001"}]})").ok());
}

TEST(Summary, FailsWhenAnAcceptedCommandIsLostOrCommittedTwice) {
  auto s = passing();
  s.delivery = DeliveryReport{10, 10, 0, 0};
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(json::parse(s.to_json())["lost"], 0);
  s.delivery = DeliveryReport{10, 9, 1, 0};
  EXPECT_FALSE(s.ok());
  s.delivery = DeliveryReport{10, 11, 0, 1};
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(json::parse(s.to_json())["committed_twice"], 1);
}

TEST(Summary, PassesOnlyWhenEveryCheckHolds) {
  EXPECT_TRUE(passing().ok());
  auto s = passing();
  s.agreement = false;
  EXPECT_FALSE(s.ok());
  s = passing();
  s.heights = 0;
  EXPECT_FALSE(s.ok());
  s = passing();
  s.clean_shutdown = false;
  EXPECT_FALSE(s.ok());
  s = passing();
  s.failures.push_back("node-1 exited unexpectedly");
  EXPECT_FALSE(s.ok());
  s = passing();
  s.kills.push_back({1, 2, 3, false, 0});
  EXPECT_FALSE(s.ok());
  s.kills.back().caught_up = true;
  EXPECT_TRUE(s.ok());
  s.partitions.push_back({{4}, 6, 12, false, 0});
  EXPECT_FALSE(s.ok());
}

TEST(Summary, AFloodThatCostMoreThanAFifthOfTheHeightsFails) {
  auto s = passing();
  s.flood = FloodReport{1, 8, 15, 5000, 4990, 300, 241};
  EXPECT_TRUE(s.ok());
  s.flood->heights_per_sec_during = 239;
  EXPECT_FALSE(s.ok());
  s.flood->heights_per_sec_before = 0;  // nothing to compare with: no pass by default
  EXPECT_FALSE(s.ok());
  s.flood->min_ratio = 0;  // only reported
  EXPECT_TRUE(s.ok());
  const json parsed = json::parse(passing().to_json());
  EXPECT_TRUE(parsed["http_flood"].is_null());
  s = passing();
  s.flood = FloodReport{1, 8, 15, 5000, 4990, 300, 150};
  EXPECT_EQ(json::parse(s.to_json())["http_flood"]["ratio"], 0.5);
  EXPECT_NE(s.to_text().find("below the bound"), std::string::npos);
}

TEST(Summary, PrometheusMustHaveReadEveryNodeAndALatency) {
  auto s = passing();
  s.prometheus = PrometheusReport{"http://127.0.0.1:9090", s.nodes, 10, 3.5, ""};
  EXPECT_TRUE(s.ok());
  s.prometheus->nodes_reporting = s.nodes - 1;
  EXPECT_FALSE(s.ok());
  s.prometheus->nodes_reporting = s.nodes;
  s.prometheus->p50_commit_ms = std::nan("");
  EXPECT_FALSE(s.ok());
  s.prometheus->p50_commit_ms = 3.5;
  s.prometheus->problem = "connection refused";
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(json::parse(s.to_json())["prometheus"]["problem"], "connection refused");
}

TEST(Summary, JsonIsOneLineWithTheDocumentedFields) {
  auto s = passing();
  s.heights_per_sec = 2.345678;
  s.p50_commit_ms = 12.34;
  s.kills.push_back({1, 14, 17, true, 0.35000000001});
  s.partitions.push_back({{4}, 6, 12, false, 0});
  const std::string line = s.to_json();
  EXPECT_EQ(line.find('\n'), std::string::npos);
  const json parsed = json::parse(line);
  for (const char* field : {"nodes", "heights", "heights_per_sec", "p50_commit_ms", "p99_commit_ms", "agreement", "txs",
                            "txs_per_sec", "clean_shutdown", "kills", "partitions", "ok", "mode"})
    EXPECT_TRUE(parsed.contains(field)) << field;
  EXPECT_EQ(parsed["nodes"], 4);
  EXPECT_EQ(parsed["heights_per_sec"], 2.35);
  EXPECT_EQ(parsed["p50_commit_ms"], 12.3);
  EXPECT_EQ(parsed["kills"][0]["catch_up_s"], 0.35);
  EXPECT_TRUE(parsed["partitions"][0]["resume_s"].is_null());
  EXPECT_EQ(parsed["ok"], false);
}

TEST(Summary, TextNamesTheOutcomes) {
  auto s = passing();
  s.kills.push_back({1, 14, 17, true, 0.4});
  s.partitions.push_back({{3, 4}, 6, 12, false, 0});
  const std::string text = s.to_text();
  EXPECT_NE(text.find("caught up in 0.4 s"), std::string::npos) << text;
  EXPECT_NE(text.find("nodes 3,4"), std::string::npos) << text;
  EXPECT_NE(text.find("did NOT resume"), std::string::npos) << text;
  EXPECT_NE(text.find("result:     FAIL"), std::string::npos) << text;
}

}  // namespace
}  // namespace bft::cluster
