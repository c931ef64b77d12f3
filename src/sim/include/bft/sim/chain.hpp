// --blocks: a simulated node's ledger is the engine bft-node runs, node::Blockchain (the
// block store on LevelDB, kept in memory by leveldb::NewMemEnv; the mempool; the start-up
// handshake), with a small deterministic application. A crash destroys the engine and
// the application's memory; the block store's files and the state the application made
// durable stay, as on a synced disk. The application makes its state durable at every
// third commit only (as docs/APPLICATIONS.md allows, like the KV demo), so a restart's
// handshake replays up to two stored blocks into it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "bft/codec/messages.hpp"
#include "bft/crypto/signer.hpp"
#include "bft/node/application.hpp"
#include "bft/node/blockchain.hpp"
#include "bft/node/log.hpp"
#include "bft/node/validators.hpp"
#include "bft/result.hpp"

namespace leveldb {
class Env;
}

namespace bft::sim {

/// The transactions clients send in a simulation: "tx:" and a number.
node::Tx simulated_tx(std::uint64_t number);
/// Its number; nullopt for anything else (which the application refuses).
std::optional<std::uint64_t> simulated_tx_number(std::span<const std::uint8_t> tx);

/// --validator-change-every P: the block of every P-th height h moves the validator set
/// towards target(h / P), as an application's updates do.
struct ValidatorPlan {
  Height every = 0;  // 0: the set never changes
  std::function<std::vector<node::ValidatorKey>(std::uint64_t)> target;
  node::ValidatorChangeLimits limits;
};

/// The application: its state is a running SHA-256 over the heights and transactions it
/// applied, which is also its app hash, and the validator set its updates made.
/// Simulated transactions are valid, anything else is refused in check_tx and
/// process_proposal (and fails alone in finalize_block).
class ChainApplication final : public node::Application {
 public:
  /// A committed state; the durable one survives the application object (a crash).
  struct State {
    Height height = 0;
    codec::Digest app_hash{};
    /// The set after this state's updates: the updates of the next change are relative
    /// to it, so a replay after a crash makes the same ones.
    std::vector<node::ValidatorKey> validators;
  };
  static constexpr Height durable_every = 3;
  ChainApplication(State& durable, const ValidatorPlan& plan, const crypto::SignatureScheme& scheme)
      : durable_(durable), committed_(durable), plan_(plan), scheme_(scheme) {}

  node::AppInfo info() override { return {committed_.height, committed_.app_hash, "bft-sim"}; }
  node::CheckTxResult check_tx(std::span<const std::uint8_t> tx, node::CheckTxKind kind) override;
  bool check_depends_on_state() const override { return false; }
  bool process_proposal(const node::ProcessProposalRequest& request) override;
  Result<node::FinalizeBlockResult> finalize_block(const node::FinalizeBlockRequest& request) override;
  Result<node::CommitResult> commit() override;
  node::QueryResult query(const node::QueryRequest& request) override;

 private:
  State& durable_;
  State committed_;
  std::optional<State> finalized_;  // by finalize_block, until commit()
  const ValidatorPlan& plan_;
  const crypto::SignatureScheme& scheme_;
};

/// One node's engine, its application and their memory "disk".
class ChainLedger final : public node::Ledger {
 public:
  struct Options {
    explicit Options(codec::ChainId chain_id) : chain(std::move(chain_id)) {}
    codec::ChainId chain;
    std::vector<node::ValidatorKey> genesis;
    const crypto::SignatureScheme* scheme = nullptr;
    Address self;
    /// The simulated clock, for the block times this node proposes.
    std::function<std::uint64_t()> unix_ms;
    /// Each block this node commits, with its certificate.
    std::function<void(const codec::QuorumCertificate&)> on_commit;
    ValidatorPlan validator_plan;
    /// A committed block changed the validators from this height on.
    std::function<void(Height)> on_validator_change;
  };
  ChainLedger(Options options, const node::Logger& logger);
  ~ChainLedger() override;
  ChainLedger(const ChainLedger&) = delete;
  ChainLedger& operator=(const ChainLedger&) = delete;

  /// Opens the engine on what the disk holds: the start-up handshake runs (Blockchain's
  /// errors). Closed engines only.
  Result<void> open();
  /// A crash: the engine and the application's memory are gone, the disk stays.
  void close();
  bool is_open() const noexcept { return chain_ != nullptr; }
  /// Disk damage (--disk-faults): one bit of one of the block store's files flipped, the
  /// file and the bit drawn from `random`. The engine must be closed. False if the store
  /// has no file to damage.
  bool flip_a_stored_bit(std::uint64_t random);
  /// A client's transaction, to the open engine's mempool.
  node::SubmitResult submit(node::Tx tx);
  /// Blocks the last open() replayed into the application.
  Height replayed() const noexcept { return replayed_; }

  Value propose(Height height) override;
  Validity check_proposal(Height height, Round round, const Value& value, const Address& proposer,
                          Round valid_round) override;
  Result<void> commit(const codec::QuorumCertificate& commit, std::uint32_t commit_ms) override;
  Height committed_height() const override;
  Height base_height() const override;
  Result<std::optional<codec::QuorumCertificate>> committed(Height height) const override;
  const node::ValidatorHistory& validators() const override;

 private:
  Options options_;
  const node::Logger& logger_;
  std::unique_ptr<leveldb::Env> disk_;
  ChainApplication::State durable_;
  std::unique_ptr<ChainApplication> app_;
  std::unique_ptr<node::Blockchain> chain_;
  Height replayed_ = 0;
  Height committed_ = 0;  // the store's tip: known while the engine is closed too
};

}  // namespace bft::sim
