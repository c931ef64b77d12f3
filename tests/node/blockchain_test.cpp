// The engine between the replica and an Application: proposing and judging blocks, the
// commit path (finalize, store, commit, prune), the start-up handshake in every case, and
// divergence found rather than run on.
#include "bft/node/blockchain.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <stdlib.h>

#include <filesystem>
#include <set>

#include "bft/codec/codec.hpp"
#include "temp_dir.hpp"
#include "test_validators.hpp"

namespace bft::node {
namespace {

namespace fs = std::filesystem;

Tx tx(const std::string& text) { return Tx(text.begin(), text.end()); }

/// What a test application made durable: a restart starts from it.
struct DurableState {
  Height height = 0;
  codec::Digest app_hash{};
};

/// Appends every transaction to a running hash. Transactions starting with "bad" are
/// refused by check_tx and process_proposal, those starting with "fail" fail in their
/// block (code 3); finalize_block can be made to fail or to
/// compute a different hash (a non-deterministic application).
class LedgerApp final : public Application {
 public:
  explicit LedgerApp(DurableState& durable) : durable_(durable), height_(durable.height), hash_(durable.app_hash) {}

  AppInfo info() override { return {durable_.height, durable_.app_hash, "test"}; }
  CheckTxResult check_tx(std::span<const std::uint8_t> t, CheckTxKind kind) override {
    const std::string text(t.begin(), t.end());
    if (text.rfind("bad", 0) == 0) return {7, "bad prefix"};
    if (kind == CheckTxKind::recheck) {
      ++rechecks;
      if (refused_on_recheck.count(text)) return {8, "spent"};
    }
    if (while_checking) while_checking(text);
    return {};
  }
  /// Runs inside a fresh check_tx: what another thread may do meanwhile.
  std::function<void(const std::string&)> while_checking;
  /// Transactions whose check fails once re-checked (what a block spent).
  std::set<std::string> refused_on_recheck;
  int rechecks = 0;

  std::vector<Tx> prepare_proposal(const PrepareProposalRequest& request) override {
    std::vector<Tx> txs(request.txs.begin(), request.txs.end());
    for (const Tx& extra : extra_proposed) txs.push_back(extra);
    return txs;
  }
  bool process_proposal(const ProcessProposalRequest& request) override {
    for (const Tx& t : request.txs)
      if (std::string(t.begin(), t.end()).rfind("bad", 0) == 0) return false;
    return true;
  }
  Result<FinalizeBlockResult> finalize_block(const FinalizeBlockRequest& request) override {
    if (fail_finalize) return make_error(Errc::io_error, "disk gone");
    if (request.header.height != height_ + 1) return make_error(Errc::invalid_argument, "wrong height");
    FinalizeBlockResult result;
    Bytes chained(hash_.begin(), hash_.end());
    for (const Tx& t : request.txs) {
      chained.insert(chained.end(), t.begin(), t.end());
      if (std::string(t.begin(), t.end()).rfind("fail", 0) == 0)
        result.tx_results.push_back({3, "failed in its block", {1, 2}});
      else
        result.tx_results.push_back({});
    }
    if (nondeterministic) chained.push_back(0x42);
    result.app_hash = codec::sha256(chained);
    pending_ = {request.header.height, result.app_hash};
    last_commit_info = request.commit;
    return result;
  }
  Result<CommitResult> commit() override {
    if (!pending_) return make_error(Errc::invalid_argument, "nothing finalized");
    height_ = pending_->height;
    hash_ = pending_->app_hash;
    durable_ = *pending_;
    pending_.reset();
    ++commits;
    return CommitResult{retain_height};
  }
  QueryResult query(const QueryRequest&) override { return {}; }

  bool fail_finalize = false;
  bool nondeterministic = false;
  Height retain_height = 0;
  std::vector<Tx> extra_proposed;
  std::size_t commits = 0;
  CommitInfo last_commit_info;

 private:
  DurableState& durable_;
  Height height_;
  codec::Digest hash_;
  std::optional<DurableState> pending_;
};

class BlockchainTest : public ::testing::Test {
 protected:
  BlockchainOptions options() const { return validators_.options(0, clock_ms_); }

