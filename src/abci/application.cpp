#include "bft/abci/application.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <limits>

#include "tendermint/types/validator.pb.h"

namespace bft::abci {

namespace {

namespace pb = tendermint::abci;

constexpr std::int64_t max_int64 = std::numeric_limits<std::int64_t>::max();

/// The methods that cannot return an error end the process here (see the header).
[[noreturn]] void stop_process(const Error& error) {
  std::fprintf(stderr, "abci: fatal: %s\n", error.message.c_str());
  std::fflush(stderr);
  std::_Exit(1);
}

template <class T>
T or_stop(Result<T> result) {
  if (!result) stop_process(result.error());
  return std::move(*result);
}

Error broken(std::string_view method, const std::string& why) {
  return make_error(Errc::malformed, "ABCI " + std::string(method) + ": " + why);
}

std::string as_string(std::span<const std::uint8_t> bytes) {
  return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

Bytes as_bytes(const std::string& text) { return Bytes(text.begin(), text.end()); }

void set_time(google::protobuf::Timestamp& time, std::uint64_t unix_ms) {
  time.set_seconds(static_cast<std::int64_t>(unix_ms / 1000));
  time.set_nanos(static_cast<std::int32_t>(unix_ms % 1000 * 1'000'000));
}

/// Leaf and inner hashes of CometBFT's Merkle tree (RFC 6962 prefixes 0 and 1).
codec::Digest merkle_root(std::span<const std::string> leaves) {
  if (leaves.empty()) return codec::sha256({});
  if (leaves.size() == 1) {
    std::string prefixed(1, '\0');
    prefixed += leaves[0];
    return codec::sha256(std::span(reinterpret_cast<const std::uint8_t*>(prefixed.data()), prefixed.size()));
  }
  std::size_t split = 1;  // the largest power of two below the count
  while (split * 2 < leaves.size()) split *= 2;
  const codec::Digest left = merkle_root(leaves.first(split));
  const codec::Digest right = merkle_root(leaves.subspan(split));
  Bytes inner{1};
  inner.insert(inner.end(), left.begin(), left.end());
  inner.insert(inner.end(), right.begin(), right.end());
  return codec::sha256(inner);
}

void set_validator(pb::Validator& out, const Address& address, std::uint64_t power) {
  out.set_address(as_string(address.bytes()));
  out.set_power(static_cast<std::int64_t>(std::min<std::uint64_t>(power, max_int64)));
}

void set_commit_info(pb::CommitInfo& out, const node::CommitInfo& commit) {
  out.set_round(static_cast<std::int32_t>(commit.round));
  for (const node::CommitVote& vote : commit.votes) {
    pb::VoteInfo& info = *out.add_votes();
    set_validator(*info.mutable_validator(), vote.validator, vote.power);
    info.set_block_id_flag(vote.signed_commit ? tendermint::types::BLOCK_ID_FLAG_COMMIT
                                              : tendermint::types::BLOCK_ID_FLAG_ABSENT);
  }
}

/// The fields PrepareProposal, ProcessProposal and FinalizeBlock share.
template <class Message>
void set_block_fields(Message& out, const node::BlockHeader& header, const codec::Digest& validators_hash) {
  out.set_height(static_cast<std::int64_t>(header.height));
  set_time(*out.mutable_time(), header.time_unix_ms);
  out.set_next_validators_hash(as_string(validators_hash));
  out.set_proposer_address(as_string(header.proposer.bytes()));
}

template <class Message>
void add_txs(Message& out, std::span<const node::Tx> txs) {
  for (const node::Tx& tx : txs) out.add_txs(as_string(tx));
}

Result<std::vector<node::ValidatorUpdate>> validator_updates(
    const google::protobuf::RepeatedPtrField<pb::ValidatorUpdate>& updates, std::string_view method) {
  std::vector<node::ValidatorUpdate> out;
  for (const pb::ValidatorUpdate& update : updates) {
    if (!update.pub_key().has_ed25519() || update.pub_key().ed25519().size() != crypto::PublicKey{}.size())
      return broken(method, "a validator update whose key is not a 32-byte ed25519 key (the only kind bftcore has)");
    if (update.power() < 0) return broken(method, "a validator update with negative power");
    node::ValidatorUpdate mapped;
    std::copy_n(update.pub_key().ed25519().begin(), mapped.public_key.size(), mapped.public_key.begin());
    mapped.power = static_cast<std::uint64_t>(update.power());
    out.push_back(mapped);
  }
  return out;
}

}  // namespace

Result<codec::Digest> validator_set_hash(std::vector<node::ValidatorKey> validators) {
  for (const node::ValidatorKey& validator : validators)
    if (validator.power > static_cast<std::uint64_t>(max_int64))
      return make_error(Errc::invalid_argument, "a validator power above 2^63-1");
  std::sort(validators.begin(), validators.end(), [](const node::ValidatorKey& a, const node::ValidatorKey& b) {
    if (a.power != b.power) return a.power > b.power;
    return crypto::address_of(a.key) < crypto::address_of(b.key);
  });
  std::vector<std::string> leaves;
  for (const node::ValidatorKey& validator : validators) {
    tendermint::types::SimpleValidator simple;
    simple.mutable_pub_key()->set_ed25519(as_string(validator.key));
    simple.set_voting_power(static_cast<std::int64_t>(validator.power));
    leaves.push_back(simple.SerializeAsString());
  }
  return merkle_root(leaves);
}

codec::Digest app_hash_digest(std::string_view abci_app_hash) {
  const std::span bytes(reinterpret_cast<const std::uint8_t*>(abci_app_hash.data()), abci_app_hash.size());
  codec::Digest digest{};
  if (bytes.size() != digest.size()) return codec::sha256(bytes);
  std::copy(bytes.begin(), bytes.end(), digest.begin());
  return digest;
}

AbciApplication::AbciApplication(AbciOptions options, codec::Digest validators_hash,
                                 std::unique_ptr<Connection> consensus, std::unique_ptr<Connection> mempool,
                                 std::unique_ptr<Connection> query)
    : options_(std::move(options)),
      validators_hash_(validators_hash),
      consensus_(std::move(consensus)),
      mempool_(std::move(mempool)),
      query_(std::move(query)) {}

Result<std::unique_ptr<AbciApplication>> AbciApplication::connect(AbciOptions options) {
  if (options.validators.empty()) return make_error(Errc::invalid_argument, "ABCI: no validators");
  auto hash = validator_set_hash(options.validators);
  if (!hash) return hash.error();
  std::unique_ptr<Connection> connections[3];
  const char* names[3] = {"consensus", "mempool", "query"};
  for (int i = 0; i < 3; ++i) {
    auto opened = Connection::open(options.address, names[i], options.connection);
    if (!opened) return opened.error();
    connections[i] = std::move(*opened);
    // A listener that is not an ABCI application is found now, not at the first block.
    pb::Request echo;
    echo.mutable_echo()->set_message("bftcore");
    auto answer = connections[i]->call(echo, "Echo");
    if (!answer) return answer.error();
  }
  return std::unique_ptr<AbciApplication>(new AbciApplication(std::move(options), *hash, std::move(connections[0]),
                                                              std::move(connections[1]), std::move(connections[2])));
}

Result<std::string> AbciApplication::echo(std::string_view message) {
  pb::Request request;
  request.mutable_echo()->set_message(std::string(message));
  auto answer = query_->call(request, "Echo");
  if (!answer) return answer.error();
  return answer->echo().message();
}

Result<codec::Digest> AbciApplication::init_chain() {
  pb::Request request;
  pb::RequestInitChain& init = *request.mutable_init_chain();
  // No genesis time in bftcore's configuration: every node sends the same, the Unix epoch.
  init.mutable_time();
  init.set_chain_id(options_.chain_id);
  init.set_initial_height(1);
  init.set_app_state_bytes(as_string(options_.app_state));
  for (const node::ValidatorKey& validator : options_.validators) {
    pb::ValidatorUpdate& update = *init.add_validators();
    update.mutable_pub_key()->set_ed25519(as_string(validator.key));
    update.set_power(static_cast<std::int64_t>(validator.power));
  }
  auto answer = consensus_->call(request, "InitChain");
  if (!answer) return answer.error();
  const pb::ResponseInitChain& response = answer->init_chain();
  if (response.validators_size() > 0) {
    auto returned = validator_updates(response.validators(), "InitChain");
    if (!returned) return returned.error();
    std::vector<std::pair<crypto::PublicKey, std::uint64_t>> ours, theirs;
    for (const node::ValidatorKey& validator : options_.validators) ours.emplace_back(validator.key, validator.power);
    for (const node::ValidatorUpdate& update : *returned) theirs.emplace_back(update.public_key, update.power);
    std::sort(ours.begin(), ours.end());
    std::sort(theirs.begin(), theirs.end());
    if (ours != theirs)
      return make_error(Errc::invalid_argument,
                        "ABCI InitChain: the application returned another validator set than the configuration's; "
                        "the genesis set is the configuration's (change it later through FinalizeBlock's validator updates)");
  }
  return app_hash_digest(response.app_hash());
}

Result<node::AppInfo> AbciApplication::handshake_info() {
  pb::Request request;
  pb::RequestInfo& info = *request.mutable_info();
  info.set_version(options_.node_version);
  info.set_abci_version("2.0.0");
  auto answer = query_->call(request, "Info");
  if (!answer) return answer.error();
  const pb::ResponseInfo& response = answer->info();
  if (response.last_block_height() < 0) return broken("Info", "a negative last_block_height");
  node::AppInfo result;
  result.last_height = static_cast<Height>(response.last_block_height());
  result.version = response.version();
  if (result.last_height > 0) {
    result.app_hash = app_hash_digest(response.last_block_app_hash());
    return result;
  }
  auto initial = init_chain();
  if (!initial) return initial.error();
  result.app_hash = *initial;
  return result;
}

node::AppInfo AbciApplication::info() { return or_stop(handshake_info()); }

node::CheckTxResult AbciApplication::check_tx(std::span<const std::uint8_t> tx, node::CheckTxKind kind) {
  pb::Request request;
  request.mutable_check_tx()->set_tx(as_string(tx));
  request.mutable_check_tx()->set_type(kind == node::CheckTxKind::fresh ? pb::NEW : pb::RECHECK);
  const pb::Response answer = or_stop(mempool_->call(request, "CheckTx"));
  return node::CheckTxResult{answer.check_tx().code(), answer.check_tx().log()};
}

std::vector<node::Tx> AbciApplication::prepare_proposal(const node::PrepareProposalRequest& request) {
  pb::Request message;
  pb::RequestPrepareProposal& prepare = *message.mutable_prepare_proposal();
  prepare.set_max_tx_bytes(static_cast<std::int64_t>(std::min<std::size_t>(request.max_tx_bytes, max_int64)));
  add_txs(prepare, request.txs);
  prepare.mutable_local_last_commit();
  set_block_fields(prepare, request.header, validators_hash_);
  const pb::Response answer = or_stop(consensus_->call(message, "PrepareProposal"));
  std::vector<node::Tx> txs;
  for (const std::string& tx : answer.prepare_proposal().txs()) txs.push_back(as_bytes(tx));
  return txs;
}

bool AbciApplication::process_proposal(const node::ProcessProposalRequest& request) {
  pb::Request message;
  pb::RequestProcessProposal& process = *message.mutable_process_proposal();
  add_txs(process, request.txs);
  process.mutable_proposed_last_commit();
  process.set_hash(as_string(request.block_hash));
  set_block_fields(process, request.header, validators_hash_);
  const pb::Response answer = or_stop(consensus_->call(message, "ProcessProposal"));
  switch (answer.process_proposal().status()) {
    case pb::ResponseProcessProposal::ACCEPT: return true;
    case pb::ResponseProcessProposal::REJECT: return false;
    default: stop_process(broken("ProcessProposal", "a status other than ACCEPT or REJECT"));
  }
}

Result<node::FinalizeBlockResult> AbciApplication::finalize_block(const node::FinalizeBlockRequest& request) {
  pb::Request message;
  pb::RequestFinalizeBlock& finalize = *message.mutable_finalize_block();
  add_txs(finalize, request.txs);
  set_commit_info(*finalize.mutable_decided_last_commit(), request.commit);
  finalize.set_hash(as_string(request.block_hash));
  set_block_fields(finalize, request.header, validators_hash_);
  auto answer = consensus_->call(message, "FinalizeBlock");
  if (!answer) return answer.error();
  const pb::ResponseFinalizeBlock& response = answer->finalize_block();
  if (static_cast<std::size_t>(response.tx_results_size()) != request.txs.size())
    return broken("FinalizeBlock", std::to_string(response.tx_results_size()) + " results for " +
                                       std::to_string(request.txs.size()) + " transactions");
  node::FinalizeBlockResult result;
  for (const pb::ExecTxResult& tx : response.tx_results())
    result.tx_results.push_back({tx.code(), tx.log(), as_bytes(tx.data())});
  result.app_hash = app_hash_digest(response.app_hash());
  auto updates = validator_updates(response.validator_updates(), "FinalizeBlock");
  if (!updates) return updates.error();
  result.validator_updates = std::move(*updates);
  return result;
}

Result<node::CommitResult> AbciApplication::commit() {
  pb::Request message;
  message.mutable_commit();
  auto answer = consensus_->call(message, "Commit");
  if (!answer) return answer.error();
  if (answer->commit().retain_height() < 0) return broken("Commit", "a negative retain_height");
  return node::CommitResult{static_cast<Height>(answer->commit().retain_height())};
}

node::QueryResult AbciApplication::query(const node::QueryRequest& request) {
  pb::Request message;
  pb::RequestQuery& query = *message.mutable_query();
  query.set_path(request.path);
  query.set_data(as_string(request.data));
  query.set_height(static_cast<std::int64_t>(std::min<Height>(request.height, max_int64)));
  const pb::Response answer = or_stop(query_->call(message, "Query"));
  const pb::ResponseQuery& response = answer.query();
  if (response.height() < 0) stop_process(broken("Query", "a negative height"));
  return node::QueryResult{response.code(), response.log(), as_bytes(response.value()),
                           static_cast<Height>(response.height())};
}

}  // namespace bft::abci
