// bft-cluster-bench: the real cluster's figures next to the limits they are judged by,
// measured in one run.
//
//   bft-cluster-bench [--duration S] [--json]
//
// 1. ed25519 sign/s and verify/s on one core (this process, 1 s each);
// 2. `bft-cluster --nodes 4 --load 100` for S seconds: heights/s with signatures, WAL
//    and fsyncs, next to the crypto-bound limit: each node signs 2 and verifies about 7
//    messages per height, and the 4 processes share the machine's cores, so
//    limit = cores / (4 x (7 / verify_per_sec + 2 / sign_per_sec));
// 3. the same with the data directories on /dev/shm (tmpfs, when there is one): every
//    fdatasync returns at once, so this is what the code reaches when the disk's flush
//    latency is out of the way — the same program, nothing else changed;
// 4. the same as 2 with --delay-ms 10: p50 commit latency next to 3 x 10 ms + 5 ms;
// 5. what encrypting the links costs: the cluster under a transaction load
//    (--load 20000 --batch 100) with encrypted links and with --p2p-plaintext, one right
//    after the other, heights/s and committed transactions/s of both;
// 6. what metrics cost: the same loaded cluster with a real Prometheus scraping every
//    node's /metrics each second (--metrics-port 0), next to run 5's encrypted one.
// bft-cluster is the one next to this program. The last line with --json is one object.
#include <linux/magic.h>
#include <sys/statfs.h>

#include <charconv>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>

#include <CLI/CLI.hpp>

#include "crypto_workload.hpp"

namespace {

using namespace bft;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "bft-cluster-bench: %s\n", what.c_str());
  std::exit(1);
}

template <class Step>
double per_second(double budget, Step step) {
  const auto start = Clock::now();
  std::uint64_t done = 0;
  while (seconds_since(start) < budget) {
    for (int i = 0; i < 100; ++i) step();
    done += 100;
  }
  return static_cast<double>(done) / seconds_since(start);
}

/// Runs bft-cluster and returns the JSON object on the last line of its stdout.
nlohmann::json run_cluster(const std::filesystem::path& cluster, const std::string& arguments,
                           const std::string& temp_dir = "") {
  const std::string command = (temp_dir.empty() ? "" : "TMPDIR=" + temp_dir + " ") + cluster.string() +
                              " --nodes 4 --base-port 0 --quiet --json " + arguments;
  std::fprintf(stderr, "running: %s\n", command.c_str());
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) fail("cannot run " + command);
  std::string last;
  char line[8192];
  while (std::fgets(line, sizeof line, pipe) != nullptr) {
    if (line[0] == '{') last = line;
  }
  const int status = ::pclose(pipe);
  if (status != 0 || last.empty()) fail("bft-cluster failed (" + command + ")");
  return nlohmann::json::parse(last);
}

bool is_tmpfs(const char* path) {
  struct statfs info {};
  return ::statfs(path, &info) == 0 && info.f_type == TMPFS_MAGIC;
}

}  // namespace

