// The block store on LevelDB: the encodings of records and bookkeeping, and the mapping
// of LevelDB's statuses to Errc (Corruption → corrupt_log, every other failure → io_error).
#include "bft/node/block_store.hpp"

#include <leveldb/cache.h>
#include <leveldb/db.h>
#include <leveldb/write_batch.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <span>

#include "bft/wal/crc32c.hpp"

namespace bft::node {

namespace {

constexpr std::uint8_t store_format = 1;
constexpr std::uint8_t record_version = 2;
constexpr std::uint8_t record_version_without_results = 1;
constexpr char block_prefix = 'b';
constexpr char change_prefix = 'v';
constexpr std::uint8_t change_version = 1;
const std::string bookkeeping_key = "m";
const std::string old_format_file = "blocks.log";

/// version, height, decided_unix_ms, commit_ms, app_hash, certificate_length; then the
/// certificate, the results (version 2) and the CRC.
constexpr std::size_t record_fields_size = 1 + 8 + 8 + 4 + std::tuple_size_v<codec::Digest> + 4;
constexpr std::size_t crc_size = 4;
constexpr std::size_t bookkeeping_size = 1 + 8 + 8 + crc_size;
constexpr std::size_t block_key_size = 1 + 8;
constexpr std::size_t results_header_size = 4 + 4;
constexpr std::size_t listed_result_size = 4 + 4 + 4;  // index, code, log length

/// Each open table keeps its index block in memory; this bounds how many are open.
constexpr int max_open_tables = 256;

void put_le(std::uint64_t v, std::size_t width, std::string& out) {
  for (std::size_t i = 0; i < width; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
}

std::uint64_t load_le(const char* p, std::size_t width) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < width; ++i) v |= std::uint64_t{static_cast<std::uint8_t>(p[i])} << (8 * i);
  return v;
}

std::uint32_t crc_of(const char* p, std::size_t size) {
  return wal::crc32c(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(p), size));
}

void put_crc(std::string& out) { put_le(crc_of(out.data(), out.size()), crc_size, out); }

bool crc_matches(const leveldb::Slice& bytes) {
  const std::size_t covered = bytes.size() - crc_size;
  return crc_of(bytes.data(), covered) == load_le(bytes.data() + covered, crc_size);
}

/// Big-endian, so that LevelDB's bytewise order is height order.
std::string height_key(char prefix, Height height) {
  std::string key(1, prefix);
  for (int shift = 56; shift >= 0; shift -= 8) key.push_back(static_cast<char>(height >> shift));
  return key;
}

std::string block_key(Height height) { return height_key(block_prefix, height); }

std::optional<Height> height_of_key(const leveldb::Slice& key) {
  if (key.size() != block_key_size || key[0] != block_prefix) return std::nullopt;
  Height height = 0;
  for (std::size_t i = 1; i < block_key_size; ++i) height = (height << 8) | static_cast<std::uint8_t>(key[i]);
  return height;
}

/// `with_logs` false keeps the results' codes only: for a block whose logs would not fit.
std::string encode_record(const StoredBlock& block, bool with_logs) {
  std::string out;
  out.reserve(record_fields_size + block.certificate.size() + results_header_size + crc_size);
  out.push_back(static_cast<char>(record_version));
  put_le(block.height, 8, out);
  put_le(block.meta.decided_unix_ms, 8, out);
  put_le(block.meta.commit_ms, 4, out);
  out.append(reinterpret_cast<const char*>(block.app_hash.data()), block.app_hash.size());
  put_le(block.certificate.size(), 4, out);
  out.append(reinterpret_cast<const char*>(block.certificate.data()), block.certificate.size());
  const std::size_t count = block.tx_results ? block.tx_results->size() : 0;
  put_le(count, 4, out);
  const std::size_t listed_at = out.size();
  put_le(0, 4, out);
  std::uint32_t listed = 0;
  for (std::size_t i = 0; i < count; ++i) {
    const TxResult& result = (*block.tx_results)[i];
    const std::string_view log = with_logs ? std::string_view(result.log) : std::string_view();
    if (result.code == code_ok && log.empty()) continue;
    ++listed;
    put_le(i, 4, out);
    put_le(result.code, 4, out);
    put_le(log.size(), 4, out);
    out.append(log);
  }
  for (std::size_t i = 0; i < 4; ++i) out[listed_at + i] = static_cast<char>(listed >> (8 * i));
  put_crc(out);
  return out;
}

