// bft-restart-bench: what a restart costs a key-value validator as its chain grows, and
// whether its memory grows with the chain.
//
//   bft-restart-bench [--txs 10000,1000000] [--heights 10000,100000] [--dir D] [--node-bin B]
//                     [--keep] [--json]
//
// 1. For each transaction count N: a lone validator (bft-node, next to this program)
//    commits N transactions with distinct keys (posted in batches of 1,000), is stopped
//    (SIGTERM), and started again: restart-to-ready is the time from the start of the
//    process to its first answer to /status at the height it had reached; its RSS then.
// 2. A lone validator with no load: its RSS (anonymous and file-backed, /proc) at each
//    height of --heights.
// Data directories go to --dir (default: the system's temporary directory), so that
// the disk under test is chosen. The last line with --json is one object.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "bft/crypto/ed25519.hpp"
#include "bft/crypto/key_file.hpp"
#include "cluster/http_client.hpp"
#include "cluster/node_api.hpp"
#include "process.hpp"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "bft-restart-bench: %s\n", what.c_str());
  std::exit(1);
}

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

struct Memory {
  double rss_mb = 0;
  double anon_mb = 0;
  double file_mb = 0;
};

Memory memory_of(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  Memory memory;
  std::string line;
  while (std::getline(status, line)) {
    std::istringstream words(line);
    std::string name;
    double kb = 0;
    words >> name >> kb;
    if (name == "VmRSS:") memory.rss_mb = kb / 1024;
    if (name == "RssAnon:") memory.anon_mb = kb / 1024;
    if (name == "RssFile:") memory.file_mb = kb / 1024;
  }
  return memory;
}

/// One lone validator in `dir`, started and stopped as a child process.
class LoneValidator {
 public:
  LoneValidator(fs::path node_bin, fs::path dir) : node_bin_(std::move(node_bin)), dir_(std::move(dir)) {
    fs::create_directories(dir_);
    const auto signer = bft::crypto::Ed25519Signer::generate();
    if (!bft::crypto::write_key_file(dir_ / "node.key", signer)) fail("cannot write a key file");
    std::ofstream(dir_ / "node.json") << nlohmann::json{
        {"chain_id", "restart-bench"},
        {"listen", "127.0.0.1:" + std::to_string(p2p_port_)},
        {"http", "127.0.0.1:" + std::to_string(http_port_)},
        {"key_file", "node.key"},
        {"data_dir", "data"},
        {"block_max_txs", 5000},
        {"validators",
         {{{"public_key", bft::crypto::to_hex(signer.public_key())}, {"address", "127.0.0.1:" + std::to_string(p2p_port_)}}}}};
  }
  ~LoneValidator() { stop(); }

  /// Starts the process; returns the seconds until it answered /status at `height` or above.
  double start(std::uint64_t height = 0) {
    const auto started = Clock::now();
    auto pid = bft::cluster::spawn({node_bin_.string(), "--config", (dir_ / "node.json").string()}, dir_ / "node.log");
    if (!pid) fail(pid.error().message);
    pid_ = *pid;
    while (seconds_since(started) < 120) {
      if (auto s = status(); s && s->height >= height) return seconds_since(started);
      std::this_thread::sleep_for(2ms);
    }
    fail("the node did not answer /status within 120 s: " + bft::cluster::tail_of(dir_ / "node.log", 5));
  }

  void stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    if (!bft::cluster::exited_cleanly(status)) fail("the node " + bft::cluster::describe_wait_status(status));
  }

  std::optional<bft::cluster::NodeStatus> status() {
    auto reply = client_.get("/status");
    if (!reply || reply->status != 200) return std::nullopt;
    auto parsed = bft::cluster::parse_status(reply->body);
    if (!parsed) return std::nullopt;
    return *parsed;
  }

  /// Posts `count` transactions with distinct keys; waits until they committed.
  void commit_transactions(std::uint64_t count) {
    constexpr std::size_t batch = 1000;
    std::uint64_t sent = 0;
    const std::uint64_t before = status()->txs_committed;
    while (sent < count) {
      const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(batch, count - sent));
      auto reply = client_.post("/txs", bft::cluster::make_set_commands("key-", sent, n));
      if (reply && reply->status == 202) {
        sent += n;
      } else if (reply && reply->status == 503) {
        std::this_thread::sleep_for(5ms);  // the mempool is full: blocks drain it
      } else {
        fail("POST /txs: " + (reply ? std::to_string(reply->status) + " " + reply->body : reply.error().message));
      }
    }
    while (status()->txs_committed < before + count) std::this_thread::sleep_for(10ms);
  }

  pid_t pid() const { return pid_; }

 private:
  fs::path node_bin_;
  fs::path dir_;
  // Ports from the pid keep parallel runs of this program apart.
  std::uint16_t p2p_port_ = static_cast<std::uint16_t>(20000 + getpid() % 20000);
  std::uint16_t http_port_ = static_cast<std::uint16_t>(p2p_port_ + 1);
  pid_t pid_ = -1;
  bft::cluster::HttpClient client_{"127.0.0.1", http_port_, 5s};
};

