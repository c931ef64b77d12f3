#include "monitor.hpp"

#include <algorithm>
#include <optional>

#include "cluster/http_client.hpp"
#include "cluster/node_api.hpp"

namespace bft::cluster {

namespace {

using Clock = std::chrono::steady_clock;
constexpr auto poll_interval = std::chrono::milliseconds(250);
// Short: an isolated node must not hold its poller (and the recovery timing) for long.
constexpr auto poll_timeout = std::chrono::milliseconds(700);
constexpr std::size_t recent_blocks = 20;

}  // namespace

Monitor::Monitor(std::vector<Endpoint> endpoints) : endpoints_(std::move(endpoints)), views_(endpoints_.size()) {}

Monitor::~Monitor() { stop(); }

void Monitor::start() {
  for (std::size_t node = 0; node < endpoints_.size(); ++node) threads_.emplace_back([this, node] { poll(node); });
}

void Monitor::stop() {
  stop_ = true;
  for (std::thread& thread : threads_) thread.join();
  threads_.clear();
}

std::vector<NodeView> Monitor::snapshot() const {
  std::lock_guard lock(mutex_);
  return views_;
}

void Monitor::poll(std::size_t node) {
  HttpClient client(endpoints_[node].host, endpoints_[node].port, poll_timeout);
  std::uint64_t next_block = 1;
  while (!stop_) {
    const auto started = Clock::now();
    std::optional<NodeStatus> status;
    if (auto reply = client.get("/status"); reply && reply->status == 200)
      if (auto parsed = parse_status(reply->body)) status = std::move(*parsed);
    std::vector<BlockInfo> blocks;
    if (status && status->height >= next_block)
      if (auto reply = client.get("/blocks?from=" + std::to_string(next_block)); reply && reply->status == 200)
        if (auto parsed = parse_blocks(reply->body)) blocks = std::move(*parsed);
    {
      std::lock_guard lock(mutex_);
      NodeView& view = views_[node];
      view.reachable = status.has_value();
      if (status) {
        view.height = status->height;
        view.txs_committed = status->txs_committed;
        view.sampled = Clock::now();
      }
      for (const BlockInfo& block : blocks) {
        view.recent_commit_ms.push_back(block.commit_ms);
        if (view.recent_commit_ms.size() > recent_blocks) view.recent_commit_ms.pop_front();
        next_block = std::max(next_block, block.height + 1);
      }
    }
    while (!stop_ && Clock::now() < started + poll_interval) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace bft::cluster
