// bft-cluster: launches N bft-node validators (on loopback, or each in its own network
// namespace with --netns), drives a key-value load through their HTTP APIs with a live
// progress line, injects kills and partitions on a schedule, then checks agreement and a
// clean shutdown and prints a summary (--json: one JSON object as the last line).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <asio/ip/tcp.hpp>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "bft/crypto/ed25519.hpp"
#include "bft/crypto/key_file.hpp"
#include "cluster/agreement.hpp"
#include "cluster/delivery.hpp"
#include "cluster/http_client.hpp"
#include "cluster/node_api.hpp"
#include "cluster/options.hpp"
#include "cluster/stats.hpp"
#include "cluster/summary.hpp"
#include "load.hpp"
#include "flood.hpp"
#include "prometheus.hpp"
#include "monitor.hpp"
#include "netns.hpp"
#include "process.hpp"
#include "rotation.hpp"

namespace {

using namespace bft::cluster;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using bft::Errc;
using bft::Result;
using bft::make_error;

constexpr int exit_pass = 0;
constexpr int exit_fail = 1;
constexpr int exit_usage = 2;
constexpr int exit_skip = 77;  // CTest's SKIP_RETURN_CODE: --netns is not usable here
constexpr int exit_interrupted = 130;

constexpr auto ready_timeout = std::chrono::seconds(30);
constexpr auto settle_time = std::chrono::seconds(2);
/// After the load, how long the accepted commands still pooled may take to commit.
constexpr auto drain_limit = std::chrono::seconds(30);
constexpr auto shutdown_grace = std::chrono::seconds(5);
constexpr std::uint16_t netns_p2p_port = 26600;
constexpr std::size_t flood_clients = 4;  // --flood-http: hostile connections at once

std::atomic<bool> interrupted{false};
extern "C" void on_interrupt(int) { interrupted = true; }

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

std::int64_t unix_ms_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// stderr output: a progress line redrawn in place on a terminal (one line per second
/// otherwise), and event lines that never mix with it.
class Console {
 public:
  explicit Console(bool quiet) : quiet_(quiet), live_(isatty(STDERR_FILENO) == 1) {}

  void event(const std::string& text) {
    std::fprintf(stderr, "%s%s\n", live_ && drawn_ ? "\r\033[2K" : "", text.c_str());
    drawn_ = false;
  }
  void progress(const std::string& text) {
    if (quiet_) return;
    if (live_) {
      std::fprintf(stderr, "\r\033[2K%s", text.c_str());
      drawn_ = true;
    } else {
      std::fprintf(stderr, "%s\n", text.c_str());
    }
    std::fflush(stderr);
  }
  void finish() {
    if (live_ && drawn_) std::fputc('\n', stderr);
    drawn_ = false;
  }

 private:
  bool quiet_;
  bool live_;
  bool drawn_ = false;
};

struct Node {
  std::string name;
  bft::crypto::PublicKey key{};
  std::vector<std::string> argv;  // how to start it (again)
  fs::path log;
  Endpoint http;
  pid_t pid = -1;        // -1 while not running
  bool killed = false;   // stopped on purpose by --kill, to be restarted
  bool isolated = false; // cut off by --partition
  bool joins_late = false;  // --rotate: started only after the validator changes
  bool unlisted = false;    // --unlisted-joiners: in no other node's configuration
};

/// One scheduled fault step.
struct Action {
  enum Kind { kill, restart, isolate, heal, join };
  double at_s;
  Kind kind;
  std::size_t index;  // into Options::kills or Options::partitions
};

/// A fault whose recovery is being watched: a restarted node catching up to the others,
/// or a healed cluster making progress past the height it had at the heal.
struct Recovery {
  bool after_kill;
  std::size_t report;  // into RunSummary::kills or ::partitions
  Clock::time_point since;
  std::uint64_t baseline;  // heal: the highest height at the heal
};

class ClusterRun {
 public:
  ClusterRun(Options options, fs::path node_bin) : options_(std::move(options)), node_bin_(std::move(node_bin)), console_(options_.quiet) {}
  ClusterRun(const ClusterRun&) = delete;
  ClusterRun& operator=(const ClusterRun&) = delete;
  ~ClusterRun() { kill_all(); }

  int run();

 private:
  Result<void> prepare_directory();
  Result<void> write_node_files();
  Result<void> start_node(std::size_t i);
  Result<void> wait_until_ready();
  void drive_and_watch();
  void apply(const Action& action, Clock::time_point start);
  void check_recoveries(const std::vector<NodeView>& views);
  void reap_unexpected_exits();
  void show_progress(const std::vector<NodeView>& views, double elapsed_s);
  void collect_results();
  /// Until every running node's mempool is empty, or drain_limit (a failure then).
  void wait_for_empty_mempools();
  void read_prometheus(PrometheusServer& prometheus);
  void shut_down();
  void kill_all();
  int finish(int code);