  Result<std::unique_ptr<Blockchain>> open(Application& app, BlockchainOptions o) {
    chain_.reset();
    auto store = BlockStore::open((dir_ / "blocks").string());
    if (!store) return store.error();
    return Blockchain::open(std::move(o), std::move(*store), app, logger_);
  }
  void open_ok(Application& app) { open_ok(app, options()); }
  void open_ok(Application& app, BlockchainOptions o) {
    auto chain = open(app, std::move(o));
    ASSERT_TRUE(chain.ok()) << chain.error().message;
    chain_ = std::move(*chain);
  }
  /// A pool of `max_txs` transactions of at most 8 bytes each.
  void open_with_small_pool(Application& app, std::size_t max_txs) {
    BlockchainOptions o = options();
    o.mempool.max_txs = max_txs;
    o.mempool.max_tx_bytes = 8;
    open_ok(app, std::move(o));
  }

  codec::QuorumCertificate certify(Height height, const Value& value) const {
    return validators_.certify(height, value);
  }

  /// This node proposes the next block with `txs` pooled, and the block is decided.
  void decide_next(const std::vector<std::string>& txs = {}) {
    for (const std::string& t : txs) ASSERT_TRUE(chain_->submit(tx(t)).accepted());
    clock_ms_ += 10;
    const Height height = chain_->committed_height() + 1;
    const Value block = chain_->propose(height);
    ASSERT_EQ(chain_->check_proposal(height, 0, block, options().self, nil_round), Validity::valid);
    auto committed = chain_->commit(certify(height, block), 3);
    ASSERT_TRUE(committed.ok()) << committed.error().message;
  }

  /// The header a correct proposer would put on the next block.
  BlockHeader next_header() const {
    auto tip = chain_->committed(chain_->committed_height());
    BlockHeader header;
    header.height = chain_->committed_height() + 1;
    if (*tip) header.previous_block_hash = block_hash((**tip).value->bytes());
    header.app_hash = chain_->app_hash();
    header.proposer = options().self;
    header.time_unix_ms = clock_ms_ + 1;
    return header;
  }

