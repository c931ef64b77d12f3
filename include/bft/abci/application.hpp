// bft::node::Application as a client of an external ABCI 2.0 application (CometBFT v0.38's
// socket protocol): an application written for CometBFT, in any language, runs behind
// bft-node unchanged. docs/ABCI.md states every mapping between our notions and ABCI's.
//
// Connections, as CometBFT opens them, each with its own socket and mutex: consensus
// (InitChain, PrepareProposal, ProcessProposal, FinalizeBlock, Commit), mempool (CheckTx)
// and query (Info, Query, Echo). No snapshot connection: bftcore has no state sync.
//
// A broken exchange (the application closed the socket, sent a malformed frame, an answer
// of the wrong type or an Exception, or did not answer in time) is fatal. finalize_block
// and commit return it as their error, and the node stops with exit 1. The other methods
// have no way to report one, and any answer they made up could be voted or signed on: they
// print the error, naming the method, and end the process at once with exit 1, before the
// caller acts on anything (the write-ahead log and the block store are made for a crash
// at any point; a restart replays through the handshake).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "bft/abci/connection.hpp"
#include "bft/node/application.hpp"
#include "bft/node/validators.hpp"

namespace bft::abci {

struct AbciOptions {
  SocketAddress address;
  ConnectionOptions connection;
  /// For InitChain and for the validator hashes and addresses of the requests.
  std::string chain_id;
  std::vector<node::ValidatorKey> validators;
  /// InitChain's app_state_bytes (CometBFT: the genesis file's app_state).
  Bytes app_state;
  /// bftcore's version, sent in RequestInfo.version.
  std::string node_version;
};

/// CometBFT's hash of a validator set: the RFC 6962-style Merkle root over each
/// validator's SimpleValidator encoding (ed25519 key and power), validators ordered by
/// power (highest first), then address. Errors: invalid_argument (a power above 2^63-1).
Result<codec::Digest> validator_set_hash(std::vector<node::ValidatorKey> validators);

/// The 32-byte app hash bftcore carries for an application's app hash of any length: a
/// 32-byte hash as it is, any other length through SHA-256.
codec::Digest app_hash_digest(std::string_view abci_app_hash);

class AbciApplication final : public node::Application {
 public:
  /// Opens the three connections (retrying while the application starts, up to
  /// options.connection.connect_timeout) and checks each with an Echo. Errors: io_error
  /// and the others of Connection::call, invalid_argument (options).
  static Result<std::unique_ptr<AbciApplication>> connect(AbciOptions options);

  /// Info; for an application at height 0, InitChain as well (CometBFT's handshake does
  /// both): the app hash of height 0 is then InitChain's.
  node::AppInfo info() override;
  node::CheckTxResult check_tx(std::span<const std::uint8_t> tx, node::CheckTxKind kind) override;
  std::vector<node::Tx> prepare_proposal(const node::PrepareProposalRequest& request) override;
  bool process_proposal(const node::ProcessProposalRequest& request) override;
  Result<node::FinalizeBlockResult> finalize_block(const node::FinalizeBlockRequest& request) override;
  Result<node::CommitResult> commit() override;
  node::QueryResult query(const node::QueryRequest& request) override;

  /// Echo on the query connection: the message as the application returns it.
  Result<std::string> echo(std::string_view message);
  /// Info and InitChain as info() runs them, with the error returned rather than fatal.
  Result<node::AppInfo> handshake_info();

 private:
  AbciApplication(AbciOptions options, codec::Digest validators_hash, std::unique_ptr<Connection> consensus,
                  std::unique_ptr<Connection> mempool, std::unique_ptr<Connection> query);
  Result<codec::Digest> init_chain();

  AbciOptions options_;
  codec::Digest validators_hash_;
  std::unique_ptr<Connection> consensus_;
  std::unique_ptr<Connection> mempool_;
  std::unique_ptr<Connection> query_;
};

}  // namespace bft::abci
