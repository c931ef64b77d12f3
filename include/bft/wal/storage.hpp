// Where the WAL's bytes live: a directory of append-only files behind a small interface,
// so that tests and the simulator use an in-memory disk that models "written but not
// synced" exactly, and a node uses POSIX files (open / write / fdatasync).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bft/bytes.hpp"
#include "bft/result.hpp"

namespace bft::wal {

/// One append-only file. Every call reports failure as a value (io_error with the
/// system's reason); after a failed write or sync the file's durable content is unknown
/// and the caller must stop using it (see docs/WAL.md, "fsync failures").
class LogFile {
 public:
  virtual ~LogFile() = default;
  /// Writes all of `bytes` at the end (not yet durable).
  virtual Result<void> append(std::span<const std::uint8_t> bytes) = 0;
  /// Makes everything appended so far durable (fdatasync).
  virtual Result<void> sync() = 0;
  /// The whole content as written so far.
  virtual Result<Bytes> read_all() = 0;
  /// Cuts the file to `size` bytes and makes the cut durable.
  virtual Result<void> truncate(std::uint64_t size) = 0;
  /// Makes the `bytes` bytes past the end exist as written zeros, durably, without moving
  /// the end: appends then overwrite blocks that exist, and their fdatasync has no file
  /// size to commit to the file system's journal (on ext4, a flush instead of a journal
  /// commit and a flush). read_all() returns the zeros too; truncate() to the content
  /// cuts them. A hint: the in-memory disk ignores it.
  virtual Result<void> preallocate(std::uint64_t bytes) {
    (void)bytes;
    return {};
  }
};

/// A flat directory of log files.
class Storage {
 public:
  virtual ~Storage() = default;
  /// File names, sorted.
  virtual Result<std::vector<std::string>> list() = 0;
  /// Opens a file for appending, creating it (empty) if `create` and it does not exist.
  virtual Result<std::unique_ptr<LogFile>> open(std::string_view name, bool create) = 0;
  virtual Result<void> remove(std::string_view name) = 0;
  /// Makes the directory's entries (created and removed files) durable.
  virtual Result<void> sync_directory() = 0;
};

/// POSIX files in `directory` (created if missing): write(2) with EINTR and short writes
/// handled, fdatasync(2), ftruncate(2), and fsync of the directory.
Result<std::unique_ptr<Storage>> open_directory(const std::string& directory);

/// An in-memory disk that keeps, per file, what was written and what of it is durable.
/// crash() loses everything not synced (optionally keeping a torn prefix of it), exactly
/// and deterministically. fail_after_writes(k) models a crash in the middle of the
/// program: the k-th next append writes only part of its bytes, then the disk crashes and
/// every later call fails until restart(), which keeps what was written up to and
/// including the torn part (the OS had flushed it) and drops unsynced bytes elsewhere.
class MemoryStorage final : public Storage {
 public:
  struct File {
    Bytes data;
    std::size_t synced = 0;     // bytes of `data` that are durable
    bool entry_durable = false; // the directory entry survives a crash
    std::size_t survives = 0;   // a crash keeps at least this much (set by a torn write)
  };

  Result<std::vector<std::string>> list() override;
  Result<std::unique_ptr<LogFile>> open(std::string_view name, bool create) override;
  Result<void> remove(std::string_view name) override;
  Result<void> sync_directory() override;

  /// Power loss: unsynced bytes are dropped, but `torn_bytes` of each file's unsynced
  /// tail survive (a torn write), and files whose entry was never synced disappear.
  void crash(std::size_t torn_bytes = 0);
  /// After fail_after_writes triggered: the node comes back up (content as crash()).
  void restart(std::size_t torn_bytes = 0) { crash(torn_bytes); }
  /// Arms a crash at the `writes`-th next append (1 = the next one), of which only
  /// `torn_bytes` bytes reach the disk; nullopt disarms.
  void fail_after_writes(std::optional<std::uint64_t> writes, std::size_t torn_bytes = 0);
  /// Arms a failed fsync: the next sync() of any file returns io_error, makes nothing
  /// durable and crashes the disk, as after fsync reported an error (what was written
  /// since the last good sync is then of unknown durability: restart() drops it).
  void fail_next_sync() noexcept { fail_sync_ = true; }
  bool crashed() const noexcept { return crashed_; }

  std::uint64_t appends() const noexcept { return appends_; }
  std::uint64_t syncs() const noexcept { return syncs_; }
  /// Direct access for tests (e.g. to corrupt a byte).
  std::map<std::string, File>& files() noexcept { return files_; }

 private:
  friend class MemoryFile;
  Result<void> check() const;

  std::map<std::string, File> files_;
  std::optional<std::uint64_t> fail_in_;
  std::size_t fail_torn_ = 0;
  bool fail_sync_ = false;
  bool crashed_ = false;
  std::uint64_t appends_ = 0;
  std::uint64_t syncs_ = 0;
};

}  // namespace bft::wal
