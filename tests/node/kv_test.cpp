// The key-value application: the transaction text and its one canonical form, and
// KvApplication on LevelDB: durability only at commit, an app hash of the state alone,
// query and check_tx codes, retain heights, and client reads during consensus calls.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "bft/crypto/lthash.hpp"
#include "bft/node/kv.hpp"
#include "bft/node/kv_application.hpp"
#include "temp_dir.hpp"

namespace bft::node {
namespace {

namespace fs = std::filesystem;

Tx tx(std::string_view text) { return Tx(text.begin(), text.end()); }
std::string text_of(const Tx& tx) { return std::string(tx.begin(), tx.end()); }

// --- transactions -------------------------------------------------------------------

TEST(KvTx, EncodeIsCanonicalAndParsesBack) {
  const std::vector<std::pair<Command, std::string>> cases{
      {{"a", "1"}, "set a 1"},
      {{"b", "hello world"}, "set b hello world"},
      {{"c", ""}, "set c"},
      {{"d", "  leading and trailing  "}, "set d   leading and trailing  "},
      {{"~!", " "}, "set ~!  "},
      {{std::string(max_key_size, 'k'), std::string(max_value_size, ' ')},
       "set " + std::string(max_key_size, 'k') + " " + std::string(max_value_size, ' ')},
  };
  for (const auto& [command, text] : cases) {
    EXPECT_EQ(text_of(encode_tx(command)), text);
    auto parsed = parse_tx(tx(text));
    ASSERT_TRUE(parsed.ok()) << text << ": " << parsed.error().message;
    EXPECT_EQ(*parsed, command);
    EXPECT_TRUE(validate(command).ok());
  }
  EXPECT_EQ(encode_tx({std::string(max_key_size, 'k'), std::string(max_value_size, 'v')}).size(), max_tx_size);
}

TEST(KvTx, RefusesEverythingElseWithAClearMessage) {
  const std::vector<std::pair<std::string, std::string>> cases{
      {"", "expected 'set <key> <value>'"},
      {"get a", "expected 'set <key> <value>': 'get a'"},
      {"set", "expected 'set <key> <value>'"},
      {"SET a 1", "expected"},
      {"set\ta 1", "expected"},
      {"set ", "empty key"},
      {"set  a 1", "empty key"},
      {"set k ", "a space after the key but no value"},
      {"set k\x01y 1", "key with a space or non-printable byte: 'set k\\x01y 1'"},
      {"set k v\tv", "value with a non-printable byte"},
      {"set k v\n", "value with a non-printable byte"},
      {"set k v\r", "value with a non-printable byte"},
      {"set k\n", "key with a space or non-printable byte"},
      {"set k \xc3\xa9", "value with a non-printable byte"},
      {"set " + std::string(max_key_size + 1, 'k') + " v", "key of 257 bytes (limit 256)"},
      {"set k " + std::string(max_value_size + 1, 'v'), "value of 4097 bytes (limit 4096)"},
  };
  for (const auto& [text, message] : cases) {
    auto parsed = parse_tx(tx(text));
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_EQ(parsed.error().code, Errc::invalid_argument);
    EXPECT_NE(parsed.error().message.find(message), std::string::npos) << text << " -> " << parsed.error().message;
  }
}

TEST(KvTx, ValidateRefusesWhatDoesNotEncode) {
  EXPECT_FALSE(validate({"", "v"}).ok());
  EXPECT_FALSE(validate({"a b", "v"}).ok());
  EXPECT_FALSE(validate({"k", "v\n"}).ok());
  EXPECT_FALSE(validate({std::string(max_key_size + 1, 'k'), ""}).ok());
  EXPECT_FALSE(validate({"k", std::string(max_value_size + 1, 'v')}).ok());
}

// --- the application ------------------------------------------------------------------

/// The app hash of a state, computed from the documented element encoding.
codec::Digest hash_of_state(const std::vector<std::pair<std::string, std::string>>& pairs) {
  crypto::LtHash16 hash;
  for (const auto& [key, value] : pairs) {
    Bytes element;
    for (const std::string* part : {&key, &value}) {
      for (int i = 0; i < 4; ++i) element.push_back(static_cast<std::uint8_t>(part->size() >> (8 * i)));
      element.insert(element.end(), part->begin(), part->end());
    }
    hash.add(element);
  }
  return hash.digest();
}

class KvApplicationTest : public ::testing::Test {
 protected:
  std::string dir(const std::string& name = "state") const { return (root_ / name).string(); }