/// The results in `bytes` (between the certificate and the CRC); else why they are damage.
Result<std::vector<TxResult>> decode_results(std::span<const char> bytes, std::size_t certificate_size) {
  const auto bad = [](const std::string& why) { return make_error(Errc::corrupt_log, "results: " + why); };
  if (bytes.size() < results_header_size) return bad("shorter than their counts");
  const std::uint64_t tx_count = load_le(bytes.data(), 4);
  const std::uint64_t listed = load_le(bytes.data() + 4, 4);
  // Every transaction takes bytes in the certificate's block; every listed result here.
  if (tx_count > certificate_size) return bad("more results than the block can hold");
  if (listed > tx_count || listed > (bytes.size() - results_header_size) / listed_result_size)
    return bad("more listed results than the record holds");
  std::vector<TxResult> results(tx_count);
  std::size_t at = results_header_size;
  std::uint64_t next_index = 0;
  for (std::uint64_t i = 0; i < listed; ++i) {
    if (bytes.size() - at < listed_result_size) return bad("cut short");
    const std::uint64_t index = load_le(bytes.data() + at, 4);
    if (index < next_index || index >= tx_count) return bad("a result index out of order or range");
    next_index = index + 1;
    TxResult& result = results[index];
    result.code = static_cast<std::uint32_t>(load_le(bytes.data() + at + 4, 4));
    const std::uint64_t log_size = load_le(bytes.data() + at + 8, 4);
    at += listed_result_size;
    if (bytes.size() - at < log_size) return bad("cut short");
    result.log.assign(bytes.data() + at, log_size);
    at += log_size;
  }
  if (at != bytes.size()) return bad("bytes after the last result");
  return results;
}

/// The block in `bytes`, which the key of `height` held; else why it is damage.
Result<StoredBlock> decode_record(const leveldb::Slice& bytes, Height height, std::size_t max_record_size) {
  const auto bad = [](const std::string& why) { return make_error(Errc::corrupt_log, why); };
  if (bytes.size() > max_record_size)
    return bad("record of " + std::to_string(bytes.size()) + " bytes, above max_record_size");
  if (bytes.size() < record_fields_size + crc_size) return bad("record shorter than its fixed fields");
  if (!crc_matches(bytes)) return bad("record checksum mismatch");
  const char* p = bytes.data();
  const std::uint8_t version = static_cast<std::uint8_t>(p[0]);
  if (version != record_version && version != record_version_without_results)
    return bad("unknown record version " + std::to_string(version));
  StoredBlock block;
  block.height = load_le(p + 1, 8);
  if (block.height != height) return bad("record holds height " + std::to_string(block.height));
  block.meta.decided_unix_ms = load_le(p + 9, 8);
  block.meta.commit_ms = static_cast<std::uint32_t>(load_le(p + 17, 4));
  std::copy_n(reinterpret_cast<const std::uint8_t*>(p + 21), block.app_hash.size(), block.app_hash.begin());
  const std::uint64_t certificate_size = load_le(p + record_fields_size - 4, 4);
  const std::size_t after_fields = bytes.size() - record_fields_size - crc_size;
  if (version == record_version_without_results ? certificate_size != after_fields : certificate_size > after_fields)
    return bad("certificate length does not fit the record");
  const auto* certificate = reinterpret_cast<const std::uint8_t*>(p + record_fields_size);
  block.certificate.assign(certificate, certificate + certificate_size);
  if (version == record_version) {
    auto results = decode_results(
        std::span<const char>(p + record_fields_size + certificate_size, after_fields - certificate_size),
        certificate_size);
    if (!results) return bad(results.error().message);
    block.tx_results = std::move(*results);
  } else {
    block.tx_results.reset();
  }
  return block;
}

constexpr std::size_t change_fields_size = 1 + 8 + 4;
constexpr std::size_t change_entry_size = std::tuple_size_v<crypto::PublicKey> + 8;

std::string encode_change(const ValidatorSetChange& change) {
  std::string out;
  out.reserve(change_fields_size + change.validators.size() * change_entry_size + crc_size);
  out.push_back(static_cast<char>(change_version));
  put_le(change.height, 8, out);
  put_le(change.validators.size(), 4, out);
  for (const ValidatorKey& validator : change.validators) {
    out.append(reinterpret_cast<const char*>(validator.key.data()), validator.key.size());
    put_le(validator.power, 8, out);
  }
  put_crc(out);
  return out;
}

