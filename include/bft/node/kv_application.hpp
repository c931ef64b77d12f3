// The key-value demo application: transactions `set <key> <value>` (kv.hpp), state in
// LevelDB, an app hash that is a function of the key-value pairs (and the operator
// sequence) alone. Signed operator commands (`validator ...`, kv.hpp) change the
// validator set through finalize_block's validator updates.
//
// LevelDB layout (one database in the application's directory):
//   'k' key            -> value                      every key-value pair
//   'm' "format"       -> u8 1                       the layout version, written on creation
//   'm' "height"       -> u64 LE                     the last committed height
//   'm' "app_hash"     -> 32 bytes                   the app hash at that height
//   'm' "lthash"       -> 2048 bytes                 the LtHash16 state it is the digest of
//   'm' "operator_sequence" -> u64 LE                the last operator command applied (absent: 0)
// User keys are stored under 'k' and bookkeeping under 'm', so no key can overwrite the
// bookkeeping. commit() writes a block's pairs and the three bookkeeping values in one
// WriteBatch: after a crash the database is at one committed height or another, never in
// between, and open() reads the four 'm' keys and nothing else.
//
// Durability: every batch reaches the operating system before commit() returns (a killed
// process loses nothing), but only every KvOptions::sync_every_blocks-th is fsynced. The
// engine already holds every block durably before it calls commit(), so after a machine
// crash the state may be some blocks behind and the start-up handshake replays them; the
// retain height never lets the engine delete a block above the last synced height. A
// sync per block would put a third fsync on every height's critical path (after the
// log's and the block store's) for nothing the replay does not give.
//
// App hash: the LtHash16 digest (crypto/lthash.hpp) of the set of pairs, each element
// being u32 LE key length, key, u32 LE value length, value. The hash is updated per write
// (remove the old pair, add the new one), so a block costs O(its transactions) however
// large the state, and two nodes holding the same pairs have the same app hash whatever
// blocks led there. The empty state's app hash is the digest of the empty LtHash. An
// operator sequence above 0 is one more element, u32 LE 0xffffffff then u64 LE sequence
// (no pair has a key that long).
//
// Memory: nothing per key beyond the pending block's writes; reads go to LevelDB (its
// block cache is bounded by KvOptions::cache_bytes).
//
// Threads, as application.hpp states: the consensus calls come one at a time from one
// thread and own the pending block; check_tx only parses; query and get read a LevelDB
// snapshot of the committed state, taken together with its height under a mutex that
// commit() holds only to swap them, never across a disk write.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "bft/crypto/keyed_hash.hpp"
#include "bft/crypto/lthash.hpp"
#include "bft/node/application.hpp"
#include "bft/node/kv.hpp"
#include "bft/result.hpp"

namespace leveldb {
class Cache;
class DB;
class FilterPolicy;
class Snapshot;
}  // namespace leveldb

namespace bft::node {

struct KvOptions {
  /// LevelDB's block cache.
  std::size_t cache_bytes = std::size_t{8} << 20;
  /// LevelDB's memtable: writes buffered before they are sorted into a table file.
  std::size_t write_buffer_bytes = std::size_t{4} << 20;
  /// 0: the engine keeps every block. N > 0: commit() lets it delete blocks below the
  /// last N, and never the blocks after the last synced height (a replay after a machine
  /// crash needs them).
  Height keep_blocks = 0;
  /// Every this many blocks, commit() fsyncs (1 or 0: every block). Bounds the blocks a
  /// restart after a machine crash replays.
  Height sync_every_blocks = 100;
  /// The key whose signed commands change the validators (kv.hpp); none: every validator
  /// command is refused (code_unauthorized).
  std::optional<crypto::PublicKey> operator_key = std::nullopt;
  /// The chain the operator's commands must name.
  std::string chain_id = {};
};

class KvApplication final : public Application {
 public:
  /// Response codes besides code_ok.
  static constexpr std::uint32_t code_malformed_tx = 1;  // check_tx, tx results
  static constexpr std::uint32_t code_not_found = 2;     // query: no such key
  static constexpr std::uint32_t code_unknown_path = 3;  // query: a path other than /kv
  static constexpr std::uint32_t code_read_failed = 4;   // query: LevelDB could not read
  static constexpr std::uint32_t code_unknown_height = 5;  // query: a height other than the latest
  static constexpr std::uint32_t code_unauthorized = 6;    // a validator command not signed by the operator
  static constexpr std::uint32_t code_stale_sequence = 7;  // a validator command whose sequence is used or skips one
  static constexpr std::string_view version = "kv-leveldb/1";
  static constexpr std::string_view query_path = "/kv";
  /// The last operator sequence applied, in decimal: the next command takes it + 1.
  static constexpr std::string_view operator_sequence_path = "/operator_sequence";