  static std::unique_ptr<KvApplication> open_ok(const std::string& directory, KvOptions options = {}) {
    auto app = KvApplication::open(directory, options);
    EXPECT_TRUE(app.ok()) << app.error().message;
    return app.ok() ? std::move(app).value() : nullptr;
  }

  static Result<FinalizeBlockResult> finalize(KvApplication& app, Height height,
                                              const std::vector<std::string>& texts) {
    std::vector<Tx> txs;
    for (const std::string& text : texts) txs.push_back(tx(text));
    FinalizeBlockRequest request;
    request.header.height = height;
    request.txs = txs;
    return app.finalize_block(request);
  }

  /// Finalizes and commits the next block; returns its app hash.
  static codec::Digest apply(KvApplication& app, const std::vector<std::string>& texts) {
    auto result = finalize(app, app.info().last_height + 1, texts);
    EXPECT_TRUE(result.ok()) << result.error().message;
    auto committed = app.commit();
    EXPECT_TRUE(committed.ok()) << committed.error().message;
    return result.ok() ? result->app_hash : codec::Digest{};
  }

  static QueryResult query(KvApplication& app, std::string_view key, std::string path = "/kv") {
    return app.query(QueryRequest{std::move(path), Bytes(key.begin(), key.end())});
  }

 private:
  testing::TempDir temp_{"bft-kv-app"};
  fs::path root_ = temp_.path();
};

TEST_F(KvApplicationTest, AFreshStateIsHeightZeroWithTheEmptyHash) {
  auto app = open_ok(dir("a/b/c"));  // parents are created
  const AppInfo info = app->info();
  EXPECT_EQ(info.last_height, 0u);
  EXPECT_EQ(info.app_hash, crypto::LtHash16().digest());
  EXPECT_EQ(info.version, KvApplication::version);
  EXPECT_EQ(app->get("a"), std::nullopt);
}

TEST_F(KvApplicationTest, CommittedStateHeightAndHashSurviveReopen) {
  codec::Digest hash;
  {
    auto app = open_ok(dir());
    apply(*app, {"set a 1", "set b two words"});
    hash = apply(*app, {"set c"});
    EXPECT_EQ(app->info().app_hash, hash);
  }
  auto app = open_ok(dir());
  EXPECT_EQ(app->info().last_height, 2u);
  EXPECT_EQ(app->info().app_hash, hash);
  EXPECT_EQ(hash, hash_of_state({{"a", "1"}, {"b", "two words"}, {"c", ""}}));
  EXPECT_EQ(app->get("a"), "1");
  EXPECT_EQ(app->get("b"), "two words");
  EXPECT_EQ(app->get("c"), "");
  // The LtHash state was restored too: the next block's hash still covers the old pairs.
  EXPECT_EQ(apply(*app, {"set a 3"}), hash_of_state({{"a", "3"}, {"b", "two words"}, {"c", ""}}));
}

TEST_F(KvApplicationTest, SameStateByDifferentBlocksHasTheSameAppHash) {
  auto one = open_ok(dir("one"));
  auto two = open_ok(dir("two"));
  apply(*one, {"set a 1", "set b 2"});
  apply(*two, {"set b 2", "set a 0"});
  EXPECT_NE(two->info().app_hash, one->info().app_hash);
  apply(*two, {"set a 1"});
  EXPECT_EQ(two->info().app_hash, one->info().app_hash);
  EXPECT_NE(one->info().last_height, two->info().last_height);
  EXPECT_EQ(one->info().app_hash, hash_of_state({{"a", "1"}, {"b", "2"}}));
}

TEST_F(KvApplicationTest, OverwritesReplaceTheValueAndALaterTxSeesAnEarlierOne) {
  auto app = open_ok(dir());
  apply(*app, {"set k 1"});
  apply(*app, {"set k 2"});
  EXPECT_EQ(app->get("k"), "2");
  const codec::Digest hash = apply(*app, {"set k 3", "set j x", "set k 4", "set j"});
  EXPECT_EQ(app->get("k"), "4");
  EXPECT_EQ(app->get("j"), "");
  EXPECT_EQ(hash, hash_of_state({{"k", "4"}, {"j", ""}}));
}

TEST_F(KvApplicationTest, AMalformedTxInABlockGetsACodeAndChangesNothing) {
  auto app = open_ok(dir());
  auto clean = open_ok(dir("clean"));
  auto result = finalize(*app, 1, {"set a 1", "bogus", "set k ", "set b 2"});
  ASSERT_TRUE(result.ok()) << result.error().message;
  ASSERT_EQ(result->tx_results.size(), 4u);
  EXPECT_EQ(result->tx_results[0], TxResult{});
  EXPECT_EQ(result->tx_results[1].code, KvApplication::code_malformed_tx);
  EXPECT_NE(result->tx_results[1].log.find("expected 'set <key> <value>'"), std::string::npos);
  EXPECT_EQ(result->tx_results[2].code, KvApplication::code_malformed_tx);
  EXPECT_EQ(result->tx_results[3], TxResult{});
  ASSERT_TRUE(app->commit().ok());
  EXPECT_EQ(app->info().app_hash, apply(*clean, {"set a 1", "set b 2"}));
  EXPECT_EQ(app->get("k"), std::nullopt);

  const codec::Digest before = app->info().app_hash;
  EXPECT_EQ(apply(*app, {"nonsense"}), before);
  EXPECT_EQ(apply(*app, {}), before);
  EXPECT_EQ(app->info().last_height, 3u);
}

TEST_F(KvApplicationTest, NothingIsDurableBeforeCommit) {
  // A crash between finalize_block and commit: the block is simply not committed, and
  // replaying it gives the same result.
  codec::Digest finalized_hash;
  {
    auto app = open_ok(dir());
    apply(*app, {"set a 1"});
    auto result = finalize(*app, 2, {"set a 2", "set b 2"});
    ASSERT_TRUE(result.ok()) << result.error().message;
    finalized_hash = result->app_hash;
    // Nor is the pending block visible to readers.
    EXPECT_EQ(app->get("a"), "1");
    EXPECT_EQ(query(*app, "b").code, KvApplication::code_not_found);
    EXPECT_EQ(app->info().last_height, 1u);
  }
  auto app = open_ok(dir());
  EXPECT_EQ(app->info().last_height, 1u);
  EXPECT_EQ(app->info().app_hash, hash_of_state({{"a", "1"}}));
  EXPECT_EQ(app->get("a"), "1");
  EXPECT_EQ(app->get("b"), std::nullopt);
  auto replayed = finalize(*app, 2, {"set a 2", "set b 2"});
  ASSERT_TRUE(replayed.ok()) << replayed.error().message;
  EXPECT_EQ(replayed->app_hash, finalized_hash);
}

TEST_F(KvApplicationTest, HeightsAndCallOrderAreChecked) {
  auto app = open_ok(dir());
  for (Height wrong : {Height{0}, Height{2}}) {
    auto result = finalize(*app, wrong, {"set a 1"});
    ASSERT_FALSE(result.ok()) << wrong;
    EXPECT_EQ(result.error().code, Errc::invalid_argument);
  }
  auto early = app->commit();
  ASSERT_FALSE(early.ok());
  EXPECT_EQ(early.error().code, Errc::invalid_argument);

  apply(*app, {"set a 1"});
  auto again = app->commit();
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, Errc::invalid_argument);
  auto stale = finalize(*app, 1, {"set a 2"});
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.error().code, Errc::invalid_argument);
  EXPECT_EQ(app->get("a"), "1");
}

