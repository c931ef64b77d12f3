// bft-bench: the whole benchmark suite in one process, with fixed time budgets or
// iteration counts so that it runs in about a minute (a few seconds with --quick).
//
//   bft-bench [--quick] [--json]
//
// Prints one line per figure; with --json the last line is one JSON object holding every
// figure (keys: docs/PERFORMANCE.md). Every figure is measured in this run; nothing here
// asserts a speed. The runtime workload runs in a child process per validator count
// (this program re-executed with --runtime-child), which reports its own peak RSS.
#include <fcntl.h>
#include <malloc.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "bft/codec/codec.hpp"
#include "bft/core.hpp"
#include "bft/crypto/batch_verifier.hpp"
#include "bft/crypto/ed25519.hpp"
#include "bft/crypto/signing.hpp"
#include "bft/runtime/bft.hpp"
#include "bft/sim/simulation.hpp"
#include "bft/sim/summary.hpp"
#include "bft/wal/wal.hpp"
#include "core_workload.hpp"
#include "crypto_workload.hpp"

extern char** environ;

// ---- heap accounting ------------------------------------------------------------------
// Live heap bytes, counted only while `heap_counting` is set so that the other
// measurements pay one uncontended load per allocation and nothing else.

namespace {
std::atomic<bool> heap_counting{false};
std::atomic<std::int64_t> heap_live_bytes{0};

void* counted_alloc(std::size_t size) {
  void* p = std::malloc(size == 0 ? 1 : size);
  if (p == nullptr) throw std::bad_alloc();
  if (heap_counting.load(std::memory_order_relaxed))
    heap_live_bytes.fetch_add(static_cast<std::int64_t>(malloc_usable_size(p)), std::memory_order_relaxed);
  return p;
}

void counted_free(void* p) noexcept {
  if (p == nullptr) return;
  if (heap_counting.load(std::memory_order_relaxed))
    heap_live_bytes.fetch_sub(static_cast<std::int64_t>(malloc_usable_size(p)), std::memory_order_relaxed);
  std::free(p);
}
}  // namespace

void* operator new(std::size_t size) { return counted_alloc(size); }
void* operator new[](std::size_t size) { return counted_alloc(size); }
void operator delete(void* p) noexcept { counted_free(p); }
void operator delete[](void* p) noexcept { counted_free(p); }
void operator delete(void* p, std::size_t) noexcept { counted_free(p); }
void operator delete[](void* p, std::size_t) noexcept { counted_free(p); }

namespace {

using namespace bft;
using namespace bft::bench;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

/// Runs `step` (which returns how many items it processed) until `budget` seconds have
/// passed or `max_steps` steps; returns items per second.
double rate_over(double budget, std::uint64_t max_steps, const std::function<std::uint64_t()>& step) {
  const auto start = Clock::now();
  std::uint64_t items = 0;
  for (std::uint64_t i = 0; i < max_steps; ++i) {
    items += step();
    if (seconds_since(start) >= budget) break;
  }
  return static_cast<double>(items) / seconds_since(start);
}

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "bft-bench: %s\n", what.c_str());
  std::exit(1);
}

// ---- the pure core --------------------------------------------------------------------

/// Heap bytes a core holds at steady state: live bytes allocated from its creation on,
/// sampled just before each decision (the fullest point of a height: every vote but the
/// last is tallied) over 16 heights, the largest sample. The validator set is built
/// before counting starts and shared with the core, so it is not included.
std::int64_t core_bytes_held(const std::vector<Validator>& validators, const ValidatorSet& set) {
  const std::size_t n = validators.size();
  const std::size_t quorum = n * 2 / 3 + 1;
  std::vector<Output> out;
  out.reserve(64);  // before counting: the driver's buffer is not the core's memory
  heap_live_bytes.store(0);
  heap_counting.store(true);
  std::int64_t held_max = 0;
  {
    auto core = Core::create(validators[1].address, Config{}, make_round_robin_selector()).value();
    // Outputs are dropped at once so that the driver's buffer never grows while counting.
    auto feed = [&](Input input) {
      (void)core.handle(std::move(input), out);
      out.clear();
    };
    for (Height height = 1; height <= 16; ++height) {
      feed(StartHeight{height, set});
      feed(ReceivedProposal{Proposal{height, 0, block_hash(), nil_round, *core.proposer(0), {}}});
      for (std::size_t i = 0; i < n; ++i) feed(Vote{VoteType::prevote, height, 0, block_hash(), validators[i].address});
      for (std::size_t i = 0; i + 1 < quorum; ++i)
        feed(Vote{VoteType::precommit, height, 0, block_hash(), validators[i].address});
      held_max = std::max(held_max, heap_live_bytes.load());
      feed(Vote{VoteType::precommit, height, 0, block_hash(), validators[quorum - 1].address});
      if (!core.decided()) fail("core: the sampled height was not decided");
    }
  }
  heap_counting.store(false);
  return held_max;
}

