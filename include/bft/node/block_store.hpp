// The decided blocks of a node, durable, prunable from below: what block sync serves to
// peers and what the application is rebuilt from on start.
//
// A LevelDB database in the store's directory. Keys sort in height order:
//
//   'b' u64 height (big-endian)   → record
//   'm'                           → bookkeeping = u8 format (1)  u64 base  u64 tip  u32 crc32c
//   'v' u64 height (big-endian)   → validator set change = u8 version (1)  u64 height
//                                   u32 count  (32 public_key  u64 power){count}  u32 crc32c
//   record = u8 version (2)  u64 height  u64 decided_unix_ms  u32 commit_ms  32 app_hash
//            u32 certificate_length  certificate  results  u32 crc32c     (little-endian)
//   results = u32 tx_count  u32 listed  (u32 index  u32 code  u32 log_length  log){listed}
//             (only the results other than code 0 with no log, by increasing index: most
//             blocks list none; what GET /tx/<id> answers, not the results' data)
//
// Records of version 1 (no results) are read too.
//
// Each CRC32C covers the bytes before it; LevelDB checksums its own blocks and log as well.
//
// Guarantees:
// - append() writes the record and the new bookkeeping in one synced WriteBatch: when it
//   returns, the block survives SIGKILL and power loss, and a crash leaves either both or
//   neither. An append cut short at the end of LevelDB's log is dropped whole by its
//   recovery; a log record of full length whose checksum fails (paranoid_checks) fails
//   open() with corrupt_log instead of being skipped.
// - The heights stored are exactly [base, tip], without gaps; base and tip are 0 when empty.
// - Memory does not grow with the chain: no per-height state is kept, LevelDB's caches are
//   bounded by the options, and open() reads the bookkeeping key only.
// - A record that does not read back intact (either checksum, the height inside, the
//   encoding) is corrupt_log naming the height, never skipped.
// - LevelDB's LOCK file keeps a second opener out, in this process or another one.
// - A directory holding the older format's blocks.log is refused and left untouched.
// - A validator set change is written in the batch of the block whose updates made it,
//   and never pruned: a peer's certificates are checked against the set of their height
//   from the base on, and changes are few (one per block at most).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bft/bytes.hpp"
#include "bft/codec/hash.hpp"
#include "bft/node/application.hpp"
#include "bft/node/validators.hpp"
#include "bft/result.hpp"
#include "bft/types.hpp"

namespace leveldb {
class Env;
}

namespace bft::node {

/// Facts the node measured itself: not agreed on, not signed.
struct BlockMeta {
  std::uint64_t decided_unix_ms = 0;
  /// How long the height took to commit.
  std::uint32_t commit_ms = 0;
  friend bool operator==(const BlockMeta&, const BlockMeta&) = default;
};

struct StoredBlock {
  Height height = 0;
  /// codec::encode(QuorumCertificate) of the commit, which holds the block's value. Opaque
  /// to the store.
  Bytes certificate;
  /// The application's hash after applying this block.
  codec::Digest app_hash{};
  BlockMeta meta;
  /// What finalize_block answered for each transaction: its code and log (read back
  /// without data; without logs if they made the record exceed max_record_size). nullopt
  /// in a record of version 1, written before results were stored.
  std::optional<std::vector<TxResult>> tx_results = std::vector<TxResult>{};
  friend bool operator==(const StoredBlock&, const StoredBlock&) = default;
};

/// The validators in force from `height` on, as a block's validator updates made them.
struct ValidatorSetChange {
  Height height = 0;
  std::vector<ValidatorKey> validators;
  friend bool operator==(const ValidatorSetChange&, const ValidatorSetChange&) = default;
};

struct BlockStoreOptions {
  /// Encoded records above this are refused on append (too_large) and damage on read.
  std::size_t max_record_size = std::size_t{64} << 20;
  /// LevelDB's block cache: with the write buffer, what bounds memory whatever the chain length.
  std::size_t cache_bytes = std::size_t{8} << 20;
  /// LevelDB's memtable.
  std::size_t write_buffer_bytes = std::size_t{4} << 20;
  /// Deletions per prune_below() call, so that one call never stalls the node.
  std::size_t max_prune_per_call = 1000;
  /// Where LevelDB keeps its files: the file system when null; leveldb::NewMemEnv's
  /// memory for a simulation. Must outlive the store.
  leveldb::Env* env = nullptr;
};

/// Move-only. One thread appends and prunes; any threads may call base, tip, get and
/// read_range at the same time (clients are served off the node's thread).
class BlockStore {
 public:
  /// Opens the store in `directory`, creating it (one level) if missing. Errors:
  /// invalid_argument (bad options, or a directory of the older blocks.log format),
  /// io_error (including a store already open, here or in another process), corrupt_log
  /// (damaged bookkeeping), unsupported_version (a store written by a newer format).
  static Result<BlockStore> open(const std::string& directory, BlockStoreOptions options = {});

  BlockStore(BlockStore&&) noexcept;
  BlockStore& operator=(BlockStore&&) noexcept;
  ~BlockStore();

  /// Appends the block of height tip() + 1 (height 1 in a store never written; else
  /// invalid_argument) durably, with the validator set change its updates made (in force
  /// from height + 2; else invalid_argument) if any. too_large above max_record_size.
  /// After an io_error every later append and prune is refused: what reached the disk is
  /// known after a reopen.
  Result<void> append(const StoredBlock& block, const std::optional<ValidatorSetChange>& change = std::nullopt);

  /// Every validator set change appended, by height. corrupt_log if one is damaged.
  Result<std::vector<ValidatorSetChange>> validator_changes() const;

  /// Deletes the heights [base(), min(retain_height, tip())), never the tip, at most
  /// max_prune_per_call of them, in one batch with the new base; returns how many it
  /// deleted. Call again for the rest. Durable with the next append at the latest.
  Result<Height> prune_below(Height retain_height);

  /// The lowest stored height; 0 when empty.
  Height base() const noexcept;
  /// The highest stored height; 0 when empty.
  Height tip() const noexcept;

  /// nullopt outside [base(), tip()]; corrupt_log if the record is damaged; io_error if
  /// LevelDB cannot read it.
  Result<std::optional<StoredBlock>> get(Height height) const;
  /// The blocks from `from` (from base() if below it) to tip(): at most `max_blocks`, and
  /// beyond the first only as long as their certificates add up to at most `max_bytes`.
  /// For block sync.
  Result<std::vector<StoredBlock>> read_range(Height from, std::size_t max_blocks, std::size_t max_bytes) const;

  /// The sum of the encoded records this instance appended, for a metric.
  std::uint64_t bytes_written() const noexcept;
  const std::string& directory() const noexcept;

 private:
  struct State;
  explicit BlockStore(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace bft::node
