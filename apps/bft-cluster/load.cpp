#include "load.hpp"

#include <algorithm>

#include "cluster/http_client.hpp"
#include "cluster/node_api.hpp"

namespace bft::cluster {

namespace {

using Clock = std::chrono::steady_clock;
constexpr auto request_timeout = std::chrono::seconds(2);
constexpr auto first_backoff = std::chrono::milliseconds(50);
constexpr auto max_backoff = std::chrono::seconds(1);
/// A sender that fell behind (slow replies, back-off) skips what it missed beyond this,
/// rather than bursting to catch up.
constexpr auto max_backlog = std::chrono::seconds(1);

}  // namespace

LoadDriver::LoadDriver(std::vector<Endpoint> endpoints, double rate_per_s, std::size_t batch,
                       std::size_t clients_per_node, Clock::time_point end)
    : endpoints_(std::move(endpoints)),
      clients_per_node_(std::max<std::size_t>(clients_per_node, 1)),
      rate_per_client_(endpoints_.empty()
                           ? 0
                           : rate_per_s / static_cast<double>(endpoints_.size() * clients_per_node_)),
      batch_(batch),
      end_(end) {}

LoadDriver::~LoadDriver() {
  stop();
  join();
}

void LoadDriver::start() {
  if (rate_per_client_ <= 0) return;
  accepted_ids_.resize(endpoints_.size() * clients_per_node_);
  for (std::size_t node = 0; node < endpoints_.size(); ++node)
    for (std::size_t client = 0; client < clients_per_node_; ++client)
      threads_.emplace_back([this, node, client] { drive(node, client); });
}

void LoadDriver::stop() { stop_ = true; }

void LoadDriver::join() {
  for (std::thread& thread : threads_) thread.join();
  threads_.clear();
}

std::vector<std::uint64_t> LoadDriver::accepted_ids() const {
  std::vector<std::uint64_t> all;
  for (const auto& ids : accepted_ids_) all.insert(all.end(), ids.begin(), ids.end());
  return all;
}

void LoadDriver::drive(std::size_t node, std::size_t client_index) {
  HttpClient client(endpoints_[node].host, endpoints_[node].port, request_timeout);
  const auto interval = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(static_cast<double>(batch_) / rate_per_client_));
  // Keys of their own per client: no two clients send the same command.
  const std::string key_prefix = "c" + std::to_string(node) + "." + std::to_string(client_index) + "-";
  std::vector<std::uint64_t>& accepted_ids = accepted_ids_[node * clients_per_node_ + client_index];
  std::uint64_t sequence = 0;
  Clock::duration backoff = first_backoff;
  auto next = Clock::now();
  // Sleep in short steps so stop() takes effect quickly.
  auto sleep_until = [&](Clock::time_point when) {
    while (!stop_ && Clock::now() < std::min(when, end_))
      std::this_thread::sleep_for(std::min<Clock::duration>(when - Clock::now(), std::chrono::milliseconds(50)));
  };
  while (true) {
    sleep_until(next);
    const auto now = Clock::now();
    if (stop_ || now >= end_) return;
    const auto reply = client.post("/txs", make_set_commands(key_prefix, sequence, batch_));
    // What a node accepted counts, whatever the status (a 503 may follow some accepted).
    if (reply) {
      if (auto ids = parse_accepted_ids(reply->body)) {
        accepted_ += ids->size();
        accepted_ids.insert(accepted_ids.end(), ids->begin(), ids->end());
      }
    }
    if (reply && reply->status == 202) {
      sequence += batch_;
      backoff = first_backoff;
      next = std::max(next + interval, Clock::now() - max_backlog);
      continue;
    }
    // 503 (mempool full), an error status or no answer: wait, longer each time in a row.
    if (reply && reply->status == 503) rejected_ += batch_;
    next = Clock::now() + backoff;
    backoff = std::min<Clock::duration>(backoff * 2, max_backoff);
  }
}

}  // namespace bft::cluster