struct CoreFigures {
  double votes_per_sec = 0;
  double ns_per_vote = 0;
  double bytes_per_validator = 0;
};

CoreFigures measure_core(std::size_t n, double budget) {
  HappyPath workload(n);
  CoreFigures figures;
  figures.votes_per_sec = rate_over(budget, 1'000'000'000, [&] {
    const std::uint64_t votes = workload.next_height();
    if (!workload.decided()) fail("core: the height was not decided");
    return votes;
  });
  figures.ns_per_vote = 1e9 / figures.votes_per_sec;
  figures.bytes_per_validator = static_cast<double>(core_bytes_held(workload.validators(), workload.set())) / static_cast<double>(n);
  return figures;
}

// ---- the seed's workload through the threaded handle ----------------------------------

/// Signals each Commit; the node's own Proposal and Vote outputs go nowhere (the handle
/// feeds them back to its core itself).
class CommitSignal : public runtime::FromCore {
 public:
  void send_msg(runtime::CoreOutput msg) override {
    if (const auto* commit = std::get_if<runtime::Commit>(&msg)) {
      const std::lock_guard lock(mutex_);
      committed_ = commit->height;
      changed_.notify_one();
    }
  }
  bool wait_for(Height height) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, std::chrono::seconds(10), [&] { return committed_ >= height; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  Height committed_ = 0;
};

struct RuntimeFigures {
  double msgs_per_sec = 0;
  double heights_per_sec = 0;
};

/// One node under test at N validators: each height a Status, the proposal (or a Feed
/// when this node proposes), N-1 prevotes and N-1 precommits, then the Commit is awaited.
/// `laggard_help` off is the seed's behaviour (it has no such output); on, the core also
/// answers each precommit that arrives after its decision with a copy of the commit.
RuntimeFigures measure_runtime(std::size_t n, double budget, bool laggard_help) {
  const auto validators = make_validators(n);
  const auto set = ValidatorSet::create(validators).value();
  std::vector<runtime::Node> authorities;
  for (const Validator& v : validators) authorities.push_back({v.address, v.propose_weight, v.power});
  const Address& self = validators[0].address;
  CommitSignal sink;
  runtime::Options options;
  options.config.laggard_help = laggard_help;
  auto handle = runtime::Bft::create(sink, self, options);
  if (!handle) fail("runtime: " + handle.error().message);
  // The handle's default selector, asked the same question, says who proposes.
  const auto selector = make_seed_pcg_selector();
  std::uint64_t msgs = 0;
  auto send = [&](runtime::CoreInput msg) {
    if (!handle->send_bft_msg(std::move(msg))) fail("runtime: a message was refused");
    ++msgs;
  };
  (void)handle->send_bft_msg(runtime::Start{});
  const Duration interval{3000};
  Height committed = 0;
  const auto start = Clock::now();
  do {
    const Height height = committed + 1;
    send(runtime::Status{committed, interval, authorities});
    const std::size_t proposer = selector->select(set, height, 0).value();
    if (proposer == 0) {
      send(runtime::Feed{height, block_hash()});
    } else {
      send(runtime::Proposal{height, 0, block_hash(), std::nullopt, {}, validators[proposer].address});
    }
    for (VoteType type : {VoteType::prevote, VoteType::precommit})
      for (std::size_t i = 1; i < n; ++i) send(runtime::Vote{type, height, 0, block_hash(), validators[i].address});
    if (!sink.wait_for(height)) fail("runtime: no Commit for height " + std::to_string(height));
    committed = height;
  } while (seconds_since(start) < budget);
  const double elapsed = seconds_since(start);
  return {static_cast<double>(msgs) / elapsed, static_cast<double>(committed) / elapsed};
}

// ---- four handles in one process ------------------------------------------------------

/// Seed-style handles wired as in examples/seed_api.cpp (there: four); counts the
/// Proposal and Vote messages delivered from one handle to another.
class InprocCluster {
 public:
  InprocCluster(std::size_t nodes, Height heights) : nodes_(nodes), heights_(heights) {
    for (std::size_t i = 0; i < nodes_; ++i) {
      sinks_.push_back(std::make_unique<Sink>(*this, i));
      authorities_.push_back({Address::from_text("node-" + std::to_string(i)), 1, 1});
    }
    runtime::Options options;
    // As in the example: keep every future message, the run is shorter than the window.
    options.config.future_heights = heights;
    options.config.max_buffered_per_sender = 8 * heights;
    for (std::size_t i = 0; i < nodes_; ++i) {
      auto bft = runtime::Bft::create(*sinks_[i], authorities_[i].address, options);
      if (!bft) fail("cluster: " + bft.error().message);
      handles_.push_back(std::move(*bft));
    }
  }
  ~InprocCluster() {
    for (runtime::Bft& handle : handles_) handle.stop();
  }
  InprocCluster(const InprocCluster&) = delete;
  InprocCluster& operator=(const InprocCluster&) = delete;

