// The write-ahead log: an append-only sequence of CRC32C-framed records in segment files
// of WalOptions::heights_per_segment heights each, old heights pruned.
//
//   frame   = u32 length  u32 crc32c(length bytes ++ payload)  payload   (little-endian)
//   segment = frames, in a file named "<height, 20 digits>.wal"; a segment starts with the
//             StartHeight record of the height in its name.
//
// Durability (SyncPolicy): under the default `before_send`, an own proposal or vote is
// durable (written and fdatasync'd, together with every record before it) when append()
// returns, so the caller may send it; other records are buffered and written with the
// next sync (or when the buffer fills). A segment is synced before the next one is
// created, so only the newest segment can end in a torn write.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bft/result.hpp"
#include "bft/wal/record.hpp"
#include "bft/wal/storage.hpp"

namespace bft::wal {

inline constexpr std::size_t frame_header_size = 8;

enum class SyncPolicy : std::uint8_t {
  /// Default and safe: own messages are durable before append() returns; other records
  /// are batched (buffered, written and synced with the next own message, rotation,
  /// explicit sync(), or when `batch_bytes` fill up — then written but not synced).
  before_send,
  /// Every record is durable before append() returns (slow; simplest to reason about).
  every_record,
  /// UNSAFE: nothing is synced unless the caller calls sync(). A crash may lose own
  /// messages already sent, and a restarted node may then sign conflicting ones (the
  /// double-sign guard still refuses them). For benchmarks and callers that sync
  /// themselves.
  manual,
};

struct WalOptions {
  SyncPolicy sync = SyncPolicy::before_send;
  /// Heights kept besides the current one (its segment is kept too). The replay of the
  /// last height the log holds needs the messages the core buffered for it during the
  /// heights before: keep at least the core's Config::future_heights (default 2). The
  /// current height counts apart because a crash can lose its StartHeight, and the one
  /// before is then the last.
  std::size_t keep_heights = 3;
  /// Heights per segment file. More than one saves, per height, the sync that seals a
  /// segment and the directory sync that makes the next one exist; pruning then works
  /// in whole segments (a segment goes once all its heights are old).
  Height heights_per_segment = 1;
  /// A segment that has reached this many bytes ends at the next height even before
  /// heights_per_segment (0: no limit). Large blocks make every vote and proposal record
  /// large: without it, a restart would read heights_per_segment heights of them.
  std::uint64_t max_segment_bytes = 0;
  /// Records above this size are refused on append and treated as damage on read.
  std::size_t max_record_size = std::size_t{64} << 20;
  /// Buffered (unsynced) bytes written out once they reach this size.
  std::size_t batch_bytes = std::size_t{64} << 10;
  /// Zeros written ahead of the records in each new segment (LogFile::preallocate), so
  /// that a sync flushes data only, with no file size to commit; sealing a segment cuts
  /// what is left of them. 0: off. Size it to a segment's usual content.
  std::uint64_t preallocate_bytes = 0;
};

/// What opening the log found and repaired.
struct RecoveryReport {
  std::size_t segments = 0;
  std::size_t records = 0;
  /// A torn tail was cut off the newest segment: its name, the bytes removed and why.
  bool repaired = false;
  std::string repaired_segment;
  std::uint64_t repaired_at = 0;
  std::uint64_t bytes_removed = 0;
  std::string reason;
};

/// Frames `payload` into `out` (header + payload).
void append_frame(std::span<const std::uint8_t> payload, Bytes& out);
/// Frames the payload that follows `frame_header_size` bytes reserved at `start` in `out`,
/// for a writer that encodes in place instead of copying a finished payload.
void write_frame_header(Bytes& out, std::size_t start);

/// The records of one segment's bytes. A damaged frame (short header, length beyond the
/// end or `max_record_size`, checksum mismatch, undecodable payload) is a torn tail if
/// no intact frame follows it anywhere in the rest of the bytes: `good_bytes` is then
/// where it starts and `tail_reason` says what was wrong. If an intact frame follows, the
/// damage is in the middle: corrupt_log, naming the offset.
struct ScannedSegment {
  std::vector<Record> records;
  /// The values the intact records wrote out, for records appended after them.
  SegmentValues values;
  std::uint64_t good_bytes = 0;
  std::string tail_reason;  // empty: no damage
};
Result<ScannedSegment> scan_segment(std::span<const std::uint8_t> bytes, std::size_t max_record_size);

std::string segment_name(Height height);

class Wal {
 public:
  struct Opened;

  /// Reads every segment, cuts a torn tail off the newest one (durably) and reports it,
  /// and opens the log for appending. Errors: corrupt_log (damage in the middle of a
  /// segment, or anywhere in a segment that is not the newest: those were synced whole),
  /// io_error, invalid_argument (bad options).
  static Result<Opened> open(Storage& storage, WalOptions options = {});

  Wal(Wal&&) noexcept;
  Wal& operator=(Wal&&) noexcept;
  ~Wal();

  /// Appends one record under the sync policy. A StartHeight of a new height starts a
  /// new segment (the previous one synced first) and prunes old ones. The first record
  /// of an empty log must be a StartHeight. After any io_error the log refuses every
  /// later call (the durable state of a failed write or fsync is unknown): stop the node.
  Result<void> append(const Record& record);
  /// append(record_of(input)), without copying the input.
  Result<void> append_input(const Input& input);
  /// append() without the sync its policy may do: the record is written out, not yet
  /// durable. For a caller that makes several records durable with one sync() (own
  /// messages produced together) and acts on them only after it returned OK.
  Result<void> append_unsynced(const Record& record);
  /// Writes and fdatasyncs everything appended so far.
  Result<void> sync();

  Height segment_height() const noexcept;
  /// Bytes appended but not yet durable.
  std::size_t unsynced_bytes() const noexcept;
  std::uint64_t syncs() const noexcept;

 private:
  struct State;
  explicit Wal(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

struct Wal::Opened {
  Wal wal;
  std::vector<Record> records;  // every kept record, oldest first
  RecoveryReport report;
};

}  // namespace bft::wal
