// Validator updates through the engine: finalize_block's updates of height h make the set
// of h + 2, durably with the block; refused updates change nothing, alike on every node; a
// replay must make the same updates.
#include <gtest/gtest.h>

#include <map>

#include "bft/node/blockchain.hpp"
#include "temp_dir.hpp"
#include "test_validators.hpp"

namespace bft::node {
namespace {

/// What the application made durable: a restart starts from it.
struct Durable {
  Height height = 0;
  codec::Digest app_hash{};
};

/// Returns the updates scheduled for a height; its state is the height alone.
class UpdatingApp final : public Application {
 public:
  explicit UpdatingApp(Durable& durable) : durable_(durable) {}

  AppInfo info() override { return {durable_.height, durable_.app_hash, "updating"}; }
  CheckTxResult check_tx(std::span<const std::uint8_t>, CheckTxKind) override { return {}; }
  bool process_proposal(const ProcessProposalRequest&) override { return true; }
  Result<FinalizeBlockResult> finalize_block(const FinalizeBlockRequest& request) override {
    FinalizeBlockResult result;
    result.tx_results.resize(request.txs.size());
    const Bytes height_bytes{static_cast<std::uint8_t>(request.header.height)};
    result.app_hash = codec::sha256(height_bytes);
    if (const auto it = updates.find(request.header.height); it != updates.end()) result.validator_updates = it->second;
    pending_ = Durable{request.header.height, result.app_hash};
    last_commit = request.commit;
    return result;
  }
  Result<CommitResult> commit() override {
    if (crash_before_commit) return make_error(Errc::io_error, "crashed before its commit");
    durable_ = pending_;
    return CommitResult{};
  }
  QueryResult query(const QueryRequest&) override { return {}; }

  std::map<Height, std::vector<ValidatorUpdate>> updates;
  bool crash_before_commit = false;
  CommitInfo last_commit;

 private:
  Durable& durable_;
  Durable pending_;
};

class BlockchainValidatorsTest : public ::testing::Test {
 protected:
  void open_ok(Application& app) {
    chain_.reset();
    auto store = BlockStore::open((temp_.path() / "blocks").string());
    ASSERT_TRUE(store.ok());
    auto chain = Blockchain::open(validators_.options(0, clock_ms_), std::move(*store), app, logger_);
    ASSERT_TRUE(chain.ok()) << chain.error().message;
    chain_ = std::move(*chain);
  }

  /// This node proposes the next (empty) block; the validators `by` decide it.
  Result<void> decide_next(std::initializer_list<std::size_t> by = {0, 1, 2}) {
    clock_ms_ += 10;
    const Height height = chain_->committed_height() + 1;
    const Value block = chain_->propose(height);
    return chain_->commit(validators_.certify(height, block, by), 1);
  }

  std::size_t size_at(Height height) const { return chain_->validators().at(height).keys.size(); }

  // Six keys; the first four are the validators of height 1.
  testing::TestValidators validators_{6, 4};
  testing::TempDir temp_{"bft-chain-validators"};
  Logger logger_{LogLevel::error, "test"};
  std::uint64_t clock_ms_ = 1'000'000;
  std::unique_ptr<Blockchain> chain_;
};

TEST_F(BlockchainValidatorsTest, UpdatesOfAHeightMakeTheSetTwoHeightsLaterAndSurviveARestart) {
  Durable durable;
  UpdatingApp app(durable);
  app.updates[2] = {{validators_.key(4), 1}};
  open_ok(app);
  ASSERT_TRUE(decide_next().ok());
  ASSERT_TRUE(decide_next().ok());
  EXPECT_EQ(size_at(3), 4u);
  EXPECT_EQ(size_at(4), 5u);
  EXPECT_EQ(chain_->validators().at(4).height, 4u);
  ASSERT_TRUE(decide_next().ok());
  EXPECT_EQ(app.last_commit.votes.size(), 4u);
  ASSERT_TRUE(decide_next({0, 1, 2, 4}).ok());
  // Height 4's commit info lists the set of height 4.
  EXPECT_EQ(app.last_commit.votes.size(), 5u);
  // The change is stored with its block: a restart knows it without any replay.
  open_ok(app);
  EXPECT_EQ(chain_->handshake().replayed, 0u);
  EXPECT_EQ(size_at(3), 4u);
  EXPECT_EQ(size_at(4), 5u);
  ASSERT_TRUE(decide_next({1, 2, 3, 4}).ok());
  EXPECT_EQ(chain_->committed_height(), 5u);
}

TEST_F(BlockchainValidatorsTest, RefusedUpdatesChangeNothingAndTheBlockCommits) {
  Durable durable;
  UpdatingApp app(durable);
  crypto::PublicKey not_a_point{};
  not_a_point.fill(0xff);
  app.updates[1] = {{validators_.key(4), 1}, {validators_.key(4), 2}};  // one key twice
  app.updates[2] = {{validators_.key(5), 0}};                           // removes a stranger
  app.updates[3] = {{validators_.key(4), 100}};                         // moves too much power
  app.updates[4] = {{validators_.key(0), 0}, {validators_.key(1), 0}, {validators_.key(2), 0}, {validators_.key(3), 0}};
  app.updates[5] = {{not_a_point, 1}};
  open_ok(app);
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(decide_next().ok());
  EXPECT_EQ(chain_->committed_height(), 6u);
  for (Height height = 1; height <= 8; ++height) EXPECT_EQ(size_at(height), 4u) << height;
  EXPECT_EQ(chain_->validators().newest().height, 1u);
}

// The application crashed after the block of height 2 was stored, before its commit: the
// start-up replay finalizes it again and must make the change stored with it.
TEST_F(BlockchainValidatorsTest, AReplayMustMakeTheUpdatesStoredWithItsBlock) {
  Durable durable;
  UpdatingApp app(durable);
  app.updates[2] = {{validators_.key(4), 1}};
  open_ok(app);
  ASSERT_TRUE(decide_next().ok());
  app.crash_before_commit = true;
  EXPECT_FALSE(decide_next().ok());
  EXPECT_EQ(durable.height, 1u);
  app.crash_before_commit = false;

  const Durable before_replay = durable;
  open_ok(app);
  EXPECT_EQ(chain_->handshake().replayed, 1u);
  EXPECT_EQ(size_at(4), 5u);

  // The same crash, replayed by an application that now answers other updates.
  durable = before_replay;
  app.updates[2] = {{validators_.key(5), 1}};
  chain_.reset();
  auto store = BlockStore::open((temp_.path() / "blocks").string());
  ASSERT_TRUE(store.ok());
  auto reopened = Blockchain::open(validators_.options(0, clock_ms_), std::move(*store), app, logger_);
  ASSERT_FALSE(reopened.ok());
  EXPECT_EQ(reopened.error().code, Errc::state_diverged);
}

}  // namespace
}  // namespace bft::node