Result<ValidatorSetChange> decode_change(const leveldb::Slice& key, const leveldb::Slice& bytes) {
  const auto bad = [](const std::string& why) { return make_error(Errc::corrupt_log, "validator set change: " + why); };
  if (bytes.size() < change_fields_size + crc_size || !crc_matches(bytes)) return bad("damaged (length or checksum)");
  const char* p = bytes.data();
  if (static_cast<std::uint8_t>(p[0]) != change_version)
    return bad("unknown version " + std::to_string(static_cast<std::uint8_t>(p[0])));
  ValidatorSetChange change;
  change.height = load_le(p + 1, 8);
  if (key != leveldb::Slice(height_key(change_prefix, change.height))) return bad("its key names another height");
  const std::uint64_t count = load_le(p + 9, 4);
  if (count * change_entry_size != bytes.size() - change_fields_size - crc_size)
    return bad("its count does not match its length");
  const char* entry = p + change_fields_size;
  for (std::uint64_t i = 0; i < count; ++i, entry += change_entry_size) {
    ValidatorKey validator;
    std::copy_n(reinterpret_cast<const std::uint8_t*>(entry), validator.key.size(), validator.key.begin());
    validator.power = load_le(entry + validator.key.size(), 8);
    change.validators.push_back(validator);
  }
  return change;
}

struct Bookkeeping {
  Height base = 0;
  Height tip = 0;
};

std::string encode_bookkeeping(Bookkeeping bookkeeping) {
  std::string out(1, static_cast<char>(store_format));
  put_le(bookkeeping.base, 8, out);
  put_le(bookkeeping.tip, 8, out);
  put_crc(out);
  return out;
}

Result<Bookkeeping> decode_bookkeeping(const leveldb::Slice& bytes, const std::string& directory) {
  const std::string where = directory + ": bookkeeping key: ";
  if (!bytes.empty() && static_cast<std::uint8_t>(bytes[0]) != store_format)
    return make_error(Errc::unsupported_version,
                      where + "store format " + std::to_string(static_cast<std::uint8_t>(bytes[0])) +
                          ", this build reads format " + std::to_string(store_format));
  if (bytes.size() != bookkeeping_size || !crc_matches(bytes))
    return make_error(Errc::corrupt_log, where + "damaged (length or checksum)");
  const Bookkeeping bookkeeping{load_le(bytes.data() + 1, 8), load_le(bytes.data() + 9, 8)};
  if (bookkeeping.base > bookkeeping.tip || (bookkeeping.base == 0) != (bookkeeping.tip == 0))
    return make_error(Errc::corrupt_log, where + "base " + std::to_string(bookkeeping.base) + " and tip " +
                                             std::to_string(bookkeeping.tip) + " do not make a range");
  return bookkeeping;
}

Error leveldb_error(const leveldb::Status& status, const std::string& what) {
  return make_error(status.IsCorruption() ? Errc::corrupt_log : Errc::io_error, what + ": " + status.ToString());
}

}  // namespace

struct BlockStore::State {
  std::string directory;
  BlockStoreOptions options;
  // Declared before the database, so destroyed after it: LevelDB uses it until closed.
  std::unique_ptr<leveldb::Cache> cache;
  std::unique_ptr<leveldb::DB> db;
  std::atomic<Height> base{0};
  std::atomic<Height> tip{0};
  std::atomic<std::uint64_t> bytes_written{0};
  std::string failure;  // the writing thread's alone: set after a failed write, refuses more

  std::string where(Height height) const { return directory + ": height " + std::to_string(height); }

  static leveldb::ReadOptions read_options() {
    leveldb::ReadOptions options;
    options.verify_checksums = true;
    return options;
  }

  Result<void> refuse_after_failure() const {
    if (failure.empty()) return {};
    return make_error(Errc::io_error, directory + ": an earlier write failed (" + failure + "); reopen the store");
  }
};

BlockStore::BlockStore(std::unique_ptr<State> state) : state_(std::move(state)) {}
BlockStore::BlockStore(BlockStore&&) noexcept = default;
BlockStore& BlockStore::operator=(BlockStore&&) noexcept = default;
BlockStore::~BlockStore() = default;

