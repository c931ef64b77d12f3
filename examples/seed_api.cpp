// Four validators in one process, each driven through the seed-style handle exactly as
// users of the Rust crate drive theirs: the node's sink broadcasts its Proposal and Vote
// messages to the other three, answers GetProposalRequest with a Feed and Commit with the
// next Status. Runs until every node has committed `heights` heights, then checks that
// all four committed the same values.
//
// Exit status: 0 on agreement; 1 on any disagreement or if it does not finish within
// 30 s of real time.
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "bft/runtime/bft.hpp"

namespace {

using namespace bft::runtime;
using bft::Address;
using bft::Duration;
using bft::Height;
using bft::Value;

constexpr std::size_t node_count = 4;
constexpr Height heights = 50;
constexpr Duration interval{3000};  // the seed's usual per-height interval
constexpr auto time_limit = std::chrono::seconds(30);

class Cluster {
 public:
  /// nullptr (with the reason on stderr) if a handle cannot be created.
  static std::unique_ptr<Cluster> create() {
    std::unique_ptr<Cluster> cluster(new Cluster);
    for (std::size_t i = 0; i < node_count; ++i) {
      cluster->sinks_[i] = std::make_unique<Sink>(*cluster, i);
      cluster->authorities_.push_back(Node{Address::from_text("node-" + std::to_string(i)), 1, 1});
    }
    // Three of the four are a quorum, so when the OS keeps one worker off the CPU the
    // other three carry on without it. Its core keeps messages only `future_heights`
    // ahead; a deployment then catches up through sync (Commit inputs learnt from peers).
    // Here the window simply spans the whole run, so no message is ever refused.
    Options options;
    options.config.future_heights = heights;
    options.config.max_buffered_per_sender = 8 * heights;
    for (std::size_t i = 0; i < node_count; ++i) {
      auto bft = Bft::create(*cluster->sinks_[i], cluster->authorities_[i].address, options);
      if (!bft) {
        std::fprintf(stderr, "example-seed-api: %s\n", bft.error().message.c_str());
        return nullptr;
      }
      cluster->nodes_.push_back(std::move(*bft));
    }
    return cluster;
  }

  ~Cluster() {
    // Every sink calls into other handles: stop all workers before any handle goes.
    for (Bft& node : nodes_) node.stop();
  }

  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;

  /// Starts every node at height 1 and waits until all have committed `heights` heights;
  /// false if that takes longer than `limit`.
  bool run(std::chrono::steady_clock::duration limit) {
    for (std::size_t i = 0; i < node_count; ++i) {
      send(i, Start{});
      send(i, Status{0, interval, authorities_});
    }
    std::unique_lock lock(mutex_);
    return done_.wait_for(lock, limit, [&] { return finished_ == node_count; });
  }

  std::map<Height, Value> committed(std::size_t node) {
    const std::lock_guard lock(mutex_);
    return committed_[node];
  }

  /// Messages a full queue refused (none are expected: consensus here is lock-step).
  std::size_t dropped() const { return dropped_.load(); }

 private:
  Cluster() = default;

  class Sink : public FromCore {
   public:
    Sink(Cluster& cluster, std::size_t index) : cluster_(cluster), index_(index) {}
    void send_msg(CoreOutput msg) override { cluster_.on_output(index_, std::move(msg)); }

   private:
    Cluster& cluster_;
    std::size_t index_;
  };

  void on_output(std::size_t from, CoreOutput&& msg) {
    if (auto* commit = std::get_if<Commit>(&msg)) {
      on_commit(from, *commit);
    } else if (auto* request = std::get_if<GetProposalRequest>(&msg)) {
      const std::string block = "block " + std::to_string(request->height) + " from node-" + std::to_string(from);
      send(from, Feed{request->height, Value::from_text(block)});
    } else if (auto* proposal = std::get_if<Proposal>(&msg)) {
      broadcast(from, *proposal);
    } else {
      broadcast(from, std::get<Vote>(msg));
    }
  }

  void on_commit(std::size_t node, const Commit& commit) {
    {
      const std::lock_guard lock(mutex_);
      committed_[node][commit.height] = commit.proposal;
      if (commit.height == heights) {
        ++finished_;
        done_.notify_all();
        return;
      }
    }
    send(node, Status{commit.height, interval, authorities_});
  }

  template <class Message>
  void broadcast(std::size_t from, const Message& msg) {
    for (std::size_t to = 0; to < node_count; ++to)
      if (to != from) send(to, msg);
  }

  void send(std::size_t to, CoreInput msg) {
    if (const SendResult sent = nodes_[to].send_bft_msg(std::move(msg)); !sent) {
      if (sent.error().code != SendErrc::stopped) ++dropped_;
    }
  }

  std::array<std::unique_ptr<Sink>, node_count> sinks_;
  std::vector<Node> authorities_;
  std::vector<Bft> nodes_;
  std::atomic<std::size_t> dropped_{0};

  std::mutex mutex_;
  std::condition_variable done_;
  std::size_t finished_ = 0;
  std::array<std::map<Height, Value>, node_count> committed_;
};

}  // namespace

int main() {
  const std::unique_ptr<Cluster> cluster = Cluster::create();
  if (!cluster) return 1;
  const auto began = std::chrono::steady_clock::now();
  const bool finished = cluster->run(time_limit);
  const double elapsed_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - began).count();

  bool agree = true;
  const std::map<Height, Value> reference = cluster->committed(0);
  for (std::size_t node = 0; node < node_count; ++node) {
    const std::map<Height, Value> values = cluster->committed(node);
    if (values.size() < heights) {
      std::fprintf(stderr, "node-%zu committed %zu of %llu heights\n", node, values.size(),
                   static_cast<unsigned long long>(heights));
    }
    for (const auto& [height, value] : values) {
      auto same = reference.find(height);
      if (same != reference.end() && same->second != value) {
        std::fprintf(stderr, "height %llu: node-0 committed \"%s\", node-%zu \"%s\"\n",
                     static_cast<unsigned long long>(height), same->second.to_string().c_str(), node,
                     value.to_string().c_str());
        agree = false;
      }
    }
  }

  std::printf("example-seed-api: %zu nodes committed %llu heights in %.1f ms (%.0f heights/s), %s, "
              "%zu messages dropped\n",
              node_count, static_cast<unsigned long long>(finished ? heights : 0), elapsed_ms,
              finished ? static_cast<double>(heights) * 1000.0 / elapsed_ms : 0.0,
              !agree ? "DISAGREE" : finished ? "all agree" : "TIMED OUT", cluster->dropped());
  return finished && agree ? 0 : 1;
}
