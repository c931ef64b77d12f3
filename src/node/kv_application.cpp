#include "bft/node/kv_application.hpp"

#include <chrono>

#include "bft/codec/codec.hpp"

namespace bft::node {
namespace {

std::uint64_t unix_ms() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

}  // namespace

KvApplication::KvApplication(BlockStore store, MempoolLimits mempool_limits, std::size_t block_max_txs)
    : store_(std::move(store)), mempool_(mempool_limits), block_max_txs_(block_max_txs) {}

Result<std::unique_ptr<KvApplication>> KvApplication::open(BlockStore store, MempoolLimits mempool_limits,
                                                           std::size_t block_max_txs, metrics::Registry* metrics) {
  std::unique_ptr<KvApplication> app(new KvApplication(std::move(store), mempool_limits, block_max_txs));
  if (metrics) app->register_metrics(*metrics);
  auto replayed = app->store_.for_each_from(1, [&](const Block& block) -> Result<void> {
    if (auto applied = app->state_.apply(block.height, block.value); !applied) return applied;
    if (auto commands = decode_block(block.value.bytes())) app->txs_committed_ += commands->size();
    return {};
  });
  if (!replayed) return replayed.error();
  return app;
}

void KvApplication::register_metrics(metrics::Registry& registry) {
  commit_seconds_ = &registry.histogram("bftcore_app_commit_seconds",
                                        "Time to store and apply a decided block (the next height waits for it).",
                                        metrics::exponential_buckets(0.0001, 2, 16));
  block_append_seconds_ = &registry.histogram("bftcore_blockstore_append_seconds",
                                              "Time to write a block and its certificate and fdatasync them.",
                                              metrics::exponential_buckets(0.0001, 2, 16));
  mempool_refused_ = &registry.counter("bftcore_mempool_refused_total",
                                       "Submissions the mempool refused (a command over its limits, or no room left).");
  registry.callback_gauge("bftcore_mempool_transactions", "Commands waiting in the mempool.",
                          [this] { return static_cast<double>(mempool_size()); });
  registry.callback_gauge("bftcore_mempool_bytes", "Encoded size of the commands waiting in the mempool.", [this] {
    const std::lock_guard lock(mempool_mutex_);
    return static_cast<double>(mempool_.bytes());
  });
  registry.callback_counter("bftcore_app_transactions_committed_total", "Commands in committed blocks.",
                            [this] { return static_cast<double>(txs_committed()); });
}

Value KvApplication::propose(Height) {
  const std::lock_guard lock(mempool_mutex_);
  return mempool_.propose(block_max_txs_, max_block_size);
}

bool KvApplication::is_valid(const Value& value) { return decode_block(value.bytes()).ok(); }

Result<void> KvApplication::commit(const codec::QuorumCertificate& commit, std::uint32_t commit_ms) {
  const Value& value = *commit.value;
  const auto started = std::chrono::steady_clock::now();
  const auto seconds_since_start = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  };
  Block block{commit.height, value, codec::encode(commit), BlockMeta{unix_ms(), commit_ms}};
  if (auto stored = store_.append(block); !stored) return stored;
  if (block_append_seconds_) block_append_seconds_->observe(seconds_since_start());
  {
    const std::lock_guard lock(state_mutex_);
    if (auto applied = state_.apply(commit.height, value); !applied) return applied;
  }
  if (auto commands = decode_block(value.bytes())) {
    txs_committed_ += commands->size();
    const std::lock_guard lock(mempool_mutex_);
    mempool_.remove_committed(*commands);
  }
  last_commit_ = commit;
  if (commit_seconds_) commit_seconds_->observe(seconds_since_start());
  return {};
}

Result<void> KvApplication::submit(std::vector<Command> commands) {
  const std::lock_guard lock(mempool_mutex_);
  auto added = mempool_.add(std::move(commands));
  if (!added && mempool_refused_) mempool_refused_->inc();
  return added;
}

std::optional<std::string> KvApplication::get(std::string_view key) const {
  const std::lock_guard lock(state_mutex_);
  return state_.get(key);
}

codec::Digest KvApplication::app_hash() const {
  const std::lock_guard lock(state_mutex_);
  return state_.app_hash();
}

std::size_t KvApplication::mempool_size() const {
  const std::lock_guard lock(mempool_mutex_);
  return mempool_.size();
}

Result<std::optional<codec::QuorumCertificate>> KvApplication::committed(Height height) const {
  if (last_commit_ && last_commit_->height == height) return last_commit_;
  auto block = store_.get(height);
  if (!block) return block.error();
  if (!*block) return std::optional<codec::QuorumCertificate>{};
  auto commit = codec::decode_certificate((*block)->certificate);
  if (!commit)
    return make_error(Errc::corrupt_log, "block " + std::to_string(height) + ": its certificate does not decode (" +
                                             commit.error().message + ")");
  return std::optional<codec::QuorumCertificate>{std::move(*commit)};
}

}  // namespace bft::node
