// The client routes, without a socket: what each answers, how /blocks pages, and that
// clients on other threads can be served while the node's thread commits blocks.
#include "bft/node/client_api.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

namespace bft::node {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class ClientApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "bft-client-api-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    auto store = BlockStore::open(dir_.string());
    ASSERT_TRUE(store.ok()) << store.error().message;
    MempoolLimits limits;
    limits.max_commands = 3;
    auto app = KvApplication::open(std::move(*store), limits, 100);
    ASSERT_TRUE(app.ok()) << app.error().message;
    app_ = std::move(*app);
  }
  void TearDown() override {
    app_.reset();
    fs::remove_all(dir_);
  }

  /// Decides and applies the next height with `commands` (no signatures: the application
  /// stores the certificate as it is given).
  void commit(std::vector<Command> commands) {
    codec::QuorumCertificate certificate;
    certificate.height = app_->committed_height() + 1;
    certificate.value = encode_block(commands);
    ASSERT_TRUE(app_->commit(certificate, 5).ok());
  }

  HttpResponse get(const ClientApi& api, std::string path, std::string query = "") const {
    return api.handle(HttpRequest{"GET", std::move(path), std::move(query), ""});
  }

  fs::path dir_;
  std::unique_ptr<KvApplication> app_;
  StatusBoard board_;
};

TEST_F(ClientApiTest, SubmitsCommandsAndRefusesWhatTheMempoolCannotTake) {
  const ClientApi api("n0", *app_, board_);
  HttpResponse answer = api.handle({"POST", "/txs", "", "set a 1\nset b 2\n"});
  EXPECT_EQ(answer.status, 202);
  EXPECT_EQ(json::parse(answer.body)["accepted"], 2);
  EXPECT_EQ(app_->mempool_size(), 2u);
  EXPECT_EQ(api.handle({"POST", "/txs", "", "delete a\n"}).status, 400);
  EXPECT_EQ(api.handle({"POST", "/txs", "", "set c 3\nset d 4\n"}).status, 503);  // three at most
  EXPECT_EQ(app_->mempool_size(), 2u);
  EXPECT_EQ(get(api, "/txs").status, 405);
  EXPECT_EQ(api.handle({"POST", "/status", "", ""}).status, 405);
  EXPECT_EQ(get(api, "/nowhere").status, 404);
}

TEST_F(ClientApiTest, ReadsCommittedKeysWithPercentDecodedNames) {
  commit({{"plain", "one"}, {"a/b?c", "two"}});
  const ClientApi api("n0", *app_, board_);
  EXPECT_EQ(get(api, "/kv/plain").body, "one");
  EXPECT_EQ(get(api, "/kv/a%2Fb%3Fc").body, "two");
  EXPECT_EQ(get(api, "/kv/missing").status, 404);
  EXPECT_EQ(get(api, "/kv/%zz").status, 400);
}

TEST_F(ClientApiTest, StatusShowsWhatTheNodePublished) {
  commit({{"k", "v"}});
  NodeStatus published;
  published.height = 2;
  published.round = 3;
  published.peers = 2;
  published.replica.evidence = 7;
  board_.publish(published);
  const ClientApi api("n0", *app_, board_);
  const json status = json::parse(get(api, "/status").body);
  EXPECT_EQ(status["name"], "n0");
  EXPECT_EQ(status["height"], 1);
  EXPECT_EQ(status["round"], 3);
  EXPECT_EQ(status["peers"], 2);
  EXPECT_EQ(status["evidence"], 7);
  EXPECT_EQ(status["txs_committed"], 1);
  EXPECT_EQ(status["app_hash"].get<std::string>().size(), 64u);
}

