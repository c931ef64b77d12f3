// bft-node: one validator process (bft::node::Node) running the key-value application
// (bft::node::KvApplication, its state in <data_dir>/app), or, with --abci, an external
// application through ABCI 2.0 (bft::abci::AbciApplication; docs/ABCI.md).
//
//   bft-node --config node.json
//   bft-node --config node.json --abci unix:///run/app.sock [--abci-timeout-ms 10000]
//            [--abci-connect-timeout-ms 10000] [--abci-app-state genesis-app-state.json]
//   bft-node --keygen node.key      writes a new key file (mode 0600), prints its public key
//
// SIGTERM or SIGINT: stop cleanly (exit 0). A fatal error (disk, corrupt log): exit 1.
// Bad command line or configuration: exit 2. --help and --version: exit 0.
#include <pthread.h>

#include <CLI/CLI.hpp>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "bft/abci/application.hpp"
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

struct AbciFlags {
  std::string address;  // empty: the built-in key-value application
  std::uint64_t timeout_ms = 10'000;
  std::uint64_t connect_timeout_ms = 10'000;
  std::filesystem::path app_state;
};

/// What --abci and its companions ask for, checked before anything starts.
struct AbciSetup {
  abci::SocketAddress address;
  abci::ConnectionOptions connection;
  Bytes app_state;
};

Result<Bytes> read_file(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file.is_open()) return make_error(Errc::io_error, "cannot open " + path.string());
  Bytes bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  if (file.bad()) return make_error(Errc::io_error, "cannot read " + path.string());
  return bytes;
}

/// nullopt without --abci. Errors: a bad address, an unreadable app-state file.
Result<std::optional<AbciSetup>> abci_setup(const AbciFlags& flags) {
  if (flags.address.empty()) return std::optional<AbciSetup>{};
  AbciSetup setup;
  auto address = abci::parse_socket_address(flags.address);
  if (!address) return address.error();
  setup.address = std::move(*address);
  setup.connection.call_timeout = std::chrono::milliseconds(flags.timeout_ms);
  setup.connection.connect_timeout = std::chrono::milliseconds(flags.connect_timeout_ms);
  if (!flags.app_state.empty()) {
    auto state = read_file(flags.app_state);
    if (!state) return state.error();
    setup.app_state = std::move(*state);
  }
  return std::optional<AbciSetup>{std::move(setup)};
}

/// The application the node runs: the built-in key-value store, or an ABCI client.
Result<std::unique_ptr<node::Application>> open_application(const node::NodeConfig& config,
                                                            const std::optional<AbciSetup>& abci_setup) {
  if (!abci_setup) {
    auto app = node::KvApplication::open(
        (config.data_dir / "app").string(),
        node::KvOptions{.keep_blocks = config.retain_blocks, .operator_key = config.operator_key, .chain_id = config.chain_id});
    if (!app) return app.error();
    return std::unique_ptr<node::Application>(std::move(*app));
  }
  abci::AbciOptions options;
  options.address = abci_setup->address;
  options.connection = abci_setup->connection;
  options.chain_id = config.chain_id;
  for (const node::ValidatorEntry& validator : config.validators)
    options.validators.push_back({validator.public_key, validator.power});
  options.app_state = abci_setup->app_state;
  options.node_version = BFT_VERSION;
  auto app = abci::AbciApplication::connect(std::move(options));
  if (!app) return app.error();
  return std::unique_ptr<node::Application>(std::move(*app));
}

int run(const std::filesystem::path& config_path, const std::optional<AbciSetup>& abci) {
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
  const sigset_t signals = handled_signals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  const node::Logger logger(config->log_level, config->name);
  auto app = open_application(*config, abci);
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
  AbciFlags abci;
  app.add_option("--abci", abci.address,
                 "run an external ABCI 2.0 application at tcp://host:port or unix:///path (docs/ABCI.md); default: the "
                 "built-in key-value store")
      ->needs(config);
  app.add_option("--abci-timeout-ms", abci.timeout_ms, "the longest one ABCI call may take (default 10000)")
      ->check(CLI::PositiveNumber);
  app.add_option("--abci-connect-timeout-ms", abci.connect_timeout_ms,
                 "how long to keep trying to reach the ABCI application at start (default 10000)")
      ->check(CLI::PositiveNumber);
  app.add_option("--abci-app-state", abci.app_state, "a file whose bytes InitChain sends as app_state_bytes");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    // --help and --version exit 0; every usage error exits 2.
    return app.exit(error) == 0 ? 0 : 2;
  }
  if (!key_path.empty()) return keygen(key_path);
  if (config_path.empty()) {
    std::fprintf(stderr, "bft-node: give --config or --keygen (see --help)\n");
    return 2;
  }
  auto setup = abci_setup(abci);
  if (!setup) {
    std::fprintf(stderr, "bft-node: %s\n", setup.error().message.c_str());
    return 2;
  }
  std::signal(SIGPIPE, SIG_IGN);  // a peer that hangs up is an error code, not a signal
  return run(config_path, *setup);
}
