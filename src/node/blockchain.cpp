#include "bft/node/blockchain.hpp"

#include <algorithm>
#include <chrono>

#include "bft/codec/codec.hpp"
#include "bft/crypto/certificate.hpp"
#include "bft/crypto/key_file.hpp"

namespace bft::node {

namespace {

std::uint64_t system_unix_ms() {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::string hex(const codec::Digest& digest) { return crypto::to_hex(digest); }

std::string at(Height height) { return "height " + std::to_string(height); }

}  // namespace

struct Blockchain::Metrics {
  explicit Metrics(metrics::Registry& registry)
      : finalize_seconds(registry.histogram("bftcore_app_finalize_block_seconds",
                                            "Time the application took to execute a decided block.",
                                            metrics::exponential_buckets(0.00005, 2, 18))),
        commit_seconds(registry.histogram("bftcore_app_commit_seconds",
                                          "Time the application took to make its state durable after a block.",
                                          metrics::exponential_buckets(0.00005, 2, 18))),
        append_seconds(registry.histogram("bftcore_blockstore_append_seconds",
                                          "Time to store a decided block with its certificate, durably.",
                                          metrics::exponential_buckets(0.00005, 2, 18))),
        tx_results(registry.counter_family("bftcore_app_transactions_total",
                                           "Transactions in committed blocks, by the application's result.",
                                           {"result"})),
        txs_ok(tx_results.with({"ok"})),
        txs_failed(tx_results.with({"failed"})),
        submissions_refused(registry.counter_family("bftcore_mempool_refused_total",
                                                    "Submitted transactions refused, by reason.", {"reason"})),
        proposals_refused(registry.counter_family(
            "bftcore_proposals_refused_total",
            "Proposals this node prevoted nil on: a header that does not continue its chain, a block that does "
            "not decode, or the application's process_proposal.",
            {"reason"})),
        blocks_pruned(registry.counter("bftcore_blockstore_pruned_total",
                                       "Blocks deleted below the application's retain height.")),
        recheck_dropped(registry.counter("bftcore_mempool_recheck_dropped_total",
                                         "Pooled transactions check_tx refused when re-checked after a block.")),
        validator_updates(registry.counter_family(
            "bftcore_validator_updates_total",
            "Blocks whose validator updates the engine applied, or refused (every node refuses alike).",
            {"outcome"})) {}