  Options options_;
  fs::path node_bin_;
  Console console_;
  fs::path dir_;
  bool created_dir_ = false;
  NetnsNetwork netns_;  // destroyed after the nodes are killed (see ~ClusterRun order)
  std::vector<Node> nodes_;
  std::int64_t launch_unix_ms_ = 0;
  std::int64_t load_start_unix_ms_ = 0;  // the origin of the fault schedule's times
  RunSummary summary_;
  std::vector<std::uint64_t> accepted_ids_;  // of the commands the nodes accepted (first 8 bytes)
  std::vector<Recovery> recoveries_;
  std::optional<bft::crypto::Ed25519Signer> operator_key_;  // --rotate: signs the validator changes
  std::vector<NodeView> last_views_;  // the monitor's latest snapshot
  bool stop_early_ = false;
  std::uint64_t last_progress_height_ = 0;
};

Result<void> ClusterRun::prepare_directory() {
  if (options_.dir.empty()) {
    std::string pattern = (fs::temp_directory_path() / "bft-cluster-XXXXXX").string();
    if (!mkdtemp(pattern.data())) return make_error(Errc::io_error, "cannot create a temporary directory");
    dir_ = pattern;
    created_dir_ = true;
  } else {
    std::error_code ec;
    fs::create_directories(options_.dir, ec);
    if (ec) return make_error(Errc::io_error, "cannot create " + options_.dir + ": " + ec.message());
    dir_ = fs::absolute(options_.dir);
  }
  return {};
}

/// Loopback ports the kernel reports free: all are bound at once so none repeats.
Result<std::vector<std::uint16_t>> free_loopback_ports(std::size_t count) {
  asio::io_context io;
  std::vector<asio::ip::tcp::acceptor> holders;
  std::vector<std::uint16_t> ports;
  for (std::size_t i = 0; i < count; ++i) {
    asio::error_code ec;
    asio::ip::tcp::acceptor& acceptor = holders.emplace_back(io);
    acceptor.open(asio::ip::tcp::v4(), ec);
    if (!ec) acceptor.bind({asio::ip::address_v4::loopback(), 0}, ec);
    if (ec) return make_error(Errc::io_error, "cannot find a free port: " + ec.message());
    ports.push_back(acceptor.local_endpoint().port());
  }
  return ports;
}

Result<void> ClusterRun::write_node_files() {
  const std::size_t n = options_.nodes + options_.full_nodes;
  std::vector<std::string> p2p(n);
  std::vector<std::string> http(n);
  std::vector<Endpoint> endpoints(n);
  if (options_.netns) {
    for (std::size_t i = 0; i < n; ++i) {
      endpoints[i] = {netns_.node_address(i), static_cast<std::uint16_t>(netns_p2p_port + http_port_offset)};
      p2p[i] = netns_.node_address(i) + ":" + std::to_string(netns_p2p_port);
    }
  } else {
    std::vector<std::uint16_t> ports;
    if (options_.base_port == 0) {
      auto free = free_loopback_ports(2 * n);
      if (!free) return free.error();
      ports = std::move(*free);
    } else {
      for (std::size_t i = 0; i < n; ++i) ports.push_back(static_cast<std::uint16_t>(options_.base_port + i));
      for (std::size_t i = 0; i < n; ++i)
        ports.push_back(static_cast<std::uint16_t>(options_.base_port + http_port_offset + i));
    }
    for (std::size_t i = 0; i < n; ++i) {
      endpoints[i] = {"127.0.0.1", ports[n + i]};
      p2p[i] = "127.0.0.1:" + std::to_string(ports[i]);
    }
  }
  // Validators node-0.., then full nodes full-0..: one list of entries, split below.
  std::vector<ValidatorEntry> entries;
  std::vector<bft::crypto::PublicKey> keys;
  for (std::size_t i = 0; i < n; ++i) {
    const bool full = i >= options_.nodes;
    const std::string name = (full ? "full-" : "node-") + std::to_string(full ? i - options_.nodes : i);
    const auto signer = bft::crypto::Ed25519Signer::generate();
    if (auto written = bft::crypto::write_key_file(dir_ / (name + ".key"), signer); !written) return written.error();
    entries.push_back({name, bft::crypto::to_hex(signer.public_key()), p2p[i]});
    keys.push_back(signer.public_key());
  }
  const std::vector<ValidatorEntry> validators(entries.begin(), entries.begin() + static_cast<std::ptrdiff_t>(options_.nodes));
  std::string operator_hex;
  if (options_.rotate || options_.rotate_out) {
    operator_key_ = bft::crypto::Ed25519Signer::generate();
    if (auto written = bft::crypto::write_key_file(dir_ / "operator.key", *operator_key_); !written) return written.error();
    operator_hex = bft::crypto::to_hex(operator_key_->public_key());
  }
  // The full nodes the changes make validators: full-0 (--rotate), full-0..N-1 (--rotate-out).
  const std::size_t promoted = options_.rotate ? 1 : options_.rotate_out ? options_.nodes : 0;
  const auto unlisted = [&](std::size_t i) {
    return options_.unlisted_joiners && i >= options_.nodes && i < options_.nodes + promoted;
  };
  for (std::size_t i = 0; i < n; ++i) {
    Node node;
    node.name = entries[i].name;
    node.unlisted = unlisted(i);
    // An unlisted joiner lists every other node but not itself; no one else lists it.
    std::vector<ValidatorEntry> listed_full_nodes;
    for (std::size_t j = options_.nodes; j < n; ++j)
      if (!unlisted(j) || (node.unlisted && j != i)) listed_full_nodes.push_back(entries[j]);
    node.key = keys[i];
    node.http = endpoints[i];
    node.log = dir_ / (node.name + ".log");
    // A full node the changes leave out (the last) joins after them, syncing across them.
    node.joins_late = i + 1 == n && ((options_.rotate && options_.full_nodes >= 2) ||
                                     (options_.rotate_out && options_.full_nodes > options_.nodes));
    const NodeConfig config{"bft-cluster",  node.name,         p2p[i],     node.http.host + ":" + std::to_string(node.http.port),
                            node.name + ".key", node.name, options_.log_level, validators, listed_full_nodes, operator_hex,
                            options_.delay_ms, options_.loss, options_.p2p_plaintext};
    const fs::path config_path = dir_ / (node.name + ".json");
    std::ofstream file(config_path);
    file << to_json(config);
    file.close();
    if (!file) return make_error(Errc::io_error, "cannot write " + config_path.string());
    if (options_.netns) node.argv = {"ip", "netns", "exec", netns_.node_namespace(i)};
    node.argv.insert(node.argv.end(), {node_bin_.string(), "--config", config_path.string()});
    nodes_.push_back(std::move(node));
  }
  return {};
}

Result<void> ClusterRun::start_node(std::size_t i) {
  auto pid = spawn(nodes_[i].argv, nodes_[i].log);
  if (!pid) return pid.error();
  nodes_[i].pid = *pid;
  return {};
}

Result<void> ClusterRun::wait_until_ready() {
  const auto deadline = Clock::now() + ready_timeout;
  for (Node& node : nodes_) {
    if (node.joins_late) continue;
    HttpClient client(node.http.host, node.http.port, std::chrono::milliseconds(500));
    while (true) {
      if (interrupted) return make_error(Errc::io_error, "interrupted");
      if (auto reply = client.get("/status"); reply && reply->status == 200 && parse_status(reply->body)) break;
      int status = 0;
      if (waitpid(node.pid, &status, WNOHANG) == node.pid) {
        node.pid = -1;
        return make_error(Errc::io_error, node.name + " exited while starting (" + describe_wait_status(status) +
                                              "); the end of " + node.log.string() + ":\n" + tail_of(node.log, 15));
      }
      if (Clock::now() > deadline)
        return make_error(Errc::io_error, node.name + " did not answer GET /status on " + node.http.host + ":" +
                                              std::to_string(node.http.port) + " within 30 s; the end of " +
                                              node.log.string() + ":\n" + tail_of(node.log, 15));
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  return {};
}

void ClusterRun::reap_unexpected_exits() {
  for (Node& node : nodes_) {
    int status = 0;
    if (node.pid <= 0 || waitpid(node.pid, &status, WNOHANG) != node.pid) continue;
    node.pid = -1;
    summary_.failures.push_back(node.name + " exited unexpectedly (" + describe_wait_status(status) + ")");
    console_.event("bft-cluster: " + summary_.failures.back() + "; the end of " + node.log.string() + ":\n" +
                   tail_of(node.log, 15));
    stop_early_ = true;
  }
}

void ClusterRun::apply(const Action& action, Clock::time_point start) {
  char line[200];
  const double t = seconds_since(start);
  auto report_failure = [&](const std::string& what, const bft::Error& error) {
    summary_.failures.push_back(what + ": " + error.message);
    console_.event("bft-cluster: " + summary_.failures.back());
    stop_early_ = true;
  };
  switch (action.kind) {
    case Action::kill: {
      Node& node = nodes_[options_.kills[action.index].node];
      if (node.pid > 0) {
        ::kill(node.pid, SIGKILL);
        waitpid(node.pid, nullptr, 0);
        node.pid = -1;
      }
      node.killed = true;
      std::snprintf(line, sizeof line, "[%5.1f s] SIGKILL %s", t, node.name.c_str());
      console_.event(line);
      break;
    }
    case Action::restart: {
      const std::size_t i = options_.kills[action.index].node;
      if (auto started = start_node(i); !started) return report_failure("restarting " + nodes_[i].name, started.error());
      nodes_[i].killed = false;
      recoveries_.push_back({true, action.index, Clock::now(), 0});
      std::snprintf(line, sizeof line, "[%5.1f s] restarted %s", t, nodes_[i].name.c_str());
      console_.event(line);
      break;
    }
    case Action::isolate:
    case Action::heal: {
      const bool heal = action.kind == Action::heal;
      const PartitionSpec& spec = options_.partitions[action.index];
      std::string names;
      for (std::size_t i : spec.nodes) {
        if (auto done = netns_.set_connected(i, heal); !done) return report_failure("partition", done.error());
        nodes_[i].isolated = !heal;
        names += (names.empty() ? "" : ", ") + nodes_[i].name;
      }
      if (heal) {
        std::uint64_t highest = 0;
        for (const NodeView& view : last_views_) highest = std::max(highest, view.height);
        recoveries_.push_back({false, action.index, Clock::now(), highest});
      }
      std::snprintf(line, sizeof line, "[%5.1f s] %s %s", t, heal ? "healed" : "isolated", names.c_str());
      console_.event(line);
      break;
    }
    case Action::join: {
      Node& node = nodes_[action.index];
      if (auto started = start_node(action.index); !started) return report_failure("starting " + node.name, started.error());
      std::uint64_t highest = 0;
      for (const NodeView& view : last_views_) highest = std::max(highest, view.height);
      summary_.rotation->late_joiner = node.name;
      summary_.rotation->joined_at_height = highest;
      std::snprintf(line, sizeof line, "[%5.1f s] started %s, which must sync from height 1 to %llu", t,
                    node.name.c_str(), static_cast<unsigned long long>(highest));
      console_.event(line);
      break;
    }
  }
}

void ClusterRun::check_recoveries(const std::vector<NodeView>& views) {
  const auto now = Clock::now();
  auto fresh_since = [&](std::size_t i, Clock::time_point since) {
    return nodes_[i].pid > 0 && views[i].reachable && views[i].sampled > since;
  };
  char line[200];
  std::erase_if(recoveries_, [&](const Recovery& r) {
    const double waited = std::chrono::duration<double>(now - r.since).count();
    bool recovered = false;
    if (r.after_kill) {
      const std::size_t node = options_.kills[r.report].node;
      if (fresh_since(node, r.since)) {
        // Caught up: at least as high as the slowest of the others that are up.
        std::optional<std::uint64_t> others;
        for (std::size_t j = 0; j < nodes_.size(); ++j)
          if (j != node && !nodes_[j].isolated && fresh_since(j, r.since))
            others = std::min(others.value_or(views[j].height), views[j].height);
        recovered = views[node].height >= others.value_or(0);
      }
      if (recovered) {
        summary_.kills[r.report].caught_up = true;
        summary_.kills[r.report].catch_up_s = waited;
      }
      std::snprintf(line, sizeof line, recovered ? "[%5.1f s] %s caught up in %.1f s" : "[%5.1f s] %s did NOT catch up within %.0f s",
                    summary_.kills[r.report].restart_s + waited, nodes_[node].name.c_str(), recovered ? waited : recovery_bound_s);
    } else {
      // Resumed: every node that is up passed the highest height seen at the heal.
      recovered = true;
      for (std::size_t j = 0; j < nodes_.size(); ++j)
        if (!nodes_[j].killed && nodes_[j].pid > 0 && !(fresh_since(j, r.since) && views[j].height > r.baseline))
          recovered = false;
      if (recovered) {
        summary_.partitions[r.report].resumed = true;
        summary_.partitions[r.report].resume_s = waited;
      }
      std::snprintf(line, sizeof line,
                    recovered ? "[%5.1f s] progress resumed after the heal in %.1f s"
                              : "[%5.1f s] progress did NOT resume within %.0f s of the heal",
                    summary_.partitions[r.report].heal_s + waited, recovered ? waited : recovery_bound_s);
    }
    if (!recovered && waited <= recovery_bound_s) return false;
    console_.event(line);
    return true;
  });
}

void ClusterRun::show_progress(const std::vector<NodeView>& views, double elapsed_s) {
  std::uint64_t height = 0;
  std::uint64_t txs = 0;
  std::size_t up = 0;
  std::vector<double> commit_ms;
  for (const NodeView& view : views) {
    if (!view.reachable) continue;
    ++up;
    height = std::max(height, view.height);
    txs = std::max(txs, view.txs_committed);
    commit_ms.insert(commit_ms.end(), view.recent_commit_ms.begin(), view.recent_commit_ms.end());
  }
  const std::uint64_t gained = height >= last_progress_height_ ? height - last_progress_height_ : 0;
  last_progress_height_ = std::max(last_progress_height_, height);
  char line[200];
  std::snprintf(line, sizeof line, "[%5.1f s] height %llu (+%llu/s) | commit p50 %.0f ms | txs %llu | %zu/%zu nodes answering",
                elapsed_s, static_cast<unsigned long long>(height), static_cast<unsigned long long>(gained),
                percentile(std::move(commit_ms), 50), static_cast<unsigned long long>(txs), up, views.size());
  console_.progress(line);
}

void ClusterRun::drive_and_watch() {
  std::vector<Action> actions;
  for (std::size_t k = 0; k < options_.kills.size(); ++k) {
    actions.push_back({options_.kills[k].at_s, Action::kill, k});
    actions.push_back({options_.kills[k].restart_s, Action::restart, k});
    summary_.kills.push_back({options_.kills[k].node, options_.kills[k].at_s, options_.kills[k].restart_s, false, 0});
  }
  for (std::size_t k = 0; k < options_.partitions.size(); ++k) {
    actions.push_back({options_.partitions[k].at_s, Action::isolate, k});
    actions.push_back({options_.partitions[k].heal_s, Action::heal, k});
    summary_.partitions.push_back(
        {options_.partitions[k].nodes, options_.partitions[k].at_s, options_.partitions[k].heal_s, false, 0});
  }
  // --rotate and --rotate-out: the changes spread from 15% to 65% of the load; the late
  // joiner starts at three quarters.
  const auto start = Clock::now();
  const auto at = [&](double s) { return start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s)); };
  std::optional<Rotation> rotation;
  if (options_.rotate || options_.rotate_out) {
    summary_.rotation.emplace();
    std::vector<RotationNode> members;
    for (const Node& node : nodes_) members.push_back({node.name, node.http, node.key});
    std::vector<RotationStep> steps;
    if (options_.rotate) {
      steps = {{RotationStep::add, options_.nodes}, {RotationStep::remove_proposer}, {RotationStep::double_power}};
    } else {
      // Each original validator is replaced by a full node: one joins, then one leaves.
      for (std::size_t i = 0; i < options_.nodes; ++i) {
        steps.push_back({RotationStep::add, options_.nodes + i});
        steps.push_back({RotationStep::remove, i});
      }
    }
    const double d = options_.duration_s;
    std::vector<Clock::time_point> times;
    for (std::size_t k = 0; k < steps.size(); ++k)
      times.push_back(at(d * (0.15 + 0.5 * static_cast<double>(k) / static_cast<double>(steps.size() - 1))));
    rotation.emplace(std::move(members), options_.nodes, *operator_key_, "bft-cluster", std::move(steps),
                     std::move(times));
    for (std::size_t i = 0; i < nodes_.size(); ++i)
      if (nodes_[i].joins_late) actions.push_back({0.75 * d, Action::join, i});
  }
  std::stable_sort(actions.begin(), actions.end(), [](const Action& a, const Action& b) { return a.at_s < b.at_s; });

  std::vector<Endpoint> endpoints;
  // Not the late joiner (it is not there at first), nor an unlisted joiner (it has no peers
  // until the chain names it).
  std::vector<Endpoint> load_endpoints;
  for (const Node& node : nodes_) {
    endpoints.push_back(node.http);
    if (!node.joins_late && !node.unlisted) load_endpoints.push_back(node.http);
  }
  const auto load_end = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(options_.duration_s));
  load_start_unix_ms_ = unix_ms_now();
  const std::vector<Endpoint> load_targets =
      options_.load_to ? std::vector<Endpoint>{endpoints[*options_.load_to]} : load_endpoints;
  LoadDriver load(load_targets, options_.load_per_s, options_.batch, options_.clients, load_end);
  Monitor monitor(endpoints);
  std::optional<HttpFlood> flood;
  if (options_.flood) {
    const Endpoint& target = nodes_[options_.flood->node].http;
    const std::string source = target.host.rfind("127.", 0) == 0 ? "127.0.0.2" : "";
    flood.emplace(target, source, flood_clients, at(options_.flood->at_s), at(options_.flood->until_s));
    flood->start();
  }
  load.start();
  monitor.start();
  if (rotation) rotation->start();
  std::size_t next_action = 0;
  auto next_progress = start + std::chrono::seconds(1);
  while (!interrupted) {
    reap_unexpected_exits();
    if (stop_early_) break;
    const auto now = Clock::now();
    while (next_action < actions.size() && actions[next_action].at_s <= seconds_since(start))
      apply(actions[next_action++], start);
    last_views_ = monitor.snapshot();
    check_recoveries(last_views_);
    if (now >= next_progress) {
      show_progress(last_views_, seconds_since(start));
      next_progress += std::chrono::seconds(1);
    }
    // After the load: settle briefly, and longer while a recovery is still being timed.
    // And until the validator changes are all made (each one's waits are bounded).
    if (now >= load_end + settle_time && next_action == actions.size() && recoveries_.empty() &&
        (!rotation || rotation->finished()))
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  load.stop();
  load.join();
  monitor.stop();
  if (rotation) {
    rotation->stop();
    rotation->join();
    rotation->report_into(*summary_.rotation);
    for (const std::string& failure : rotation->failures()) summary_.failures.push_back(failure);
  }
  if (flood) {
    flood->stop();
    flood->join();
    summary_.flood = FloodReport{options_.flood->node, options_.flood->at_s, options_.flood->until_s, flood->requests(),
                                 flood->answered(), 0, 0, options_.flood_min_ratio};
  }
  console_.finish();
  summary_.commands_accepted = load.accepted();
  summary_.commands_rejected = load.rejected();
  accepted_ids_ = load.accepted_ids();
}

void ClusterRun::wait_for_empty_mempools() {
  const auto deadline = Clock::now() + drain_limit;
  while (Clock::now() < deadline && !interrupted) {
    bool empty = true;
    for (const Node& node : nodes_) {
      if (node.pid <= 0) continue;
      HttpClient client(node.http.host, node.http.port, std::chrono::seconds(2));
      const auto reply = client.get("/status");
      const auto status = reply && reply->status == 200 ? parse_status(reply->body) : Result<NodeStatus>(reply.error());
      if (!status || status->mempool > 0) empty = false;
    }
    if (empty) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  summary_.failures.push_back("the mempools did not drain within " + std::to_string(drain_limit.count()) + " s");
}

void ClusterRun::collect_results() {
  // Every accepted command must commit: give what is still pooled the time to.
  wait_for_empty_mempools();
  std::vector<std::vector<BlockInfo>> chains;
  std::optional<std::uint64_t> lowest;
  for (Node& node : nodes_) {
    if (node.pid <= 0) continue;
    HttpClient client(node.http.host, node.http.port, std::chrono::seconds(5));
    auto fetch = [&]() -> Result<std::vector<BlockInfo>> {
      auto reply = client.get("/status");
      if (!reply) return reply.error();
      if (reply->status != 200) return make_error(Errc::io_error, "GET /status answered " + std::to_string(reply->status));
      auto status = parse_status(reply->body);
      if (!status) return status.error();
      std::vector<BlockInfo> blocks;
      // Page by page: the node bounds each answer and the next page starts after it.
      for (std::uint64_t from = 1; from <= status->height; from = blocks.back().height + 1) {
        reply = client.get("/blocks?tx_ids=1&from=" + std::to_string(from) + "&to=" + std::to_string(status->height));
        if (!reply) return reply.error();
        if (reply->status != 200) return make_error(Errc::io_error, "GET /blocks answered " + std::to_string(reply->status));
        auto part = parse_blocks(reply->body);
        if (!part) return part.error();
        if (part->empty() || part->front().height != from)
          return make_error(Errc::malformed, "GET /blocks did not start at height " + std::to_string(from));
        blocks.insert(blocks.end(), part->begin(), part->end());
      }
      summary_.max_height = std::max(summary_.max_height, status->height);
      if (node.joins_late && summary_.rotation) summary_.rotation->joiner_height = status->height;
      lowest = std::min(lowest.value_or(status->height), status->height);
      return blocks;
    };
    auto blocks = fetch();
    if (!blocks) {
      summary_.failures.push_back("cannot read the results of " + node.name + ": " + blocks.error().message);
      continue;
    }
    chains.push_back(std::move(*blocks));
  }
  summary_.heights = lowest.value_or(0);

  const AgreementReport agreement = check_agreement(chains);
  summary_.agreement = agreement.agreement && !chains.empty();
  summary_.heights_compared = agreement.heights_compared;
  for (const Disagreement& d : agreement.disagreements)
    summary_.disagreements.push_back("height " + std::to_string(d.height) + ": " + nodes_[d.node_a].name + " committed " +
                                     d.hash_a + ", " + nodes_[d.node_b].name + " committed " + d.hash_b);

  // Latency over every node's view of the heights all of them committed; txs and the
  // rates over one chain (they all agree) up to that height.
  std::vector<double> commit_ms;
  const std::vector<BlockInfo>* reference = nullptr;
  for (const auto& chain : chains) {
    for (const BlockInfo& block : chain)
      if (block.height <= summary_.heights) commit_ms.push_back(block.commit_ms);
    if (!reference || chain.size() > reference->size()) reference = &chain;
  }
  summary_.p50_commit_ms = percentile(commit_ms, 50);
  summary_.p99_commit_ms = percentile(commit_ms, 99);
  std::int64_t last_decided_unix_ms = 0;   // of height `heights`
  std::int64_t last_loaded_unix_ms = 0;    // of the last block with commands
  if (reference)
    for (const BlockInfo& block : *reference)
      if (block.height <= summary_.heights) {
        summary_.txs += block.txs;
        if (block.height == summary_.heights) last_decided_unix_ms = block.decided_unix_ms;
        if (block.txs > 0) last_loaded_unix_ms = std::max(last_loaded_unix_ms, block.decided_unix_ms);
      }
  // Rates from launching the nodes: heights up to the last one every node has, commands
  // up to the last block that held any (the settling time after the load is not counted).
  auto seconds_from_launch = [&](std::int64_t unix_ms) {
    const std::int64_t span_ms = (unix_ms > launch_unix_ms_ ? unix_ms : unix_ms_now()) - launch_unix_ms_;
    return static_cast<double>(std::max<std::int64_t>(span_ms, 1)) / 1000.0;
  };
  summary_.heights_per_sec = static_cast<double>(summary_.heights) / seconds_from_launch(last_decided_unix_ms);
  if (summary_.flood && reference) {
    // Heights decided during the flood against those of the same span just before it,
    // by the decision times the nodes recorded.
    const double span_s = summary_.flood->until_s - summary_.flood->at_s;
    auto decided_between = [&](double from_s, double to_s) {
      const auto from_ms = load_start_unix_ms_ + static_cast<std::int64_t>(from_s * 1000);
      const auto to_ms = load_start_unix_ms_ + static_cast<std::int64_t>(to_s * 1000);
      return static_cast<double>(std::count_if(reference->begin(), reference->end(), [&](const BlockInfo& block) {
        return block.decided_unix_ms >= from_ms && block.decided_unix_ms < to_ms;
      }));
    };
    summary_.flood->heights_per_sec_before = decided_between(summary_.flood->at_s - span_s, summary_.flood->at_s) / span_s;
    summary_.flood->heights_per_sec_during = decided_between(summary_.flood->at_s, summary_.flood->until_s) / span_s;
  }
  summary_.txs_per_sec = static_cast<double>(summary_.txs) / seconds_from_launch(last_loaded_unix_ms);
  if (reference) {
    std::vector<std::uint64_t> committed;
    for (const BlockInfo& block : *reference) committed.insert(committed.end(), block.tx_ids.begin(), block.tx_ids.end());
    summary_.delivery = check_delivery(std::move(accepted_ids_), std::move(committed));
  }
}

void ClusterRun::read_prometheus(PrometheusServer& prometheus) {
  PrometheusReport report;
  report.url = prometheus.url();
  auto heights = prometheus.query("bftcore_consensus_height");
  if (heights) {
    report.nodes_reporting = heights->size();
    for (const PromSample& sample : *heights) {
      const auto height = static_cast<std::uint64_t>(sample.value);
      report.lowest_height = &sample == &heights->front() ? height : std::min(report.lowest_height, height);
    }
  } else {
    report.problem = heights.error().message;
  }
  auto median = prometheus.query(
      "histogram_quantile(0.5, sum by (le) (rate(bftcore_consensus_commit_latency_seconds_bucket[30s])))");
  if (median && median->size() == 1) {
    report.p50_commit_ms = median->front().value * 1000;
  } else if (report.problem.empty()) {
    report.problem = median ? "the commit latency quantile has " + std::to_string(median->size()) + " series"
                            : median.error().message;
  }
  summary_.prometheus = std::move(report);
}

void ClusterRun::shut_down() {
  for (const Node& node : nodes_)
    if (node.pid > 0) ::kill(node.pid, SIGTERM);
  const auto deadline = Clock::now() + shutdown_grace;
  while (true) {
    bool running = false;
    for (Node& node : nodes_) {
      int status = 0;
      if (node.pid <= 0) continue;
      if (waitpid(node.pid, &status, WNOHANG) != node.pid) {
        running = true;
        continue;
      }
      node.pid = -1;
      if (!exited_cleanly(status))
        summary_.shutdown_problems.push_back(node.name + ": " + describe_wait_status(status) + " after SIGTERM");
    }
    if (!running || Clock::now() > deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  for (Node& node : nodes_) {
    if (node.pid <= 0) continue;
    summary_.shutdown_problems.push_back(node.name + ": still running 5 s after SIGTERM; sent SIGKILL");
    ::kill(node.pid, SIGKILL);
    waitpid(node.pid, nullptr, 0);
    node.pid = -1;
  }
  summary_.clean_shutdown = summary_.shutdown_problems.empty();
}

void ClusterRun::kill_all() {
  for (Node& node : nodes_) {
    if (node.pid <= 0) continue;
    ::kill(node.pid, SIGKILL);
    waitpid(node.pid, nullptr, 0);
    node.pid = -1;
  }
}

/// Removes the temporary directory after a passing run; otherwise says where it is.
int ClusterRun::finish(int code) {
  if (dir_.empty()) return code;
  if (code == exit_pass && created_dir_ && !options_.keep_dir) {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  } else {
    std::fprintf(stderr, "bft-cluster: keys, configs, data and node logs are in %s\n", dir_.c_str());
  }
  return code;
}

int ClusterRun::run() {
  const std::string mode = options_.netns ? "netns" : "loopback";
  if (options_.netns) {
    if (auto created = netns_.create(options_.nodes + options_.full_nodes); !created) {
      std::fprintf(stderr,
                   "bft-cluster: --netns is not usable here (it needs root, iproute2 and permission to create "
                   "network namespaces): %s\n",
                   created.error().message.c_str());
      return exit_skip;
    }
  }
  auto fail = [&](const std::string& message) {
    std::fprintf(stderr, "bft-cluster: %s\n", message.c_str());
    kill_all();
    return finish(interrupted ? exit_interrupted : exit_fail);
  };
  if (auto ok = prepare_directory(); !ok) return fail(ok.error().message);
  if (auto ok = write_node_files(); !ok) return fail(ok.error().message);
  // Before any thread exists, so every thread and child started later runs in the hub.
  if (options_.netns)
    if (auto ok = netns_.enter_hub(); !ok) return fail(ok.error().message);

  launch_unix_ms_ = unix_ms_now();
  for (std::size_t i = 0; i < nodes_.size(); ++i)
    if (!nodes_[i].joins_late)
      if (auto ok = start_node(i); !ok) return fail("starting " + nodes_[i].name + ": " + ok.error().message);
  if (auto ok = wait_until_ready(); !ok) return fail(ok.error().message);
  console_.event("bft-cluster: " + std::to_string(nodes_.size()) + " nodes up (" + mode + "), files in " + dir_.string());
  std::unique_ptr<PrometheusServer> prometheus;
  if (options_.metrics_port) {
    std::vector<ScrapeTarget> targets;
    for (const Node& node : nodes_)
      targets.push_back({node.name, node.http.host + ":" + std::to_string(node.http.port)});
    auto started = PrometheusServer::start(dir_, *options_.metrics_port, targets);
    if (!started) return fail("starting prometheus: " + started.error().message);
    prometheus = std::move(*started);
    console_.event("bft-cluster: prometheus at " + prometheus->url() + " scrapes every node's /metrics each second");
  }

  drive_and_watch();
  if (prometheus) read_prometheus(*prometheus);
  if (interrupted) {
    shut_down();
    std::fprintf(stderr, "bft-cluster: interrupted; nodes stopped%s\n", options_.netns ? ", namespaces deleted" : "");
    return finish(exit_interrupted);
  }
  collect_results();
  shut_down();

  summary_.mode = mode;
  summary_.nodes = nodes_.size();
  summary_.duration_s = options_.duration_s;
  summary_.load_per_s = options_.load_per_s;
  summary_.batch = options_.batch;
  summary_.delay_ms = options_.delay_ms;
  summary_.loss = options_.loss;
  std::fputs(summary_.to_text().c_str(), stdout);
  if (options_.json) std::printf("%s\n", summary_.to_json().c_str());
  std::fflush(stdout);
  return finish(summary_.ok() ? exit_pass : exit_fail);
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string_view> args(argv + 1, argv + argc);
  auto options = parse_options(args);
  if (!options) {
    std::fprintf(stderr, "bft-cluster: %s\n(see bft-cluster --help)\n", options.error().message.c_str());
    return exit_usage;
  }
  if (options->help) {
    std::fputs(usage_text, stdout);
    return exit_pass;
  }
  if (options->version) {
    std::printf("bft-cluster %s\n", BFT_VERSION);
    return exit_pass;
  }
  std::error_code ec;
  fs::path node_bin = options->node_bin.empty() ? fs::read_symlink("/proc/self/exe", ec).parent_path() / "bft-node"
                                                : fs::path(options->node_bin);
  node_bin = fs::absolute(node_bin, ec);
  if (ec || access(node_bin.c_str(), X_OK) != 0) {
    std::fprintf(stderr, "bft-cluster: cannot run %s: build bft-node or pass --node-bin\n", node_bin.c_str());
    return exit_usage;
  }

  // An interrupt only sets a flag: the run then stops its nodes and deletes what it
  // created on the ordinary path.
  struct sigaction action {};
  action.sa_handler = on_interrupt;
  sigemptyset(&action.sa_mask);
  for (int signal_number : {SIGINT, SIGTERM, SIGHUP}) sigaction(signal_number, &action, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  try {
    ClusterRun run(std::move(*options), std::move(node_bin));
    return run.run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bft-cluster: %s\n", e.what());
    return exit_fail;
  }
}