  testing::TestValidators validators_;
  testing::TempDir temp_{"bft-blockchain"};
  fs::path dir_ = temp_.path();
  Logger logger_{LogLevel::error, "test"};
  std::uint64_t clock_ms_ = 1'000'000;
  std::unique_ptr<Blockchain> chain_;
};

TEST_F(BlockchainTest, ProposesJudgesAndCommitsBlocksThroughTheApplication) {
  DurableState durable;
  LedgerApp app(durable);
  open_ok(app);
  decide_next({"a", "b"});
  decide_next({"c"});
  EXPECT_EQ(chain_->committed_height(), 2u);
  EXPECT_EQ(durable.height, 2u);
  EXPECT_EQ(chain_->app_hash(), durable.app_hash);
  EXPECT_EQ(chain_->mempool().size(), 0u);
  EXPECT_EQ(chain_->txs_committed(), 3u);
  // The commit info names every validator and whether its precommit is in the certificate.
  ASSERT_EQ(app.last_commit_info.votes.size(), 4u);
  std::size_t signed_commit = 0;
  for (const CommitVote& vote : app.last_commit_info.votes) signed_commit += vote.signed_commit;
  EXPECT_EQ(signed_commit, 3u);
  // The stored block holds the header the certificate signed and the app hash after it.
  auto stored = chain_->store().get(2);
  ASSERT_TRUE(stored.ok() && *stored);
  EXPECT_EQ((**stored).app_hash, durable.app_hash);
  auto commit = chain_->committed(2);
  ASSERT_TRUE(commit.ok() && *commit);
  auto block = decode_block((**commit).value->bytes());
  ASSERT_TRUE(block.ok());
  EXPECT_EQ(block->header.height, 2u);
  EXPECT_EQ(block->txs, std::vector<Tx>{tx("c")});
  EXPECT_EQ(block->header.proposer, options().self);
}

TEST_F(BlockchainTest, ProposalsThatDoNotContinueTheChainAreRefused) {
  DurableState durable;
  LedgerApp app(durable);
  open_ok(app);
  decide_next({"a"});
  const Address proposer = options().self;
  const std::vector<Tx> none;
  EXPECT_EQ(chain_->check_proposal(2, 0, encode_block(next_header(), none), proposer, nil_round), Validity::valid);

  BlockHeader header = next_header();
  header.previous_block_hash[0] ^= 1;
  EXPECT_EQ(chain_->check_proposal(2, 0, encode_block(header, none), proposer, nil_round), Validity::invalid);
  header = next_header();
  header.app_hash[0] ^= 1;
  EXPECT_EQ(chain_->check_proposal(2, 0, encode_block(header, none), proposer, nil_round), Validity::invalid);
  header = next_header();
  header.time_unix_ms = 1;  // before the previous block's
  EXPECT_EQ(chain_->check_proposal(2, 0, encode_block(header, none), proposer, nil_round), Validity::invalid);
  header = next_header();
  EXPECT_EQ(chain_->check_proposal(2, 0, encode_block(header, none), validators_.address(1), nil_round),
            Validity::invalid);  // signed by one validator, naming another
  header.height = 3;
  EXPECT_EQ(chain_->check_proposal(2, 0, encode_block(header, none), proposer, nil_round), Validity::invalid);
  EXPECT_EQ(chain_->check_proposal(2, 0, Value::from_text("not a block"), proposer, nil_round), Validity::invalid);
  const std::vector<Tx> refused{tx("bad tx")};
  EXPECT_EQ(chain_->check_proposal(2, 0, encode_block(next_header(), refused), proposer, nil_round), Validity::invalid);
  // A height after the next cannot be judged yet.
  EXPECT_EQ(chain_->check_proposal(3, 0, encode_block(next_header(), none), proposer, nil_round), Validity::unknown);
}

// A round's proposer may re-propose the block an earlier round's proposer built (the value
// a quorum prevoted in its valid round): the block names its builder, not the new
// proposer, and must be accepted, or a height whose first proposer died never ends.
TEST_F(BlockchainTest, AReProposedBlockMayNameTheProposerOfItsValidRound) {
  DurableState durable;
  LedgerApp app(durable);
  open_ok(app);
  decide_next({"a"});
  const Value built_by_self = encode_block(next_header(), std::vector<Tx>{});
  const Address other = validators_.address(1);
  EXPECT_EQ(chain_->check_proposal(2, 3, built_by_self, other, 1), Validity::valid);
  // A fresh proposal must name its proposer.
  EXPECT_EQ(chain_->check_proposal(2, 3, built_by_self, other, nil_round), Validity::invalid);
  // A re-proposal must still name a validator.
  BlockHeader stranger = next_header();
  stranger.proposer = Address::from_text("not a validator");
  EXPECT_EQ(chain_->check_proposal(2, 3, encode_block(stranger, std::vector<Tx>{}), other, 1), Validity::invalid);
}

/// Holds what it is asked to judge until the test runs it, as another thread would.
class QueuedJudge final : public ProposalJudge {
 public:
  struct Job {
    Height height;
    Round round;
    Value value;
    std::function<bool()> check;
  };
  void judge(Height height, Round round, Value value, std::function<bool()> check) override {
    jobs.push_back({height, round, std::move(value), std::move(check)});
  }
  std::vector<Job> jobs;
};

TEST_F(BlockchainTest, AJudgeTakesProcessProposalOffTheCallingThread) {
  DurableState durable;
  LedgerApp app(durable);
  QueuedJudge judge;
  BlockchainOptions o = options();
  o.judge = &judge;
  auto chain = open(app, std::move(o));
  ASSERT_TRUE(chain.ok());
  chain_ = std::move(*chain);
  const std::vector<Tx> good{tx("fine")};
  const std::vector<Tx> bad{tx("bad one")};
  const Value accepted = encode_block(next_header(), good);
  EXPECT_EQ(chain_->check_proposal(1, 2, accepted, options().self, nil_round), Validity::unknown);
  EXPECT_EQ(chain_->check_proposal(1, 3, encode_block(next_header(), bad), options().self, nil_round), Validity::unknown);
  // A header that does not continue the chain is refused at once, without a job.
  BlockHeader wrong = next_header();
  wrong.previous_block_hash[0] ^= 1;
  EXPECT_EQ(chain_->check_proposal(1, 4, encode_block(wrong, good), options().self, nil_round), Validity::invalid);
  ASSERT_EQ(judge.jobs.size(), 2u);
  EXPECT_EQ(judge.jobs[0].height, 1u);
  EXPECT_EQ(judge.jobs[0].round, 2);
  EXPECT_EQ(judge.jobs[0].value, accepted);
  EXPECT_TRUE(judge.jobs[0].check());
  EXPECT_FALSE(judge.jobs[1].check());
}

TEST_F(BlockchainTest, SubmissionsAreCheckedHeldOnceAndBounded) {
  DurableState durable;
  LedgerApp app(durable);
  open_with_small_pool(app, 2);
  const SubmitResult accepted = chain_->submit(tx("one"));
  EXPECT_TRUE(accepted.accepted());
  EXPECT_EQ(accepted.id, tx_id(tx("one")));
  EXPECT_EQ(chain_->submit(tx("one")).error->code, Errc::duplicate);
  const SubmitResult refused = chain_->submit(tx("bad one"));
  ASSERT_TRUE(refused.refused);
  EXPECT_EQ(refused.refused->code, 7u);
  EXPECT_EQ(refused.refused->log, "bad prefix");
  EXPECT_EQ(chain_->submit(tx("123456789")).error->code, Errc::too_large);
  EXPECT_TRUE(chain_->submit(tx("two")).accepted());
  EXPECT_EQ(chain_->submit(tx("three")).error->code, Errc::buffer_full);
  EXPECT_EQ(chain_->mempool().size(), 2u);
}

TEST_F(BlockchainTest, AfterABlockThePoolIsRecheckedAndWhatTheStateRefusesNowIsDropped) {
  DurableState durable;
  LedgerApp app(durable);
  open_ok(app);
  ASSERT_TRUE(chain_->submit(tx("keep")).accepted());
  ASSERT_TRUE(chain_->submit(tx("spent")).accepted());
  app.refused_on_recheck = {"spent"};
  // Another proposer's block without them.
  const BlockHeader header = next_header();
  clock_ms_ += 10;
  ASSERT_TRUE(chain_->commit(certify(header.height, encode_block(header, std::vector<Tx>{tx("other")})), 3).ok());
  EXPECT_EQ(app.rechecks, 2);
  EXPECT_TRUE(chain_->mempool().contains(tx_id(tx("keep"))));
  EXPECT_FALSE(chain_->mempool().contains(tx_id(tx("spent"))));
}

TEST_F(BlockchainTest, ACommittedTransactionIsIndexedAndNotPooledAgain) {
  DurableState durable;
  LedgerApp app(durable);
  open_ok(app);
  decide_next({"a", "b"});
  const auto where = chain_->tx_index().find(tx_id(tx("b")));
  ASSERT_TRUE(where);
  EXPECT_EQ(where->height, 1u);
  EXPECT_EQ(where->index, 1u);
  const SubmitResult again = chain_->submit(tx("b"));
  EXPECT_FALSE(again.accepted());
  ASSERT_TRUE(again.committed);
  EXPECT_EQ(again.committed->height, 1u);
  EXPECT_EQ(chain_->mempool().size(), 0u);
}

TEST_F(BlockchainTest, ABatchIsSubmittedInOrderWithEachTransactionsOwnResult) {
  DurableState durable;
  LedgerApp app(durable);
  open_with_small_pool(app, 3);
  decide_next({"done"});
  const std::vector<std::string> texts{"one", "done", "one", "bad one", "123456789", "two", "three", "four"};
  std::vector<Tx> batch;
  for (const std::string& text : texts) batch.push_back(tx(text));
  const std::vector<SubmitResult> results = chain_->submit(std::move(batch));
  ASSERT_EQ(results.size(), texts.size());
  for (std::size_t i = 0; i < texts.size(); ++i) EXPECT_EQ(results[i].id, tx_id(tx(texts[i])));
  EXPECT_TRUE(results[0].accepted());
  ASSERT_TRUE(results[1].committed);
  EXPECT_EQ(results[1].committed->height, 1u);
  EXPECT_EQ(results[2].error->code, Errc::duplicate);  // the batch's own first "one"
  ASSERT_TRUE(results[3].refused);
  EXPECT_EQ(results[3].refused->code, 7u);
  EXPECT_EQ(results[4].error->code, Errc::too_large);
  EXPECT_TRUE(results[5].accepted());
  EXPECT_TRUE(results[6].accepted());
  EXPECT_EQ(results[7].error->code, Errc::buffer_full);
  EXPECT_EQ(chain_->mempool().size(), 3u);
}

// A transaction that another node's block commits while this node's check_tx of it runs
// (a client's retry, or the same transaction by gossip) must not be pooled afterwards, or
// this node proposes it again and it commits twice.
TEST_F(BlockchainTest, ATransactionCommittedWhileItIsCheckedIsNotPooled) {
  DurableState durable;
  LedgerApp app(durable);
  open_ok(app);
  decide_next({"a"});
  app.while_checking = [&](const std::string& text) {
    if (text != "late") return;
    app.while_checking = nullptr;
    clock_ms_ += 10;
    const Value block = encode_block(next_header(), std::vector<Tx>{tx("late")});
    auto committed = chain_->commit(certify(2, block), 3);
    ASSERT_TRUE(committed.ok()) << committed.error().message;
  };
  const SubmitResult result = chain_->submit(tx("late"));
  EXPECT_FALSE(result.accepted());
  ASSERT_TRUE(result.committed);
  EXPECT_EQ(result.committed->height, 2u);
  EXPECT_EQ(chain_->mempool().size(), 0u);
}

TEST_F(BlockchainTest, ARestartedNodeKnowsTheTransactionsCommittedBeforeIt) {
  DurableState durable;
  {
    LedgerApp app(durable);
    open_ok(app);
    decide_next({"a", "fail-b"});
    decide_next({"c"});
  }
  LedgerApp restarted(durable);
  open_ok(restarted);
  // A client's retry of a transaction committed before the restart is not pooled again,
  // and its result is the one its block gave.
  const SubmitResult retry = chain_->submit(tx("fail-b"));
  EXPECT_FALSE(retry.accepted());
  ASSERT_TRUE(retry.committed);
  EXPECT_EQ(*retry.committed, (CommittedTx{1, 1, 3, "failed in its block"}));
  EXPECT_EQ(chain_->mempool().size(), 0u);
  ASSERT_TRUE(chain_->tx_index().find(tx_id(tx("c"))));
  EXPECT_EQ(chain_->tx_index().find(tx_id(tx("c")))->height, 2u);
  EXPECT_EQ(chain_->tx_index().size(), 3u);
}

TEST_F(BlockchainTest, ARestartReloadsTheIndexFromABoundedNumberOfBlocks) {
  DurableState durable;
  {
    LedgerApp app(durable);
    open_ok(app);
    decide_next({"a"});
    decide_next({"b"});
    decide_next({"c"});
  }
  LedgerApp restarted(durable);
  BlockchainOptions o = options();
  o.tx_index_reload_blocks = 2;
  auto chain = open(restarted, std::move(o));
  ASSERT_TRUE(chain.ok()) << chain.error().message;
  chain_ = std::move(*chain);
  EXPECT_FALSE(chain_->tx_index().find(tx_id(tx("a"))));
  EXPECT_TRUE(chain_->tx_index().find(tx_id(tx("b"))));
  EXPECT_TRUE(chain_->tx_index().find(tx_id(tx("c"))));
}

TEST_F(BlockchainTest, NeedsASignatureScheme) {
  DurableState durable;
  LedgerApp app(durable);
  BlockchainOptions o = options();
  EXPECT_EQ(o.signature_scheme, &crypto::ed25519_scheme());
  o.signature_scheme = nullptr;
  const auto chain = open(app, std::move(o));
  ASSERT_FALSE(chain);
  EXPECT_EQ(chain.error().code, Errc::invalid_argument);
}

TEST_F(BlockchainTest, AProposalIsCutToWhatABlockHolds) {
  DurableState durable;
  LedgerApp app(durable);
  BlockchainOptions o = options();
  o.block_limits.max_block_bytes = 400;
  o.max_block_txs = 3;
  auto chain = open(app, std::move(o));
  ASSERT_TRUE(chain.ok());
  chain_ = std::move(*chain);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(chain_->submit(tx("pooled-" + std::to_string(i))).accepted());
  app.extra_proposed.push_back(Tx(300, 'x'));  // the application asks for more than fits
  const Value proposal = chain_->propose(1);
  EXPECT_LE(proposal.size(), 400u);
  auto block = decode_block(proposal.bytes());
  ASSERT_TRUE(block.ok());
  EXPECT_EQ(block->txs.size(), 3u);
  EXPECT_EQ(chain_->check_proposal(1, 0, proposal, options().self, nil_round), Validity::valid);
}

TEST_F(BlockchainTest, HandshakeWithAnApplicationEvenWithTheStoreReplaysNothing) {
  DurableState durable;
  {
    LedgerApp app(durable);
    open_ok(app);
    decide_next({"a"});
    decide_next({"b"});
  }
  LedgerApp restarted(durable);
  open_ok(restarted);
  EXPECT_EQ(chain_->handshake().replayed, 0u);
  EXPECT_EQ(restarted.commits, 0u);
  EXPECT_EQ(chain_->committed_height(), 2u);
  decide_next({"c"});  // and the chain goes on
  EXPECT_EQ(durable.height, 3u);
}

TEST_F(BlockchainTest, HandshakeReplaysTheBlocksAnApplicationBehindLacks) {
  std::vector<DurableState> history(1);
  DurableState durable;
  {
    LedgerApp app(durable);
    open_ok(app);
    for (int h = 1; h <= 5; ++h) {
      decide_next({"tx-" + std::to_string(h)});
      history.push_back(durable);
    }
  }
  for (Height behind : {1u, 3u, 5u}) {
    SCOPED_TRACE(behind);
    DurableState lost = history[5 - behind];  // the application lost its last commits
    LedgerApp restarted(lost);
    open_ok(restarted);
    EXPECT_EQ(chain_->handshake().app_height, 5 - behind);
    EXPECT_EQ(chain_->handshake().replayed, behind);
    EXPECT_EQ(lost.height, 5u);
    EXPECT_EQ(lost.app_hash, history[5].app_hash);
    EXPECT_EQ(chain_->app_hash(), history[5].app_hash);
  }
}

TEST_F(BlockchainTest, HandshakeRefusesAnApplicationAheadOrDifferentAndChangesNothing) {
  DurableState durable;
  {
    LedgerApp app(durable);
    open_ok(app);
    decide_next({"a"});
    decide_next({"b"});
  }
  DurableState ahead{3, durable.app_hash};
  LedgerApp ahead_app(ahead);
  auto refused = open(ahead_app, options());
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, Errc::invalid_argument);
  EXPECT_NE(refused.error().message.find("ahead"), std::string::npos) << refused.error().message;

