// The client routes, without a socket: what each answers, how /blocks pages, and that
// clients on other threads can be served while the node's thread commits blocks.
#include "bft/node/client_api.hpp"

#include "bft/crypto/key_file.hpp"
#include "bft/node/kv_application.hpp"
#include "temp_dir.hpp"
#include "test_validators.hpp"

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
    auto app = KvApplication::open((dir_ / "app").string());
    ASSERT_TRUE(app.ok()) << app.error().message;
    app_ = std::move(*app);
    auto store = BlockStore::open((dir_ / "blocks").string());
    ASSERT_TRUE(store.ok()) << store.error().message;
    BlockchainOptions options = validators_.options(0, clock_ms_);
    options.mempool.max_txs = 3;
    options.mempool.max_tx_bytes = 64;
    auto chain = Blockchain::open(std::move(options), std::move(*store), *app_, logger_);
    ASSERT_TRUE(chain.ok()) << chain.error().message;
    chain_ = std::move(*chain);
  }

  /// Decides the next height with `commands` (`set <key> <value>` transactions),
  /// bypassing the mempool's bound.
  void commit(const std::vector<std::string>& commands) {
    const Height height = chain_->committed_height() + 1;
    BlockHeader header;
    header.height = height;
    if (auto tip = chain_->committed(height - 1); tip.ok() && *tip) header.previous_block_hash = block_hash((**tip).value->bytes());
    header.app_hash = chain_->app_hash();
    header.proposer = validators_.address(0);
    header.time_unix_ms = ++clock_ms_;
    std::vector<Tx> txs;
    for (const std::string& command : commands) txs.emplace_back(command.begin(), command.end());
    ASSERT_TRUE(chain_->commit(validators_.certify(height, encode_block(header, txs)), 5).ok());
  }

  HttpResponse get(const ClientApi& api, std::string path, std::string query = "") const {
    return api.handle(HttpRequest{"GET", std::move(path), std::move(query), "", ""});
  }
  HttpResponse post(const ClientApi& api, std::string body, std::string content_type = "",
                    std::string query = "") const {
    return api.handle(HttpRequest{"POST", "/txs", std::move(query), std::move(body), std::move(content_type)});
  }

  /// The answer of a response given later, once it is given (on this thread).
  static std::shared_ptr<std::optional<HttpResponse>> catch_later(const HttpResponse& response) {
    auto caught = std::make_shared<std::optional<HttpResponse>>();
    response.later->attach([caught](HttpLater::Answer answer) { *caught = answer(); });
    return caught;
  }

  static std::string id_hex(const std::string& command) {
    return crypto::to_hex(tx_id(Tx(command.begin(), command.end())));
  }

  testing::TestValidators validators_;
  std::uint64_t clock_ms_ = 1'000'000;
  Logger logger_{LogLevel::error, "test"};
  testing::TempDir temp_{"bft-client-api"};
  fs::path dir_ = temp_.path();
  std::unique_ptr<KvApplication> app_;
  std::unique_ptr<Blockchain> chain_;
  StatusBoard board_;
};

TEST_F(ClientApiTest, TellsATransactionsStatusById) {
  const ClientApi api("n0", *chain_, board_);
  ASSERT_EQ(post(api, "set a 1\n").status, 202);
  json body = json::parse(get(api, "/tx/" + id_hex("set a 1")).body);
  EXPECT_EQ(body["status"], "pending");
  commit({"set z 9", "set a 1"});
  HttpResponse answer = get(api, "/tx/" + id_hex("set a 1"));
  EXPECT_EQ(answer.status, 200);
  body = json::parse(answer.body);
  EXPECT_EQ(body["status"], "committed");
  EXPECT_EQ(body["height"], 1);
  EXPECT_EQ(body["index"], 1);
  EXPECT_EQ(body["code"], 0);
  EXPECT_EQ(json::parse(get(api, "/tx/" + id_hex("set never 0")).body)["status"], "unknown");
  EXPECT_EQ(get(api, "/tx/abc").status, 400);
  EXPECT_EQ(get(api, "/tx/" + std::string(64, 'g')).status, 400);
}

