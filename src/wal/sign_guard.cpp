#include "bft/wal/sign_guard.hpp"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <limits>
#include <utility>
#include <vector>

#include "bft/codec/hash.hpp"
#include "bft/wal/wal.hpp"

namespace bft::wal {

namespace {

// A slot: (height, round, kind) with kind 0 proposal, 1 prevote, 2 precommit. Its content
// is what distinguishes two messages for it: the value's SHA-256 (or nil), and for a
// proposal its valid round too. The digest, not the value: a block can be megabytes,
// and the guard writes, syncs and rereads every message it records.
using Slot = std::tuple<Height, Round, std::uint8_t>;

struct Content {
  bool has_value = false;
  codec::Digest value_hash{};
  Round valid_round = nil_round;
  friend bool operator==(const Content&, const Content&) = default;
};

/// Heights per guard file: a new file (and the directory sync that makes it durable)
/// once per this many heights, not at every height.
constexpr Height heights_per_file = 64;

/// The first height of the file that holds `height` (heights count from 1).
Height file_start(Height height) { return height == 0 ? 0 : height - (height - 1) % heights_per_file; }

// Files: "guard2-<first height>.log", records holding the SHA-256 of each signed value.
// Files of the first format, "guard-<first height>.log", held the values themselves; they
// are still read (and their values hashed), never written.
enum class Format { values, digests };

std::string guard_name(Height height) {
  char buffer[48];
  std::snprintf(buffer, sizeof buffer, "guard2-%020llu.log", static_cast<unsigned long long>(height));
  return buffer;
}

struct GuardFile {
  Height start;
  Format format;
};

std::optional<GuardFile> parse_guard(const std::string& name) {
  const bool digests = name.starts_with("guard2-");
  const std::size_t prefix = digests ? 7 : 6;
  if (name.size() != prefix + 20 + 4 || !(digests || name.starts_with("guard-")) || !name.ends_with(".log"))
    return std::nullopt;
  Height h = 0;
  for (std::size_t i = prefix; i < prefix + 20; ++i) {
    if (name[i] < '0' || name[i] > '9') return std::nullopt;
    h = h * 10 + static_cast<Height>(name[i] - '0');
  }
  return GuardFile{h, digests ? Format::digests : Format::values};
}

// Guard records reuse the WAL's own-message records, framed the same way, with the
// value's digest where the value would be.
Record record_for(const Slot& slot, const Content& content) {
  const auto [height, round, kind] = slot;
  const Value digest(std::span<const std::uint8_t>(content.value_hash));
  if (kind == 0) {
    Proposal p;
    p.height = height;
    p.round = round;
    p.value = digest;
    p.valid_round = content.valid_round;
    return OwnProposal{std::move(p), {}};
  }
  Vote v{kind == 1 ? VoteType::prevote : VoteType::precommit, height, round, std::nullopt, Address{}};
  if (content.has_value) v.value = digest;
  return OwnVote{std::move(v), {}};
}

/// The hash of `value`, or, read from a file that holds digests, the digest itself
/// (corrupt_log when it is not one).
Result<codec::Digest> hash_of(const Value& value, Format format, codec::ValueDigests* digests) {
  if (format == Format::values) return digests != nullptr ? digests->of(value) : codec::sha256(value.bytes());
  codec::Digest digest{};
  if (value.size() != digest.size()) return make_error(Errc::corrupt_log, "a record whose value is not a digest");
  std::copy(value.bytes().begin(), value.bytes().end(), digest.begin());
  return digest;
}

Result<std::pair<Slot, Content>> entry_of(const Record& record, Format format,
                                          codec::ValueDigests* digests = nullptr) {
  if (const auto* p = std::get_if<OwnProposal>(&record)) {
    auto hash = hash_of(p->proposal.value, format, digests);
    if (!hash) return hash.error();
    return std::pair{Slot{p->proposal.height, p->proposal.round, 0}, Content{true, *hash, p->proposal.valid_round}};
  }
  const Vote& v = std::get<OwnVote>(record).vote;
  Content c;
  if (v.value) {
    auto hash = hash_of(*v.value, format, digests);
    if (!hash) return hash.error();
    c.has_value = true;
    c.value_hash = *hash;
  }
  return std::pair{Slot{v.height, v.round, static_cast<std::uint8_t>(v.type)}, c};
}

}  // namespace

struct SignGuard::State {
  Storage* storage = nullptr;
  std::size_t keep = 8;
  std::uint64_t preallocate = 0;  // zeros written ahead of the records in each new file
  std::map<Slot, Content> signed_;
  Height highest = 0;
  Height open_start = 0;  // first height of the open file
  std::unique_ptr<LogFile> file;
  std::vector<std::pair<Slot, Content>> reserved;  // in signed_, not yet written
  bool unsynced = false;  // records written to `file` since its last sync
  bool failed = false;
  std::size_t refusals = 0;
  Bytes scratch;

  /// Checks the slot and takes it; the record is written and made durable by sync().
  /// `what` names the message in an error: only then is it built (a vote's text holds
  /// its whole value).
  Result<void> reserve(const Slot& slot, Content content, const std::function<std::string()>& what) {
    if (failed) return make_error(Errc::io_error, "sign guard: closed after an earlier io error");
    const Height height = std::get<0>(slot);
    if (highest > keep && height < highest - keep) {
      ++refusals;
      return make_error(Errc::already_signed, "sign guard: " + what() + " is for a height the guard no longer tracks");
    }
    if (auto it = signed_.find(slot); it != signed_.end()) {
      if (it->second == content) return {};
      ++refusals;
      return make_error(Errc::already_signed, "sign guard: refusing " + what() + ": another message was signed for its slot");
    }
    signed_.emplace(slot, content);
    reserved.emplace_back(slot, std::move(content));
    if (height > highest) {
      highest = height;
      forget_old_heights();
    }
    return {};
  }

