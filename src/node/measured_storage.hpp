// A wal::Storage that measures the one it wraps: how long each sync takes and how many
// bytes are appended, into the node's metrics. Private to bftnode (node.cpp wraps the
// WAL's and the guard's directories with it).
#pragma once

#include <chrono>
#include <memory>

#include "bft/metrics/registry.hpp"
#include "bft/wal/storage.hpp"

namespace bft::node::detail {

class MeasuredStorage final : public wal::Storage {
 public:
  MeasuredStorage(std::unique_ptr<wal::Storage> inner, metrics::Histogram& sync_seconds,
                  metrics::Counter& written_bytes)
      : inner_(std::move(inner)), sync_seconds_(sync_seconds), written_bytes_(written_bytes) {}

  Result<std::vector<std::string>> list() override { return inner_->list(); }
  Result<std::unique_ptr<wal::LogFile>> open(std::string_view name, bool create) override;
  Result<void> remove(std::string_view name) override { return inner_->remove(name); }
  Result<void> sync_directory() override { return timed([&] { return inner_->sync_directory(); }); }

 private:
  class File;

  template <class Call>
  Result<void> timed(Call call) {
    const auto start = std::chrono::steady_clock::now();
    Result<void> result = call();
    sync_seconds_.observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    return result;
  }

  std::unique_ptr<wal::Storage> inner_;
  metrics::Histogram& sync_seconds_;
  metrics::Counter& written_bytes_;
};

class MeasuredStorage::File final : public wal::LogFile {
 public:
  File(std::unique_ptr<wal::LogFile> inner, MeasuredStorage& storage) : inner_(std::move(inner)), storage_(storage) {}

  Result<void> append(std::span<const std::uint8_t> bytes) override {
    auto appended = inner_->append(bytes);
    if (appended) storage_.written_bytes_.inc(bytes.size());
    return appended;
  }
  Result<void> sync() override { return storage_.timed([&] { return inner_->sync(); }); }
  Result<Bytes> read_all() override { return inner_->read_all(); }
  Result<void> truncate(std::uint64_t size) override { return inner_->truncate(size); }
  Result<void> preallocate(std::uint64_t bytes) override { return inner_->preallocate(bytes); }

 private:
  std::unique_ptr<wal::LogFile> inner_;
  MeasuredStorage& storage_;
};

inline Result<std::unique_ptr<wal::LogFile>> MeasuredStorage::open(std::string_view name, bool create) {
  auto file = inner_->open(name, create);
  if (!file) return file.error();
  return std::unique_ptr<wal::LogFile>(std::make_unique<File>(std::move(*file), *this));
}

}  // namespace bft::node::detail