TEST_F(ClientApiTest, ListsTheValidatorsOfTheCurrentHeightAndWhetherThisNodeVotes) {
  const ClientApi api("n0", *chain_, board_);
  json body = json::parse(get(api, "/validators").body);
  EXPECT_EQ(body["validators"].size(), 0u);  // before the node published its first status
  NodeStatus status;
  status.height = 1;
  status.validators = &chain_->validators().at(1);
  status.voting = true;
  board_.publish(status);
  body = json::parse(get(api, "/validators").body);
  EXPECT_EQ(body["height"], 1);
  EXPECT_EQ(body["from_height"], 1);
  ASSERT_EQ(body["validators"].size(), 4u);
  EXPECT_EQ(body["validators"][2]["public_key"], crypto::to_hex(validators_.key(2)));
  EXPECT_EQ(body["validators"][2]["address"], crypto::to_hex(validators_.address(2).bytes()));
  EXPECT_EQ(body["validators"][2]["power"], 1);
  const json node = json::parse(get(api, "/status").body);
  EXPECT_EQ(node["validators"], 4);
  EXPECT_EQ(node["validator_set_height"], 1);
  EXPECT_EQ(node["voting"], true);
}

TEST_F(ClientApiTest, ACommittedTransactionSentAgainIsAnsweredCommittedAndNotPooled) {
  const ClientApi api("n0", *chain_, board_);
  commit({"set a 1"});
  const HttpResponse answer = post(api, "set a 1\n");
  EXPECT_EQ(answer.status, 202);
  const json body = json::parse(answer.body);
  EXPECT_EQ(body["txs"][0]["status"], "committed");
  EXPECT_EQ(body["txs"][0]["height"], 1);
  EXPECT_EQ(chain_->mempool().size(), 0u);
}

TEST_F(ClientApiTest, WaitForCommitAnswersOnceEveryAcceptedTransactionCommitted) {
  const ClientApi api("n0", *chain_, board_);
  const HttpResponse response = post(api, "set a 1\nset b 2\n", "", "wait=commit&timeout_ms=5000");
  ASSERT_TRUE(response.later);
  const auto caught = catch_later(response);
  commit({"set a 1"});
  EXPECT_FALSE(*caught) << "one of two committed";
  commit({"set b 2"});
  ASSERT_TRUE(*caught);
  EXPECT_EQ((*caught)->status, 200);
  const json body = json::parse((*caught)->body);
  EXPECT_EQ(body["pending"], 0);
  EXPECT_EQ(body["txs"][0]["status"], "committed");
  EXPECT_EQ(body["txs"][0]["height"], 1);
  EXPECT_EQ(body["txs"][1]["height"], 2);
  EXPECT_EQ(chain_->tx_index().waiting(), 0u);
}

TEST_F(ClientApiTest, WaitForCommitAtItsTimeoutTellsWhatIsStillPending) {
  const ClientApi api("n0", *chain_, board_);
  const HttpResponse response = post(api, "set a 1\nset b 2\n", "", "wait=commit&timeout_ms=50");
  ASSERT_TRUE(response.later);
  EXPECT_EQ(response.later->timeout(), std::chrono::milliseconds(50));
  const auto caught = catch_later(response);
  commit({"set a 1"});
  response.later->expire();  // what the server does at the timeout
  ASSERT_TRUE(*caught);
  EXPECT_EQ((*caught)->status, 202);
  const json body = json::parse((*caught)->body);
  EXPECT_EQ(body["pending"], 1);
  EXPECT_EQ(body["timed_out"], true);
  EXPECT_EQ(body["txs"][0]["status"], "committed");
  EXPECT_EQ(body["txs"][1]["status"], "pending");
  EXPECT_EQ(chain_->tx_index().waiting(), 0u) << "the timeout releases the wait";
  commit({"set b 2"});  // nothing left to answer
}

