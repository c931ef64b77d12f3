// POSIX file IO for the block store: pread for reading back, O_APPEND writes, fdatasync.
// Every failing call becomes an io_error naming the call, the path and strerror.
#include "bft/node/block_store.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>

#include "bft/wal/crc32c.hpp"
#include "bft/wal/wal.hpp"

namespace bft::node {

namespace {

constexpr std::uint8_t record_version = 1;
/// version, height, decided_unix_ms, commit_ms, the two lengths.
constexpr std::size_t record_fixed_size = 1 + 8 + 8 + 4 + 4 + 4;

Error sys_error(const char* call, const std::string& path) {
  return make_error(Errc::io_error, std::string(call) + "(" + path + "): " + std::strerror(errno));
}

std::uint64_t load(const std::uint8_t* p, std::size_t width) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < width; ++i) v |= std::uint64_t{p[i]} << (8 * i);
  return v;
}

void put(std::uint64_t v, std::size_t width, Bytes& out) {
  for (std::size_t i = 0; i < width; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

Bytes encode_record(const Block& block) {
  Bytes out;
  out.reserve(record_fixed_size + block.value.size() + block.certificate.size());
  out.push_back(record_version);
  put(block.height, 8, out);
  put(block.meta.decided_unix_ms, 8, out);
  put(block.meta.commit_ms, 4, out);
  put(block.value.size(), 4, out);
  out.insert(out.end(), block.value.bytes().begin(), block.value.bytes().end());
  put(block.certificate.size(), 4, out);
  out.insert(out.end(), block.certificate.begin(), block.certificate.end());
  return out;
}

Result<Block> decode_record(std::span<const std::uint8_t> payload) {
  const auto bad = [](const std::string& why) { return make_error(Errc::corrupt_log, "block record: " + why); };
  if (payload.size() < record_fixed_size) return bad("shorter than its fixed fields");
  if (payload[0] != record_version) return bad("unknown version " + std::to_string(payload[0]));
  Block block;
  const std::uint8_t* p = payload.data() + 1;
  block.height = load(p, 8);
  block.meta.decided_unix_ms = load(p + 8, 8);
  block.meta.commit_ms = static_cast<std::uint32_t>(load(p + 16, 4));
  const std::uint64_t value_size = load(p + 20, 4);
  std::size_t pos = 1 + 24;
  if (value_size > payload.size() - pos - 4) return bad("value length runs past the end");
  block.value = Value(payload.subspan(pos, static_cast<std::size_t>(value_size)));
  pos += static_cast<std::size_t>(value_size);
  const std::uint64_t certificate_size = load(payload.data() + pos, 4);
  pos += 4;
  if (certificate_size != payload.size() - pos) return bad("certificate length does not end the record");
  block.certificate.assign(payload.begin() + static_cast<std::ptrdiff_t>(pos), payload.end());
  return block;
}

/// The payload of the frame at the start of `bytes`, if the frame is intact; else why not.
struct Frame {
  std::span<const std::uint8_t> payload;
  bool ok = false;
  const char* reason = "";
};

Frame check_frame(std::span<const std::uint8_t> bytes, std::size_t max_record_size) {
  if (bytes.size() < wal::frame_header_size) return {{}, false, "a partial frame header"};
  const auto length = static_cast<std::uint32_t>(load(bytes.data(), 4));
  const auto stored = static_cast<std::uint32_t>(load(bytes.data() + 4, 4));
  if (length > max_record_size) return {{}, false, "a length above the record size limit"};
  if (bytes.size() - wal::frame_header_size < length) return {{}, false, "a frame that runs past the end of the file"};
  const auto payload = bytes.subspan(wal::frame_header_size, length);
  if (wal::crc32c(payload, wal::crc32c(bytes.first(4))) != stored) return {{}, false, "a checksum mismatch"};
  return {payload, true, ""};
}

}  // namespace

struct BlockStore::State {
  struct Entry {
    std::uint64_t offset;
    std::uint32_t length;  // of the payload
  };

  int fd = -1;
  std::string path;
  BlockStoreOptions options;
  // Readers on other threads (the client API) look entries up while the node appends:
  // the mutex guards the vector only, never a read or write of the file.
  mutable std::mutex index_mutex;
  std::vector<Entry> index;  // index[h - 1] is height h
  std::atomic<Height> stored{0};  // index.size(), readable without the mutex
  std::uint64_t end = 0;  // the appending thread's alone
  BlockStoreRecovery recovery;
  std::string failure;  // set after a failed append: the store refuses more

  State() = default;
  State(const State&) = delete;
  State& operator=(const State&) = delete;
  ~State() {
    if (fd >= 0) (void)::close(fd);  // also releases the flock
  }

  Result<Bytes> read_at(std::uint64_t offset, std::size_t size) const {
    Bytes out(size);
    std::size_t done = 0;
    while (done < size) {
      const ssize_t n = ::pread(fd, out.data() + done, size - done, static_cast<off_t>(offset + done));
      if (n < 0) {
        if (errno == EINTR) continue;
        return sys_error("pread", path);
      }
      if (n == 0) break;
      done += static_cast<std::size_t>(n);
    }
    out.resize(done);
    return out;
  }

  Entry entry_of(Height height) const {
    const std::lock_guard lock(index_mutex);
    return index[height - 1];
  }

  Result<Block> read_block(Height height) const {
    const Entry entry = entry_of(height);
    auto bytes = read_at(entry.offset, wal::frame_header_size + entry.length);
    if (!bytes) return bytes.error();
    const Frame frame = check_frame(*bytes, options.max_record_size);
    const std::string where = path + ": height " + std::to_string(height) + " at byte " + std::to_string(entry.offset);
    if (!frame.ok || frame.payload.size() != entry.length)
      return make_error(Errc::corrupt_log, where + " no longer reads back intact: " +
                                               (frame.ok ? std::string("its length changed") : frame.reason));
    auto block = decode_record(frame.payload);
    if (!block) return make_error(Errc::corrupt_log, where + ": " + block.error().message);
    if (block->height != height)
      return make_error(Errc::corrupt_log, where + " holds height " + std::to_string(block->height));
    return block;
  }

  /// Reads the file front to back into the index; at damage, decides between a torn
  /// tail (cut off) and corruption (an error).
  Result<void> scan(std::uint64_t size) {
    std::uint64_t pos = 0;
    while (pos < size) {
      auto header = read_at(pos, static_cast<std::size_t>(std::min<std::uint64_t>(wal::frame_header_size, size - pos)));
      if (!header) return header.error();
      std::size_t frame_size = header->size();
      if (header->size() == wal::frame_header_size) {
        const std::uint64_t length = load(header->data(), 4);
        if (length <= options.max_record_size)
          frame_size += static_cast<std::size_t>(std::min<std::uint64_t>(length, size - pos - wal::frame_header_size));
      }
      auto bytes = frame_size == header->size() ? std::move(header) : read_at(pos, frame_size);
      if (!bytes) return bytes.error();
      const Frame frame = check_frame(*bytes, options.max_record_size);
      if (!frame.ok) return cut_or_refuse(pos, size, frame);
      auto block = decode_record(frame.payload);
      const std::string where = path + ": record at byte " + std::to_string(pos);
      if (!block) return make_error(Errc::corrupt_log, where + " has a valid checksum but " + block.error().message);
      if (block->height != index.size() + 1)
        return make_error(Errc::corrupt_log, where + " holds height " + std::to_string(block->height) +
                                                 ", expected " + std::to_string(index.size() + 1));
      index.push_back({pos, static_cast<std::uint32_t>(frame.payload.size())});
      pos += wal::frame_header_size + frame.payload.size();
    }
    end = pos;
    return {};
  }

  /// Damage at `pos`. A torn write damages only the end of the file: if an intact frame
  /// starts anywhere after the damage, cutting would lose records, so it is corruption.
  /// This is the WAL's rule. Its price: a value is arbitrary bytes and could embed a
  /// well-formed frame; if the append of exactly such a record is torn, open() refuses
  /// (the node stops for an operator) rather than cutting, never losing a record silently.
  Result<void> cut_or_refuse(std::uint64_t pos, std::uint64_t size, const Frame& damaged) {
    auto rest = read_at(pos, static_cast<std::size_t>(size - pos));
    if (!rest) return rest.error();
    const std::span<const std::uint8_t> bytes(*rest);
    for (std::size_t next = 1; next + wal::frame_header_size <= bytes.size(); ++next) {
      if (check_frame(bytes.subspan(next), options.max_record_size).ok)
        return make_error(Errc::corrupt_log, path + ": damaged record at byte " + std::to_string(pos) + " (" +
                                                 damaged.reason + ") followed by an intact record at byte " +
                                                 std::to_string(pos + next) +
                                                 ": corruption in the middle of the store, refusing to skip it");
    }
    while (::ftruncate(fd, static_cast<off_t>(pos)) != 0)
      if (errno != EINTR) return sys_error("ftruncate", path);
    if (auto ok = sync(); !ok) return ok;
    recovery.repaired = true;
    recovery.repaired_at = pos;
    recovery.bytes_removed = size - pos;
    recovery.reason = damaged.reason;
    end = pos;
    return {};
  }

  Result<void> sync() const {
    while (::fdatasync(fd) != 0)
      if (errno != EINTR) return sys_error("fdatasync", path);
    return {};
  }

  Result<void> write_all(std::span<const std::uint8_t> bytes) const {
    while (!bytes.empty()) {
      const ssize_t n = ::write(fd, bytes.data(), bytes.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        return sys_error("write", path);
      }
      bytes = bytes.subspan(static_cast<std::size_t>(n));
    }
    return {};
  }
};

namespace {

Result<void> sync_directory(const std::string& directory) {
  int fd;
  do {
    fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return sys_error("open", directory);
  int rc;
  while ((rc = ::fsync(fd)) != 0 && errno == EINTR) {
  }
  Result<void> result;
  if (rc != 0) result = sys_error("fsync", directory);
  (void)::close(fd);
  return result;
}

}  // namespace

BlockStore::BlockStore(std::unique_ptr<State> state) : state_(std::move(state)) {}
BlockStore::BlockStore(BlockStore&&) noexcept = default;
BlockStore& BlockStore::operator=(BlockStore&&) noexcept = default;
BlockStore::~BlockStore() = default;

Result<BlockStore> BlockStore::open(const std::string& directory, BlockStoreOptions options) {
  if (options.max_record_size < record_fixed_size || options.max_record_size > 0xFFFFFFFFu)
    return make_error(Errc::invalid_argument, "block store: max_record_size must be in [" +
                                                  std::to_string(record_fixed_size) + ", 2^32)");
  if (::mkdir(directory.c_str(), 0700) != 0 && errno != EEXIST) return sys_error("mkdir", directory);
  auto state = std::make_unique<State>();
  state->options = options;
  state->path = directory + "/" + file_name;
  do {
    state->fd = ::open(state->path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  } while (state->fd < 0 && errno == EINTR);
  if (state->fd < 0) return sys_error("open", state->path);
  // The file may have just been created: its directory entry must be durable too.
  if (auto ok = sync_directory(directory); !ok) return ok.error();
  if (::flock(state->fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK)
      return make_error(Errc::io_error, state->path + " is open in another block store (another node process?)");
    return sys_error("flock", state->path);
  }
  struct stat st {};
  if (::fstat(state->fd, &st) != 0) return sys_error("fstat", state->path);
  if (auto ok = state->scan(static_cast<std::uint64_t>(st.st_size)); !ok) return ok.error();
  state->recovery.blocks = state->index.size();
  state->stored.store(state->index.size(), std::memory_order_release);
  return BlockStore(std::move(state));
}

Result<void> BlockStore::append(const Block& block) {
  State& s = *state_;
  if (!s.failure.empty())
    return make_error(Errc::io_error, "block store: an earlier append failed (" + s.failure + "); reopen it");
  if (block.height != tip() + 1)
    return make_error(Errc::invalid_argument, "block store: append of height " + std::to_string(block.height) +
                                                  ", expected " + std::to_string(tip() + 1));
  const Bytes payload = encode_record(block);
  if (payload.size() > s.options.max_record_size)
    return make_error(Errc::too_large, "block store: record of " + std::to_string(payload.size()) +
                                           " bytes (limit " + std::to_string(s.options.max_record_size) + ")");
  Bytes frame;
  wal::append_frame(payload, frame);
  auto ok = s.write_all(frame);
  if (ok) ok = s.sync();
  if (!ok) {
    s.failure = ok.error().message;
    return ok;
  }
  {
    const std::lock_guard lock(s.index_mutex);
    s.index.push_back({s.end, static_cast<std::uint32_t>(payload.size())});
    s.stored.store(s.index.size(), std::memory_order_release);
  }
  s.end += frame.size();
  return {};
}

Height BlockStore::tip() const noexcept { return state_->stored.load(std::memory_order_acquire); }

Result<std::optional<Block>> BlockStore::get(Height height) const {
  if (height == 0 || height > tip()) return std::optional<Block>{};
  auto block = state_->read_block(height);
  if (!block) return block.error();
  return std::optional<Block>(std::move(*block));
}

Result<void> BlockStore::for_each_from(Height from, const std::function<Result<void>(const Block&)>& visit) const {
  for (Height h = std::max<Height>(from, 1); h <= tip(); ++h) {
    auto block = state_->read_block(h);
    if (!block) return block.error();
    if (auto ok = visit(*block); !ok) return ok;
  }
  return {};
}

Result<std::vector<Block>> BlockStore::read_range(Height from, std::size_t max_blocks, std::size_t max_bytes) const {
  std::vector<Block> blocks;
  std::size_t bytes = 0;
  for (Height h = std::max<Height>(from, 1); h <= tip() && blocks.size() < max_blocks; ++h) {
    auto block = state_->read_block(h);
    if (!block) return block.error();
    bytes += block->value.size() + block->certificate.size();
    if (!blocks.empty() && bytes > max_bytes) break;
    blocks.push_back(std::move(*block));
  }
  return blocks;
}

const BlockStoreRecovery& BlockStore::recovery() const noexcept { return state_->recovery; }
const std::string& BlockStore::path() const noexcept { return state_->path; }

}  // namespace bft::node