  DurableState different{2, codec::sha256(tx("another state"))};
  LedgerApp different_app(different);
  auto diverged = open(different_app, options());
  ASSERT_FALSE(diverged.ok());
  EXPECT_EQ(diverged.error().code, Errc::state_diverged);

  // An application behind whose state is not the one the next block continues.
  DurableState wrong_behind{1, codec::sha256(tx("another state"))};
  LedgerApp wrong_behind_app(wrong_behind);
  auto wrong = open(wrong_behind_app, options());
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code, Errc::state_diverged);
  EXPECT_EQ(wrong_behind.height, 1u);  // nothing replayed into it

  // Nothing was changed: the right application still opens at height 2.
  LedgerApp app(durable);
  open_ok(app);
  EXPECT_EQ(chain_->committed_height(), 2u);
  EXPECT_EQ(chain_->handshake().replayed, 0u);
}

TEST_F(BlockchainTest, AReplayThatGivesAnotherAppHashStops) {
  DurableState durable;
  DurableState at_zero;
  {
    LedgerApp app(durable);
    open_ok(app);
    decide_next({"a"});
  }
  LedgerApp nondeterministic(at_zero);
  nondeterministic.nondeterministic = true;
  auto opened = open(nondeterministic, options());
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().code, Errc::state_diverged);
  EXPECT_NE(opened.error().message.find("deterministic"), std::string::npos) << opened.error().message;
}

