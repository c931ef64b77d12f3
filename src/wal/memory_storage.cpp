#include <algorithm>

#include "bft/wal/storage.hpp"

namespace bft::wal {

class MemoryFile final : public LogFile {
 public:
  MemoryFile(MemoryStorage& storage, std::string name) : storage_(storage), name_(std::move(name)) {}

  Result<void> append(std::span<const std::uint8_t> bytes) override {
    if (auto ok = storage_.check(); !ok) return ok;
    MemoryStorage::File* f = file();
    if (!f) return make_error(Errc::io_error, "memory storage: " + name_ + " was removed");
    ++storage_.appends_;
    std::size_t take = bytes.size();
    bool crash = false;
    if (storage_.fail_in_ && --*storage_.fail_in_ == 0) {
      take = std::min(take, storage_.fail_torn_);
      crash = true;
    }
    f->data.insert(f->data.end(), bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(take));
    if (crash) {
      f->survives = f->data.size();
      storage_.crashed_ = true;
      storage_.fail_in_.reset();
      return make_error(Errc::io_error, "memory storage: crashed during a write of " + name_);
    }
    return {};
  }

  Result<void> sync() override {
    if (auto ok = storage_.check(); !ok) return ok;
    MemoryStorage::File* f = file();
    if (!f) return make_error(Errc::io_error, "memory storage: " + name_ + " was removed");
    ++storage_.syncs_;
    if (storage_.fail_sync_) {
      storage_.fail_sync_ = false;
      storage_.crashed_ = true;
      return make_error(Errc::io_error, "memory storage: fsync of " + name_ + " failed");
    }
    f->synced = f->data.size();
    return {};
  }

  Result<Bytes> read_all() override {
    if (auto ok = storage_.check(); !ok) return ok.error();
    MemoryStorage::File* f = file();
    if (!f) return make_error(Errc::io_error, "memory storage: " + name_ + " was removed");
    return f->data;
  }

  Result<void> truncate(std::uint64_t size) override {
    if (auto ok = storage_.check(); !ok) return ok;
    MemoryStorage::File* f = file();
    if (!f) return make_error(Errc::io_error, "memory storage: " + name_ + " was removed");
    if (size < f->data.size()) f->data.resize(size);
    f->synced = f->data.size();
    return {};
  }

 private:
  MemoryStorage::File* file() {
    auto it = storage_.files_.find(name_);
    return it == storage_.files_.end() ? nullptr : &it->second;
  }
  MemoryStorage& storage_;
  std::string name_;
};

Result<void> MemoryStorage::check() const {
  if (crashed_) return make_error(Errc::io_error, "memory storage: the disk has crashed");
  return {};
}

Result<std::vector<std::string>> MemoryStorage::list() {
  if (auto ok = check(); !ok) return ok.error();
  std::vector<std::string> names;
  for (const auto& [name, file] : files_) names.push_back(name);
  return names;
}

Result<std::unique_ptr<LogFile>> MemoryStorage::open(std::string_view name, bool create) {
  if (auto ok = check(); !ok) return ok.error();
  auto it = files_.find(std::string(name));
  if (it == files_.end()) {
    if (!create) return make_error(Errc::io_error, "memory storage: no file " + std::string(name));
    files_.emplace(std::string(name), File{});
  }
  return std::unique_ptr<LogFile>(std::make_unique<MemoryFile>(*this, std::string(name)));
}

Result<void> MemoryStorage::remove(std::string_view name) {
  if (auto ok = check(); !ok) return ok;
  files_.erase(std::string(name));  // a removal is modelled as immediately durable
  return {};
}

Result<void> MemoryStorage::sync_directory() {
  if (auto ok = check(); !ok) return ok;
  ++syncs_;
  for (auto& [name, file] : files_) file.entry_durable = true;
  return {};
}

void MemoryStorage::crash(std::size_t torn_bytes) {
  for (auto it = files_.begin(); it != files_.end();) {
    File& f = it->second;
    if (!f.entry_durable) {
      it = files_.erase(it);
      continue;
    }
    const std::size_t keep = std::min(f.data.size(), std::max(f.synced + torn_bytes, f.survives));
    f.survives = 0;
    f.data.resize(keep);
    f.synced = keep;
    ++it;
  }
  crashed_ = false;
  fail_in_.reset();
  fail_sync_ = false;
}

void MemoryStorage::fail_after_writes(std::optional<std::uint64_t> writes, std::size_t torn_bytes) {
  fail_in_ = writes && *writes > 0 ? writes : std::nullopt;
  fail_torn_ = torn_bytes;
}

}  // namespace bft::wal