Result<BlockStore> BlockStore::open(const std::string& directory, BlockStoreOptions options) {
  if (options.max_record_size < record_fields_size + results_header_size + crc_size ||
      options.max_record_size > 0xFFFFFFFFu)
    return make_error(Errc::invalid_argument, "block store: max_record_size must be in [" +
                                                  std::to_string(record_fields_size + results_header_size + crc_size) +
                                                  ", 2^32)");
  if (options.max_prune_per_call == 0)
    return make_error(Errc::invalid_argument, "block store: max_prune_per_call must be at least 1");
  std::error_code ec;
  if (std::filesystem::exists(std::filesystem::path(directory) / old_format_file, ec))
    return make_error(Errc::invalid_argument,
                      directory + " holds " + old_format_file +
                          ": the data directory is from an older bftcore format, which this build does not read; "
                          "move it away (or sync the node into a new data directory)");

  auto state = std::make_unique<State>();
  state->directory = directory;
  state->options = options;
  state->cache.reset(leveldb::NewLRUCache(options.cache_bytes));
  leveldb::Options db_options;
  db_options.create_if_missing = true;
  db_options.paranoid_checks = true;
  if (options.env != nullptr) db_options.env = options.env;
  db_options.block_cache = state->cache.get();
  db_options.write_buffer_size = options.write_buffer_bytes;
  db_options.max_open_files = max_open_tables;
  leveldb::DB* db = nullptr;
  const leveldb::Status opened = leveldb::DB::Open(db_options, directory, &db);
  if (!opened.ok()) {
    const std::string message = opened.ToString();
    if (opened.IsIOError() && message.find("/LOCK") != std::string::npos)
      return make_error(Errc::io_error, "block store " + directory +
                                            " is already open (by this process or another node process): " + message);
    return leveldb_error(opened, "block store " + directory);
  }
  state->db.reset(db);

  std::string value;
  const leveldb::Status read = db->Get(State::read_options(), bookkeeping_key, &value);
  if (read.IsNotFound()) return BlockStore(std::move(state));  // never written
  if (!read.ok()) return leveldb_error(read, directory + ": bookkeeping key");
  auto bookkeeping = decode_bookkeeping(value, directory);
  if (!bookkeeping) return bookkeeping.error();
  state->base.store(bookkeeping->base);
  state->tip.store(bookkeeping->tip);
  return BlockStore(std::move(state));
}

Result<void> BlockStore::append(const StoredBlock& block, const std::optional<ValidatorSetChange>& change) {
  State& s = *state_;
  if (auto ok = s.refuse_after_failure(); !ok) return ok;
  const Height old_tip = tip();
  if (block.height != old_tip + 1)
    return make_error(Errc::invalid_argument, s.directory + ": append of height " + std::to_string(block.height) +
                                                  ", expected " + std::to_string(old_tip + 1));
  if (change && change->height != block.height + 2)
    return make_error(Errc::invalid_argument, s.where(block.height) + ": a validator set change from height " +
                                                  std::to_string(change->height) + ", expected " +
                                                  std::to_string(block.height + 2));
  std::string record = encode_record(block, true);
  // The logs are the application's to size: a block never fails to store for them.
  if (record.size() > s.options.max_record_size) record = encode_record(block, false);
  if (record.size() > s.options.max_record_size)
    return make_error(Errc::too_large, s.where(block.height) + ": record of " + std::to_string(record.size()) +
                                           " bytes (limit " + std::to_string(s.options.max_record_size) + ")");
  const Height new_base = old_tip == 0 ? block.height : base();
  leveldb::WriteBatch batch;
  batch.Put(block_key(block.height), record);
  if (change) batch.Put(height_key(change_prefix, change->height), encode_change(*change));
  batch.Put(bookkeeping_key, encode_bookkeeping({new_base, block.height}));
  leveldb::WriteOptions write_options;
  write_options.sync = true;
  if (const leveldb::Status status = s.db->Write(write_options, &batch); !status.ok()) {
    s.failure = status.ToString();
    return leveldb_error(status, s.where(block.height) + ": append");
  }
  s.base.store(new_base, std::memory_order_release);
  s.tip.store(block.height, std::memory_order_release);
  s.bytes_written.fetch_add(record.size(), std::memory_order_relaxed);
  return {};
}

Result<Height> BlockStore::prune_below(Height retain_height) {
  State& s = *state_;
  if (auto ok = s.refuse_after_failure(); !ok) return ok.error();
  const Height old_base = base();
  const Height top = tip();
  const Height end = std::min(retain_height, top);
  if (old_base == 0 || end <= old_base) return Height{0};
  const Height count = std::min<Height>(end - old_base, s.options.max_prune_per_call);
  const Height new_base = old_base + count;
  leveldb::WriteBatch batch;
  for (Height h = old_base; h < new_base; ++h) batch.Delete(block_key(h));
  batch.Put(bookkeeping_key, encode_bookkeeping({new_base, top}));
  // Readers take a record missing below base for pruned: raise base before it goes.
  s.base.store(new_base, std::memory_order_release);
  // Not synced: losing a prune to a crash only keeps blocks longer, and LevelDB's log is
  // sequential, so the next (synced) append makes it durable too.
  if (const leveldb::Status status = s.db->Write(leveldb::WriteOptions{}, &batch); !status.ok()) {
    s.base.store(old_base, std::memory_order_release);
    s.failure = status.ToString();
    return leveldb_error(status, s.directory + ": prune of heights [" + std::to_string(old_base) + ", " +
                                     std::to_string(new_base) + ")");
  }
  return count;
}

