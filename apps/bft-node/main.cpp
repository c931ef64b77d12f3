// bft-node: one validator process. The replica (consensus, WAL, signatures, gossip,
// sync), the TCP transport to the other validators and the HTTP client endpoint all run
// on one asio thread; only the block store's and the WAL's fsyncs block it.
//
//   bft-node --config node.json
//   bft-node --keygen node.key      writes a new key file (mode 0600), prints its public key
//
// SIGTERM or SIGINT: stop cleanly (exit 0). A fatal error (disk, corrupt log): exit 1.
// Bad command line or configuration: exit 2.
#include <asio.hpp>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "bft/codec/hash.hpp"
#include "bft/crypto/ed25519.hpp"
#include "bft/crypto/key_file.hpp"
#include "bft/net/transport.hpp"
#include "bft/node/config.hpp"
#include "bft/node/http_server.hpp"
#include "bft/node/kv_application.hpp"
#include "bft/node/replica.hpp"
#include "bft/wal/storage.hpp"

namespace {

using namespace bft;
using namespace bft::node;
using Clock = std::chrono::steady_clock;

constexpr std::size_t max_blocks_per_request = 1000;

/// Frames between the replica and the transport, both on the io thread.
class Wiring final : public Network, public net::Transport::Handler {
 public:
  /// The replica may send while it opens (a proposer at its first height), before any
  /// peer is connected: the transport comes first, and gossip repeats what nobody heard.
  void attach(net::Transport& transport) { transport_ = &transport; }
  void attach(Replica& replica) { replica_ = &replica; }
  void broadcast(std::shared_ptr<const Bytes> frame) override { transport_->broadcast(std::move(frame)); }
  void send(const Address& to, std::shared_ptr<const Bytes> frame) override { transport_->send(to, std::move(frame)); }
  void on_frame(const Address& from, std::span<const std::uint8_t> frame) override {
    if (replica_) replica_->on_frame(from, frame, Clock::now());
    if (after_event) after_event();
  }
  void on_peer_connected(const Address& peer) override {
    if (replica_) replica_->on_peer_connected(peer, Clock::now());
    if (after_event) after_event();
  }

  std::function<void()> after_event;

 private:
  net::Transport* transport_ = nullptr;
  Replica* replica_ = nullptr;
};

std::string hex(std::span<const std::uint8_t> bytes) { return crypto::to_hex(bytes); }

std::optional<std::uint64_t> query_number(std::string_view query, std::string_view key) {
  std::size_t at = 0;
  while (at <= query.size()) {
    const std::size_t end = std::min(query.find('&', at), query.size());
    const std::string_view pair = query.substr(at, end - at);
    if (pair.size() > key.size() && pair.substr(0, key.size()) == key && pair[key.size()] == '=') {
      std::uint64_t value = 0;
      const std::string_view digits = pair.substr(key.size() + 1);
      if (digits.empty() || digits.size() > 19) return std::nullopt;
      for (char c : digits) {
        if (c < '0' || c > '9') return std::nullopt;
        value = value * 10 + static_cast<std::uint64_t>(c - '0');
      }
      return value;
    }
    at = end + 1;
  }
  return std::nullopt;
}

HttpResponse json_response(const nlohmann::json& body, int status = 200) {
  return HttpResponse{status, "application/json", body.dump() + "\n"};
}

HttpResponse text_response(int status, std::string body) {
  return HttpResponse{status, "text/plain; charset=utf-8", std::move(body) + "\n"};
}

class Node {
 public:
  Node(NodeConfig config, crypto::Ed25519Signer signer, Logger& logger)
      : config_(std::move(config)), signer_(std::move(signer)), log_(logger), timer_(io_), signals_(io_, SIGINT, SIGTERM) {}

  int run() {
    if (auto started = start(); !started) {
      std::fprintf(stderr, "bft-node: %s\n", started.error().message.c_str());
      return exit_code_ == 0 ? 1 : exit_code_;
    }
    io_.run();
    log_.log(LogLevel::info, "stopped",
             field("height", app_->committed_height()) + field("exit_code", static_cast<std::uint64_t>(exit_code_)));
    return exit_code_;
  }