  metrics::Histogram& finalize_seconds;
  metrics::Histogram& commit_seconds;
  metrics::Histogram& append_seconds;
  metrics::Family<metrics::Counter>& tx_results;
  metrics::Counter& txs_ok;
  metrics::Counter& txs_failed;
  metrics::Family<metrics::Counter>& submissions_refused;
  metrics::Family<metrics::Counter>& proposals_refused;
  metrics::Counter& blocks_pruned;
  metrics::Counter& recheck_dropped;
  metrics::Family<metrics::Counter>& validator_updates;
};

Blockchain::Blockchain(BlockchainOptions options, BlockStore store, Application& app, const Logger& logger,
                       ValidatorHistory history)
    : options_(std::move(options)),
      store_(std::move(store)),
      mempool_(options_.mempool),
      tx_index_(options_.tx_index_capacity, options_.max_commit_waiters),
      app_(app),
      log_(logger),
      history_(std::move(history)),
      metrics_(options_.metrics ? std::make_unique<Metrics>(*options_.metrics) : nullptr) {
  if (!options_.unix_ms) options_.unix_ms = system_unix_ms;
  if (!options_.metrics) return;
  metrics::Registry& registry = *options_.metrics;
  registry.callback_gauge("bftcore_mempool_transactions", "Transactions waiting in the mempool.",
                          [this] { return static_cast<double>(mempool_.size()); });
  registry.callback_gauge("bftcore_mempool_bytes", "Bytes of the transactions waiting in the mempool.",
                          [this] { return static_cast<double>(mempool_.bytes()); });
  registry.callback_gauge("bftcore_blockstore_base_height", "The lowest height the block store holds.",
                          [this] { return static_cast<double>(store_.base()); });
  registry.callback_gauge("bftcore_blockstore_tip_height", "The highest height the block store holds.",
                          [this] { return static_cast<double>(store_.tip()); });
  registry.callback_counter("bftcore_blockstore_written_bytes_total", "Bytes of block records written.",
                            [this] { return static_cast<double>(store_.bytes_written()); });
}

Blockchain::~Blockchain() = default;

Result<std::unique_ptr<Blockchain>> Blockchain::open(BlockchainOptions options, BlockStore store, Application& app,
                                                     const Logger& logger) {
  if (options.self.empty()) return make_error(Errc::invalid_argument, "the chain needs this node's address");
  if (options.max_block_txs == 0) return make_error(Errc::invalid_argument, "max_block_txs must be positive");
  // A transaction must fit a block with a header naming the longest proposer allowed.
  BlockHeader widest;
  widest.proposer = Address(Bytes(options.block_limits.max_proposer_bytes));
  const std::size_t overhead = block_overhead(widest, 1);
  if (options.block_limits.max_block_bytes <= overhead)
    return make_error(Errc::invalid_argument, "max_block_bytes leaves no room for a transaction");
  options.mempool.max_tx_bytes = std::min(options.mempool.max_tx_bytes, options.block_limits.max_block_bytes - overhead);
  if (options.signature_scheme == nullptr) return make_error(Errc::invalid_argument, "no signature scheme");
  auto history = ValidatorHistory::create(options.validators, *options.signature_scheme);
  if (!history) return history.error();
  auto changes = store.validator_changes();
  if (!changes) return changes.error();
  for (const ValidatorSetChange& change : *changes)
    if (auto changed = history->change(change.height, change.validators); !changed)
      return make_error(Errc::corrupt_log, store.directory() + ": validator set change at " + at(change.height) +
                                               ": " + changed.error().message);
  std::unique_ptr<Blockchain> chain(
      new Blockchain(std::move(options), std::move(store), app, logger, std::move(*history)));
  if (auto loaded = chain->load_tip(); !loaded) return loaded.error();
  if (auto shaken = chain->run_handshake(); !shaken) return shaken.error();
  return chain;
}

Result<Blockchain::VerifiedBlock> Blockchain::verified_block(const StoredBlock& stored) const {
  const auto damaged = [&](const std::string& why) {
    return make_error(Errc::corrupt_log, "stored block at " + at(stored.height) + ": " + why);
  };
  auto commit = codec::decode_certificate(stored.certificate);
  if (!commit) return damaged("its certificate does not decode (" + commit.error().message + ")");
  if (commit->type != VoteType::precommit || commit->height != stored.height || !commit->value)
    return damaged("its certificate is not a commit of that height");
  if (auto verified = crypto::verify_certificate(*commit, options_.chain, history_.at(stored.height).set, history_.keys());
      !verified)
    return damaged("its certificate does not verify (" + verified.error().message + ")");
  auto block = decode_block(commit->value->bytes(), options_.block_limits);
  if (!block) return damaged("the certified value is not a block (" + block.error().message + ")");
  if (block->header.height != stored.height) return damaged("its header names " + at(block->header.height));
  return VerifiedBlock{std::move(*commit), std::move(*block)};
}

void Blockchain::set_last(const BlockHeader& header, const Value& value, const codec::Digest& app_hash) {
  last_block_hash_ = block_hashes_.of(value);
  last_time_unix_ms_ = header.time_unix_ms;
  last_app_hash_ = app_hash;
  const std::lock_guard lock(app_hash_mutex_);
  published_app_hash_ = app_hash;
}

Result<void> Blockchain::load_tip() {
  if (store_.tip() == 0) return {};
  auto stored = store_.get(store_.tip());
  if (!stored) return stored.error();
  if (!*stored) return make_error(Errc::corrupt_log, "the block store's tip, " + at(store_.tip()) + ", is missing");
  auto verified = verified_block(**stored);
  if (!verified) return verified.error();
  set_last(verified->block.header, *verified->commit.value, (*stored)->app_hash);
  last_commit_ = std::move(verified->commit);
  return {};
}

Result<void> Blockchain::run_handshake() {
  const AppInfo info = app_.info();
  handshake_ = {info.last_height, store_.base(), store_.tip(), 0};
  const Height tip = store_.tip();
  const std::string where = "application at " + at(info.last_height) + ", block store at heights " +
                            std::to_string(store_.base()) + ".." + std::to_string(tip);
  if (info.last_height > tip)
    return make_error(Errc::invalid_argument,
                      where + ": the application is ahead of the blocks (the data directory is inconsistent; nothing "
                              "was changed)");
  if (tip > 0 && info.last_height + 1 < store_.base())
    return make_error(Errc::invalid_argument,
                      where + ": the blocks the application needs were pruned (nothing was changed)");
  // Its app hash must be the one recorded at its height; the replay then checks it
  // against the next block's header.
  std::optional<codec::Digest> previous_block_hash;  // of the block at the application's height
  if (info.last_height >= std::max<Height>(store_.base(), 1)) {
    auto stored = store_.get(info.last_height);
    if (!stored) return stored.error();
    if (!*stored) return make_error(Errc::corrupt_log, "the block store lacks " + at(info.last_height) + " below its tip");
    if ((*stored)->app_hash != info.app_hash)
      return make_error(Errc::state_diverged, where + ": the application's app hash " + hex(info.app_hash) +
                                                  " differs from the one recorded at its height, " +
                                                  hex((*stored)->app_hash) + " (nothing was changed)");
    if (info.last_height < tip) {
      auto commit = codec::decode_certificate((*stored)->certificate);
      if (!commit || !commit->value)
        return make_error(Errc::corrupt_log, "stored block at " + at(info.last_height) + ": its certificate does not decode");
      previous_block_hash = block_hash(commit->value->bytes());
    }
  }
  // What the application applied; the replay below records the rest.
  if (auto reloaded = reload_tx_index(info.last_height); !reloaded) return reloaded;
  if (info.last_height == tip) {
    if (tip == 0) last_app_hash_ = info.app_hash;
    const std::lock_guard lock(app_hash_mutex_);
    published_app_hash_ = last_app_hash_;
    return {};
  }
  log_.log(LogLevel::info, "handshake_replay", field("app_height", info.last_height) + field("store_tip", tip));
  codec::Digest app_hash = info.app_hash;
  for (Height height = info.last_height + 1; height <= tip; ++height) {
    auto stored = store_.get(height);
    if (!stored) return stored.error();
    if (!*stored) return make_error(Errc::corrupt_log, "the block store lacks " + at(height) + " below its tip");
    auto verified = verified_block(**stored);
    if (!verified) return verified.error();
    // Below a pruned base, the first block's link back is taken as certified.
    last_block_hash_ = previous_block_hash.value_or(verified->block.header.previous_block_hash);
    last_app_hash_ = app_hash;
    if (auto executed = execute(verified->commit, std::move(verified->block), (*stored)->app_hash,
                                (*stored)->meta.commit_ms);
        !executed)
      return executed.error();
    previous_block_hash = last_block_hash_;
    app_hash = (*stored)->app_hash;
    ++handshake_.replayed;
  }
  log_.log(LogLevel::info, "handshake_replayed", field("blocks", handshake_.replayed));
  return {};
}

Result<void> Blockchain::reload_tx_index(Height up_to) {
  struct Reloaded {
    Height height;
    std::vector<TxId> ids;
    std::vector<TxResult> results;
  };
  std::vector<Reloaded> newest_first;
  std::size_t txs = 0;
  const Height lowest = std::max<Height>(store_.base(), 1);
  for (Height height = up_to; height >= lowest && newest_first.size() < options_.tx_index_reload_blocks &&
                              txs < options_.tx_index_capacity;
       --height) {
    auto stored = store_.get(height);
    if (!stored) return stored.error();
    if (!*stored) return make_error(Errc::corrupt_log, "the block store lacks " + at(height) + " below its tip");
    // Records written before results were stored: the index starts after them.
    if (!(*stored)->tx_results) break;
    auto commit = codec::decode_certificate((*stored)->certificate);
    auto block = commit && commit->value ? decode_block(commit->value->bytes(), options_.block_limits)
                                         : Result<Block>(make_error(Errc::malformed, "no commit"));
    if (!block || block->txs.size() != (*stored)->tx_results->size())
      return make_error(Errc::corrupt_log, "stored block at " + at(height) +
                                               ": its block does not decode or does not match its results");
    Reloaded reloaded{height, {}, std::move(*(*stored)->tx_results)};
    reloaded.ids.reserve(block->txs.size());
    for (const Tx& tx : block->txs) reloaded.ids.push_back(tx_id(tx));
    txs += reloaded.ids.size();
    newest_first.push_back(std::move(reloaded));
  }
  for (auto it = newest_first.rbegin(); it != newest_first.rend(); ++it) tx_index_.record(it->height, it->ids, it->results);
  return {};
}

std::optional<std::string> Blockchain::header_problem(const BlockHeader& header) const {
  if (header.height != store_.tip() + 1) return "a header of " + at(header.height) + " after " + at(store_.tip());
  if (header.previous_block_hash != last_block_hash_) return "another previous block";
  if (header.time_unix_ms <= last_time_unix_ms_) return "a time not after the previous block's";
  if (!history_.at(header.height).set.index_of(header.proposer)) return "a proposer that is not a validator";
  return std::nullopt;
}

Value Blockchain::propose(Height height) {
  BlockHeader header;
  header.height = height;
  header.previous_block_hash = last_block_hash_;
  header.app_hash = last_app_hash_;
  header.proposer = options_.self;
  header.time_unix_ms = std::max(options_.unix_ms(), last_time_unix_ms_ + 1);
  const std::size_t room = options_.block_limits.max_block_bytes - block_overhead(header, 0);
  constexpr std::size_t length_prefix = 4;
  const std::vector<Tx> pooled = mempool_.reap(options_.max_block_txs, room, length_prefix);
  std::vector<Tx> txs = app_.prepare_proposal({header, room, pooled});
  // The application's answer is cut to what a block holds: a proposal must decode.
  std::size_t used = 0;
  std::size_t kept = 0;
  for (; kept < txs.size() && kept < options_.max_block_txs; ++kept) {
    const std::size_t size = txs[kept].size() + length_prefix;
    if (size > room - used) break;
    used += size;
  }
  txs.resize(kept);
  return encode_block(header, txs);
}

Validity Blockchain::check_proposal(Height height, Round round, const Value& value, const Address& proposer,
                                    Round valid_round) {
  if (height > store_.tip() + 1) return Validity::unknown;
  const auto refuse = [&](const char* reason, const std::string& detail) {
    if (metrics_) metrics_->proposals_refused.with({reason}).inc();
    log_.log(LogLevel::warn, "proposal_refused", field("height", height) + field("reason", reason) + field("detail", detail));
    return Validity::invalid;
  };
  auto block = decode_block(value.bytes(), options_.block_limits);
  if (!block) return refuse("malformed", block.error().message);
  if (block->header.height != height) return refuse("header", "the block names " + at(block->header.height));
  // A re-proposal (a valid round) carries the block an earlier round's proposer built,
  // naming that proposer; the core decides it only if a quorum prevoted it in that round,
  // when its header was checked against that round's proposer. header_problem() still
  // requires a validator.
  if (valid_round == nil_round && block->header.proposer != proposer)
    return refuse("header", "the block names another proposer");
  if (auto problem = header_problem(block->header)) return refuse("header", *problem);
  if (block->header.app_hash != last_app_hash_)
    return refuse("app_hash", "the block states app hash " + hex(block->header.app_hash) + ", this node has " +
                                  hex(last_app_hash_));
  const codec::Digest hash = block_hashes_.of(value);
  if (!options_.judge) return application_accepts(*block, hash) ? Validity::valid : Validity::invalid;
  auto judged = std::make_shared<const Block>(std::move(*block));
  options_.judge->judge(height, round, value, [this, judged, hash] { return application_accepts(*judged, hash); });
  return Validity::unknown;
}

bool Blockchain::application_accepts(const Block& block, const codec::Digest& hash) const {
  if (app_.process_proposal({block.header, block.txs, hash})) return true;
  if (metrics_) metrics_->proposals_refused.with({"application"}).inc();
  log_.log(LogLevel::warn, "proposal_refused",
           field("height", block.header.height) + field("reason", "application") +
               field("detail", "process_proposal refused it"));
  return false;
}

Result<void> Blockchain::commit(const codec::QuorumCertificate& commit, std::uint32_t commit_ms) {
  auto block = decode_block(commit.value->bytes(), options_.block_limits);
  // Only a quorum holding more than a third of faulty power decides a value that is no
  // block: nothing this node can apply.
  if (!block)
    return make_error(Errc::corrupt_log, "the decided value of " + at(commit.height) + " is not a block (" +
                                             block.error().message + ")");
  return execute(commit, std::move(*block), std::nullopt, commit_ms);
}

Result<void> Blockchain::execute(const codec::QuorumCertificate& commit, Block block,
                                 std::optional<codec::Digest> recorded_app_hash, std::uint32_t commit_ms) {
  const Height height = block.header.height;
  if (height != commit.height) return make_error(Errc::corrupt_log, "a decided block names another height");
  if (block.header.height != store_.tip() + 1 && !recorded_app_hash)
    return make_error(Errc::invalid_argument, "a block of " + at(height) + " after " + at(store_.tip()));
  if (block.header.previous_block_hash != last_block_hash_)
    return make_error(Errc::state_diverged, "the decided block of " + at(height) +
                                                " continues another chain than this node's");
  if (block.header.app_hash != last_app_hash_)
    return make_error(Errc::state_diverged,
                      "state diverged at " + at(height - 1) + ": the decided block of " + at(height) +
                          " states app hash " + hex(block.header.app_hash) + " after it, this node computed " +
                          hex(last_app_hash_));

  FinalizeBlockRequest request{block.header, block.txs, block_hashes_.of(*commit.value), commit_info(commit), {}};
  auto started = std::chrono::steady_clock::now();
  auto finalized = app_.finalize_block(request);
  if (!finalized)
    return make_error(finalized.error().code,
                      "finalize_block at " + at(height) + " failed: " + finalized.error().message);
  if (metrics_) metrics_->finalize_seconds.observe(seconds_since(started));
  if (finalized->tx_results.size() != block.txs.size())
    return make_error(Errc::invalid_argument, "finalize_block at " + at(height) + " returned " +
                                                  std::to_string(finalized->tx_results.size()) + " results for " +
                                                  std::to_string(block.txs.size()) + " transactions");
  std::optional<ValidatorSetChange> change;
  if (!finalized->validator_updates.empty()) change = validator_change(height, finalized->validator_updates);

  if (recorded_app_hash) {
    if (finalized->app_hash != *recorded_app_hash)
      return make_error(Errc::state_diverged, "replaying " + at(height) + " gave app hash " +
                                                  hex(finalized->app_hash) + ", recorded when it was decided: " +
                                                  hex(*recorded_app_hash) + " (is the application deterministic?)");
    // The change was stored with the block; the replay must make the same one.
    const ValidatorEpoch& recorded = history_.at(height + 2);
    const bool recorded_change = recorded.height == height + 2;
    if (recorded_change != change.has_value() || (change && change->validators != recorded.keys))
      return make_error(Errc::state_diverged, "replaying " + at(height) +
                                                  " gave other validator updates than when it was decided (is the "
                                                  "application deterministic?)");
  } else {
    // Durable before the application commits: a crash in between replays the block.
    started = std::chrono::steady_clock::now();
    StoredBlock stored{height, codec::encode(commit), finalized->app_hash, BlockMeta{options_.unix_ms(), commit_ms},
                       finalized->tx_results};
    if (auto appended = store_.append(stored, change); !appended) return appended;
    if (metrics_) metrics_->append_seconds.observe(seconds_since(started));
    if (change)
      if (auto changed = history_.change(change->height, change->validators); !changed) return changed;
  }

  started = std::chrono::steady_clock::now();
  auto committed = app_.commit();
  if (!committed)
    return make_error(committed.error().code, "commit after " + at(height) + " failed: " + committed.error().message);
  if (metrics_) metrics_->commit_seconds.observe(seconds_since(started));

  if (committed->retain_height > store_.base()) {
    auto pruned = store_.prune_below(std::min(committed->retain_height, height));
    if (!pruned) return pruned.error();
    if (metrics_) metrics_->blocks_pruned.inc(*pruned);
  }
  {
    // With submit()'s admission: a transaction is either pooled before this removes it, or
    // found committed by submit() after this recorded it, never pooled after its commit.
    const std::lock_guard lock(admission_mutex_);
    const std::vector<TxId> ids = mempool_.remove_committed(block.txs);
    tx_index_.record(height, ids, finalized->tx_results);
  }
  // The state moved on: what check_tx accepted before may fail now (a spent balance).
  if (app_.check_depends_on_state()) {
    const std::size_t dropped =
        mempool_.recheck([this](const Tx& tx) { return app_.check_tx(tx, CheckTxKind::recheck).ok(); });
    if (metrics_) metrics_->recheck_dropped.inc(dropped);
  }
  std::uint64_t failed = 0;
  for (const TxResult& result : finalized->tx_results) failed += result.code != code_ok;
  txs_committed_.fetch_add(block.txs.size(), std::memory_order_relaxed);
  if (metrics_) {
    metrics_->txs_ok.inc(block.txs.size() - failed);
    metrics_->txs_failed.inc(failed);
  }
  set_last(block.header, *commit.value, finalized->app_hash);
  last_commit_ = commit;
  return {};
}

std::optional<ValidatorSetChange> Blockchain::validator_change(Height height,
                                                              std::span<const ValidatorUpdate> updates) const {
  const auto refuse = [&](const std::string& why) -> std::optional<ValidatorSetChange> {
    if (metrics_) metrics_->validator_updates.with({"refused"}).inc();
    log_.log(LogLevel::warn, "validator_updates_refused",
             field("height", height) + field("updates", updates.size()) + field("detail", why));
    return std::nullopt;
  };
  auto next = apply_validator_updates(history_.at(height + 1).keys, updates, options_.validator_change_limits,
                                      history_.keys().scheme());
  if (!next) return refuse(next.error().message);
  if (metrics_) metrics_->validator_updates.with({"applied"}).inc();
  log_.log(LogLevel::info, "validator_set_changed",
           field("height", height) + field("from_height", height + 2) + field("validators", next->size()));
  return ValidatorSetChange{height + 2, std::move(*next)};
}

CommitInfo Blockchain::commit_info(const codec::QuorumCertificate& commit) const {
  CommitInfo info{commit.round, {}};
  for (const Validator& validator : history_.at(commit.height).set.validators()) {
    const bool signed_commit =
        std::any_of(commit.signatures.begin(), commit.signatures.end(),
                    [&](const codec::VoteSignature& signature) { return signature.voter == validator.address; });
    info.votes.push_back({validator.address, validator.power, signed_commit});
  }
  return info;
}

Result<std::optional<codec::QuorumCertificate>> Blockchain::committed(Height height) const {
  if (last_commit_ && last_commit_->height == height) return last_commit_;
  auto stored = store_.get(height);
  if (!stored) return stored.error();
  if (!*stored) return std::optional<codec::QuorumCertificate>{};
  auto commit = codec::decode_certificate((*stored)->certificate);
  if (!commit)
    return make_error(Errc::corrupt_log,
                      "stored block at " + at(height) + ": its certificate does not decode (" + commit.error().message + ")");
  if (commit->height != height || !commit->value)
    return make_error(Errc::corrupt_log, "stored block at " + at(height) + ": its certificate is of another height");
  return std::optional<codec::QuorumCertificate>{std::move(*commit)};
}

SubmitResult Blockchain::submit(Tx tx) {
  const TxId id = tx_id(tx);
  return submit(std::move(tx), id);
}

std::vector<SubmitResult> Blockchain::submit(std::vector<Tx> txs) {
  std::vector<TxId> ids;
  ids.reserve(txs.size());
  for (const Tx& tx : txs) ids.push_back(tx_id(tx));
  tx_index_.prefetch(ids);
  mempool_.prefetch(txs, ids);
  std::vector<SubmitResult> results;
  results.reserve(txs.size());
  for (std::size_t i = 0; i < txs.size(); ++i) results.push_back(submit(std::move(txs[i]), ids[i]));
  return results;
}

SubmitResult Blockchain::submit(Tx tx, const TxId& id) {
  SubmitResult result;
  result.id = id;
  const auto refused = [&](const char* reason) {
    if (metrics_) metrics_->submissions_refused.with({reason}).inc();
  };
  // Before check_tx: an application never sees what the pool could not hold anyway.
  if (auto sized = mempool_.check_size(tx); !sized) {
    refused(sized.error().code == Errc::too_large ? "too_large" : "empty");
    result.error = sized.error();
    return result;
  }
  if (auto committed = tx_index_.find(result.id)) {
    refused("committed");
    result.committed = std::move(committed);
    return result;
  }
  // A repeat needs no check_tx: the pool has it.
  if (mempool_.contains(tx)) {
    refused("duplicate");
    result.error = make_error(Errc::duplicate, "the transaction is in the mempool already");
    return result;
  }
  CheckTxResult checked = app_.check_tx(tx, CheckTxKind::fresh);
  if (!checked.ok()) {
    result.refused = std::move(checked);
    refused("application");
    return result;
  }
  // check_tx ran unlocked (it may be slow): a block may have committed the transaction
  // meanwhile. Asked again under the lock that commits take.
  const std::lock_guard lock(admission_mutex_);
  if (auto committed = tx_index_.find(result.id)) {
    refused("committed");
    result.committed = std::move(committed);
    return result;
  }
  auto added = mempool_.add(std::move(tx), result.id);
  if (!added) {
    refused(added.error().code == Errc::duplicate ? "duplicate" : "full");
    result.error = added.error();
  }
  return result;
}

codec::Digest Blockchain::app_hash() const {
  const std::lock_guard lock(app_hash_mutex_);
  return published_app_hash_;
}

}  // namespace bft::node
