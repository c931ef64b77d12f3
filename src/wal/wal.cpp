#include "bft/wal/wal.hpp"

#include <algorithm>
#include <cstdio>

#include "bft/wal/crc32c.hpp"

namespace bft::wal {

namespace {

std::uint32_t load_u32(const std::uint8_t* p) {
  return std::uint32_t{p[0]} | std::uint32_t{p[1]} << 8 | std::uint32_t{p[2]} << 16 | std::uint32_t{p[3]} << 24;
}

constexpr std::string_view segment_suffix = ".wal";

std::optional<Height> parse_segment(const std::string& name) {
  if (name.size() != 20 + segment_suffix.size() || !name.ends_with(segment_suffix)) return std::nullopt;
  Height h = 0;
  for (std::size_t i = 0; i < 20; ++i) {
    if (name[i] < '0' || name[i] > '9') return std::nullopt;
    h = h * 10 + static_cast<Height>(name[i] - '0');
  }
  return h;
}

/// The frame at `pos`, if intact: its payload's size; else why not.
struct FrameCheck {
  bool ok = false;
  std::uint32_t length = 0;
  const char* reason = "";
};

FrameCheck check_frame(std::span<const std::uint8_t> bytes, std::size_t pos, std::size_t max_record_size) {
  const std::size_t left = bytes.size() - pos;
  if (left < frame_header_size) return {false, 0, "a partial frame header"};
  const std::uint32_t length = load_u32(bytes.data() + pos);
  const std::uint32_t stored = load_u32(bytes.data() + pos + 4);
  if (length > max_record_size) return {false, length, "a length above the record size limit"};
  if (left - frame_header_size < length) return {false, length, "a frame that runs past the end of the file"};
  std::uint32_t crc = crc32c(bytes.subspan(pos, 4));
  crc = crc32c(bytes.subspan(pos + frame_header_size, length), crc);
  if (crc != stored) return {false, length, "a checksum mismatch"};
  return {true, length, ""};
}

}  // namespace

void write_frame_header(Bytes& out, std::size_t start) {
  std::uint8_t* header = out.data() + start;
  const auto length = static_cast<std::uint32_t>(out.size() - start - frame_header_size);
  for (int i = 0; i < 4; ++i) header[i] = static_cast<std::uint8_t>(length >> (8 * i));
  const std::span<const std::uint8_t> payload(header + frame_header_size, length);
  const std::uint32_t crc = crc32c(payload, crc32c(std::span<const std::uint8_t>(header, 4)));
  for (int i = 0; i < 4; ++i) header[4 + i] = static_cast<std::uint8_t>(crc >> (8 * i));
}

void append_frame(std::span<const std::uint8_t> payload, Bytes& out) {
  const std::size_t start = out.size();
  out.resize(start + frame_header_size);
  out.insert(out.end(), payload.begin(), payload.end());
  write_frame_header(out, start);
}

std::string segment_name(Height height) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%020llu", static_cast<unsigned long long>(height));
  return std::string(buffer) + std::string(segment_suffix);
}

Result<ScannedSegment> scan_segment(std::span<const std::uint8_t> bytes, std::size_t max_record_size) {
  ScannedSegment out;
  std::size_t pos = 0;
  while (pos < bytes.size()) {
    const FrameCheck frame = check_frame(bytes, pos, max_record_size);
    std::string reason;
    if (frame.ok) {
      auto record = decode_record(bytes.subspan(pos + frame_header_size, frame.length), &out.values);
      if (record) {
        out.values.commit();
        out.records.push_back(std::move(*record));
        pos += frame_header_size + frame.length;
        continue;
      }
      // An intact checksum over a payload this build cannot decode is not a torn write.
      return make_error(Errc::corrupt_log, "wal: record at byte " + std::to_string(pos) +
                                               " has a valid checksum but does not decode: " +
                                               record.error().message);
    }
    reason = frame.reason;
    // Damage at `pos`. A torn write only ever damages the end: if an intact frame starts
    // anywhere after it, good records would be lost, so this is corruption.
    for (std::size_t next = pos + 1; next + frame_header_size <= bytes.size(); ++next) {
      if (check_frame(bytes, next, max_record_size).ok)
        return make_error(Errc::corrupt_log, "wal: damaged record at byte " + std::to_string(pos) + " (" + reason +
                                                 ") followed by an intact record at byte " + std::to_string(next) +
                                                 ": corruption in the middle of the log, refusing to skip it");
    }
    out.good_bytes = pos;
    out.tail_reason = reason;
    return out;
  }
  out.good_bytes = pos;
  return out;
}