 private:
  Result<void> start() {
    std::error_code ec;
    for (const char* sub : {"wal", "guard", "blocks"}) {
      std::filesystem::create_directories(config_.data_dir / sub, ec);
      if (ec) return make_error(Errc::io_error, "cannot create " + (config_.data_dir / sub).string() + ": " + ec.message());
    }
    auto wal_disk = wal::open_directory((config_.data_dir / "wal").string());
    if (!wal_disk) return wal_disk.error();
    wal_disk_ = std::move(*wal_disk);
    auto guard_disk = wal::open_directory((config_.data_dir / "guard").string());
    if (!guard_disk) return guard_disk.error();
    guard_disk_ = std::move(*guard_disk);
    auto store = BlockStore::open((config_.data_dir / "blocks").string());
    if (!store) return store.error();
    if (store->recovery().repaired)
      log_.log(LogLevel::warn, "block_store_torn_tail_repaired", field("bytes_removed", store->recovery().bytes_removed));
    MempoolLimits limits;
    limits.max_commands = config_.mempool_max_txs;
    auto app = KvApplication::open(std::move(*store), limits, config_.block_max_txs);
    if (!app) return app.error();
    app_ = std::move(*app);

    auto chain = codec::ChainId::create(config_.chain_id);
    if (!chain) return chain.error();
    ReplicaOptions options(*chain);
    std::vector<net::Peer> peers;
    for (const ValidatorEntry& validator : config_.validators) {
      options.validators.push_back({validator.public_key, validator.power});
      peers.push_back({validator.public_key, validator.address.host, validator.address.port});
    }
    options.consensus.propose = {config_.propose_timeout, config_.per_round_timeout};
    options.consensus.prevote = {config_.prevote_timeout, config_.per_round_timeout};
    options.consensus.precommit = {config_.precommit_timeout, config_.per_round_timeout};
    options.gossip_interval = config_.gossip_interval;
    options.sync_patience = std::max(config_.gossip_interval * 2, std::chrono::milliseconds{100});

    net::TransportOptions transport_options;
    transport_options.listen_host = config_.listen.host;
    transport_options.listen_port = config_.listen.port;
    transport_options.chain_id = config_.chain_id;
    transport_options.faults.delay = config_.fault_delay;
    transport_options.faults.loss = config_.fault_loss;
    auto transport = net::Transport::create(io_, signer_, std::move(peers), transport_options, wiring_);
    if (!transport) return transport.error();
    transport_ = std::move(*transport);
    wiring_.attach(*transport_);

    auto replica = Replica::open(std::move(options), signer_, *wal_disk_, *guard_disk_, *app_, wiring_, log_, Clock::now());
    if (!replica) return replica.error();
    replica_ = std::move(*replica);
    wiring_.attach(*replica_);
    wiring_.after_event = [this] { after_event(); };

    auto http = HttpServer::create(io_, config_.http.host, config_.http.port, [this](const HttpRequest& r) { return serve(r); });
    if (!http) return http.error();
    http_.emplace(std::move(*http));

    signals_.async_wait([this](const std::error_code& error, int signal) {
      if (error) return;
      log_.log(LogLevel::info, "signal", field("signal", static_cast<std::uint64_t>(signal)));
      shutdown(0);
    });
    transport_->start();
    const RecoveryInfo& recovery = replica_->recovery();
    log_.log(LogLevel::info, "started",
             field("p2p", config_.listen.host + ":" + std::to_string(transport_->local_port())) +
                 field("http", config_.http.host + ":" + std::to_string(http_->local_port())) +
                 field("committed", app_->committed_height()) + field("replayed", recovery.replayed_inputs));
    arm_timer();
    return {};
  }

  void after_event() {
    if (stopping_) return;
    if (replica_->fatal()) return shutdown(1);
    arm_timer();
  }

  /// One timer at the replica's next deadline; re-armed only when that moves.
  void arm_timer() {
    const Clock::time_point deadline = replica_->next_deadline();
    if (timer_armed_ && deadline == armed_for_) return;
    armed_for_ = deadline;
    timer_armed_ = true;
    timer_.expires_at(deadline);
    timer_.async_wait([this](const std::error_code& error) {
      if (error || stopping_) return;
      timer_armed_ = false;
      replica_->on_time(Clock::now());
      after_event();
    });
  }

  void shutdown(int code) {
    if (stopping_) return;
    stopping_ = true;
    exit_code_ = code;
    if (code != 0 && replica_ && replica_->fatal())
      log_.log(LogLevel::error, "fatal", field("detail", replica_->fatal()->message));
    timer_.cancel();
    signals_.cancel();
    if (http_) http_->stop();
    if (transport_) transport_->stop();
    io_.stop();
  }