std::vector<std::uint64_t> parse_list(const std::string& text) {
  std::vector<std::uint64_t> values;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) values.push_back(std::stoull(item));
  return values;
}

}  // namespace

int main(int argc, char** argv) {
  std::string txs_list = "10000,1000000";
  std::string heights_list = "10000,100000";
  std::string dir = fs::temp_directory_path().string();
  bool json_output = false;
  bool keep = false;
  std::string node_bin_option;
  CLI::App app{"Restart-to-ready time and memory of a key-value validator as its chain grows.", "bft-restart-bench"};
  app.set_version_flag("--version", BFT_VERSION);
  app.add_option("--txs", txs_list, "transaction counts to commit before a restart (comma-separated)");
  app.add_option("--heights", heights_list, "heights at which an idle validator's memory is read (comma-separated)");
  app.add_option("--dir", dir, "where the data directories go (the disk under test)");
  app.add_flag("--json", json_output, "end with one JSON object of figures");
  app.add_option("--node-bin", node_bin_option, "the bft-node to measure (default: the one next to this program)");
  app.add_flag("--keep", keep, "keep the data directories (to restart a node by hand, e.g. under a profiler)");
  CLI11_PARSE(app, argc, argv);
  std::signal(SIGPIPE, SIG_IGN);

  const fs::path node_bin =
      node_bin_option.empty() ? fs::canonical("/proc/self/exe").parent_path() / "bft-node" : fs::path(node_bin_option);
  if (!fs::exists(node_bin)) fail("no bft-node at " + node_bin.string());
  const fs::path work = fs::path(dir) / ("bft-restart-bench-" + std::to_string(getpid()));
  nlohmann::json figures;

  for (std::uint64_t count : parse_list(txs_list)) {
    LoneValidator node(node_bin, work / ("txs-" + std::to_string(count)));
    node.start();
    const auto loading = Clock::now();
    node.commit_transactions(count);
    const double load_s = seconds_since(loading);
    const std::uint64_t height = node.status()->height;
    node.stop();
    const double ready_s = node.start(height);
    const Memory memory = memory_of(node.pid());
    node.stop();
    std::printf("%9llu txs (%llu heights, loaded in %.1f s): restart to ready %.3f s, RSS %.1f MB (anon %.1f, file %.1f)\n",
                static_cast<unsigned long long>(count), static_cast<unsigned long long>(height), load_s, ready_s,
                memory.rss_mb, memory.anon_mb, memory.file_mb);
    std::fflush(stdout);
    figures["restart"].push_back({{"txs", count}, {"heights", height}, {"ready_s", ready_s}, {"rss_mb", memory.rss_mb},
                                  {"rss_anon_mb", memory.anon_mb}, {"rss_file_mb", memory.file_mb}});
  }

  const std::vector<std::uint64_t> heights = parse_list(heights_list);
  if (!heights.empty()) {
    LoneValidator node(node_bin, work / "idle");
    node.start();
    const auto started = Clock::now();
    for (std::uint64_t target : heights) {
      while (node.status()->height < target) std::this_thread::sleep_for(50ms);
      const Memory memory = memory_of(node.pid());
      std::printf("idle at height %llu (%.0f s): RSS %.1f MB (anon %.1f, file %.1f)\n",
                  static_cast<unsigned long long>(target), seconds_since(started), memory.rss_mb, memory.anon_mb,
                  memory.file_mb);
      std::fflush(stdout);
      figures["idle"].push_back({{"height", target}, {"rss_mb", memory.rss_mb}, {"rss_anon_mb", memory.anon_mb},
                                 {"rss_file_mb", memory.file_mb}});
    }
    node.stop();
  }
  if (keep)
    std::printf("data directories kept in %s\n", work.c_str());
  else
    fs::remove_all(work);
  if (json_output) std::printf("%s\n", figures.dump().c_str());
  return 0;
}