TEST_F(KvApplicationTest, ASecondFinalizeBeforeCommitStartsFromTheCommittedState) {
  auto app = open_ok(dir());
  ASSERT_TRUE(finalize(*app, 1, {"set a 1"}).ok());
  ASSERT_TRUE(finalize(*app, 1, {"set b 2"}).ok());
  ASSERT_TRUE(app->commit().ok());
  EXPECT_EQ(app->get("a"), std::nullopt);
  EXPECT_EQ(app->get("b"), "2");
  EXPECT_EQ(app->info().app_hash, hash_of_state({{"b", "2"}}));
}

TEST_F(KvApplicationTest, RetainHeightFollowsKeepBlocks) {
  auto all = open_ok(dir("all"));
  // Every block synced: the retain height follows keep_blocks alone.
  auto last3 = open_ok(dir("last3"), KvOptions{.keep_blocks = 3, .sync_every_blocks = 1});
  const std::vector<Height> expected{0, 0, 1, 2, 3};  // height + 1 - 3 when positive
  for (Height h = 1; h <= 5; ++h) {
    for (KvApplication* app : {all.get(), last3.get()})
      ASSERT_TRUE(finalize(*app, h, {"set h " + std::to_string(h)}).ok());
    auto kept = all->commit();
    ASSERT_TRUE(kept.ok());
    EXPECT_EQ(kept->retain_height, 0u) << h;
    auto pruned = last3->commit();
    ASSERT_TRUE(pruned.ok());
    EXPECT_EQ(pruned->retain_height, expected[h - 1]) << h;
  }
}