TEST_F(ClientApiTest, WaitForCommitIsBoundedAndChecksItsParameters) {
  const ClientApi api("n0", *chain_, board_);
  const auto ignore = [](std::vector<TxOutcome>) {};
  for (std::size_t i = 0; i < chain_->tx_index().max_waiters(); ++i)
    ASSERT_TRUE(chain_->tx_index().wait({tx_id(Tx{static_cast<std::uint8_t>(i), 1})}, ignore).ok());
  EXPECT_EQ(post(api, "set a 1\n", "", "wait=commit").status, 503);
  EXPECT_EQ(post(api, "set a 1\n", "", "wait=soon").status, 400);
  EXPECT_EQ(post(api, "set a 1\n", "", "timeout_ms=0").status, 400);
  EXPECT_EQ(post(api, "set a 1\n", "", "timeout_ms=600000").status, 400);
}

/// The peers as a ClientApi sees them: what it gave them, and the verdict to give back.
struct RecordingBroadcast {
  ClientApi::Broadcast to_peers() {
    return [this](std::vector<Tx> txs, std::function<void(bool)> when_done) {
      given.push_back(std::move(txs));
      done = std::move(when_done);
    };
  }
  std::vector<std::vector<Tx>> given;
  std::function<void(bool)> done;
};

TEST_F(ClientApiTest, AcceptsOnlyOnceEnoughPeersHoldTheTransactions) {
  RecordingBroadcast peers;
  const ClientApi api("n0", *chain_, board_, nullptr, ClientApiLimits{}, peers.to_peers());
  const HttpResponse response = post(api, "set a 1\nset b 2\ndelete nothing\n");
  ASSERT_TRUE(response.later);
  const auto caught = catch_later(response);
  ASSERT_EQ(peers.given.size(), 1u);
  EXPECT_EQ(peers.given[0].size(), 2u) << "the refused one stays here";
  EXPECT_FALSE(*caught);
  peers.done(true);
  ASSERT_TRUE(*caught);
  EXPECT_EQ((*caught)->status, 400) << "the refusal keeps its status";
  const json body = json::parse((*caught)->body);
  EXPECT_EQ(body["accepted"], 2);
  EXPECT_EQ(body["txs"][0]["status"], "accepted");
  EXPECT_EQ(body["txs"][2]["status"], "refused");
}

TEST_F(ClientApiTest, TransactionsNotHeldByEnoughPeersAreNotAcceptedAndMaySafelyBeSentAgain) {
  RecordingBroadcast peers;
  const ClientApi api("n0", *chain_, board_, nullptr, ClientApiLimits{}, peers.to_peers());
  const auto caught = catch_later(post(api, "set a 1\nset b 2\n"));
  peers.done(false);
  ASSERT_TRUE(*caught);
  EXPECT_EQ((*caught)->status, 503);
  json body = json::parse((*caught)->body);
  EXPECT_EQ(body["accepted"], 0);
  EXPECT_EQ(body["txs"][0]["status"], "not_held");
  EXPECT_EQ(body["txs"][0]["id"], id_hex("set a 1"));
  EXPECT_EQ(chain_->mempool().size(), 2u) << "pooled here all the same: they may still commit";

  // The retry of a pooled transaction goes to the peers again, and is accepted once held.
  const auto retry = catch_later(post(api, "set a 1\n"));
  ASSERT_EQ(peers.given.size(), 2u);
  EXPECT_EQ(peers.given[1], std::vector<Tx>{Tx({'s', 'e', 't', ' ', 'a', ' ', '1'})});
  peers.done(true);
  ASSERT_TRUE(*retry);
  EXPECT_EQ((*retry)->status, 202);
  EXPECT_EQ(json::parse((*retry)->body)["txs"][0]["status"], "accepted");
  EXPECT_EQ(chain_->mempool().size(), 2u);
}