struct Wal::State {
  Storage* storage = nullptr;
  WalOptions options;
  std::unique_ptr<LogFile> file;
  Height height = 0;
  bool has_segment = false;
  Bytes pending;                // framed, not written yet
  std::size_t written_unsynced = 0;
  std::uint64_t segment_bytes = 0;  // records written to the current segment
  bool failed = false;
  std::string failure;
  std::uint64_t syncs = 0;
  SegmentValues values;  // of the current segment

  Result<void> poisoned() const {
    return make_error(Errc::io_error, "wal: an earlier write or sync failed (" + failure + "); the log is closed");
  }
  Result<void> fail(const Error& error) {
    failed = true;
    failure = error.message;
    return error;
  }

  Result<void> write_pending() {
    if (pending.empty()) return {};
    if (auto ok = file->append(pending); !ok) return fail(ok.error());
    written_unsynced += pending.size();
    segment_bytes += pending.size();
    pending.clear();
    return {};
  }

  Result<void> sync_all() {
    if (auto ok = write_pending(); !ok) return ok;
    if (written_unsynced == 0) return {};
    if (auto ok = file->sync(); !ok) return fail(ok.error());
    ++syncs;
    written_unsynced = 0;
    return {};
  }

  /// Frames `record` (a Record or an Input) into `pending`, starting a segment first if
  /// it begins one.
  template <class Entry>
  Result<void> add(const Entry& record) {
    if (failed) return poisoned();
    if (const auto* start = std::get_if<StartHeight>(&record);
        start && (!has_segment || start->height >= height + options.heights_per_segment ||
                  (options.max_segment_bytes > 0 && segment_bytes + pending.size() >= options.max_segment_bytes))) {
      if (auto ok = rotate(start->height); !ok) return ok;
    }
    if (!has_segment)
      return make_error(Errc::invalid_argument, "wal: the first record of an empty log must be a StartHeight");
    const std::size_t start = pending.size();
    pending.resize(start + frame_header_size);
    if constexpr (std::is_same_v<Entry, Input>)
      encode_input(record, pending, &values);
    else
      encode_record(record, pending, &values);
    if (const std::size_t size = pending.size() - start - frame_header_size; size > options.max_record_size) {
      pending.resize(start);
      values.discard();  // the record is not in the segment: its values are not either
      return make_error(Errc::too_large, "wal: record of " + std::to_string(size) + " bytes");
    }
    write_frame_header(pending, start);
    values.commit();
    return {};
  }

  /// The sync policy, after a record was added: sync, write out a full batch, or wait.
  Result<void> after_append(bool own) {
    if (options.sync == SyncPolicy::every_record || (options.sync == SyncPolicy::before_send && own))
      return sync_all();
    if (pending.size() >= options.batch_bytes) return write_pending();
    return {};
  }

  /// Makes the segment durable whole; preallocated zeros are cut, so only the newest
  /// segment can end in anything but a record.
  Result<void> seal() {
    if (options.preallocate_bytes == 0) return sync_all();
    if (auto ok = write_pending(); !ok) return ok;
    if (auto ok = file->truncate(segment_bytes); !ok) return fail(ok.error());
    ++syncs;
    written_unsynced = 0;
    return {};
  }

  Result<void> rotate(Height new_height) {
    if (has_segment)
      if (auto ok = seal(); !ok) return ok;
    auto opened = storage->open(segment_name(new_height), true);
    if (!opened) return fail(opened.error());
    file = std::move(*opened);
    if (auto ok = storage->sync_directory(); !ok) return fail(ok.error());
    if (auto ok = file->preallocate(options.preallocate_bytes); !ok) return fail(ok.error());
    height = new_height;
    has_segment = true;
    segment_bytes = 0;
    values.clear();
    // Prune the segments whose heights all lie below new_height - keep_heights: the new
    // segment's StartHeight is not durable yet, so after a crash the height before it may
    // be the last the log holds, and its replay needs keep_heights heights before it.
    auto names = storage->list();
    if (!names) return fail(names.error());
    std::vector<Height> starts;
    for (const std::string& name : *names)
      if (auto h = parse_segment(name); h && *h <= new_height) starts.push_back(*h);
    std::sort(starts.begin(), starts.end());
    const Height needed_from = new_height > options.keep_heights ? new_height - options.keep_heights : 0;
    // No directory sync for the removals: the next rotation's makes them durable, and a
    // crash before it only brings back a complete old segment, which replays harmlessly.
    for (std::size_t i = 0; i + 1 < starts.size() && starts[i + 1] <= needed_from; ++i)
      if (auto ok = storage->remove(segment_name(starts[i])); !ok) return fail(ok.error());
    return {};
  }
};

