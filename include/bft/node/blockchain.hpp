// The engine between the replica and an Application: it owns the consensus data (the
// mempool and the block store) and drives the application through the ABCI-shaped calls
// of bft/node/application.hpp.
//
//   propose        header (height, previous block hash, app hash, proposer, time)
//                  + prepare_proposal over the mempool's oldest transactions
//   check_proposal the header must continue this node's chain, then process_proposal
//   commit         finalize_block, the block stored with its certificate and the app hash
//                  it produced (durable), commit, pruning to the retain height, the
//                  committed transactions out of the mempool and into the TxIndex (which
//                  completes clients' waits), the rest re-checked (check_tx, recheck);
//                  finalize_block's validator updates change the set from height + 2,
//                  stored with the block (refused updates are logged and ignored, alike on
//                  every node: see apply_validator_updates)
//
// A decided block whose header states another app hash than this node computed means
// this node's state diverged from a quorum's: commit fails with state_diverged and the
// node stops rather than run on with a different state. A proposal stating another app
// hash is only refused (prevote nil): one faulty proposer must not stop correct nodes.
//
// open() runs the start-up handshake (see application.hpp): info(), the checks, and the
// replay of stored blocks the application has not made durable. Stored blocks are checked
// against their certificates (signatures by a quorum of the validators) when they are
// loaded for that, and the tip when the chain is opened.
//
// Threads: the Ledger calls come from the node's thread; submit(), the mempool and store
// reads and the published figures from any thread.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "bft/codec/messages.hpp"
#include "bft/codec/sign_bytes.hpp"
#include "bft/metrics/registry.hpp"
#include "bft/node/application.hpp"
#include "bft/node/block.hpp"
#include "bft/node/block_store.hpp"
#include "bft/node/log.hpp"
#include "bft/node/mempool.hpp"
#include "bft/node/replica.hpp"
#include "bft/node/tx_index.hpp"
#include "bft/node/validators.hpp"

namespace bft::node {

/// Takes the application's process_proposal off the node's thread, so that a slow check
/// does not hold up consensus: the core waits for the verdict (or the round times out).
class ProposalJudge {
 public:
  virtual ~ProposalJudge() = default;
  /// Runs `check` on another thread; its result is the verdict on the proposal of `value`
  /// at (height, round), which goes to the replica (Replica::on_verdict) on the node's
  /// thread.
  virtual void judge(Height height, Round round, Value value, std::function<bool()> check) = 0;
};

struct BlockchainOptions {
  explicit BlockchainOptions(codec::ChainId chain_id) : chain(std::move(chain_id)) {}

  codec::ChainId chain;
  /// The validators of height 1 (the genesis set); validator updates change it later.
  std::vector<ValidatorKey> validators;
  /// Their keys' scheme (ed25519 unless a simulation says otherwise). Must outlive the chain.
  const crypto::SignatureScheme* signature_scheme = &crypto::ed25519_scheme();
  ValidatorChangeLimits validator_change_limits;
  /// This node's address: the proposer its own blocks name.
  Address self;
  BlockLimits block_limits;
  /// Transactions per proposed block.
  std::size_t max_block_txs = 10'000;
  MempoolLimits mempool;
  /// Committed transactions remembered by id (GET /tx/<id>; not pooled again), and
  /// clients that may wait for commits at once (TxIndex).
  std::size_t tx_index_capacity = 262'144;
  /// On open the index is refilled from the last blocks the application applied, at most
  /// this many (and tx_index_capacity transactions): a restarted node knows what committed
  /// just before it stopped, so a client's retry of it is not pooled again.
  std::size_t tx_index_reload_blocks = 1024;
  std::size_t max_commit_waiters = 1024;
  /// The proposer's clock for block times (milliseconds since the Unix epoch); the system
  /// clock when empty.
  std::function<std::uint64_t()> unix_ms;
  /// Where the chain registers what it measures; none if null. Must outlive it.
  metrics::Registry* metrics = nullptr;
  /// Where process_proposal runs: on the calling thread when null. Must outlive the chain.
  ProposalJudge* judge = nullptr;
};

/// What the start-up handshake found and did.
struct HandshakeReport {
  Height app_height = 0;  // info().last_height
  Height store_base = 0;
  Height store_tip = 0;
  Height replayed = 0;  // blocks finalized and committed again
};

struct SubmitResult {
  TxId id{};
  /// Committed already (a retry, or a peer's late gossip): not pooled again.
  std::optional<CommittedTx> committed;
  /// The application refused the transaction: check_tx's code and log.
  std::optional<CheckTxResult> refused;
  /// The mempool refused it: invalid_argument, too_large, duplicate, buffer_full.
  std::optional<Error> error;
  bool accepted() const noexcept { return !committed && !refused && !error; }
};

class Blockchain final : public Ledger {
 public:
  /// Opens the chain on `store` and runs the start-up handshake with `app`. Errors:
  /// invalid_argument (options; an application ahead of the store, or behind its pruned
  /// base: the data directory is inconsistent), state_diverged (the application's app
  /// hash differs from the one recorded at its height, or a replayed block produced
  /// another), corrupt_log (a stored block that does not match its certificate), the
  /// store's and the application's errors. Before a replay starts, nothing is changed.
  static Result<std::unique_ptr<Blockchain>> open(BlockchainOptions options, BlockStore store, Application& app,
                                                  const Logger& logger);
  ~Blockchain() override;
  Blockchain(const Blockchain&) = delete;
  Blockchain& operator=(const Blockchain&) = delete;