TEST_F(ClientApiTest, WithoutAVerdictInTimeTheAnswerIsNotHeld) {
  RecordingBroadcast peers;
  const ClientApi api("n0", *chain_, board_, nullptr, ClientApiLimits{}, peers.to_peers());
  for (const char* wait : {"", "wait=commit"}) {
    const HttpResponse response = post(api, "set a 1\n", "", wait);
    const auto caught = catch_later(response);
    response.later->expire();  // what the server does at the timeout
    ASSERT_TRUE(*caught) << wait;
    EXPECT_EQ((*caught)->status, 503) << wait;
    EXPECT_EQ(json::parse((*caught)->body)["txs"][0]["status"], "not_held") << wait;
    peers.done(true);  // the verdict comes late: nothing more is answered, nothing waits
    EXPECT_EQ(chain_->tx_index().waiting(), 0u) << wait;
  }
}

TEST_F(ClientApiTest, SubmitsTransactionsAndAnswersEachOnesIdOrWhyItWasRefused) {
  const ClientApi api("n0", *chain_, board_);
  HttpResponse answer = post(api, "set a 1\r\n\nset b 2\n");
  EXPECT_EQ(answer.status, 202);
  json body = json::parse(answer.body);
  EXPECT_EQ(body["accepted"], 2);
  ASSERT_EQ(body["txs"].size(), 2u);
  EXPECT_EQ(body["txs"][0]["id"], crypto::to_hex(tx_id(Tx{'s', 'e', 't', ' ', 'a', ' ', '1'})));
  EXPECT_EQ(body["txs"][0]["status"], "accepted");
  EXPECT_EQ(chain_->mempool().size(), 2u);

  // Sent again (a client's retry): accepted, held once.
  EXPECT_EQ(post(api, "set a 1\n").status, 202);
  EXPECT_EQ(chain_->mempool().size(), 2u);

  // The application refuses: 400 with its code and log.
  answer = post(api, "delete a\n");
  EXPECT_EQ(answer.status, 400);
  body = json::parse(answer.body);
  EXPECT_EQ(body["accepted"], 0);
  EXPECT_EQ(body["txs"][0]["status"], "refused");
  EXPECT_NE(body["txs"][0]["code"], 0);
  EXPECT_FALSE(body["txs"][0]["log"].get<std::string>().empty());

  EXPECT_EQ(post(api, "set big " + std::string(100, 'v') + "\n").status, 413);
  // One more fits, then the mempool (three at most) is full: 503, and the answer says
  // which one went in.
  answer = post(api, "set c 3\nset d 4\n");
  EXPECT_EQ(answer.status, 503);
  body = json::parse(answer.body);
  EXPECT_EQ(body["accepted"], 1);
  EXPECT_EQ(body["txs"][1]["error"], "buffer_full");
  EXPECT_EQ(chain_->mempool().size(), 3u);

  EXPECT_EQ(post(api, "\n\n").status, 400);
  // A body is charged by its size: one request per 64 KiB, plus one.
  EXPECT_EQ(post(api, "set c 3\n").cost, 1u);
  EXPECT_EQ(post(api, std::string(1000 * 1000, 'x')).cost, 1u + 1000 * 1000 / (64 << 10));
  EXPECT_EQ(get(api, "/txs").status, 405);
  EXPECT_EQ(api.handle({"POST", "/status", "", "", ""}).status, 405);
  EXPECT_EQ(get(api, "/nowhere").status, 404);
}

TEST_F(ClientApiTest, AnOctetStreamBodyIsOneTransaction) {
  const ClientApi api("n0", *chain_, board_);
  const HttpResponse answer = post(api, "set multi line\nset is one tx", "application/octet-stream");
  // One transaction, which the key-value application refuses: it holds a line break.
  EXPECT_EQ(json::parse(answer.body)["txs"].size(), 1u);
}