Wal::Wal(std::unique_ptr<State> state) : state_(std::move(state)) {}
Wal::Wal(Wal&&) noexcept = default;
Wal& Wal::operator=(Wal&&) noexcept = default;
Wal::~Wal() = default;

Result<Wal::Opened> Wal::open(Storage& storage, WalOptions options) {
  if (options.keep_heights < 2) return make_error(Errc::invalid_argument, "wal: keep_heights must be at least 2");
  if (options.heights_per_segment == 0) return make_error(Errc::invalid_argument, "wal: heights_per_segment must be at least 1");
  if (options.max_record_size == 0 || options.max_record_size > 0xFFFFFFFFu)
    return make_error(Errc::invalid_argument, "wal: max_record_size must be in [1, 2^32)");
  auto names = storage.list();
  if (!names) return names.error();
  std::vector<std::pair<Height, std::string>> segments;
  for (const std::string& name : *names)
    if (auto h = parse_segment(name)) segments.emplace_back(*h, name);
  std::sort(segments.begin(), segments.end());

  auto state = std::make_unique<State>();
  state->storage = &storage;
  state->options = options;
  std::vector<Record> records;
  RecoveryReport report;
  for (std::size_t i = 0; i < segments.size(); ++i) {
    const bool newest = i + 1 == segments.size();
    auto file = storage.open(segments[i].second, false);
    if (!file) return file.error();
    auto bytes = (*file)->read_all();
    if (!bytes) return bytes.error();
    auto scanned = scan_segment(*bytes, options.max_record_size);
    if (!scanned) return make_error(Errc::corrupt_log, segments[i].second + ": " + scanned.error().message);
    // Zeros after the last record of the newest segment are space preallocated for
    // records that never came: cut like a torn tail, but nothing was damaged.
    const bool zeros_only =
        std::all_of(bytes->begin() + static_cast<std::ptrdiff_t>(scanned->good_bytes), bytes->end(),
                    [](std::uint8_t b) { return b == 0; });
    if (newest && !scanned->tail_reason.empty() && zeros_only) {
      if (auto ok = (*file)->truncate(scanned->good_bytes); !ok) return ok.error();
    } else if (!scanned->tail_reason.empty()) {
      if (!newest)
        return make_error(Errc::corrupt_log, segments[i].second + ": damaged record at byte " +
                                                 std::to_string(scanned->good_bytes) + " (" + scanned->tail_reason +
                                                 ") in a segment that was synced whole before the next began");
      report.repaired = true;
      report.repaired_segment = segments[i].second;
      report.repaired_at = scanned->good_bytes;
      report.bytes_removed = bytes->size() - scanned->good_bytes;
      report.reason = scanned->tail_reason;
      if (auto ok = (*file)->truncate(scanned->good_bytes); !ok) return ok.error();
    }
    ++report.segments;
    report.records += scanned->records.size();
    for (Record& r : scanned->records) records.push_back(std::move(r));
    if (newest) {
      if (auto ok = (*file)->preallocate(options.preallocate_bytes); !ok) return ok.error();
      state->file = std::move(*file);
      state->height = segments[i].first;
      state->has_segment = true;
      state->segment_bytes = scanned->good_bytes;
      state->values = std::move(scanned->values);  // later records may name them
    }
  }
  return Opened{Wal(std::move(state)), std::move(records), std::move(report)};
}

Result<void> Wal::append(const Record& record) {
  State& s = *state_;
  if (auto ok = s.add(record); !ok) return ok;
  return s.after_append(is_own(record));
}

Result<void> Wal::append_input(const Input& input) {
  State& s = *state_;
  if (auto ok = s.add(input); !ok) return ok;
  return s.after_append(false);  // an input is never an own message
}

Result<void> Wal::append_unsynced(const Record& record) {
  State& s = *state_;
  if (auto ok = s.add(record); !ok) return ok;
  return s.write_pending();
}

Result<void> Wal::sync() {
  if (state_->failed) return state_->poisoned();
  if (!state_->has_segment) return {};
  return state_->sync_all();
}

Height Wal::segment_height() const noexcept { return state_->height; }
std::size_t Wal::unsynced_bytes() const noexcept { return state_->pending.size() + state_->written_unsynced; }
std::uint64_t Wal::syncs() const noexcept { return state_->syncs; }

}  // namespace bft::wal
