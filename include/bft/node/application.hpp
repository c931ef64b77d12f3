// The interface between the engine and a replicated application, shaped like ABCI 2.0
// (CometBFT v0.38): a team that knows Info, CheckTx, PrepareProposal, ProcessProposal,
// FinalizeBlock, Commit and Query knows this header. Transactions are opaque bytes to
// the engine; what they mean is the application's alone.
//
// What the engine owns and what the application owns: the engine keeps the mempool, the
// blocks with their commit certificates, the write-ahead log and the double-sign guard;
// the application keeps only its state. docs/APPLICATIONS.md spells out the contract.
//
// Determinism: prepare_proposal may do as it likes (only the proposer runs it), but
// process_proposal, finalize_block and the app hash must be functions of the block and
// the state before it, the same on every node, or nodes disagree on the app hash and stop.
//
// Calls and threads:
//   - info, prepare_proposal, finalize_block and commit come from the node's consensus
//     thread, one at a time, in the order the contract states;
//   - process_proposal comes from a thread of its own (bft::node::Node runs it there, so
//     that a slow check never holds up consensus), one call at a time, possibly while
//     finalize_block and commit run: it must read only the last committed state;
//   - check_tx and query come from client threads, possibly several at once and at the
//     same time as the consensus calls: the application synchronizes them with its state
//     (typically check_tx and query read the last committed state under a short lock).
//
// Failures: finalize_block and commit return errors, and the node stops (exit 1). The other
// methods return plain values and must answer; an implementation that cannot (the ABCI
// client, bft/abci/application.hpp, when its application breaks the exchange) must not
// make an answer up, since the engine votes on it: it ends the process with exit 1 at
// once, which the write-ahead log and the block store survive like any crash.
//
// The start-up handshake: the engine calls info(); if the application is behind the block
// store, the engine replays the stored blocks after info().last_height through
// finalize_block and commit, checking each resulting app hash against the one recorded when
// the block was first decided; then consensus starts. An application ahead of the store, or
// whose app hash differs from the recorded one at its height, stops the node before
// anything is changed.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "bft/bytes.hpp"
#include "bft/codec/hash.hpp"
#include "bft/crypto/signer.hpp"
#include "bft/result.hpp"
#include "bft/types.hpp"

namespace bft::node {

/// A transaction: opaque bytes.
using Tx = Bytes;

/// Response code 0 means success; any other code is an application-defined failure.
inline constexpr std::uint32_t code_ok = 0;

struct AppInfo {
  /// The last height whose state the application made durable (0: none yet).
  Height last_height = 0;
  /// The application's hash of that state. At height 0, the hash of the initial state.
  codec::Digest app_hash{};
  std::string version;
};

enum class CheckTxKind : std::uint8_t {
  fresh,    // a client just submitted it
  recheck,  // still pooled after a block: the state it was checked against moved on
};

struct CheckTxResult {
  std::uint32_t code = code_ok;
  std::string log;
  bool ok() const noexcept { return code == code_ok; }
};

/// What every block states about itself; the commit certificate signs over it (it is part
/// of the decided value).
struct BlockHeader {
  Height height = 0;
  /// sha256 of the previous block's encoding; zeros at height 1.
  codec::Digest previous_block_hash{};
  /// The app hash after the previous block (after the initial state at height 1).
  codec::Digest app_hash{};
  /// The address of the validator that proposed the block.
  Address proposer;
  /// Milliseconds since the Unix epoch, from the proposer's clock, strictly above the
  /// previous block's.
  std::uint64_t time_unix_ms = 0;