TEST_F(ClientApiTest, ReadsCommittedKeysThroughTheApplicationsQuery) {
  commit({"set plain one", "set a/b?c two"});
  const ClientApi api("n0", *chain_, board_);
  EXPECT_EQ(get(api, "/kv/plain").body, "one");
  EXPECT_EQ(get(api, "/kv/a%2Fb%3Fc").body, "two");
  EXPECT_EQ(get(api, "/kv/missing").status, 404);
  EXPECT_EQ(get(api, "/kv/%zz").status, 400);
  const json query = json::parse(get(api, "/abci_query", "path=%2Fkv&data=plain").body);
  EXPECT_EQ(query["code"], 0);
  EXPECT_EQ(query["value_hex"], crypto::to_hex(Bytes{'o', 'n', 'e'}));
  EXPECT_EQ(query["height"], 1);
  EXPECT_NE(json::parse(get(api, "/abci_query", "path=%2Fnowhere&data=x").body)["code"], 0);
  EXPECT_EQ(get(api, "/abci_query", "path=%zz").status, 400);
}

TEST_F(ClientApiTest, StatusShowsWhatTheNodePublished) {
  commit({"set k v"});
  NodeStatus published;
  published.height = 2;
  published.round = 3;
  published.peers = 2;
  published.replica.evidence = 7;
  board_.publish(published);
  const ClientApi api("n0", *chain_, board_);
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
  for (int h = 1; h <= 30; ++h) commit({"set k" + std::to_string(h) + " " + std::string(1000, 'v')});
  ClientApiLimits limits;
  limits.max_blocks_per_page = 10;
  const ClientApi api("n0", *chain_, board_, nullptr, limits);

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

  const auto first = chain_->store().get(1);
  ASSERT_TRUE(first.ok() && *first);
  const std::size_t block_bytes = (*first)->certificate.size();
  limits.max_block_bytes_per_page = block_bytes * 5 / 2;  // room for two blocks, not three
  const ClientApi small("n0", *chain_, board_, nullptr, limits);
  page = json::parse(get(small, "/blocks", "from=1&to=30").body);
  EXPECT_EQ(page["blocks"].size(), 2u);
  EXPECT_EQ(page["next"], 3);

  for (int h = 31; h <= 130; ++h) commit({"set k" + std::to_string(h) + " " + std::string(4000, 'v')});
  const auto read_bytes = [&](Height from, Height to) {
    std::size_t bytes = 0;
    for (Height h = from; h <= to; ++h) {
      const auto block = chain_->store().get(h);
      bytes += (*block)->certificate.size();  // the certificate holds the block
    }
    return bytes;
  };
  const HttpResponse heavy = get(ClientApi("n0", *chain_, board_), "/blocks", "from=31&to=130");
  EXPECT_EQ(heavy.cost, 1 + read_bytes(31, 130) / (64 << 10));  // one per 64 KiB read, plus one
  EXPECT_GE(heavy.cost, 6u);  // 100 blocks of about 4.3 KB
}

TEST_F(ClientApiTest, MetricsAreTheRegistrysExposition) {
  metrics::Registry registry;
  registry.counter("bftcore_test_total", "A test counter.").inc(3);
  const ClientApi api("n0", *chain_, board_, &registry);
  const HttpResponse answer = get(api, "/metrics");
  EXPECT_EQ(answer.status, 200);
  EXPECT_EQ(answer.content_type, metrics::exposition_content_type);
  EXPECT_NE(answer.body.find("bftcore_test_total 3\n"), std::string::npos) << answer.body;
  EXPECT_EQ(get(ClientApi("n0", *chain_, board_), "/metrics").status, 404);
}

TEST_F(ClientApiTest, ClientsOnOtherThreadsAreServedWhileBlocksCommit) {
  const ClientApi api("n0", *chain_, board_);
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
        if (api.handle({"POST", "/txs", "", "set x y\n", ""}).status == 400) ++bad;
        if (get(api, "/abci_query", "path=%2Fkv&data=k1").status != 200) ++bad;
      }
    });
  }
  for (int h = 1; h <= 200; ++h) commit({"set k" + std::to_string(h) + " v"});
  done = true;
  for (std::thread& client : clients) client.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(get(api, "/kv/k200").body, "v");
}

}  // namespace
}  // namespace bft::node