  // Ledger (the node's thread).
  Value propose(Height height) override;
  /// The header is checked at once; process_proposal then runs here, or through the
  /// judge (the answer is then `unknown`, the verdict comes later).
  Validity check_proposal(Height height, Round round, const Value& value, const Address& proposer,
                          Round valid_round) override;
  Result<void> commit(const codec::QuorumCertificate& commit, std::uint32_t commit_ms) override;
  Height committed_height() const override { return store_.tip(); }
  Height base_height() const override { return std::max<Height>(store_.base(), 1); }
  Result<std::optional<codec::QuorumCertificate>> committed(Height height) const override;
  const ValidatorHistory& validators() const override { return history_; }

  /// Any thread: unless committed recently (TxIndex) or pooled already, check_tx, then
  /// into the mempool.
  SubmitResult submit(Tx tx);
  /// submit() of each transaction in turn, their results in the same order. The lookups
  /// of a batch in the transaction index overlap their cache misses.
  std::vector<SubmitResult> submit(std::vector<Tx> txs);

  const HandshakeReport& handshake() const noexcept { return handshake_; }
  const BlockStore& store() const noexcept { return store_; }
  const Mempool& mempool() const noexcept { return mempool_; }
  TxIndex& tx_index() noexcept { return tx_index_; }
  Application& application() noexcept { return app_; }
  /// Any thread: the app hash after the last committed block.
  codec::Digest app_hash() const;
  /// Any thread: transactions in committed blocks since the node started.
  std::uint64_t txs_committed() const noexcept { return txs_committed_.load(std::memory_order_relaxed); }

 private:
  struct Metrics;
  Blockchain(BlockchainOptions options, BlockStore store, Application& app, const Logger& logger,
             ValidatorHistory history);

  /// The tip's block, checked against its certificate, becomes the chain's last block.
  Result<void> load_tip();
  Result<void> run_handshake();
  Result<void> reload_tx_index(Height up_to);
  struct VerifiedBlock {
    codec::QuorumCertificate commit;
    Block block;
  };
  /// A stored block, its certificate decoded and verified and its value decoded.
  Result<VerifiedBlock> verified_block(const StoredBlock& stored) const;
  /// finalize_block, store (unless replaying a stored block), commit, prune.
  Result<void> execute(const codec::QuorumCertificate& commit, Block block, std::optional<codec::Digest> recorded_app_hash,
                       std::uint32_t commit_ms);
  /// Why `header` cannot follow the last block, or nullopt.
  std::optional<std::string> header_problem(const BlockHeader& header) const;
  CommitInfo commit_info(const codec::QuorumCertificate& commit) const;
  /// The set `updates` (finalize_block's at `height`) make from height + 2; nullopt, logged
  /// and counted, when they are refused.
  std::optional<ValidatorSetChange> validator_change(Height height, std::span<const ValidatorUpdate> updates) const;
  /// process_proposal, counted and logged when it refuses. Any thread.
  bool application_accepts(const Block& block, const codec::Digest& hash) const;
  void set_last(const BlockHeader& header, const Value& value, const codec::Digest& app_hash);
  SubmitResult submit(Tx tx, const TxId& id);

  BlockchainOptions options_;
  BlockStore store_;
  Mempool mempool_;
  TxIndex tx_index_;
  // Taken by submit() to pool a transaction it checked and by a commit to drop a block's
  // transactions from the pool and index them: no transaction is pooled after its commit.
  std::mutex admission_mutex_;
  Application& app_;
  const Logger& log_;
  ValidatorHistory history_;
  std::unique_ptr<Metrics> metrics_;
  HandshakeReport handshake_;

  // Hashes of the blocks of the rounds in flight: a block is judged, executed and made the
  // last one, and hashed once for all three (node thread only).
  codec::ValueDigests block_hashes_;
  // The last committed block, as the next header must continue it.
  codec::Digest last_block_hash_{};
  std::uint64_t last_time_unix_ms_ = 0;
  codec::Digest last_app_hash_{};  // after the last block
  mutable std::mutex app_hash_mutex_;
  codec::Digest published_app_hash_{};
  std::optional<codec::QuorumCertificate> last_commit_;  // the one peers ask for most
  std::atomic<std::uint64_t> txs_committed_{0};
};

}  // namespace bft::node