TEST_F(KvApplicationTest, RetainHeightNeverPassesTheLastSyncedHeight) {
  // Synced at heights 10 and 20: after a machine crash the state may be back at either,
  // and the blocks after it must still be there to replay.
  auto app = open_ok(dir(), KvOptions{.keep_blocks = 3, .sync_every_blocks = 10});
  for (Height h = 1; h <= 25; ++h) {
    ASSERT_TRUE(finalize(*app, h, {"set h " + std::to_string(h)}).ok());
    auto committed = app->commit();
    ASSERT_TRUE(committed.ok());
    const Height last_synced = h / 10 * 10;
    const Height by_keep = h + 1 > 3 ? h + 1 - 3 : 0;
    EXPECT_EQ(committed->retain_height, std::min(by_keep, last_synced + 1)) << h;
  }
  // A reopened state is synced as found: pruning follows keep_blocks again at once.
  app.reset();
  auto reopened = open_ok(dir(), KvOptions{.keep_blocks = 3, .sync_every_blocks = 10});
  EXPECT_EQ(reopened->info().last_height, 25u);
  ASSERT_TRUE(finalize(*reopened, 26, {"set h 26"}).ok());
  auto committed = reopened->commit();
  ASSERT_TRUE(committed.ok());
  EXPECT_EQ(committed->retain_height, 24u);
}

TEST_F(KvApplicationTest, QueryPathsAndCodes) {
  auto app = open_ok(dir());
  EXPECT_EQ(query(*app, "a").height, 0u);
  apply(*app, {"set a 1", "set e"});
  apply(*app, {"set b two words"});

  const QueryResult found = query(*app, "b");
  EXPECT_EQ(found.code, code_ok);
  EXPECT_EQ(std::string(found.value.begin(), found.value.end()), "two words");
  EXPECT_EQ(found.height, 2u);

  const QueryResult empty = query(*app, "e");
  EXPECT_EQ(empty.code, code_ok);
  EXPECT_TRUE(empty.value.empty());

  const QueryResult missing = query(*app, "zz");
  EXPECT_EQ(missing.code, KvApplication::code_not_found);
  EXPECT_EQ(missing.log, "not found");
  EXPECT_EQ(missing.height, 2u);

  const QueryResult unknown = query(*app, "a", "/store");
  EXPECT_EQ(unknown.code, KvApplication::code_unknown_path);
  EXPECT_NE(unknown.log.find("/store"), std::string::npos);
  EXPECT_EQ(unknown.height, 2u);

  // Keys the parser would refuse simply do not exist; the bookkeeping is out of reach.
  EXPECT_EQ(query(*app, "").code, KvApplication::code_not_found);
  EXPECT_EQ(query(*app, "height").code, KvApplication::code_not_found);

  // Only the latest height is kept: asking for it by number works, any other is refused.
  EXPECT_EQ(app->query(QueryRequest{"/kv", Bytes{'b'}, 2}).code, code_ok);
  const QueryResult older = app->query(QueryRequest{"/kv", Bytes{'b'}, 1});
  EXPECT_EQ(older.code, KvApplication::code_unknown_height);
  EXPECT_EQ(older.log, "only the latest height, 2, is kept");
}

