#include "bft/abci/application.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <optional>

#include "bft/crypto/ed25519.hpp"
#include "fake_server.hpp"

namespace bft::abci {
namespace {

using testing::behave;
using testing::FakeServer;
using testing::framed;
using testing::Reply;

crypto::PublicKey key_of(std::uint8_t seed_byte) {
  crypto::Seed seed{};
  seed.fill(seed_byte);
  return crypto::Ed25519Signer::from_seed(seed).public_key();
}

std::vector<node::ValidatorKey> four_validators() {
  return {{key_of(1), 10}, {key_of(2), 20}, {key_of(3), 20}, {key_of(4), 5}};
}

AbciOptions options_for(const FakeServer& server) {
  AbciOptions options;
  auto address = parse_socket_address(server.address());
  EXPECT_TRUE(address);
  options.address = *address;
  options.connection.call_timeout = std::chrono::milliseconds(2000);
  options.chain_id = "abci-test-chain";
  options.validators = four_validators();
  options.app_state = Bytes{'{', '}'};
  options.node_version = "9.9.9";
  return options;
}

std::unique_ptr<AbciApplication> connect(const FakeServer& server) {
  auto app = AbciApplication::connect(options_for(server));
  EXPECT_TRUE(app) << app.error().message;
  return app ? std::move(*app) : nullptr;
}

/// The last request of one kind the server received.
pb::Request last_of(const FakeServer& server, pb::Request::ValueCase kind) {
  const auto requests = server.requests();
  auto found = std::find_if(requests.rbegin(), requests.rend(),
                            [kind](const pb::Request& request) { return request.value_case() == kind; });
  EXPECT_NE(found, requests.rend());
  return found == requests.rend() ? pb::Request{} : *found;
}

std::string as_string(std::span<const std::uint8_t> bytes) { return {bytes.begin(), bytes.end()}; }

TEST(AbciHashes, AppHashesOf32BytesAreKeptOthersHashed) {
  const std::string exact(32, '\x07');
  codec::Digest expected{};
  expected.fill(7);
  EXPECT_EQ(app_hash_digest(exact), expected);
  const std::string eight = "\x00\x00\x00\x00\x00\x00\x00\x02";
  const codec::Digest hashed = app_hash_digest(std::string_view(eight.data(), 8));
  EXPECT_EQ(hashed, codec::sha256(std::span(reinterpret_cast<const std::uint8_t*>(eight.data()), 8)));
  EXPECT_EQ(app_hash_digest(""), codec::sha256({}));
}

TEST(AbciHashes, OneValidatorsSetHashIsItsLeafHash) {
  // SimpleValidator{pub_key: PublicKey{ed25519: key}, voting_power: 300}, by hand:
  // field 1 (len 34): field 1 (len 32) key; field 2 varint 300.
  const crypto::PublicKey key = key_of(9);
  Bytes leaf{0x00, 0x0a, 0x22, 0x0a, 0x20};
  leaf.insert(leaf.end(), key.begin(), key.end());
  leaf.insert(leaf.end(), {0x10, 0xac, 0x02});
  auto hash = validator_set_hash({{key, 300}});
  ASSERT_TRUE(hash);
  EXPECT_EQ(*hash, codec::sha256(leaf));
}

TEST(AbciHashes, ValidatorSetHashIsCometBftsMerkleRootInPowerOrder) {
  auto validators = four_validators();
  auto hash = validator_set_hash(validators);
  ASSERT_TRUE(hash);
  std::reverse(validators.begin(), validators.end());
  EXPECT_EQ(*validator_set_hash(validators), *hash) << "the order given must not matter";
  validators[0].power += 1;
  EXPECT_NE(*validator_set_hash(validators), *hash);
  // Three validators: the split is 2 + 1, so root = inner(inner(leaf0, leaf1), leaf2).
  const std::vector<node::ValidatorKey> three = {{key_of(1), 3}, {key_of(2), 2}, {key_of(3), 1}};
  const auto leaf = [](const node::ValidatorKey& v) { return *validator_set_hash({v}); };
  const auto inner = [](const codec::Digest& left, const codec::Digest& right) {
    Bytes bytes{0x01};
    bytes.insert(bytes.end(), left.begin(), left.end());
    bytes.insert(bytes.end(), right.begin(), right.end());
    return codec::sha256(bytes);
  };
  EXPECT_EQ(*validator_set_hash(three), inner(inner(leaf(three[0]), leaf(three[1])), leaf(three[2])));
}

TEST(AbciApplication, AFreshApplicationIsGivenInitChain) {
  FakeServer server(behave);
  auto app = connect(server);
  ASSERT_TRUE(app);
  auto info = app->handshake_info();
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->last_height, 0u);
  EXPECT_EQ(info->app_hash, app_hash_digest("initial"));