  /// Opens (creating it and its directory if need be) the state in `directory`.
  /// Errors: io_error (cannot create or open, e.g. another process or another
  /// KvApplication holds the directory), unsupported_version (another layout),
  /// corrupt_log (bookkeeping missing or inconsistent).
  static Result<std::unique_ptr<KvApplication>> open(const std::string& directory, KvOptions options = {});
  ~KvApplication() override;
  KvApplication(const KvApplication&) = delete;
  KvApplication& operator=(const KvApplication&) = delete;

  AppInfo info() override;
  /// code_malformed_tx with the parser's message if the transaction does not parse; for a
  /// validator command, code_unauthorized (not the operator's signature) and
  /// code_stale_sequence (a sequence applied already).
  CheckTxResult check_tx(std::span<const std::uint8_t> tx, CheckTxKind kind) override;
  /// Any well-formed set is valid in every state: a re-check finds nothing new. (A
  /// validator command whose sequence a block used meanwhile fails in its block.)
  bool check_depends_on_state() const override { return false; }
  /// Accepts iff every transaction parses.
  bool process_proposal(const ProcessProposalRequest& request) override;
  /// Applies the block on top of the committed state, in memory only: a transaction sees
  /// the writes of those before it; one that does not parse gets code_malformed_tx and
  /// changes nothing. A validator command signed by the operator with the next sequence
  /// becomes a validator update (a later one for the same key replaces it); one that is
  /// not gets code_unauthorized or code_stale_sequence. A second call before commit()
  /// starts again from the committed state. Errors: invalid_argument (height is not the
  /// committed height + 1), io_error.
  Result<FinalizeBlockResult> finalize_block(const FinalizeBlockRequest& request) override;
  /// Writes the finalized block's state in one batch (fsynced every sync_every_blocks
  /// blocks, see the top of this file). Errors: invalid_argument (no finalized block),
  /// io_error.
  Result<CommitResult> commit() override;
  /// Path "/kv", data = a key: the value, or code_not_found. operator_sequence_path: the
  /// sequence. Other paths: code_unknown_path. Reads the committed state only: a height other than 0 or the
  /// latest gets code_unknown_height.
  QueryResult query(const QueryRequest& request) override;

  /// The committed value of `key`; nullopt if there is none or it cannot be read.
  std::optional<std::string> get(std::string_view key) const;

 private:
  /// The keys a block writes are a proposer's choice: hashed under a key of this node's.
  struct KeyHash {
    crypto::KeyedHash hash;
    std::size_t operator()(const std::string& text) const noexcept { return static_cast<std::size_t>(hash(text)); }
  };
  /// The state after the last finalized, not yet committed block.
  struct Pending {
    Height height = 0;
    std::unordered_map<std::string, std::string, KeyHash> writes;
    crypto::LtHash16 lthash;
    codec::Digest app_hash{};
    std::uint64_t operator_sequence = 0;
  };

  /// What client threads read, replaced as a whole by commit().
  struct Committed {
    Height height = 0;
    codec::Digest app_hash{};
    std::uint64_t operator_sequence = 0;
    std::shared_ptr<const leveldb::Snapshot> snapshot;
  };

  KvApplication(std::unique_ptr<leveldb::Cache> cache, std::unique_ptr<const leveldb::FilterPolicy> filter,
                std::unique_ptr<leveldb::DB> db, KvOptions options);

  /// A snapshot of the database as it is now, released when its last reader drops it.
  std::shared_ptr<const leveldb::Snapshot> take_snapshot() const;
  Committed committed() const;
  Result<std::optional<std::string>> read_at(const Committed& state, std::string_view key) const;
  /// The value `key` has for the pending block: its own write, else the committed one.
  Result<std::optional<std::string>> read_for_block(const Pending& pending, const std::string& key) const;
  Result<void> load_bookkeeping();
  /// Why the operator's `command` cannot apply after `sequence`: code and log; code_ok if it can.
  CheckTxResult judge(const ValidatorCommand& command, std::uint64_t sequence) const;
  /// Applies the validator command `tx` to the pending block: its result.
  TxResult apply_validator_command(const Tx& tx, Pending& pending, std::vector<ValidatorUpdate>& updates) const;

  // Members are destroyed bottom-up: the committed snapshot is released and the database
  // closed before the cache and the filter it uses go.
  std::unique_ptr<leveldb::Cache> cache_;
  std::unique_ptr<const leveldb::FilterPolicy> filter_;
  std::unique_ptr<leveldb::DB> db_;
  KvOptions options_;

  // The consensus thread's alone.
  crypto::LtHash16 committed_lthash_;
  Height synced_height_ = 0;  // the last height fsynced (opening syncs what it finds)
  std::optional<Pending> pending_;
  const KeyHash key_hash_{};

  mutable std::mutex committed_mutex_;
  Committed committed_;
};

}  // namespace bft::node