TEST_F(KvApplicationTest, CheckTxAndProcessProposal) {
  auto app = open_ok(dir());
  for (CheckTxKind kind : {CheckTxKind::fresh, CheckTxKind::recheck}) {
    EXPECT_TRUE(app->check_tx(tx("set a 1"), kind).ok());
    const CheckTxResult refused = app->check_tx(tx(std::string_view("set a\0b 1", 9)), kind);
    EXPECT_EQ(refused.code, KvApplication::code_malformed_tx);
    EXPECT_NE(refused.log.find("key with a space or non-printable byte"), std::string::npos) << refused.log;
  }
  const std::vector<Tx> good{tx("set a 1"), tx("set b")};
  const std::vector<Tx> mixed{tx("set a 1"), tx("del a")};
  EXPECT_TRUE(app->process_proposal(ProcessProposalRequest{{}, good}));
  EXPECT_TRUE(app->process_proposal(ProcessProposalRequest{{}, {}}));
  EXPECT_FALSE(app->process_proposal(ProcessProposalRequest{{}, mixed}));
}

TEST_F(KvApplicationTest, ADirectoryIsOpenedOnceAtATime) {
  auto first = open_ok(dir());
  auto second = KvApplication::open(dir());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, Errc::io_error);
  EXPECT_NE(second.error().message.find("cannot open the state in " + dir()), std::string::npos)
      << second.error().message;
  EXPECT_NE(second.error().message.find("has it open"), std::string::npos) << second.error().message;
  first.reset();
  EXPECT_TRUE(KvApplication::open(dir()).ok());
}

TEST_F(KvApplicationTest, ClientReadsSeeWholeCommittedBlocksWhileConsensusRuns) {
  // Block h sets counter = h and writes key h; a reader must see, at whatever height a
  // query reports, exactly that height's state.
  auto app = open_ok(dir());
  constexpr Height blocks = 200;
  std::atomic<bool> done{false};
  std::atomic<int> reads{0};
  std::thread reader([&] {
    while (!done.load()) {
      const QueryResult counter = query(*app, "counter");
      if (counter.height == 0) {
        EXPECT_EQ(counter.code, KvApplication::code_not_found);
      } else {
        EXPECT_EQ(counter.code, code_ok);
        EXPECT_EQ(std::string(counter.value.begin(), counter.value.end()), std::to_string(counter.height));
      }
      const QueryResult next = query(*app, "key" + std::to_string(counter.height + 1));
      EXPECT_TRUE(next.height > counter.height || next.code == KvApplication::code_not_found);
      EXPECT_TRUE(app->check_tx(tx("set x y"), CheckTxKind::recheck).ok());
      reads.fetch_add(1);
    }
  });
  for (Height h = 1; h <= blocks; ++h) {
    ASSERT_TRUE(finalize(*app, h, {"set counter " + std::to_string(h), "set key" + std::to_string(h) + " v"}).ok());
    ASSERT_TRUE(app->commit().ok());
    EXPECT_EQ(app->info().last_height, h);
  }
  while (reads.load() < 10) std::this_thread::yield();
  done = true;
  reader.join();
  EXPECT_EQ(app->get("counter"), std::to_string(blocks));
}

}  // namespace
}  // namespace bft::node
