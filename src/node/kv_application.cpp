#include "bft/node/kv_application.hpp"

#include <leveldb/cache.h>
#include <leveldb/db.h>
#include <leveldb/filter_policy.h>
#include <leveldb/write_batch.h>

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "bft/crypto/ed25519.hpp"

namespace bft::node {
namespace {

const std::string format_key = "mformat";
const std::string height_key = "mheight";
const std::string app_hash_key = "mapp_hash";
const std::string lthash_key = "mlthash";
const std::string operator_sequence_key = "moperator_sequence";
const std::string current_format = std::string(1, '\x01');
constexpr char user_prefix = 'k';
// LevelDB's default (1000) is sized for large servers; a node opens other files too.
constexpr int max_open_files = 64;
constexpr int bloom_bits_per_key = 10;

std::string user_key(std::string_view key) {
  std::string out;
  out.reserve(1 + key.size());
  out += user_prefix;
  out += key;
  return out;
}

void put_u32(std::size_t v, Bytes& out) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

/// The LtHash element of one pair: lengths first, so ("ab", "c") and ("a", "bc") differ.
Bytes pair_element(std::string_view key, std::string_view value) {
  Bytes out;
  out.reserve(8 + key.size() + value.size());
  put_u32(key.size(), out);
  out.insert(out.end(), key.begin(), key.end());
  put_u32(value.size(), out);
  out.insert(out.end(), value.begin(), value.end());
  return out;
}

/// The LtHash element of the operator sequence: a key length no pair has.
Bytes sequence_element(std::uint64_t sequence) {
  Bytes out;
  put_u32(0xffffffffu, out);
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<std::uint8_t>(sequence >> (8 * i)));
  return out;
}

std::string encode_height(Height height) {
  std::string out(8, '\0');
  for (std::size_t i = 0; i < 8; ++i) out[i] = static_cast<char>(height >> (8 * i));
  return out;
}

Height decode_height(std::string_view bytes) {
  Height height = 0;
  for (std::size_t i = 0; i < 8; ++i) height |= Height{static_cast<std::uint8_t>(bytes[i])} << (8 * i);
  return height;
}

leveldb::Slice slice_of(std::span<const std::uint8_t> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

Result<std::optional<std::string>> read_value(leveldb::DB& db, const leveldb::ReadOptions& options,
                                              const std::string& db_key) {
  std::string value;
  const leveldb::Status status = db.Get(options, db_key, &value);
  if (status.IsNotFound()) return std::optional<std::string>{};
  if (!status.ok()) return make_error(Errc::io_error, "kv: reading the state: " + status.ToString());
  return std::optional<std::string>{std::move(value)};
}

Error corrupt(const std::string& what) { return make_error(Errc::corrupt_log, "kv: corrupt bookkeeping: " + what); }

}  // namespace

KvApplication::KvApplication(std::unique_ptr<leveldb::Cache> cache, std::unique_ptr<const leveldb::FilterPolicy> filter,
                             std::unique_ptr<leveldb::DB> db, KvOptions options)
    : cache_(std::move(cache)), filter_(std::move(filter)), db_(std::move(db)), options_(options) {}

KvApplication::~KvApplication() = default;

Result<std::unique_ptr<KvApplication>> KvApplication::open(const std::string& directory, KvOptions options) {
  std::error_code ec;
  std::filesystem::create_directories(directory, ec);
  if (ec) return make_error(Errc::io_error, "kv: cannot create the directory " + directory + ": " + ec.message());

  std::unique_ptr<leveldb::Cache> cache(leveldb::NewLRUCache(options.cache_bytes));
  // Most keys a block writes are new: the filter answers "absent" without a disk read.
  std::unique_ptr<const leveldb::FilterPolicy> filter(leveldb::NewBloomFilterPolicy(bloom_bits_per_key));
  leveldb::Options db_options;
  db_options.create_if_missing = true;
  db_options.paranoid_checks = true;
  db_options.write_buffer_size = options.write_buffer_bytes;
  db_options.max_open_files = max_open_files;
  db_options.block_cache = cache.get();
  db_options.filter_policy = filter.get();
  // Keys and values are short text: compression saves little and costs CPU per write and
  // per compaction, on the machine that also votes.
  db_options.compression = leveldb::kNoCompression;
  leveldb::DB* raw_db = nullptr;
  const leveldb::Status status = leveldb::DB::Open(db_options, directory, &raw_db);
  if (!status.ok()) {
    const std::string what = status.ToString();
    const std::string message = "kv: cannot open the state in " + directory + ": " + what;
    if (status.IsCorruption()) return make_error(Errc::corrupt_log, message);
    if (what.find("/LOCK") != std::string::npos)
      return make_error(Errc::io_error, message + " (another process or application has it open)");
    return make_error(Errc::io_error, message);
  }
  std::unique_ptr<KvApplication> app(
      new KvApplication(std::move(cache), std::move(filter), std::unique_ptr<leveldb::DB>(raw_db), options));
  if (auto loaded = app->load_bookkeeping(); !loaded) return loaded.error();
  return app;
}

Result<void> KvApplication::load_bookkeeping() {
  leveldb::ReadOptions options;
  options.verify_checksums = true;
  const auto get = [&](const std::string& key) { return read_value(*db_, options, key); };

  auto format = get(format_key);
  if (!format) return format.error();
  auto height = get(height_key);
  if (!height) return height.error();
  if (!*format) {
    if (*height) return corrupt("a height without a format version");
    leveldb::WriteOptions sync;
    sync.sync = true;
    if (auto s = db_->Put(sync, format_key, current_format); !s.ok())
      return make_error(Errc::io_error, "kv: initialising the state: " + s.ToString());
  } else if (**format != current_format) {
    return make_error(Errc::unsupported_version,
                      "kv: the state's layout is not version 1, the only one this build reads");
  }

  Committed loaded;
  if (*height) {
    if ((*height)->size() != 8) return corrupt("a height of " + std::to_string((*height)->size()) + " bytes");
    auto app_hash = get(app_hash_key);
    if (!app_hash) return app_hash.error();
    if (!*app_hash || (*app_hash)->size() != loaded.app_hash.size()) return corrupt("the app hash is missing or cut");
    auto state = get(lthash_key);
    if (!state) return state.error();
    if (!*state) return corrupt("the LtHash state is missing");
    auto lthash = crypto::LtHash16::deserialize(
        std::span(reinterpret_cast<const std::uint8_t*>((*state)->data()), (*state)->size()));
    if (!lthash) return corrupt(lthash.error().message);
    loaded.height = decode_height(**height);
    std::copy((*app_hash)->begin(), (*app_hash)->end(), loaded.app_hash.begin());
    if (lthash->digest() != loaded.app_hash) return corrupt("the app hash is not the digest of the LtHash state");
    committed_lthash_ = *lthash;
    auto sequence = get(operator_sequence_key);
    if (!sequence) return sequence.error();
    if (*sequence) {
      if ((*sequence)->size() != 8) return corrupt("an operator sequence of " + std::to_string((*sequence)->size()) + " bytes");
      loaded.operator_sequence = decode_height(**sequence);
    }
  } else {
    loaded.app_hash = committed_lthash_.digest();
  }
  loaded.snapshot = take_snapshot();
  // Opening recovered LevelDB's log into synced table files: what it found is durable.
  synced_height_ = loaded.height;
  const std::lock_guard lock(committed_mutex_);
  committed_ = std::move(loaded);
  return {};
}

std::shared_ptr<const leveldb::Snapshot> KvApplication::take_snapshot() const {
  leveldb::DB* db = db_.get();
  return {db->GetSnapshot(), [db](const leveldb::Snapshot* snapshot) { db->ReleaseSnapshot(snapshot); }};
}

KvApplication::Committed KvApplication::committed() const {
  const std::lock_guard lock(committed_mutex_);
  return committed_;
}

Result<std::optional<std::string>> KvApplication::read_at(const Committed& state, std::string_view key) const {
  leveldb::ReadOptions options;
  options.snapshot = state.snapshot.get();
  return read_value(*db_, options, user_key(key));
}

Result<std::optional<std::string>> KvApplication::read_for_block(const Pending& pending, const std::string& key) const {
  if (const auto it = pending.writes.find(key); it != pending.writes.end()) return std::optional{it->second};
  // No snapshot needed: only commit(), on this same thread, writes the database.
  return read_value(*db_, leveldb::ReadOptions(), user_key(key));
}

AppInfo KvApplication::info() {
  const Committed state = committed();
  return AppInfo{state.height, state.app_hash, std::string(version)};
}

CheckTxResult KvApplication::judge(const ValidatorCommand& command, std::uint64_t sequence) const {
  if (!options_.operator_key) return {code_unauthorized, "this chain has no operator: validator commands are refused"};
  const crypto::Ed25519Verifier verifier(*options_.operator_key);
  if (!verifier.verify(validator_command_sign_bytes(options_.chain_id, command), command.signature))
    return {code_unauthorized, "not signed by the operator key (for this chain)"};
  if (command.sequence != sequence + 1)
    return {code_stale_sequence, "operator sequence " + std::to_string(command.sequence) + ", expected " +
                                     std::to_string(sequence + 1)};
  return {};
}

CheckTxResult KvApplication::check_tx(std::span<const std::uint8_t> tx, CheckTxKind) {
  if (is_validator_tx(tx)) {
    auto command = parse_validator_tx(tx);
    if (!command) return CheckTxResult{code_malformed_tx, command.error().message};
    // Commands ahead of the next sequence may wait in the pool for those before them.
    const std::uint64_t sequence = committed().operator_sequence;
    if (command->sequence <= sequence) return judge(*command, sequence);
    return judge(*command, command->sequence - 1);
  }
  // Any well-formed set is valid in every state, so a recheck has nothing new to find.
  auto command = parse_tx(tx);
  if (!command) return CheckTxResult{code_malformed_tx, command.error().message};
  return {};
}

bool KvApplication::process_proposal(const ProcessProposalRequest& request) {
  return std::all_of(request.txs.begin(), request.txs.end(), [](const Tx& tx) {
    return is_validator_tx(tx) ? parse_validator_tx(tx).ok() : parse_tx(tx).ok();
  });
}

Result<FinalizeBlockResult> KvApplication::finalize_block(const FinalizeBlockRequest& request) {
  const Committed state = committed();
  if (request.header.height != state.height + 1)
    return make_error(Errc::invalid_argument, "kv: finalize_block for height " + std::to_string(request.header.height) +
                                                  " but the committed height is " + std::to_string(state.height));
  Pending pending{request.header.height, decltype(Pending::writes)(request.txs.size(), key_hash_), committed_lthash_,
                  {}, state.operator_sequence};
  FinalizeBlockResult result;
  result.tx_results.reserve(request.txs.size());
  for (const Tx& tx : request.txs) {
    if (is_validator_tx(tx)) {
      result.tx_results.push_back(apply_validator_command(tx, pending, result.validator_updates));
      continue;
    }
    auto command = parse_tx(tx);
    if (!command) {
      // A Byzantine proposer can put it in a block; every node refuses it alike.
      result.tx_results.push_back(TxResult{code_malformed_tx, command.error().message, {}});
      continue;
    }
    auto old_value = read_for_block(pending, command->key);
    if (!old_value) return old_value.error();
    if (*old_value) pending.lthash.remove(pair_element(command->key, **old_value));
    pending.lthash.add(pair_element(command->key, command->value));
    pending.writes.insert_or_assign(std::move(command->key), std::move(command->value));
    result.tx_results.emplace_back();
  }
  pending.app_hash = pending.lthash.digest();
  result.app_hash = pending.app_hash;
  pending_ = std::move(pending);
  return result;
}

TxResult KvApplication::apply_validator_command(const Tx& tx, Pending& pending,
                                               std::vector<ValidatorUpdate>& updates) const {
  auto command = parse_validator_tx(tx);
  // A Byzantine proposer can put anything in a block; every node judges it alike.
  if (!command) return TxResult{code_malformed_tx, command.error().message, {}};
  if (const CheckTxResult judged = judge(*command, pending.operator_sequence); !judged.ok())
    return TxResult{judged.code, judged.log, {}};
  if (pending.operator_sequence > 0) pending.lthash.remove(sequence_element(pending.operator_sequence));
  pending.operator_sequence = command->sequence;
  pending.lthash.add(sequence_element(pending.operator_sequence));
  const auto same_key = std::find_if(updates.begin(), updates.end(), [&](const ValidatorUpdate& update) {
    return update.public_key == command->public_key;
  });
  if (same_key != updates.end())
    same_key->power = command->power;
  else
    updates.push_back({command->public_key, command->power});
  return TxResult{code_ok, "validator update: in force two heights after this block unless the engine refuses it", {}};
}

Result<CommitResult> KvApplication::commit() {
  if (!pending_) return make_error(Errc::invalid_argument, "kv: commit without a finalized block");
  leveldb::WriteBatch batch;
  for (const auto& [key, value] : pending_->writes) batch.Put(user_key(key), value);
  batch.Put(height_key, encode_height(pending_->height));
  batch.Put(app_hash_key, slice_of(pending_->app_hash));
  const auto lthash_state = pending_->lthash.serialize();
  batch.Put(lthash_key, slice_of(lthash_state));
  batch.Put(operator_sequence_key, encode_height(pending_->operator_sequence));
  leveldb::WriteOptions write;
  write.sync = pending_->height >= synced_height_ + std::max<Height>(options_.sync_every_blocks, 1);
  if (const leveldb::Status status = db_->Write(write, &batch); !status.ok())
    return make_error(Errc::io_error,
                      "kv: committing height " + std::to_string(pending_->height) + ": " + status.ToString());

  Committed next{pending_->height, pending_->app_hash, pending_->operator_sequence, take_snapshot()};
  {
    const std::lock_guard lock(committed_mutex_);
    std::swap(committed_, next);
  }
  committed_lthash_ = pending_->lthash;
  const Height height = pending_->height;
  if (write.sync) synced_height_ = height;
  pending_.reset();

  CommitResult result;
  if (options_.keep_blocks > 0 && height + 1 > options_.keep_blocks)
    result.retain_height = std::min(height + 1 - options_.keep_blocks, synced_height_ + 1);
  return result;
}

QueryResult KvApplication::query(const QueryRequest& request) {
  if (request.path == operator_sequence_path) {
    const Committed state = committed();
    const std::string sequence = std::to_string(state.operator_sequence);
    return QueryResult{code_ok, {}, Bytes(sequence.begin(), sequence.end()), state.height};
  }
  if (request.path != query_path) {
    const std::string log = "unknown path '" + request.path + "' (known: " + std::string(query_path) + ", " +
                            std::string(operator_sequence_path) + ")";
    return QueryResult{code_unknown_path, log, {}, committed().height};
  }
  // The snapshot and the height come together: the answer is the state at that height
  // even if a commit lands meanwhile.
  const Committed state = committed();
  if (request.height != 0 && request.height != state.height)
    return QueryResult{code_unknown_height, "only the latest height, " + std::to_string(state.height) + ", is kept",
                       {}, state.height};
  const std::string_view key(reinterpret_cast<const char*>(request.data.data()), request.data.size());
  auto value = read_at(state, key);
  if (!value) return QueryResult{code_read_failed, value.error().message, {}, state.height};
  if (!*value) return QueryResult{code_not_found, "not found", {}, state.height};
  return QueryResult{code_ok, {}, Bytes((*value)->begin(), (*value)->end()), state.height};
}

std::optional<std::string> KvApplication::get(std::string_view key) const {
  auto value = read_at(committed(), key);
  if (!value) return std::nullopt;
  return std::move(*value);
}

}  // namespace bft::node