  const pb::Request asked = last_of(server, pb::Request::kInfo);
  EXPECT_EQ(asked.info().abci_version(), "2.0.0");
  EXPECT_EQ(asked.info().version(), "9.9.9");
  const pb::RequestInitChain init = last_of(server, pb::Request::kInitChain).init_chain();
  EXPECT_EQ(init.chain_id(), "abci-test-chain");
  EXPECT_EQ(init.initial_height(), 1);
  EXPECT_EQ(init.app_state_bytes(), "{}");
  ASSERT_EQ(init.validators_size(), 4);
  EXPECT_EQ(init.validators(1).pub_key().ed25519(), as_string(key_of(2)));
  EXPECT_EQ(init.validators(1).power(), 20);
}

TEST(AbciApplication, AnApplicationWithStateSkipsInitChain) {
  FakeServer server([](const pb::Request& request) {
    if (!request.has_info()) return behave(request);
    pb::Response response;
    response.mutable_info()->set_last_block_height(7);
    response.mutable_info()->set_last_block_app_hash("eight b.");
    return Reply{framed(response)};
  });
  auto app = connect(server);
  ASSERT_TRUE(app);
  auto info = app->handshake_info();
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->last_height, 7u);
  EXPECT_EQ(info->app_hash, app_hash_digest("eight b."));
  for (const pb::Request& request : server.requests()) EXPECT_FALSE(request.has_init_chain());
}

TEST(AbciApplication, AnotherValidatorSetFromInitChainStopsTheStart) {
  FakeServer server([](const pb::Request& request) {
    if (!request.has_init_chain()) return behave(request);
    pb::Response response;
    pb::ValidatorUpdate& update = *response.mutable_init_chain()->add_validators();
    update.mutable_pub_key()->set_ed25519(as_string(key_of(1)));
    update.set_power(10);
    return Reply{framed(response)};
  });
  auto app = connect(server);
  ASSERT_TRUE(app);
  auto info = app->handshake_info();
  ASSERT_FALSE(info);
  EXPECT_NE(info.error().message.find("another validator set"), std::string::npos) << info.error().message;
}

TEST(AbciApplication, InitChainMayReturnTheSameValidatorsInAnyOrder) {
  FakeServer server([](const pb::Request& request) {
    if (!request.has_init_chain()) return behave(request);
    pb::Response response;
    auto validators = request.init_chain().validators();
    std::reverse(validators.begin(), validators.end());
    *response.mutable_init_chain()->mutable_validators() = validators;
    return Reply{framed(response)};
  });
  auto app = connect(server);
  ASSERT_TRUE(app);
  EXPECT_TRUE(app->handshake_info());
}

node::BlockHeader header_at(Height height) {
  node::BlockHeader header;
  header.height = height;
  header.proposer = crypto::address_of(key_of(2));
  header.time_unix_ms = 1'700'000'000'123;
  return header;
}