  /// Seconds until every node committed every height.
  double run() {
    const auto start = Clock::now();
    for (std::size_t i = 0; i < nodes_; ++i) {
      send(i, runtime::Start{});
      send(i, runtime::Status{0, interval, authorities_});
    }
    std::unique_lock lock(mutex_);
    if (!done_.wait_for(lock, std::chrono::seconds(60), [&] { return finished_ == nodes_; }))
      fail("cluster: did not finish");
    return seconds_since(start);
  }
  std::uint64_t delivered() const { return delivered_.load(); }

 private:
  static constexpr Duration interval{3000};

  class Sink : public runtime::FromCore {
   public:
    Sink(InprocCluster& cluster, std::size_t index) : cluster_(cluster), index_(index) {}
    void send_msg(runtime::CoreOutput msg) override { cluster_.on_output(index_, std::move(msg)); }

   private:
    InprocCluster& cluster_;
    std::size_t index_;
  };

  void on_output(std::size_t from, runtime::CoreOutput&& msg) {
    if (const auto* commit = std::get_if<runtime::Commit>(&msg)) {
      if (commit->height == heights_) {
        const std::lock_guard lock(mutex_);
        ++finished_;
        done_.notify_all();
      } else {
        send(from, runtime::Status{commit->height, interval, authorities_});
      }
    } else if (const auto* request = std::get_if<runtime::GetProposalRequest>(&msg)) {
      send(from, runtime::Feed{request->height, Value::from_text("block " + std::to_string(request->height))});
    } else if (const auto* proposal = std::get_if<runtime::Proposal>(&msg)) {
      broadcast(from, *proposal);
    } else {
      broadcast(from, std::get<runtime::Vote>(msg));
    }
  }

  template <class Message>
  void broadcast(std::size_t from, const Message& msg) {
    for (std::size_t to = 0; to < nodes_; ++to) {
      if (to == from) continue;
      if (send(to, msg)) delivered_.fetch_add(1, std::memory_order_relaxed);
    }
  }

  bool send(std::size_t to, runtime::CoreInput msg) {
    const runtime::SendResult sent = handles_[to].send_bft_msg(std::move(msg));
    if (!sent && sent.error().code == runtime::SendErrc::queue_full) fail("cluster: a queue was full");
    return sent.ok();
  }