TEST_F(BlockchainTest, ADecidedBlockStatingAnotherAppHashStopsTheNode) {
  DurableState durable;
  LedgerApp app(durable);
  open_ok(app);
  decide_next({"a"});
  BlockHeader header = next_header();
  header.app_hash[5] ^= 0x10;  // a quorum computed another state after height 1
  const std::vector<Tx> none;
  const Value block = encode_block(header, none);
  auto committed = chain_->commit(certify(2, block), 3);
  ASSERT_FALSE(committed.ok());
  EXPECT_EQ(committed.error().code, Errc::state_diverged);
  EXPECT_NE(committed.error().message.find("diverged at height 1"), std::string::npos) << committed.error().message;
  EXPECT_EQ(chain_->committed_height(), 1u);
  EXPECT_EQ(durable.height, 1u);
}

TEST_F(BlockchainTest, AFailedFinalizeStopsAndARestartResumes) {
  DurableState durable;
  {
    LedgerApp app(durable);
    open_ok(app);
    decide_next({"a"});
    app.fail_finalize = true;
    const Value block = chain_->propose(2);
    auto committed = chain_->commit(certify(2, block), 3);
    ASSERT_FALSE(committed.ok());
    EXPECT_NE(committed.error().message.find("height 2"), std::string::npos) << committed.error().message;
    EXPECT_EQ(chain_->committed_height(), 1u);
  }
  LedgerApp restarted(durable);
  open_ok(restarted);
  EXPECT_EQ(chain_->committed_height(), 1u);
  decide_next({"b"});
  EXPECT_EQ(durable.height, 2u);
}

