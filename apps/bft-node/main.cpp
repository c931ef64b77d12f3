// bft-node: one validator process (bft::node::Node) running the key-value application
// (bft::node::KvApplication, its state in <data_dir>/app).
//
//   bft-node --config node.json
//   bft-node --keygen node.key      writes a new key file (mode 0600), prints its public key
//
// SIGTERM or SIGINT: stop cleanly (exit 0). A fatal error (disk, corrupt log): exit 1.
// Bad command line or configuration: exit 2. --help and --version: exit 0.
#include <pthread.h>

#include <CLI/CLI.hpp>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>

#include "bft/crypto/ed25519.hpp"
#include "bft/crypto/key_file.hpp"
#include "bft/node/config.hpp"
#include "bft/node/kv_application.hpp"
#include "bft/node/node.hpp"

namespace {

using namespace bft;

int keygen(const std::filesystem::path& path) {
  const crypto::Ed25519Signer signer = crypto::Ed25519Signer::generate();
  if (auto written = crypto::write_key_file(path, signer); !written) {
    std::fprintf(stderr, "bft-node: %s\n", written.error().message.c_str());
    return 1;
  }
  std::printf("%s\n", crypto::to_hex(signer.public_key()).c_str());
  return 0;
}

/// SIGINT and SIGTERM stop the node; SIGUSR1 only wakes the waiting thread when the node
/// ended by itself. Blocked in every thread (they inherit the mask), taken by sigwait.
sigset_t handled_signals() {
  sigset_t set;
  sigemptyset(&set);
  for (int signal : {SIGINT, SIGTERM, SIGUSR1}) sigaddset(&set, signal);
  return set;
}

int run(const std::filesystem::path& config_path) {
  auto config = node::load_config(config_path);
  if (!config) {
    std::fprintf(stderr, "bft-node: %s\n", config.error().message.c_str());
    return 2;
  }
  auto signer = crypto::read_key_file(config->key_file);
  if (!signer) {
    std::fprintf(stderr, "bft-node: %s\n", signer.error().message.c_str());
    return 2;
  }
  bool listed = false;
  for (const node::ValidatorEntry& validator : config->validators)
    listed = listed || validator.public_key == signer->public_key();
  if (!listed) {
    std::fprintf(stderr, "bft-node: the key in %s is not one of the validators\n", config->key_file.string().c_str());
    return 2;
  }
  const sigset_t signals = handled_signals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  const node::Logger logger(config->log_level, config->name);
  auto app = node::KvApplication::open((config->data_dir / "app").string(),
                                       node::KvOptions{.keep_blocks = config->retain_blocks});
  if (!app) {
    std::fprintf(stderr, "bft-node: %s\n", app.error().message.c_str());
    return 1;
  }
  auto node = node::Node::open(std::move(*config), std::move(*signer), **app, logger);
  if (!node) {
    std::fprintf(stderr, "bft-node: %s\n", node.error().message.c_str());
    return 1;
  }
  std::thread waiter([&] {
    int signal = 0;
    sigwait(&signals, &signal);
    if (signal == SIGUSR1) return;
    logger.log(node::LogLevel::info, "signal", node::field("signal", static_cast<std::uint64_t>(signal)));
    (*node)->stop();
  });
  const int code = (*node)->run();
  pthread_kill(waiter.native_handle(), SIGUSR1);
  waiter.join();
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_path;
  std::string key_path;
  CLI::App app{"One validator of a bftcore network (a replicated key-value store): consensus, the write-ahead log, "
               "encrypted links to the other validators and the HTTP client endpoint.",
               "bft-node"};
  app.set_version_flag("--version", BFT_VERSION);
  auto* config = app.add_option("--config", config_path, "the node's JSON configuration (see docs/NODE.md)");
  auto* keygen_option = app.add_option("--keygen", key_path, "write a new key file (mode 0600), print its public key");
  config->excludes(keygen_option);
  app.require_option(1);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    // --help and --version exit 0; every usage error exits 2.
    return app.exit(error) == 0 ? 0 : 2;
  }
  if (!key_path.empty()) return keygen(key_path);
  std::signal(SIGPIPE, SIG_IGN);  // a peer that hangs up is an error code, not a signal
  return run(config_path);
}