  std::size_t nodes_;
  Height heights_;
  std::vector<std::unique_ptr<Sink>> sinks_;
  std::vector<runtime::Node> authorities_;
  std::vector<runtime::Bft> handles_;
  std::atomic<std::uint64_t> delivered_{0};
  std::mutex mutex_;
  std::condition_variable done_;
  std::size_t finished_ = 0;
};

// ---- codec and signatures -------------------------------------------------------------

/// Encode into a reused buffer, then decode.
double measure_codec_roundtrips(double budget) {
  const codec::SignedVote vote = typical_vote(signer(1));
  Bytes buffer;
  return rate_over(budget, 1'000'000'000, [&] {
    for (int i = 0; i < 1000; ++i) {
      buffer.clear();
      codec::encode_to(vote, buffer);
      if (!codec::decode_vote(buffer)) fail("codec: decode failed");
    }
    return std::uint64_t{1000};
  });
}

double measure_verify_one_core(double budget) {
  const crypto::Ed25519Signer by = signer(1);
  const codec::SignedVote vote = typical_vote(by);
  const Bytes message = codec::vote_sign_bytes(chain(), vote.vote);
  const crypto::Ed25519Verifier verifier(by.public_key());
  return rate_over(budget, 1'000'000'000, [&] {
    if (!verifier.verify(message, vote.signature)) fail("ed25519: verify failed");
    return std::uint64_t{1};
  });
}

/// BatchVerifier::verify over 1024 distinct signatures with one thread per core.
double measure_verify_all_cores(double budget) {
  std::vector<crypto::Ed25519Signer> signers;
  std::vector<crypto::Ed25519Verifier> verifiers;
  for (std::uint8_t i = 0; i < 64; ++i) {
    signers.push_back(signer(static_cast<std::uint8_t>(i + 1)));
    verifiers.emplace_back(signers.back().public_key());
  }
  std::vector<Bytes> messages;
  std::vector<crypto::SignatureCheck> checks;
  for (std::size_t i = 0; i < 1024; ++i) {
    const auto& by = signers[i % signers.size()];
    messages.push_back(codec::vote_sign_bytes(
        chain(), Vote{VoteType::prevote, 1, static_cast<Round>(i), block_hash(), crypto::address_of(by.public_key())}));
  }
  for (std::size_t i = 0; i < messages.size(); ++i)
    checks.push_back({&verifiers[i % verifiers.size()], messages[i], signers[i % signers.size()].sign(messages[i])});
  crypto::BatchVerifier batch(0);
  auto valid = std::make_unique<bool[]>(checks.size());
  return rate_over(budget, 1'000'000'000, [&] {
    if (!batch.verify(checks, std::span<bool>(valid.get(), checks.size()))) fail("ed25519: batch verify failed");
    return std::uint64_t{checks.size()};
  });
}

/// `openssl speed ed25519` as a child process: the last field of its Ed25519 row is
/// verifies/s. 0 if openssl is missing or its output is not understood.
double openssl_verify_rate(int seconds, unsigned processes) {
  std::string command = "openssl speed -seconds " + std::to_string(seconds);
  if (processes > 1) command += " -multi " + std::to_string(processes);
  command += " ed25519 2>/dev/null";
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return 0;
  double rate = 0;
  char line[512];
  while (std::fgets(line, sizeof line, pipe) != nullptr) {
    const std::string_view text(line);
    if (text.find("Ed25519") == std::string_view::npos || text.rfind("Doing", 0) == 0) continue;
    const std::size_t end = text.find_last_not_of(" \n");
    const std::size_t begin = text.find_last_of(' ', end);
    if (end != std::string_view::npos && begin != std::string_view::npos)
      rate = std::strtod(std::string(text.substr(begin + 1, end - begin)).c_str(), nullptr);
  }
  ::pclose(pipe);
  return rate;
}

// ---- the write-ahead log --------------------------------------------------------------