TEST_F(BlockchainTest, StoredBlocksAreCheckedAgainstTheirCertificatesWhenLoaded) {
  DurableState durable;
  {
    LedgerApp app(durable);
    open_ok(app);
    decide_next({"a"});
  }
  chain_.reset();
  // Rewrite the stored block with another value under the same signatures, as an edit
  // of the file with its checksums recomputed would.
  StoredBlock forged;
  {
    auto store = BlockStore::open((dir_ / "blocks").string());
    ASSERT_TRUE(store.ok());
    auto stored = store->get(1);
    ASSERT_TRUE(stored.ok() && *stored);
    auto commit = *codec::decode_certificate((**stored).certificate);
    auto block = *decode_block(commit.value->bytes());
    block.txs = {tx("forged")};
    commit.value = encode_block(block.header, block.txs);
    forged = **stored;
    forged.certificate = codec::encode(commit);
  }
  fs::remove_all(dir_ / "blocks");
  {
    auto fresh = BlockStore::open((dir_ / "blocks").string());
    ASSERT_TRUE(fresh.ok()) << fresh.error().message;
    ASSERT_TRUE(fresh->append(forged).ok());
  }
  LedgerApp app(durable);
  auto opened = open(app, options());
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().code, Errc::corrupt_log);
  EXPECT_NE(opened.error().message.find("does not verify"), std::string::npos) << opened.error().message;
}

TEST_F(BlockchainTest, BlocksBelowTheRetainHeightArePruned) {
  DurableState durable;
  LedgerApp app(durable);
  open_ok(app);
  for (int h = 1; h <= 6; ++h) decide_next();
  EXPECT_EQ(chain_->base_height(), 1u);
  app.retain_height = 5;
  decide_next();
  EXPECT_EQ(chain_->store().base(), 5u);
  EXPECT_EQ(chain_->base_height(), 5u);
  auto gone = chain_->committed(4);
  ASSERT_TRUE(gone.ok());
  EXPECT_FALSE(*gone);
  // After a restart the chain goes on from the pruned store.
  LedgerApp restarted(durable);
  open_ok(restarted);
  EXPECT_EQ(chain_->store().base(), 5u);
  decide_next();
  EXPECT_EQ(durable.height, 8u);
}

}  // namespace
}  // namespace bft::node