Height BlockStore::base() const noexcept { return state_->base.load(std::memory_order_acquire); }
Height BlockStore::tip() const noexcept { return state_->tip.load(std::memory_order_acquire); }

Result<std::optional<StoredBlock>> BlockStore::get(Height height) const {
  const State& s = *state_;
  if (height == 0 || height < base() || height > tip()) return std::optional<StoredBlock>{};
  std::string value;
  const leveldb::Status status = s.db->Get(State::read_options(), block_key(height), &value);
  if (status.IsNotFound()) {
    if (height < base()) return std::optional<StoredBlock>{};  // pruned since the check above
    return make_error(Errc::corrupt_log, s.where(height) + ": record missing, though inside [base, tip]");
  }
  if (!status.ok()) return leveldb_error(status, s.where(height));
  auto block = decode_record(value, height, s.options.max_record_size);
  if (!block) return make_error(Errc::corrupt_log, s.where(height) + ": " + block.error().message);
  return std::optional<StoredBlock>(std::move(*block));
}

Result<std::vector<StoredBlock>> BlockStore::read_range(Height from, std::size_t max_blocks,
                                                        std::size_t max_bytes) const {
  const State& s = *state_;
  std::vector<StoredBlock> blocks;
  if (max_blocks == 0) return blocks;
  leveldb::ReadOptions options = State::read_options();
  options.fill_cache = false;  // a peer syncing old blocks should not evict the recent ones
  // An iterator reads one snapshot, so the bookkeeping it finds matches its records even
  // while a prune deletes them.
  const std::unique_ptr<leveldb::Iterator> it(s.db->NewIterator(options));
  it->Seek(bookkeeping_key);
  if (!it->Valid() || it->key() != leveldb::Slice(bookkeeping_key)) {
    if (!it->status().ok()) return leveldb_error(it->status(), s.directory + ": bookkeeping key");
    return blocks;  // never written
  }
  auto bookkeeping = decode_bookkeeping(it->value(), s.directory);
  if (!bookkeeping) return bookkeeping.error();
  std::size_t bytes = 0;
  Height height = std::max(from, bookkeeping->base);
  for (it->Seek(block_key(height)); height <= bookkeeping->tip && blocks.size() < max_blocks; it->Next(), ++height) {
    if (!it->Valid()) {
      if (!it->status().ok()) return leveldb_error(it->status(), s.where(height));
      return make_error(Errc::corrupt_log, s.where(height) + ": record missing, though inside [base, tip]");
    }
    if (height_of_key(it->key()) != height)
      return make_error(Errc::corrupt_log, s.where(height) + ": record missing, though inside [base, tip]");
    auto block = decode_record(it->value(), height, s.options.max_record_size);
    if (!block) return make_error(Errc::corrupt_log, s.where(height) + ": " + block.error().message);
    bytes += block->certificate.size();
    if (!blocks.empty() && bytes > max_bytes) break;
    blocks.push_back(std::move(*block));
  }
  return blocks;
}

Result<std::vector<ValidatorSetChange>> BlockStore::validator_changes() const {
  const State& s = *state_;
  std::vector<ValidatorSetChange> changes;
  const std::unique_ptr<leveldb::Iterator> it(s.db->NewIterator(State::read_options()));
  for (it->Seek(std::string(1, change_prefix)); it->Valid() && it->key().starts_with(std::string(1, change_prefix));
       it->Next()) {
    auto change = decode_change(it->key(), it->value());
    if (!change) return make_error(Errc::corrupt_log, s.directory + ": " + change.error().message);
    changes.push_back(std::move(*change));
  }
  if (!it->status().ok()) return leveldb_error(it->status(), s.directory + ": validator set changes");
  return changes;
}

std::uint64_t BlockStore::bytes_written() const noexcept {
  return state_->bytes_written.load(std::memory_order_relaxed);
}
const std::string& BlockStore::directory() const noexcept { return state_->directory; }

}  // namespace bft::node