  HttpResponse serve(const HttpRequest& request) {
    if (request.path == "/txs") {
      if (request.method != "POST") return text_response(405, "use POST");
      auto commands = parse_commands(request.body);
      if (!commands) return text_response(400, commands.error().message);
      const std::size_t count = commands->size();
      if (auto added = app_->mempool().add(std::move(*commands)); !added)
        return text_response(added.error().code == Errc::buffer_full ? 503 : 400, added.error().message);
      return json_response({{"accepted", count}}, 202);
    }
    if (request.method != "GET") return text_response(405, "use GET");
    if (request.path.rfind("/kv/", 0) == 0) {
      const auto key = percent_decode(std::string_view(request.path).substr(4));
      if (!key) return text_response(400, "a '%' in the key is not followed by two hex digits");
      const auto value = app_->state().get(*key);
      if (!value) return text_response(404, "not set");
      return HttpResponse{200, "text/plain; charset=utf-8", *value};
    }
    if (request.path == "/status") {
      const ReplicaStats& stats = replica_->stats();
      return json_response({{"name", config_.name},
                            {"height", app_->committed_height()},
                            {"round", replica_->round()},
                            {"app_hash", hex(app_->state().app_hash())},
                            {"mempool", app_->mempool().size()},
                            {"peers", transport_->connected_peers().size()},
                            {"txs_committed", app_->txs_committed()},
                            {"frames_rejected", stats.frames_rejected},
                            {"blocks_synced", stats.blocks_synced},
                            {"sync_requests_throttled", stats.sync_requests_throttled},
                            {"blocks_unreadable", stats.blocks_unreadable},
                            {"evidence", stats.evidence}});
    }
    if (request.path == "/blocks") return serve_blocks(request.query);
    return text_response(404, "routes: POST /txs, GET /kv/<key>, /status, /blocks?from=&to=");
  }

  HttpResponse serve_blocks(std::string_view query) {
    const Height tip = app_->committed_height();
    const Height from = std::max<Height>(query_number(query, "from").value_or(1), 1);
    const Height to = std::min<Height>(query_number(query, "to").value_or(tip), tip);
    nlohmann::json blocks = nlohmann::json::array();
    if (from <= to) {
      auto range = app_->store().read_range(from, std::min<Height>(to - from + 1, max_blocks_per_request), SIZE_MAX);
      if (!range) return text_response(500, range.error().message);
      for (const Block& block : *range) {
        const auto commands = decode_block(block.value.bytes());
        blocks.push_back({{"height", block.height},
                          {"hash", hex(codec::sha256(block.value.bytes()))},
                          {"txs", commands ? commands->size() : 0},
                          {"commit_ms", block.meta.commit_ms},
                          {"decided_unix_ms", block.meta.decided_unix_ms}});
      }
    }
    return json_response({{"blocks", std::move(blocks)}});
  }

  NodeConfig config_;
  crypto::Ed25519Signer signer_;
  Logger& log_;
  asio::io_context io_;
  asio::steady_timer timer_;
  asio::signal_set signals_;
  std::unique_ptr<wal::Storage> wal_disk_;
  std::unique_ptr<wal::Storage> guard_disk_;
  std::unique_ptr<KvApplication> app_;
  Wiring wiring_;
  std::unique_ptr<net::Transport> transport_;
  std::unique_ptr<Replica> replica_;
  std::optional<HttpServer> http_;
  bool timer_armed_ = false;
  Clock::time_point armed_for_{};
  bool stopping_ = false;
  int exit_code_ = 0;
};

int usage() {
  std::fprintf(stderr, "usage: bft-node --config <file.json>\n       bft-node --keygen <key file>\n");
  return 2;
}

int keygen(const std::filesystem::path& path) {
  const crypto::Ed25519Signer signer = crypto::Ed25519Signer::generate();
  if (auto written = crypto::write_key_file(path, signer); !written) {
    std::fprintf(stderr, "bft-node: %s\n", written.error().message.c_str());
    return 1;
  }
  std::printf("%s\n", crypto::to_hex(signer.public_key()).c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::filesystem::path config_path;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--config" && i + 1 < argc) {
      config_path = argv[++i];
    } else if (arg == "--keygen" && i + 1 < argc && argc == 3) {
      return keygen(argv[i + 1]);
    } else {
      return usage();
    }
  }
  if (config_path.empty()) return usage();
  std::signal(SIGPIPE, SIG_IGN);  // a peer that hangs up is an error code, not a signal

  auto config = load_config(config_path);
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
  for (const ValidatorEntry& validator : config->validators) listed = listed || validator.public_key == signer->public_key();
  if (!listed) {
    std::fprintf(stderr, "bft-node: the key in %s is not one of the validators\n", config->key_file.string().c_str());
    return 2;
  }
  Logger logger(config->log_level, config->name);
  Node node(std::move(*config), std::move(*signer), logger);
  return node.run();
}