  friend bool operator==(const BlockHeader&, const BlockHeader&) = default;
};

struct PrepareProposalRequest {
  BlockHeader header;
  /// The most the returned transactions may take together (sum of their sizes).
  std::size_t max_tx_bytes = 0;
  /// The mempool's transactions, oldest first, already within max_tx_bytes.
  std::span<const Tx> txs;
};

struct ProcessProposalRequest {
  BlockHeader header;
  std::span<const Tx> txs;
  /// sha256 of the block's encoding: what the next header's previous_block_hash holds.
  codec::Digest block_hash{};
};

/// One validator's part in the commit certificate of a block.
struct CommitVote {
  Address validator;
  std::uint64_t power = 0;
  bool signed_commit = false;
};

/// The certificate that decided a block, as ABCI's CommitInfo: in which round, and which
/// validators' precommits it holds.
struct CommitInfo {
  Round round = 0;
  std::vector<CommitVote> votes;
};

/// A validator caught signing two different messages for one slot.
struct Misbehavior {
  Address validator;
  Height height = 0;
  Round round = 0;
};

struct FinalizeBlockRequest {
  BlockHeader header;
  std::span<const Tx> txs;
  /// sha256 of the block's encoding, as in ProcessProposalRequest.
  codec::Digest block_hash{};
  /// The certificate by which this node learned of the decision: which validators'
  /// precommits it holds may differ between nodes, so state must not depend on it.
  CommitInfo commit;
  /// Equivocation the block carries, the same on every node. Empty in this version:
  /// evidence does not travel in blocks yet, and what one node saw on its own differs
  /// from what another saw, so handing it over would make finalize_block differ between
  /// nodes.
  std::vector<Misbehavior> misbehavior;
};

struct TxResult {
  std::uint32_t code = code_ok;
  std::string log;
  Bytes data;
  friend bool operator==(const TxResult&, const TxResult&) = default;
};

/// A change to the validator set (ABCI's): a key with a power adds the validator or sets
/// its power; power 0 removes it. The updates of height h are in force from h + 2. The
/// engine refuses a block's updates whole, and alike on every node, when they are invalid
/// or move too much power at once (apply_validator_updates in validators.hpp): the block
/// still commits, and the node logs the refusal.
struct ValidatorUpdate {
  crypto::PublicKey public_key;
  std::uint64_t power = 0;
  friend bool operator==(const ValidatorUpdate&, const ValidatorUpdate&) = default;
};

struct FinalizeBlockResult {
  /// One per transaction, in block order.
  std::vector<TxResult> tx_results;
  /// The state's hash after the block; the next block's header carries it.
  codec::Digest app_hash{};
  /// Changes to the validator set, in force from this block's height + 2.
  std::vector<ValidatorUpdate> validator_updates;
};

struct CommitResult {
  /// Blocks below this height may be deleted (0: keep everything). The engine prunes
  /// its block store up to it; the application must not need them to recover, after a
  /// machine crash included.
  Height retain_height = 0;
};

struct QueryRequest {
  std::string path;
  Bytes data;
  /// The committed height to read at; 0: the latest. An application that keeps only
  /// its latest state refuses other heights with a non-zero code.
  Height height = 0;
};

struct QueryResult {
  std::uint32_t code = code_ok;
  std::string log;
  Bytes value;
  /// The committed height the answer reflects.
  Height height = 0;
};

class Application {
 public:
  virtual ~Application() = default;

  /// The last durable height and its app hash: where the start-up handshake begins.
  virtual AppInfo info() = 0;

  /// Whether a transaction may enter the mempool. A refusal (code != 0) is answered to
  /// the client with the code and the log. Should be cheap: it runs for every
  /// submission and, after every block, for each pooled transaction (recheck).
  virtual CheckTxResult check_tx(std::span<const std::uint8_t> tx, CheckTxKind kind) = 0;

  /// Whether check_tx's verdict may change as the state moves on (a balance spent). An
  /// application whose check_tx looks at the transaction alone returns false, and the
  /// engine skips the re-check of the whole mempool after every block.
  virtual bool check_depends_on_state() const { return true; }

  /// On the proposer only: the transactions of the block to propose, at most
  /// request.max_tx_bytes in total (longer answers are cut to fit). The default proposes
  /// the mempool's transactions as they come.
  virtual std::vector<Tx> prepare_proposal(const PrepareProposalRequest& request) {
    return {request.txs.begin(), request.txs.end()};
  }

  /// Whether a proposed block may be decided; false makes this validator prevote nil.
  /// Must be deterministic: a correct proposer's block is accepted by every correct
  /// validator. The header has been checked by the engine already.
  virtual bool process_proposal(const ProcessProposalRequest& request) = 0;

  /// Executes a decided block against the state and returns its effects. Nothing need be
  /// durable yet: after a crash, the engine replays the block. An error is fatal: the
  /// node stops (exit 1), and a restart replays the block again.
  virtual Result<FinalizeBlockResult> finalize_block(const FinalizeBlockRequest& request) = 0;

  /// Makes the state after the last finalized block durable, so info() reports it after
  /// a restart. Against a machine crash (not a process crash) it may lag: info() may
  /// then report an earlier height, and the engine replays the blocks after it, provided
  /// the retain heights returned never passed one above the last height that was durable
  /// against it. An error is fatal, as for finalize_block.
  virtual Result<CommitResult> commit() = 0;

  /// Reads the committed state; `path` and `data` are the application's to interpret.
  virtual QueryResult query(const QueryRequest& request) = 0;
};

}  // namespace bft::node