std::filesystem::path fresh_dir(const char* name) {
  const char* base = std::getenv("BFT_WAL_BENCH_DIR");
  std::filesystem::path dir = std::filesystem::path(base ? base : std::filesystem::temp_directory_path().string()) /
                              (std::string("bft-bench-") + name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

Vote wal_vote(Round round) {
  return Vote{VoteType::prevote, 1, round, block_hash(), make_validators(1)[0].address};
}

/// Microseconds per durable append of an own vote (the default policy fdatasyncs it).
double measure_wal_append_us(double budget) {
  const auto dir = fresh_dir("wal");
  auto storage = wal::open_directory(dir.string());
  if (!storage) fail("wal: " + storage.error().message);
  auto opened = wal::Wal::open(**storage);
  if (!opened || !opened->wal.append(StartHeight{1, ValidatorSet::create(make_validators(4)).value()}))
    fail("wal: open failed");
  Round round = 0;
  const double rate = rate_over(budget, 100'000, [&] {
    if (!opened->wal.append(wal::OwnVote{wal_vote(round++), Bytes(64, 1)})) fail("wal: append failed");
    return std::uint64_t{1};
  });
  std::filesystem::remove_all(dir);
  return 1e6 / rate;
}

/// Microseconds per write() of a record-sized payload plus fdatasync(): the disk's limit.
double measure_raw_fdatasync_us(double budget) {
  const auto dir = fresh_dir("raw");
  const std::string path = (dir / "raw.log").string();
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) fail("raw: open failed");
  Bytes payload;
  wal::encode_record(wal::OwnVote{wal_vote(0), Bytes(64, 1)}, payload);
  payload.resize(payload.size() + wal::frame_header_size);
  const double rate = rate_over(budget, 100'000, [&] {
    if (::write(fd, payload.data(), payload.size()) != static_cast<ssize_t>(payload.size()) || ::fdatasync(fd) != 0)
      fail("raw: write/fdatasync failed");
    return std::uint64_t{1};
  });
  ::close(fd);
  std::filesystem::remove_all(dir);
  return 1e6 / rate;
}

// ---- the simulator --------------------------------------------------------------------

struct SimFigures {
  double heights_per_sec = 0;
  double p50_latency_ms = 0;
};

SimFigures run_sim(std::size_t validators, Height heights, std::optional<std::uint64_t> delay_ms) {
  sim::SimOptions options;
  options.validators = validators;
  options.heights = heights;
  if (delay_ms) {
    options.network.default_link.min_delay = sim::from_ms(*delay_ms);
    options.network.default_link.max_delay = sim::from_ms(*delay_ms);
  }
  const auto start = Clock::now();
  auto run = sim::run_simulation(options, 1);
  const double elapsed = seconds_since(start);
  if (!run) fail("sim: " + run.error().message);
  if (!run->complete || run->failed()) fail("sim: the run did not complete cleanly");
  sim::Summary summary;
  summary.add(*run);
  return {static_cast<double>(run->heights_committed) / elapsed, summary.commit_latency_ms(0.5)};
}

// ---- output ---------------------------------------------------------------------------

/// Builds the JSON line; keys are fixed strings, values finite numbers.
class JsonObject {
 public:
  void number(const std::string& key, double value) { add(key, format(value)); }
  void text(const std::string& key, const std::string& value) {
    std::string quoted = "\"";
    for (char c : value) {
      if (c == '"' || c == '\\') quoted += '\\';
      if (static_cast<unsigned char>(c) >= 0x20) quoted += c;
    }
    add(key, quoted + "\"");
  }
  void object(const std::string& key, const JsonObject& value) { add(key, value.str()); }
  std::string str() const { return "{" + body_ + "}"; }

 private:
  static std::string format(double value) {
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%.6g", value);
    return buffer;
  }
  void add(const std::string& key, const std::string& value) {
    if (!body_.empty()) body_ += ',';
    body_ += "\"" + key + "\":" + value;
  }
  std::string body_;
};

std::string cpu_model() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("model name", 0) == 0) {
      const std::size_t colon = line.find(':');
      return colon == std::string::npos ? line : line.substr(colon + 2);
    }
  }
  return "unknown";
}

std::string today() {
  const std::time_t now = std::time(nullptr);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%d", std::gmtime(&now));
  return buffer;
}

/// VmHWM of /proc/self/status: this process's peak RSS since its exec. (wait4's
/// ru_maxrss would not do: posix_spawn's vfork hands the child the parent's high-water
/// mark, so every child would report at least the parent's RSS.)
long long peak_rss_kib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::atoll(line.c_str() + 6);
  return 0;
}

