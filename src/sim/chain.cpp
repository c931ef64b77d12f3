#include "bft/sim/chain.hpp"

#include <leveldb/env.h>
#include <leveldb/helpers/memenv.h>

#include <algorithm>
#include <charconv>
#include <string_view>

#include "../codec/wire.hpp"
#include "bft/codec/hash.hpp"
#include "bft/node/block_store.hpp"

namespace bft::sim {

namespace {

constexpr std::string_view tx_prefix = "tx:";
constexpr const char* store_directory = "/blocks";
constexpr std::uint32_t code_not_simulated = 1;

}  // namespace

node::Tx simulated_tx(std::uint64_t number) {
  const std::string text = std::string(tx_prefix) + std::to_string(number);
  return node::Tx(text.begin(), text.end());
}

std::optional<std::uint64_t> simulated_tx_number(std::span<const std::uint8_t> tx) {
  const std::string_view text(reinterpret_cast<const char*>(tx.data()), tx.size());
  if (!text.starts_with(tx_prefix) || text.size() == tx_prefix.size()) return std::nullopt;
  std::uint64_t number = 0;
  const char* end = text.data() + text.size();
  const auto [at, error] = std::from_chars(text.data() + tx_prefix.size(), end, number);
  if (error != std::errc() || at != end) return std::nullopt;
  return number;
}

node::CheckTxResult ChainApplication::check_tx(std::span<const std::uint8_t> tx, node::CheckTxKind) {
  if (simulated_tx_number(tx)) return {};
  return {code_not_simulated, "not a simulated transaction"};
}

bool ChainApplication::process_proposal(const node::ProcessProposalRequest& request) {
  return std::all_of(request.txs.begin(), request.txs.end(),
                     [](const node::Tx& tx) { return simulated_tx_number(tx).has_value(); });
}

Result<node::FinalizeBlockResult> ChainApplication::finalize_block(const node::FinalizeBlockRequest& request) {
  if (request.header.height != committed_.height + 1)
    return make_error(Errc::invalid_argument, "sim app: finalize_block for height " +
                                                  std::to_string(request.header.height) + " after " +
                                                  std::to_string(committed_.height));
  // The new state hashes the old one, the height and every valid transaction.
  Bytes state(committed_.app_hash.begin(), committed_.app_hash.end());
  codec::wire::put_u64(state, request.header.height);
  node::FinalizeBlockResult result;
  for (const node::Tx& tx : request.txs) {
    if (!simulated_tx_number(tx)) {
      result.tx_results.push_back({code_not_simulated, "not a simulated transaction", {}});
      continue;
    }
    codec::wire::put_u64(state, tx.size());
    codec::wire::put_raw(state, tx);
    result.tx_results.emplace_back();
  }
  result.app_hash = codec::sha256(state);
  finalized_ = State{request.header.height, result.app_hash, committed_.validators};
  if (plan_.every > 0 && request.header.height % plan_.every == 0) {
    std::vector<node::ValidatorUpdate> updates =
        node::validator_updates_between(committed_.validators, plan_.target(request.header.height / plan_.every));
    // Updates the engine would refuse (beyond the limits) are not made: the set stays.
    if (!updates.empty())
      if (auto next = node::apply_validator_updates(committed_.validators, updates, plan_.limits, scheme_)) {
        finalized_->validators = std::move(*next);
        result.validator_updates = std::move(updates);
      }
  }
  return result;
}

Result<node::CommitResult> ChainApplication::commit() {
  if (!finalized_) return make_error(Errc::invalid_argument, "sim app: commit without a finalized block");
  committed_ = *finalized_;
  finalized_.reset();
  if (committed_.height % durable_every == 0) durable_ = committed_;
  return node::CommitResult{};  // retain height 0: every block stays, the durable state never passes it
}

node::QueryResult ChainApplication::query(const node::QueryRequest&) {
  node::QueryResult result;
  result.value.assign(committed_.app_hash.begin(), committed_.app_hash.end());
  result.height = committed_.height;
  return result;
}

ChainLedger::ChainLedger(Options options, const node::Logger& logger)
    : options_(std::move(options)), logger_(logger), disk_(leveldb::NewMemEnv(leveldb::Env::Default())) {
  durable_.validators = options_.genesis;
}

ChainLedger::~ChainLedger() { close(); }

Result<void> ChainLedger::open() {
  node::BlockStoreOptions store_options;
  store_options.env = disk_.get();
  // Small caches: a simulation runs many nodes, each with a few blocks.
  store_options.cache_bytes = 64 << 10;
  store_options.write_buffer_bytes = 256 << 10;
  auto store = node::BlockStore::open(store_directory, store_options);
  if (!store) return store.error();
  node::BlockchainOptions chain_options(options_.chain);
  chain_options.validators = options_.genesis;
  chain_options.signature_scheme = options_.scheme;
  chain_options.self = options_.self;
  chain_options.unix_ms = options_.unix_ms;
  chain_options.tx_index_capacity = 4096;
  chain_options.validator_change_limits = options_.validator_plan.limits;
  app_ = std::make_unique<ChainApplication>(durable_, options_.validator_plan, *options_.scheme);
  auto chain = node::Blockchain::open(std::move(chain_options), std::move(*store), *app_, logger_);
  if (!chain) {
    app_.reset();
    return chain.error();
  }
  chain_ = std::move(*chain);
  replayed_ = chain_->handshake().replayed;
  committed_ = chain_->committed_height();
  return {};
}

void ChainLedger::close() {
  chain_.reset();  // closes the store first: it holds the database on disk_
  app_.reset();
}

bool ChainLedger::flip_a_stored_bit(std::uint64_t random) {
  std::vector<std::string> children;
  if (!disk_->GetChildren(store_directory, &children).ok()) return false;
  std::vector<std::pair<std::string, std::uint64_t>> files;
  for (const std::string& child : children) {
    const std::string path = std::string(store_directory) + "/" + child;
    std::uint64_t size = 0;
    if (disk_->GetFileSize(path, &size).ok() && size > 0) files.emplace_back(path, size);
  }
  if (files.empty()) return false;
  std::sort(files.begin(), files.end());  // the draw must not depend on the listing's order
  const auto& [path, size] = files[random % files.size()];
  random /= files.size();
  std::unique_ptr<leveldb::SequentialFile> in;
  {
    leveldb::SequentialFile* raw = nullptr;
    if (!disk_->NewSequentialFile(path, &raw).ok()) return false;
    in.reset(raw);
  }
  std::string bytes(size, '\0');
  leveldb::Slice read;
  if (!in->Read(size, &read, bytes.data()).ok() || read.size() != size) return false;
  bytes.assign(read.data(), read.size());
  bytes[random % size] = static_cast<char>(bytes[random % size] ^ (1 << (random / size % 8)));
  leveldb::WritableFile* raw = nullptr;
  if (!disk_->NewWritableFile(path, &raw).ok()) return false;
  const std::unique_ptr<leveldb::WritableFile> out(raw);
  return out->Append(bytes).ok() && out->Close().ok();
}

node::SubmitResult ChainLedger::submit(node::Tx tx) { return chain_->submit(std::move(tx)); }

Value ChainLedger::propose(Height height) { return chain_->propose(height); }

Validity ChainLedger::check_proposal(Height height, Round round, const Value& value, const Address& proposer,
                                     Round valid_round) {
  return chain_->check_proposal(height, round, value, proposer, valid_round);
}

Result<void> ChainLedger::commit(const codec::QuorumCertificate& commit, std::uint32_t commit_ms) {
  if (auto committed = chain_->commit(commit, commit_ms); !committed) return committed;
  committed_ = chain_->committed_height();
  if (options_.on_validator_change && chain_->validators().newest().height == commit.height + 2)
    options_.on_validator_change(commit.height + 2);
  if (options_.on_commit) options_.on_commit(commit);
  return {};
}

Height ChainLedger::committed_height() const { return committed_; }
Height ChainLedger::base_height() const { return chain_->base_height(); }

Result<std::optional<codec::QuorumCertificate>> ChainLedger::committed(Height height) const {
  return chain_->committed(height);
}

const node::ValidatorHistory& ChainLedger::validators() const { return chain_->validators(); }

}  // namespace bft::sim