TEST_F(ClientApiTest, BlocksComeInBoundedPagesThatSayWhereTheNextStarts) {
  for (int h = 1; h <= 30; ++h) commit({{"k" + std::to_string(h), std::string(1000, 'v')}});
  ClientApiLimits limits;
  limits.max_blocks_per_page = 10;
  const ClientApi api("n0", *app_, board_, nullptr, limits);

  json page = json::parse(get(api, "/blocks", "from=5&to=30").body);
  ASSERT_EQ(page["blocks"].size(), 10u);
  EXPECT_EQ(page["blocks"][0]["height"], 5);
  EXPECT_EQ(page["blocks"][0]["txs"], 1);
  EXPECT_EQ(page["next"], 15);
  EXPECT_EQ(get(api, "/blocks", "from=5&to=30").cost, 1u);  // 10 KB read

  page = json::parse(get(api, "/blocks", "from=25").body);  // to: the tip
  EXPECT_EQ(page["blocks"].size(), 6u);
  EXPECT_FALSE(page.contains("next"));
  page = json::parse(get(api, "/blocks", "from=31&to=99").body);
  EXPECT_TRUE(page["blocks"].empty());
  EXPECT_FALSE(page.contains("next"));

  const auto first = app_->store().get(1);
  ASSERT_TRUE(first.ok() && *first);
  const std::size_t block_bytes = (*first)->value.size() + (*first)->certificate.size();
  limits.max_block_bytes_per_page = block_bytes * 5 / 2;  // room for two blocks, not three
  const ClientApi small("n0", *app_, board_, nullptr, limits);
  page = json::parse(get(small, "/blocks", "from=1&to=30").body);
  EXPECT_EQ(page["blocks"].size(), 2u);
  EXPECT_EQ(page["next"], 3);

  for (int h = 31; h <= 130; ++h) commit({{"k" + std::to_string(h), std::string(4000, 'v')}});
  const auto read_bytes = [&](Height from, Height to) {
    std::size_t bytes = 0;
    for (Height h = from; h <= to; ++h) {
      const auto block = app_->store().get(h);
      bytes += (*block)->value.size() + (*block)->certificate.size();  // the certificate holds the value too
    }
    return bytes;
  };
  const HttpResponse heavy = get(ClientApi("n0", *app_, board_), "/blocks", "from=31&to=130");
  EXPECT_EQ(heavy.cost, 1 + read_bytes(31, 130) / (64 << 10));  // one per 64 KiB read, plus one
  EXPECT_GE(heavy.cost, 10u);
}

TEST_F(ClientApiTest, MetricsAreTheRegistrysExposition) {
  metrics::Registry registry;
  registry.counter("bftcore_test_total", "A test counter.").inc(3);
  const ClientApi api("n0", *app_, board_, &registry);
  const HttpResponse answer = get(api, "/metrics");
  EXPECT_EQ(answer.status, 200);
  EXPECT_EQ(answer.content_type, metrics::exposition_content_type);
  EXPECT_NE(answer.body.find("bftcore_test_total 3\n"), std::string::npos) << answer.body;
  EXPECT_EQ(get(ClientApi("n0", *app_, board_), "/metrics").status, 404);
}

TEST_F(ClientApiTest, ClientsOnOtherThreadsAreServedWhileBlocksCommit) {
  const ClientApi api("n0", *app_, board_);
  std::atomic<bool> done{false};
  std::atomic<int> bad{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 3; ++c) {
    clients.emplace_back([&] {
      Height last_seen = 0;
      while (!done.load()) {
        const json status = json::parse(get(api, "/status").body);
        const Height height = status["height"];
        if (height < last_seen) ++bad;
        last_seen = height;
        const json page = json::parse(get(api, "/blocks", "from=1").body);
        if (!page["blocks"].empty() && page["blocks"][0]["height"] != 1) ++bad;
        const HttpResponse key = get(api, "/kv/k1");
        if (key.status != 404 && key.body != "v") ++bad;
        if (api.handle({"POST", "/txs", "", "set x y\n"}).status == 400) ++bad;
      }
    });
  }
  for (int h = 1; h <= 200; ++h) commit({{"k" + std::to_string(h), "v"}});
  done = true;
  for (std::thread& client : clients) client.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(get(api, "/kv/k200").body, "v");
}

}  // namespace
}  // namespace bft::node