TEST(AbciApplication, FinalizeBlockCarriesTheBlockAndItsCommit) {
  FakeServer server(behave);
  auto app = connect(server);
  ASSERT_TRUE(app);
  const std::vector<node::Tx> txs = {Bytes{'a', '=', '1'}, Bytes{'b', '=', '2'}};
  node::FinalizeBlockRequest request{header_at(5), txs, {}, {}, {}};
  request.block_hash.fill(0xbb);
  request.commit.round = 2;
  request.commit.votes = {{crypto::address_of(key_of(1)), 10, true}, {crypto::address_of(key_of(4)), 5, false}};
  auto result = app->finalize_block(request);
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(result->tx_results.size(), 2u);
  EXPECT_EQ(result->app_hash, app_hash_digest(std::string(32, 'h')));

  const pb::RequestFinalizeBlock sent = last_of(server, pb::Request::kFinalizeBlock).finalize_block();
  EXPECT_EQ(sent.height(), 5);
  ASSERT_EQ(sent.txs_size(), 2);
  EXPECT_EQ(sent.txs(1), "b=2");
  EXPECT_EQ(sent.hash(), std::string(32, '\xbb'));
  EXPECT_EQ(sent.time().seconds(), 1'700'000'000);
  EXPECT_EQ(sent.time().nanos(), 123'000'000);
  EXPECT_EQ(sent.proposer_address(), as_string(crypto::address_of(key_of(2)).bytes()));
  EXPECT_EQ(sent.proposer_address().size(), 20u);
  EXPECT_EQ(sent.next_validators_hash(), as_string(*validator_set_hash(four_validators())));
  EXPECT_EQ(sent.decided_last_commit().round(), 2);
  ASSERT_EQ(sent.decided_last_commit().votes_size(), 2);
  EXPECT_EQ(sent.decided_last_commit().votes(0).block_id_flag(), tendermint::types::BLOCK_ID_FLAG_COMMIT);
  EXPECT_EQ(sent.decided_last_commit().votes(1).block_id_flag(), tendermint::types::BLOCK_ID_FLAG_ABSENT);
  EXPECT_EQ(sent.decided_last_commit().votes(1).validator().power(), 5);

  auto committed = app->commit();
  ASSERT_TRUE(committed) << committed.error().message;
  EXPECT_EQ(committed->retain_height, 0u);
}

TEST(AbciApplication, FinalizeBlockWithTheWrongNumberOfResultsFails) {
  FakeServer server([](const pb::Request& request) {
    if (!request.has_finalize_block()) return behave(request);
    pb::Response response;
    response.mutable_finalize_block()->set_app_hash("x");
    return Reply{framed(response)};
  });
  auto app = connect(server);
  ASSERT_TRUE(app);
  const std::vector<node::Tx> txs = {Bytes{'a', '=', '1'}};
  auto result = app->finalize_block({header_at(1), txs, {}, {}, {}});
  ASSERT_FALSE(result);
  EXPECT_NE(result.error().message.find("ABCI FinalizeBlock: 0 results for 1 transactions"), std::string::npos)
      << result.error().message;
}

TEST(AbciApplication, ClientMethodsMapCodesAndKinds) {
  FakeServer server([](const pb::Request& request) {
    if (!request.has_check_tx()) return behave(request);
    pb::Response response;
    response.mutable_check_tx()->set_code(request.check_tx().type() == pb::RECHECK ? 7 : 0);
    response.mutable_check_tx()->set_log("checked");
    return Reply{framed(response)};
  });
  auto app = connect(server);
  ASSERT_TRUE(app);
  const Bytes tx{'k', '=', 'v'};
  EXPECT_TRUE(app->check_tx(tx, node::CheckTxKind::fresh).ok());
  const node::CheckTxResult recheck = app->check_tx(tx, node::CheckTxKind::recheck);
  EXPECT_EQ(recheck.code, 7u);
  EXPECT_EQ(recheck.log, "checked");

  const node::QueryResult answer = app->query({"/store", Bytes{'k'}, 3});
  EXPECT_EQ(answer.value, Bytes{'k'});
  const pb::RequestQuery asked = last_of(server, pb::Request::kQuery).query();
  EXPECT_EQ(asked.path(), "/store");
  EXPECT_EQ(asked.height(), 3);
  EXPECT_EQ(*app->echo("ping"), "ping");
}

TEST(AbciApplication, ProposalsGoThroughPrepareAndProcess) {
  FakeServer server(behave);
  auto app = connect(server);
  ASSERT_TRUE(app);
  const std::vector<node::Tx> pooled = {Bytes{'x', '=', '1'}};
  EXPECT_EQ(app->prepare_proposal({header_at(2), 1000, pooled}), pooled);
  EXPECT_EQ(last_of(server, pb::Request::kPrepareProposal).prepare_proposal().max_tx_bytes(), 1000);
  EXPECT_TRUE(app->process_proposal({header_at(2), pooled, {}}));
}

// The methods that cannot return an error end the process (exit 1, naming the method).
// Each death test's child runs the test again in a new process and ends without cleaning
// up, so its server's directory is made under one the parent removes: TMPDIR, inherited.
class AbciApplicationDeathTest : public ::testing::Test {
 protected:
  void SetUp() override {
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    if (std::getenv("BFT_ABCI_DEATH_TEST_CHILD")) return;
    scratch_ = std::make_unique<node::testing::TempDir>("bft-abci-death");
    saved_tmpdir_ = std::getenv("TMPDIR") ? std::optional<std::string>(std::getenv("TMPDIR")) : std::nullopt;
    ::setenv("TMPDIR", scratch_->path().c_str(), 1);
    ::setenv("BFT_ABCI_DEATH_TEST_CHILD", "1", 1);
  }
  void TearDown() override {
    if (!scratch_) return;
    ::unsetenv("BFT_ABCI_DEATH_TEST_CHILD");
    if (saved_tmpdir_)
      ::setenv("TMPDIR", saved_tmpdir_->c_str(), 1);
    else
      ::unsetenv("TMPDIR");
  }

 private:
  std::unique_ptr<node::testing::TempDir> scratch_;
  std::optional<std::string> saved_tmpdir_;
};

Reply refusing(const pb::Request& request, pb::Request::ValueCase kind, const pb::Response& answer) {
  if (request.value_case() != kind) return behave(request);
  return Reply{framed(answer)};
}

TEST_F(AbciApplicationDeathTest, ProcessProposalWithAnExceptionStops) {
  pb::Response exception;
  exception.mutable_exception()->set_error("no");
  FakeServer server([&](const pb::Request& r) { return refusing(r, pb::Request::kProcessProposal, exception); });
  auto app = connect(server);
  ASSERT_TRUE(app);
  EXPECT_EXIT(app->process_proposal({header_at(2), {}, {}}), ::testing::ExitedWithCode(1),
              "ABCI ProcessProposal on the consensus connection: the application answered with an Exception: no");
}

TEST_F(AbciApplicationDeathTest, ProcessProposalWithAnUnknownStatusStops) {
  pb::Response unknown;
  unknown.mutable_process_proposal()->set_status(pb::ResponseProcessProposal::UNKNOWN);
  FakeServer server([&](const pb::Request& r) { return refusing(r, pb::Request::kProcessProposal, unknown); });
  auto app = connect(server);
  ASSERT_TRUE(app);
  EXPECT_EXIT(app->process_proposal({header_at(2), {}, {}}), ::testing::ExitedWithCode(1),
              "ABCI ProcessProposal: a status other than ACCEPT or REJECT");
}

TEST_F(AbciApplicationDeathTest, CheckTxAnsweredWithTheWrongTypeStops) {
  pb::Response query;
  query.mutable_query();
  FakeServer server([&](const pb::Request& r) { return refusing(r, pb::Request::kCheckTx, query); });
  auto app = connect(server);
  ASSERT_TRUE(app);
  EXPECT_EXIT(app->check_tx(Bytes{'a'}, node::CheckTxKind::fresh), ::testing::ExitedWithCode(1),
              "ABCI CheckTx on the mempool connection: the application answered with Query where CheckTx was due");
}

TEST_F(AbciApplicationDeathTest, InfoFromAClosedSocketStops) {
  FakeServer server([](const pb::Request& r) {
    if (r.has_info()) return Reply{"", true};
    return behave(r);
  });
  auto app = connect(server);
  ASSERT_TRUE(app);
  EXPECT_EXIT(app->info(), ::testing::ExitedWithCode(1), "ABCI Info on the query connection: the application closed");
}

}  // namespace
}  // namespace bft::abci