/// Runs this program again as `--runtime-child n budget`; returns its figures and its
/// peak RSS in MB, which the child reads itself.
std::pair<RuntimeFigures, double> runtime_in_child(std::size_t n, double budget, bool laggard_help) {
  int fds[2];
  if (::pipe(fds) != 0) fail("pipe failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, fds[0]);
  std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  std::string flag = "--runtime-child", count = std::to_string(n), seconds = std::to_string(budget),
              help = laggard_help ? "1" : "0";
  char* argv[] = {self.data(), flag.data(), count.data(), seconds.data(), help.data(), nullptr};
  pid_t pid = 0;
  const int spawned = posix_spawn(&pid, self.c_str(), &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  if (spawned != 0) fail("posix_spawn failed");
  std::string output;
  char buffer[256];
  for (ssize_t got; (got = ::read(fds[0], buffer, sizeof buffer)) > 0;) output.append(buffer, static_cast<std::size_t>(got));
  ::close(fds[0]);
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
    fail("runtime child for N=" + count + " failed");
  RuntimeFigures figures;
  long long rss_kib = 0;
  if (std::sscanf(output.c_str(), "%lf %lf %lld", &figures.msgs_per_sec, &figures.heights_per_sec, &rss_kib) != 3)
    fail("runtime child printed no figures");
  return {figures, static_cast<double>(rss_kib) / 1024.0};
}

int run_suite(bool quick, bool json) {
  const double budget = quick ? 0.05 : 0.5;
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  JsonObject out;
  JsonObject machine;
  machine.number("nproc", cores);
  machine.text("cpu", cpu_model());
  machine.text("date", today());
  out.object("machine", machine);
  out.text("mode", quick ? "quick" : "full");

  JsonObject votes_per_sec, ns_per_vote, bytes_per_validator;
  for (std::size_t n : {4, 16, 64, 128, 256, 1024}) {
    const CoreFigures figures = measure_core(n, budget);
    const std::string key = std::to_string(n);
    votes_per_sec.number(key, figures.votes_per_sec);
    ns_per_vote.number(key, figures.ns_per_vote);
    bytes_per_validator.number(key, figures.bytes_per_validator);
    std::printf("core n=%-5zu %12.0f votes/s %8.1f ns/vote %8.0f bytes held per validator\n", n,
                figures.votes_per_sec, figures.ns_per_vote, figures.bytes_per_validator);
  }
  out.object("core_votes_per_sec", votes_per_sec);
  out.object("core_ns_per_vote", ns_per_vote);
  out.object("core_bytes_per_validator", bytes_per_validator);

  // The seed's workload as the seed runs it (no laggard help), then with the core's help on.
  JsonObject runtime_msgs, runtime_heights, runtime_rss, runtime_msgs_help;
  for (std::size_t n : {4, 16, 64, 128}) {
    const auto [figures, rss_mb] = runtime_in_child(n, quick ? 0.2 : 2.0, false);
    const auto [with_help, rss_help_mb] = runtime_in_child(n, quick ? 0.2 : 2.0, true);
    const std::string key = std::to_string(n);
    runtime_msgs.number(key, figures.msgs_per_sec);
    runtime_heights.number(key, figures.heights_per_sec);
    runtime_rss.number(key, rss_mb);
    runtime_msgs_help.number(key, with_help.msgs_per_sec);
    std::printf("runtime n=%-4zu %12.0f msgs/s %10.0f heights/s %8.2f MB peak RSS (child process); "
                "%.0f msgs/s with laggard help on\n",
                n, figures.msgs_per_sec, figures.heights_per_sec, rss_mb, with_help.msgs_per_sec);
  }
  out.object("runtime_msgs_per_sec", runtime_msgs);
  out.object("runtime_heights_per_sec", runtime_heights);
  out.object("runtime_peak_rss_mb", runtime_rss);
  out.object("runtime_msgs_per_sec_laggard_help", runtime_msgs_help);

  JsonObject cluster_by_nodes;
  for (std::size_t nodes : {4, 7, 10, 16}) {
    const Height heights = quick ? 100 : nodes == 4 ? 5000 : 1000;
    InprocCluster cluster(nodes, heights);
    const double heights_per_sec = static_cast<double>(heights) / cluster.run();
    const double msgs_per_height = static_cast<double>(cluster.delivered()) / static_cast<double>(heights);
    cluster_by_nodes.number(std::to_string(nodes), heights_per_sec);
    if (nodes == 4) {
      out.number("inproc_cluster_heights_per_sec", heights_per_sec);
      out.number("inproc_cluster_msgs_per_height", msgs_per_height);
    }
    std::printf("inproc cluster: %zu handles, %llu heights, %.0f heights/s, %.1f msgs/height\n", nodes,
                static_cast<unsigned long long>(heights), heights_per_sec, msgs_per_height);
  }
  out.object("inproc_cluster_heights_per_sec_by_nodes", cluster_by_nodes);

  const double codec = measure_codec_roundtrips(budget * 2);
  const double verify_one = measure_verify_one_core(budget * 2);
  const double verify_all = measure_verify_all_cores(budget * 2);
  const int openssl_seconds = quick ? 1 : 2;
  JsonObject openssl;
  openssl.number("1core", openssl_verify_rate(openssl_seconds, 1));
  openssl.number("allcores", openssl_verify_rate(openssl_seconds, cores));
  out.number("codec_vote_roundtrips_per_sec", codec);
  out.number("ed25519_verify_per_sec_1core", verify_one);
  out.number("ed25519_verify_per_sec_allcores", verify_all);
  out.object("openssl_ed25519_verify_per_sec", openssl);
  std::printf("codec: %.0f vote round trips/s; ed25519 verify/s: %.0f (1 core), %.0f (%u cores); openssl: %s\n",
              codec, verify_one, verify_all, cores, openssl.str().c_str());

  const double wal_us = measure_wal_append_us(budget * 2);
  const double raw_us = measure_raw_fdatasync_us(budget * 2);
  out.number("wal_append_fsync_us", wal_us);
  out.number("raw_fdatasync_us", raw_us);
  std::printf("wal: %.1f us per durable own-vote append, %.1f us per raw write+fdatasync\n", wal_us, raw_us);

  JsonObject sim_heights;
  const SimFigures small = run_sim(4, quick ? 500 : 20000, std::nullopt);
  const SimFigures large = run_sim(100, quick ? 3 : 100, std::nullopt);
  sim_heights.number("4", small.heights_per_sec);
  sim_heights.number("100", large.heights_per_sec);
  out.object("sim_heights_per_sec", sim_heights);
  std::printf("sim: %.0f heights/s (4 validators), %.1f heights/s (100 validators)\n", small.heights_per_sec,
              large.heights_per_sec);

  JsonObject latency;
  for (std::uint64_t delay : {1, 5, 10, 20, 50, 100}) {
    const SimFigures figures = run_sim(4, quick ? 20 : 200, delay);
    latency.number(std::to_string(delay), figures.p50_latency_ms);
    std::printf("sim: link delay %3llu ms -> p50 commit latency %.1f ms\n", static_cast<unsigned long long>(delay), figures.p50_latency_ms);
  }
  out.object("sim_latency_ms_by_delay", latency);

  if (json) std::printf("%s\n", out.str().c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false, json = false;
  std::vector<std::string> runtime_child;  // N BUDGET LAGGARD_HELP, from runtime_in_child
  CLI::App app{"The whole benchmark suite in one process; with --json the last line is one JSON object.",
               "bft-bench"};
  app.set_version_flag("--version", BFT_VERSION);
  app.add_flag("--quick", quick, "short time budgets (a few seconds in all)");
  app.add_flag("--json", json, "end stdout with one JSON object of every figure");
  // Internal: how this program runs the runtime workload in a child process of itself.
  app.add_option("--runtime-child", runtime_child)->expected(3)->group("");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    // --help and --version exit 0; every usage error exits 2.
    return app.exit(error) == 0 ? 0 : 2;
  }
  if (!runtime_child.empty()) {
    const RuntimeFigures figures = measure_runtime(std::strtoul(runtime_child[0].c_str(), nullptr, 10),
                                                   std::strtod(runtime_child[1].c_str(), nullptr),
                                                   runtime_child[2][0] == '1');
    std::printf("%.6g %.6g %lld\n", figures.msgs_per_sec, figures.heights_per_sec, peak_rss_kib());
    return 0;
  }
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  return run_suite(quick, json);
}