  /// Writes the reserved records, then syncs. Nothing is written before: a caller that
  /// makes its write-ahead log durable first never finds a record here that its log lost
  /// (which would leave it unable to sign anything else for that slot, e.g. another
  /// block after a restart).
  Result<void> sync() {
    if (failed) return make_error(Errc::io_error, "sign guard: closed after an earlier io error");
    for (const auto& [slot, content] : reserved)
      if (auto ok = write(slot, content); !ok) return ok;
    reserved.clear();
    if (!unsynced) return {};
    if (auto ok = file->sync(); !ok) return fail(ok.error());
    unsynced = false;
    return {};
  }

  Result<void> write(const Slot& slot, const Content& content) {
    const Height height = std::get<0>(slot);
    if (!file || open_start != file_start(height)) {
      if (file && unsynced) {  // a file is synced whole before the next one
        if (auto ok = file->sync(); !ok) return fail(ok.error());
        unsynced = false;
      }
      const bool newer = !file || file_start(height) > open_start;
      auto opened = storage->open(guard_name(file_start(height)), true);
      if (!opened) return fail(opened.error());
      file = std::move(*opened);
      open_start = file_start(height);
      if (auto ok = storage->sync_directory(); !ok) return fail(ok.error());
      if (auto ok = file->preallocate(preallocate); !ok) return fail(ok.error());
      if (newer) remove_old_files();
    }
    scratch.assign(frame_header_size, 0);
    encode_record(record_for(slot, content), scratch);
    write_frame_header(scratch, 0);
    if (auto ok = file->append(scratch); !ok) return fail(ok.error());
    unsynced = true;
    return {};
  }

  /// Forgets heights below highest - keep.
  void forget_old_heights() {
    if (highest <= keep) return;
    const Height below = highest - keep;
    signed_.erase(signed_.begin(), signed_.lower_bound(Slot{below, std::numeric_limits<Round>::min(), 0}));
  }

  /// Removes the files whose every height is forgotten (when a new file starts).
  void remove_old_files() {
    if (highest <= keep) return;
    const Height below = highest - keep;
    if (auto names = storage->list())
      for (const std::string& name : *names)
        if (auto old = parse_guard(name); old && old->start + heights_per_file <= below)
          (void)storage->remove(name);  // best effort: memory is already pruned
  }

  Error fail(const Error& error) {
    failed = true;
    return error;
  }
};

SignGuard::SignGuard(std::unique_ptr<State> state) : state_(std::move(state)) {}
SignGuard::SignGuard(SignGuard&&) noexcept = default;
SignGuard& SignGuard::operator=(SignGuard&&) noexcept = default;
SignGuard::~SignGuard() = default;

Result<SignGuard> SignGuard::open(Storage& storage, std::size_t keep_heights, std::uint64_t preallocate_bytes) {
  auto state = std::make_unique<State>();
  state->storage = &storage;
  state->keep = std::max<std::size_t>(keep_heights, 1);
  state->preallocate = preallocate_bytes;
  auto names = storage.list();
  if (!names) return names.error();
  for (const std::string& name : *names) {
    const auto guard_file = parse_guard(name);
    if (!guard_file) continue;
    auto file = storage.open(name, false);
    if (!file) return file.error();
    auto bytes = (*file)->read_all();
    if (!bytes) return bytes.error();
    auto scanned = scan_segment(*bytes, 1 << 24);
    if (!scanned) return make_error(Errc::corrupt_log, "sign guard " + name + ": " + scanned.error().message);
    // A torn tail is a record whose sync never returned: that message was never signed.
    // (Zeros after the records are preallocated space, cut the same way.)
    if (!scanned->tail_reason.empty())
      if (auto ok = (*file)->truncate(scanned->good_bytes); !ok) return ok.error();
    for (const Record& r : scanned->records) {
      if (!is_own(r)) return make_error(Errc::corrupt_log, "sign guard " + name + ": a record of the wrong kind");
      auto entry = entry_of(r, guard_file->format);
      if (!entry) return make_error(Errc::corrupt_log, "sign guard " + name + ": " + entry.error().message);
      auto [slot, content] = *entry;
      state->highest = std::max(state->highest, std::get<0>(slot));
      state->signed_.emplace(slot, std::move(content));
    }
  }
  return SignGuard(std::move(state));
}

Result<void> SignGuard::authorize(const Vote& vote) {
  if (auto ok = reserve(vote); !ok) return ok;
  return sync();
}

Result<void> SignGuard::authorize(const Proposal& proposal) {
  if (auto ok = reserve(proposal); !ok) return ok;
  return sync();
}

Result<void> SignGuard::reserve(const Vote& vote, codec::ValueDigests* digests) {
  auto [slot, content] = *entry_of(OwnVote{vote, {}}, Format::values, digests);
  return state_->reserve(slot, content, [&vote] { return to_string(vote); });
}

Result<void> SignGuard::reserve(const Proposal& proposal, codec::ValueDigests* digests) {
  Proposal bare{proposal.height, proposal.round, proposal.value, proposal.valid_round, {}, {}};
  auto [slot, content] = *entry_of(OwnProposal{std::move(bare), {}}, Format::values, digests);
  return state_->reserve(slot, content, [&proposal] { return to_string(proposal); });
}

Result<void> SignGuard::sync() { return state_->sync(); }

std::size_t SignGuard::refusals() const noexcept { return state_->refusals; }

}  // namespace bft::wal
