// The decided blocks of a node, durable and append-only: what block sync serves to
// peers and what the key-value store is rebuilt from on start.
//
// One file, `blocks.log`, in the store's directory, a sequence of the WAL's CRC32C frames
// (wal::append_frame), one per height from 1 on, each holding
//
//   record = u8 version (1)  u64 height  u64 decided_unix_ms  u32 commit_ms
//            u32 value_length  value  u32 certificate_length  certificate   (little-endian)
//
// append() writes a record and fdatasyncs it before returning, so a block the node has
// moved past survives SIGKILL and power loss. Only the last append can be torn: open()
// cuts a damaged end off (and reports it) when no intact frame follows the damage; damage
// followed by an intact frame is corruption (corrupt_log), never skipped. The file is
// locked (flock) while open, so two processes cannot append to the same store.
//
// Memory holds one file offset per height; values and certificates are read back from
// the file (and their checksum checked again) on get() and iteration.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bft/bytes.hpp"
#include "bft/result.hpp"
#include "bft/types.hpp"

namespace bft::node {

struct BlockMeta {
  std::uint64_t decided_unix_ms = 0;
  /// How long the height took to commit, as the node measured it.
  std::uint32_t commit_ms = 0;
  friend bool operator==(const BlockMeta&, const BlockMeta&) = default;
};

struct Block {
  Height height = 0;
  Value value;
  /// codec::encode(QuorumCertificate) of the commit; opaque to the store.
  Bytes certificate;
  BlockMeta meta;
  friend bool operator==(const Block&, const Block&) = default;
};

struct BlockStoreOptions {
  /// Records above this size are refused on append and treated as damage on read.
  std::size_t max_record_size = std::size_t{64} << 20;
};

/// What open() found and repaired.
struct BlockStoreRecovery {
  Height blocks = 0;
  bool repaired = false;
  std::uint64_t repaired_at = 0;  // file offset of the cut
  std::uint64_t bytes_removed = 0;
  std::string reason;
};

/// Move-only. One thread appends; any thread may read (tip, get, for_each_from,
/// read_range) at the same time, so clients can be served off the node's thread.
class BlockStore {
 public:
  inline static const std::string file_name = "blocks.log";

  /// Opens (creating the directory and file if missing), reads every record, cuts a torn
  /// tail durably. Errors: corrupt_log (damage in the middle, a record that does not parse
  /// or has the wrong height), io_error (including a store another process holds open),
  /// invalid_argument (bad options).
  static Result<BlockStore> open(const std::string& directory, BlockStoreOptions options = {});

  BlockStore(BlockStore&&) noexcept;
  BlockStore& operator=(BlockStore&&) noexcept;
  ~BlockStore();

  /// Appends the block of height tip() + 1 (else invalid_argument) and makes it durable.
  /// too_large above max_record_size. After an io_error the store refuses every later
  /// append: what reached the disk is unknown until the next open().
  Result<void> append(const Block& block);

  /// The highest stored height; 0 when empty.
  Height tip() const noexcept;
  /// nullopt for heights not stored (0 or above tip()); io_error or corrupt_log if the
  /// record cannot be read back intact.
  Result<std::optional<Block>> get(Height height) const;
  /// Calls `visit` for heights from..tip() in order, stopping at the first error (its own
  /// or `visit`'s), which it returns. For replaying into the application on start.
  Result<void> for_each_from(Height from, const std::function<Result<void>(const Block&)>& visit) const;
  /// Blocks from `from` on, at most `max_blocks` of them and, beyond the first, as long
  /// as their values and certificates add up to at most `max_bytes`. For block sync.
  Result<std::vector<Block>> read_range(Height from, std::size_t max_blocks, std::size_t max_bytes) const;

  const BlockStoreRecovery& recovery() const noexcept;
  const std::string& path() const noexcept;

 private:
  struct State;
  explicit BlockStore(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace bft::node