int main(int argc, char** argv) {
  int duration = 15;
  bool json = false;
  CLI::App app{"The real cluster's figures next to the limits they are judged by, measured in one run.",
               "bft-cluster-bench"};
  app.set_version_flag("--version", BFT_VERSION);
  // Read here in decimal (CLI11's own conversion would take a leading 0 as octal).
  app.add_option_function<std::string>(
         "--duration",
         [&](const std::string& text) {
           const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), duration);
           if (ec != std::errc{} || end != text.data() + text.size())
             throw CLI::ValidationError("--duration", "expects whole seconds, not '" + text + "'");
           duration = std::max(1, duration);
         },
         "seconds of each cluster run (default 15, at least 1)")
      ->type_name("S");
  app.add_flag("--json", json, "end stdout with one JSON object of every figure");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    // --help and --version exit 0; every usage error exits 2.
    return app.exit(error) == 0 ? 0 : 2;
  }
  const std::filesystem::path cluster =
      std::filesystem::canonical("/proc/self/exe").parent_path() / "bft-cluster";

  const crypto::Ed25519Signer by = bench::signer(1);
  const codec::SignedVote vote = bench::typical_vote(by);
  const Bytes message = codec::vote_sign_bytes(bench::chain(), vote.vote);
  const crypto::Ed25519Verifier verifier(by.public_key());
  const double sign_per_sec = per_second(1.0, [&] { (void)by.sign(message); });
  const double verify_per_sec = per_second(1.0, [&] {
    if (!verifier.verify(message, vote.signature)) fail("a signature did not verify");
  });
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  const double limit = cores / (4.0 * (7.0 / verify_per_sec + 2.0 / sign_per_sec));

  const std::string seconds = std::to_string(duration);
  const nlohmann::json plain = run_cluster(cluster, "--duration " + seconds + " --load 100");
  std::optional<nlohmann::json> in_memory;
  if (is_tmpfs("/dev/shm")) in_memory = run_cluster(cluster, "--duration " + seconds + " --load 100", "/dev/shm");
  const nlohmann::json delayed = run_cluster(cluster, "--duration " + seconds + " --load 100 --delay-ms 10");
  const std::string loaded = "--duration " + seconds + " --load 20000 --batch 100";
  const nlohmann::json encrypted_load = run_cluster(cluster, loaded);
  const nlohmann::json plaintext_load = run_cluster(cluster, loaded + " --p2p-plaintext");
  const nlohmann::json scraped_load = run_cluster(cluster, loaded + " --metrics-port 0");
  const double heights_per_sec = plain.at("heights_per_sec").get<double>();
  const double p50_delayed = delayed.at("p50_commit_ms").get<double>();

  std::printf("ed25519: %.0f signs/s, %.0f verifies/s (one core); %u cores\n", sign_per_sec, verify_per_sec, cores);
  std::printf("4 nodes, loopback: %.1f heights/s = %.1f%% of the crypto-bound limit %.0f heights/s "
              "(p50 commit %.1f ms, agreement %s)\n",
              heights_per_sec, 100.0 * heights_per_sec / limit, limit, plain.at("p50_commit_ms").get<double>(),
              plain.at("agreement").get<bool>() ? "yes" : "NO");
  if (in_memory) {
    const double per_sec = in_memory->at("heights_per_sec").get<double>();
    std::printf("4 nodes, loopback, data on tmpfs (no flush latency): %.1f heights/s = %.1f%% of the limit "
                "(p50 commit %.1f ms)\n",
                per_sec, 100.0 * per_sec / limit, in_memory->at("p50_commit_ms").get<double>());
  }
  std::printf("4 nodes, 10 ms one-way delay: p50 commit %.1f ms (limit 3 x 10 + 5 = 35 ms), p99 %.1f ms, "
              "%.1f heights/s\n",
              p50_delayed, delayed.at("p99_commit_ms").get<double>(), delayed.at("heights_per_sec").get<double>());
  const auto fraction = [](const nlohmann::json& run, const nlohmann::json& base, const char* field) {
    const double of = base.at(field).get<double>();
    return of > 0 ? run.at(field).get<double>() / of : 0.0;
  };
  const auto ratio = [&](const char* field) { return fraction(encrypted_load, plaintext_load, field); };
  const auto scraped_ratio = [&](const char* field) { return fraction(scraped_load, encrypted_load, field); };
  std::printf("4 nodes, 20000 commands/s offered: encrypted links %.1f heights/s, %.0f txs/s; plaintext %.1f "
              "heights/s, %.0f txs/s (encrypted/plaintext: %.1f%% heights, %.1f%% txs)\n",
              encrypted_load.at("heights_per_sec").get<double>(), encrypted_load.at("txs_per_sec").get<double>(),
              plaintext_load.at("heights_per_sec").get<double>(), plaintext_load.at("txs_per_sec").get<double>(),
              100 * ratio("heights_per_sec"), 100 * ratio("txs_per_sec"));
  std::printf("the same, scraped by Prometheus every second: %.1f heights/s, %.0f txs/s (%.1f%% heights, %.1f%% txs "
              "of the unscraped run)\n",
              scraped_load.at("heights_per_sec").get<double>(), scraped_load.at("txs_per_sec").get<double>(),
              100 * scraped_ratio("heights_per_sec"), 100 * scraped_ratio("txs_per_sec"));
  if (json) {
    nlohmann::json out = {{"cores", cores},
                                {"ed25519_sign_per_sec", sign_per_sec},
                                {"ed25519_verify_per_sec", verify_per_sec},
                                {"crypto_limit_heights_per_sec", limit},
                                {"heights_per_sec", heights_per_sec},
                                {"fraction_of_crypto_limit", heights_per_sec / limit},
                                {"p50_commit_ms", plain.at("p50_commit_ms")},
                                {"delay_10ms_p50_commit_ms", p50_delayed},
                                {"delay_10ms_p99_commit_ms", delayed.at("p99_commit_ms")},
                                {"agreement", plain.at("agreement").get<bool>() && delayed.at("agreement").get<bool>()}};
    out["encrypted_heights_per_sec"] = encrypted_load.at("heights_per_sec");
    out["encrypted_txs_per_sec"] = encrypted_load.at("txs_per_sec");
    out["plaintext_heights_per_sec"] = plaintext_load.at("heights_per_sec");
    out["plaintext_txs_per_sec"] = plaintext_load.at("txs_per_sec");
    out["encrypted_fraction_heights"] = ratio("heights_per_sec");
    out["encrypted_fraction_txs"] = ratio("txs_per_sec");
    out["scraped_heights_per_sec"] = scraped_load.at("heights_per_sec");
    out["scraped_txs_per_sec"] = scraped_load.at("txs_per_sec");
    out["scraped_fraction_heights"] = scraped_ratio("heights_per_sec");
    out["scraped_fraction_txs"] = scraped_ratio("txs_per_sec");
    out["agreement"] = out["agreement"].get<bool>() && encrypted_load.at("agreement").get<bool>() &&
                       plaintext_load.at("agreement").get<bool>() && scraped_load.at("agreement").get<bool>();
    if (in_memory) {
      out["tmpfs_heights_per_sec"] = in_memory->at("heights_per_sec");
      out["tmpfs_fraction_of_crypto_limit"] = in_memory->at("heights_per_sec").get<double>() / limit;
      out["agreement"] = out["agreement"].get<bool>() && in_memory->at("agreement").get<bool>();
    }
    std::printf("%s\n", out.dump().c_str());
  }
  return 0;
}
