#include "bft/node/node.hpp"

#include <asio.hpp>
#include <filesystem>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "bft/metrics/process.hpp"
#include "bft/metrics/registry.hpp"
#include "bft/net/transport.hpp"
#include "bft/node/client_api.hpp"
#include "bft/node/http_server.hpp"
#include "bft/node/blockchain.hpp"
#include "bft/node/replica.hpp"
#include "bft/node/tx_gossip.hpp"
#include "bft/node/wire.hpp"
#include "bft/wal/storage.hpp"
#include "measured_storage.hpp"

namespace bft::node {

namespace {

using Clock = std::chrono::steady_clock;

/// How stale the status clients read may be: publishing copies a few hundred bytes, so
/// it is done at most this often, and at every new height.
constexpr auto status_period = std::chrono::milliseconds(10);

/// Frames between the replica and the transport, both on the node's thread.
class Wiring final : public Network, public net::Transport::Handler {
 public:
  /// The replica may send while it opens (a proposer at its first height), before any
  /// peer is connected: the transport comes first, and gossip repeats what nobody heard.
  void attach(net::Transport& transport) { transport_ = &transport; }
  void attach(Replica& replica) { replica_ = &replica; }
  void broadcast(std::shared_ptr<const Bytes> frame) override { transport_->broadcast(std::move(frame)); }
  void send(const Address& to, std::shared_ptr<const Bytes> frame) override { transport_->send(to, std::move(frame)); }
  void on_frame(const Address& from, std::span<const std::uint8_t> frame) override {
    if (is_mempool_frame(frame)) {
      if (on_mempool_frame) on_mempool_frame(from, frame);
      return;  // nothing for consensus: no status to publish, no deadline moved
    }
    if (replica_) replica_->on_frame(from, frame, Clock::now());
    if (after_event) after_event();
  }
  void on_peer_connected(const Address& peer) override {
    if (on_peer) on_peer(peer);
    if (replica_) replica_->on_peer_connected(peer, Clock::now());
    if (after_event) after_event();
  }

  std::function<void()> after_event;
  std::function<void(const Address&, std::span<const std::uint8_t>)> on_mempool_frame;
  std::function<void(const Address&)> on_peer;

 private:
  net::Transport* transport_ = nullptr;
  Replica* replica_ = nullptr;
};

/// process_proposal on a thread of its own: a slow application check never holds up the
/// node's thread. Verdicts go back to the node's thread through its io_context.
class WorkerJudge final : public ProposalJudge {
 public:
  using Deliver = std::function<void(Height, Round, const Value&, bool)>;
  WorkerJudge(asio::io_context& node_io, Deliver deliver) : node_io_(node_io), deliver_(std::move(deliver)) {}
  ~WorkerJudge() override { stop(); }

  void judge(Height height, Round round, Value value, std::function<bool()> check) override {
    asio::post(pool_, [this, height, round, value = std::move(value), check = std::move(check)]() mutable {
      const bool valid = check();
      asio::post(node_io_, [this, height, round, value = std::move(value), valid] { deliver_(height, round, value, valid); });
    });
  }

  /// Drops what was not started and waits for the check in progress.
  void stop() {
    pool_.stop();
    pool_.join();
  }

 private:
  asio::io_context& node_io_;
  Deliver deliver_;
  asio::thread_pool pool_{1};
};

}  // namespace

class Node::Impl {
 public:
  Impl(NodeConfig config, crypto::Ed25519Signer signer, Application& app, const Logger& logger)
      : config_(std::move(config)), signer_(std::move(signer)), app_(app), log_(logger), timer_(io_) {}

  ~Impl() {
    // The judge, the admission of gossip and the clients first: their threads call the application.
    judge_.stop();
    stop_admission();
    if (http_) http_->stop();
    if (transport_) transport_->stop();
  }

  Result<void> open() {
    std::error_code ec;
    for (const char* sub : {"wal", "guard", "blocks"}) {
      std::filesystem::create_directories(config_.data_dir / sub, ec);
      if (ec) return make_error(Errc::io_error, "cannot create " + (config_.data_dir / sub).string() + ": " + ec.message());
    }
    metrics::register_process_metrics(registry_);
    auto& sync_seconds = registry_.histogram_family(
        "bftcore_storage_sync_seconds", "fdatasync latency of the write-ahead log and the double-sign guard.",
        {"file"}, metrics::exponential_buckets(0.00002, 2, 16));
    auto& written_bytes = registry_.counter_family("bftcore_storage_written_bytes_total",
                                                   "Bytes appended to the write-ahead log and the guard.", {"file"});
    auto chain_id = codec::ChainId::create(config_.chain_id);
    if (!chain_id) return chain_id.error();
    ReplicaOptions options(*chain_id);
    BlockchainOptions chain_options(*chain_id);
    std::vector<net::Peer> peers;
    for (const ValidatorEntry& validator : config_.validators)
      chain_options.validators.push_back({validator.public_key, validator.power});
    for (const auto* nodes : {&config_.validators, &config_.full_nodes})
      for (const ValidatorEntry& node : *nodes) peers.push_back({node.public_key, node.address.host, node.address.port});
    chain_options.self = self_;
    chain_options.max_block_txs = config_.block_max_txs;
    chain_options.mempool.max_txs = config_.mempool_max_txs;
    chain_options.metrics = &registry_;
    chain_options.judge = &judge_;
    auto store = BlockStore::open((config_.data_dir / "blocks").string());
    if (!store) return store.error();
    auto chain = Blockchain::open(std::move(chain_options), std::move(*store), app_, log_);
    if (!chain) return chain.error();
    chain_ = std::move(*chain);
    // The log and the guard only once the chain and the application agree.
    auto wal_disk = wal::open_directory((config_.data_dir / "wal").string());
    if (!wal_disk) return wal_disk.error();
    wal_disk_ = std::make_unique<detail::MeasuredStorage>(std::move(*wal_disk), sync_seconds.with({"wal"}),
                                                          written_bytes.with({"wal"}));
    auto guard_disk = wal::open_directory((config_.data_dir / "guard").string());
    if (!guard_disk) return guard_disk.error();
    guard_disk_ = std::make_unique<detail::MeasuredStorage>(std::move(*guard_disk), sync_seconds.with({"guard"}),
                                                            written_bytes.with({"guard"}));

    options.consensus.propose = {config_.propose_timeout, config_.per_round_timeout};
    options.consensus.prevote = {config_.prevote_timeout, config_.per_round_timeout};
    options.consensus.precommit = {config_.precommit_timeout, config_.per_round_timeout};
    options.gossip_interval = config_.gossip_interval;
    options.sync_patience = std::max(config_.gossip_interval * 2, std::chrono::milliseconds{100});
    options.metrics = &registry_;

    net::TransportOptions transport_options;
    transport_options.listen_host = config_.listen.host;
    transport_options.listen_port = config_.listen.port;
    transport_options.chain_id = config_.chain_id;
    transport_options.encrypt_frames = !config_.p2p_plaintext;
    transport_options.faults.delay = config_.fault_delay;
    transport_options.faults.loss = config_.fault_loss;
    transport_options.dial_every_peer = !config_.lists(signer_.public_key());
    auto transport = net::Transport::create(io_, signer_, std::move(peers), transport_options, wiring_);
    if (!transport) return transport.error();
    transport_ = std::move(*transport);
    wiring_.attach(*transport_);

    auto replica = Replica::open(std::move(options), signer_, *wal_disk_, *guard_disk_, *chain_, wiring_, log_, Clock::now());
    if (!replica) return replica.error();
    replica_ = std::move(*replica);
    wiring_.attach(*replica_);
    wiring_.after_event = [this] { after_event(); };
    gossip_.emplace(TxGossipOptions{}, wiring_, log_, &registry_);
    follow_validators();
    wiring_.on_mempool_frame = [this](const Address& from, std::span<const std::uint8_t> frame) {
      admit_gossip(from, frame);
    };
    wiring_.on_peer = [this](const Address& peer) { gossip_->on_peer_connected(peer); };
    publish_status(Clock::now());

    api_.emplace(config_.name, *chain_, status_, &registry_, ClientApiLimits{},
                 [this](std::vector<Tx> txs, TxGossip::Done done) {
                   if (gossip_->enqueue(std::move(txs), std::move(done)))
                     asio::post(io_, [this] {
                       if (!stopping_) gossip_->flush(Clock::now());
                     });
                 });
    auto http = HttpServer::create(config_.http.host, config_.http.port,
                                   [this](const HttpRequest& request) { return api_->handle(request); });
    if (!http) return http.error();
    http_.emplace(std::move(*http));
    register_metrics();
    return {};
  }

  int run() {
    transport_->start();
    const RecoveryInfo& recovery = replica_->recovery();
    log_.log(LogLevel::info, "started",
             field("p2p", config_.listen.host + ":" + std::to_string(transport_->local_port())) +
                 field("http", config_.http.host + ":" + std::to_string(http_->local_port())) +
                 field("committed", chain_->committed_height()) + field("base", chain_->store().base()) +
                 field("app_height", chain_->handshake().app_height) +
                 field("blocks_replayed", chain_->handshake().replayed) + field("replayed", recovery.replayed_inputs));
    arm_timer();
    io_.run();
    log_.log(LogLevel::info, "stopped",
             field("height", chain_->committed_height()) + field("exit_code", static_cast<std::uint64_t>(exit_code_)));
    return exit_code_;
  }

  void stop() {
    asio::post(io_, [this] { shutdown(0); });
  }

  std::uint16_t p2p_port() const { return transport_->local_port(); }
  std::uint16_t http_port() const { return http_->local_port(); }

 private:
  /// A peer's transactions: checked against its share here, admitted (check_tx) on the
  /// admission thread, so a slow check_tx never holds up consensus.
  void admit_gossip(const Address& from, std::span<const std::uint8_t> frame) {
    if (stopping_) return;
    auto batch = gossip_->receive(from, frame, Clock::now());
    if (!batch) return;
    asio::post(admission_, [this, from, batch = std::move(*batch)]() mutable {
      const std::size_t count = batch.txs.size();
      // Held: each transaction pooled (now or before), committed, or refused by check_tx
      // (on this node's state it is invalid: a full mempool is no such verdict).
      bool held = true;
      for (const SubmitResult& result : chain_->submit(std::move(batch.txs)))
        held = held && (!result.error || result.error->code == Errc::duplicate);
      asio::post(io_, [this, from, sequence = batch.sequence, count, held] {
        if (!stopping_) gossip_->admitted(from, sequence, count, held);
      });
    });
  }

  void stop_admission() {
    admission_.stop();
    admission_.join();
  }

  void after_event() {
    if (stopping_) return;
    if (replica_->fatal()) return shutdown(1);
    const Clock::time_point now = Clock::now();
    gossip_->tick(now);
    if (replica_->height() != published_height_ || now - published_at_ >= status_period) publish_status(now);
    follow_validators();
    arm_timer();
  }

  /// What the node's thread publishes (StatusBoard) and the transport and HTTP server
  /// count, read at each scrape: the same numbers /status shows.
  void register_metrics() {
    const auto published = [this](auto field) {
      return [this, field] { return static_cast<double>(field(status_.read())); };
    };
    registry_.callback_gauge("bftcore_consensus_height", "The height being decided.",
                             published([](const NodeStatus& s) { return s.height; }));
    registry_.callback_gauge("bftcore_consensus_round", "The round of the height being decided.",
                             published([](const NodeStatus& s) { return s.round; }));
    registry_.callback_gauge_family("bftcore_consensus_step", "1 for the step the round is in, 0 for the others.",
                                    {"step"}, [this] {
                                      const Step current = status_.read().step;
                                      std::vector<metrics::CallbackSample> samples;
                                      for (Step step : {Step::propose, Step::prevote, Step::precommit, Step::commit})
                                        samples.push_back({{std::string(to_string(step))}, step == current ? 1.0 : 0.0});
                                      return samples;
                                    });
    const auto replica_counter = [&](const char* name, const char* help, std::uint64_t ReplicaStats::*field) {
      registry_.callback_counter(name, help, [this, field] { return static_cast<double>(status_.read().replica.*field); });
    };
    replica_counter("bftcore_consensus_heights_committed_total", "Heights this node committed.",
                    &ReplicaStats::heights_committed);
    replica_counter("bftcore_consensus_duplicates_total", "Proposals and votes received again (gossip repeats).",
                    &ReplicaStats::duplicates_ignored);
    replica_counter("bftcore_consensus_stale_total", "Proposals and votes of decided heights, dropped unchecked.",
                    &ReplicaStats::stale_ignored);
    replica_counter("bftcore_consensus_set_undecided_total",
                    "Messages of heights whose validator set this node has yet to decide, signed by no validator "
                    "it knows: dropped unjudged.",
                    &ReplicaStats::set_undecided_ignored);
    replica_counter("bftcore_consensus_inputs_refused_total",
                    "Well-signed messages the core refused (a wrong round, a second vote, ...).",
                    &ReplicaStats::inputs_rejected);
    replica_counter("bftcore_consensus_evidence_total", "Equivocations seen (two signed messages for one slot).",
                    &ReplicaStats::evidence);
    replica_counter("bftcore_consensus_guard_refusals_total",
                    "Own messages the double-sign guard refused to sign.", &ReplicaStats::guard_refusals);
    replica_counter("bftcore_sync_requests_total", "Block sync requests this node sent.", &ReplicaStats::sync_requests);
    replica_counter("bftcore_sync_blocks_fetched_total", "Blocks this node committed from peers' certificates.",
                    &ReplicaStats::blocks_synced);
    replica_counter("bftcore_sync_blocks_served_total", "Blocks sent to syncing peers.",
                    &ReplicaStats::sync_blocks_served);
    replica_counter("bftcore_sync_requests_throttled_total", "Peers' sync requests beyond their budget, unanswered.",
                    &ReplicaStats::sync_requests_throttled);
    replica_counter("bftcore_sync_blocks_unreadable_total", "Committed blocks that could not be read to serve a peer.",
                    &ReplicaStats::blocks_unreadable);

    registry_.callback_gauge("bftcore_consensus_voting", "1 while this node is a validator of its current height.",
                             published([](const NodeStatus& s) { return s.voting ? 1 : 0; }));
    registry_.callback_gauge("bftcore_consensus_validators", "Validators of the current height.",
                             published([](const NodeStatus& s) { return s.validators ? s.validators->keys.size() : 0; }));
    registry_.callback_gauge("bftcore_p2p_peers", "Peers connected (validators and full nodes).",
                             published([](const NodeStatus& s) { return s.peers; }));
    const auto transport_counter = [&](const char* name, const char* help, std::uint64_t net::Transport::Stats::*field) {
      registry_.callback_counter(name, help, [this, field] { return static_cast<double>(transport_->stats().*field); });
    };
    transport_counter("bftcore_p2p_frames_sent_total", "Frames queued to peers.", &net::Transport::Stats::frames_sent);
    transport_counter("bftcore_p2p_frames_received_total", "Frames received from peers.",
                      &net::Transport::Stats::frames_received);
    transport_counter("bftcore_p2p_send_queue_drops_total", "Frames dropped because a peer's send queue was full.",
                      &net::Transport::Stats::frames_dropped_queue_full);
    registry_.callback_counter_family(
        "bftcore_p2p_handshakes_rejected_total",
        "Handshakes that failed, by why: malformed, wrong_version, not_admitted (not a validator's key), bad_proof "
        "(another chain id, a forged key), timeout.",
        {"reason"}, [this] {
          const net::Transport::Stats stats = transport_->stats();
          std::vector<metrics::CallbackSample> samples;
          for (std::size_t i = 0; i < net::handshake_rejection_kinds; ++i)
            samples.push_back({{std::string(net::to_string(static_cast<net::HandshakeRejection>(i)))},
                               static_cast<double>(stats.handshakes_rejected_by[i])});
          return samples;
        });
    register_peer_metrics();
    transport_counter("bftcore_p2p_frames_rejected_auth_total",
                      "Sealed frames that failed authentication (altered, replayed, reordered); each closed its link.",
                      &net::Transport::Stats::frames_rejected_auth);
    transport_counter("bftcore_p2p_connections_refused_pending_limit_total",
                      "Inbound connections closed at once: too many handshakes pending.",
                      &net::Transport::Stats::connections_refused_pending_limit);

    const auto http_counter = [&](const char* name, const char* help, std::uint64_t HttpStats::*field) {
      registry_.callback_counter(name, help, [this, field] { return static_cast<double>(http_->stats().*field); });
    };
    http_counter("bftcore_http_requests_total", "Client requests answered by a route.", &HttpStats::requests);
    registry_.callback_counter_family(
        "bftcore_http_refused_total",
        "Client connections or requests refused: over the total or the per-client connection limit, or the memory "
        "budget.",
        {"reason"}, [this] {
          const HttpStats stats = http_->stats();
          return std::vector<metrics::CallbackSample>{
              {{"total_limit"}, static_cast<double>(stats.refused_total_limit)},
              {{"client_limit"}, static_cast<double>(stats.refused_client_limit)},
              {{"memory"}, static_cast<double>(stats.refused_memory)}};
        });
    http_counter("bftcore_http_timeouts_total", "Client connections closed by a timeout.", &HttpStats::timeouts);
    registry_.callback_gauge("bftcore_http_connections", "Client connections open.",
                             [this] { return static_cast<double>(http_->stats().open_connections); });
  }

  /// Per peer, labelled with the validator's name in the configuration (its host:port if
  /// it has none): what an operator calls it. A validator only the chain names is
  /// labelled with its address.
  void register_peer_metrics() {
    std::map<Address, std::string> names;
    for (const auto* nodes : {&config_.validators, &config_.full_nodes})
      for (const ValidatorEntry& node : *nodes)
        names[crypto::address_of(node.public_key)] =
            node.name.empty() ? node.address.host + ":" + std::to_string(node.address.port) : node.name;
    const auto per_peer = [this, names](auto field) {
      return [this, names, field] {
        std::vector<metrics::CallbackSample> samples;
        for (const net::Transport::PeerStats& peer : transport_->peer_stats()) {
          const auto name = names.find(peer.address);
          samples.push_back({{name != names.end() ? name->second : peer.address.to_string()},
                             static_cast<double>(field(peer))});
        }
        return samples;
      };
    };
    using Peer = net::Transport::PeerStats;
    registry_.callback_gauge_family("bftcore_p2p_peer_connected", "1 while the peer is connected.", {"peer"},
                                    per_peer([](const Peer& p) { return p.connected ? 1 : 0; }));
    registry_.callback_counter_family("bftcore_p2p_peer_connections_total",
                                      "Connections established with the peer (reconnects are one less).", {"peer"},
                                      per_peer([](const Peer& p) { return p.connections; }));
    registry_.callback_counter_family("bftcore_p2p_peer_frames_sent_total", "Frames queued to the peer.", {"peer"},
                                      per_peer([](const Peer& p) { return p.frames_sent; }));
    registry_.callback_counter_family("bftcore_p2p_peer_frames_received_total", "Frames received from the peer.",
                                      {"peer"}, per_peer([](const Peer& p) { return p.frames_received; }));
    registry_.callback_counter_family("bftcore_p2p_peer_sent_bytes_total", "Payload bytes queued to the peer.",
                                      {"peer"}, per_peer([](const Peer& p) { return p.bytes_sent; }));
    registry_.callback_counter_family("bftcore_p2p_peer_received_bytes_total", "Payload bytes received from the peer.",
                                      {"peer"}, per_peer([](const Peer& p) { return p.bytes_received; }));
    registry_.callback_counter_family("bftcore_p2p_peer_send_queue_drops_total",
                                      "Frames to the peer dropped because its send queue was full.", {"peer"},
                                      per_peer([](const Peer& p) { return p.frames_dropped_queue_full; }));
  }

  /// On a change of the current or the next height's set. The transport admits the
  /// validators of both besides the configured nodes, so a validator that joins without
  /// being configured here can connect a height before it votes, and one that leaves is
  /// dropped. Any f = (n-1)/3 validators of the current height may crash, this node
  /// included: a client's transactions are accepted once f other validators hold them too
  /// (f + 1 on a full node, which proposes nothing). Full nodes' holding does not count.
  void follow_validators() {
    const ValidatorEpoch& epoch = chain_->validators().at(replica_->height());
    const ValidatorEpoch& next = chain_->validators().at(replica_->height() + 1);
    if (&epoch != admitted_epochs_.first || &next != admitted_epochs_.second) {
      admitted_epochs_ = {&epoch, &next};
      std::vector<crypto::PublicKey> validators;
      for (const ValidatorEpoch* set : {&epoch, &next})
        for (const ValidatorKey& validator : set->keys) validators.push_back(validator.key);
      transport_->admit_unlisted(validators);
    }
    if (&epoch == holders_epoch_) return;
    holders_epoch_ = &epoch;
    std::vector<Address> others;
    for (const Validator& validator : epoch.set.validators())
      if (validator.address != self_) others.push_back(validator.address);
    const std::size_t faulty = (epoch.set.size() - 1) / 3;
    const bool voting = others.size() < epoch.set.size();
    gossip_->set_holders(std::move(others), voting ? faulty : faulty + 1);
  }

  void publish_status(Clock::time_point now) {
    NodeStatus status;
    status.height = replica_->height();
    status.round = replica_->round();
    status.step = replica_->step();
    status.peers = transport_->connected_peers().size();
    status.replica = replica_->stats();
    status.validators = &chain_->validators().at(status.height);
    status.voting = status.validators->set.index_of(self_).has_value();
    status_.publish(status);
    published_height_ = status.height;
    published_at_ = now;
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
    if (code != 0 && replica_->fatal()) log_.log(LogLevel::error, "fatal", field("detail", replica_->fatal()->message));
    timer_.cancel();
    judge_.stop();
    stop_admission();
    if (http_) http_->stop();
    transport_->stop();
    io_.stop();
  }

  NodeConfig config_;
  crypto::Ed25519Signer signer_;
  const Address self_ = crypto::address_of(signer_.public_key());
  Application& app_;
  const Logger& log_;
  // First in, last out: everything below registers into it and is gone before it.
  metrics::Registry registry_;
  asio::io_context io_;
  asio::steady_timer timer_;
  std::unique_ptr<wal::Storage> wal_disk_;
  std::unique_ptr<wal::Storage> guard_disk_;
  WorkerJudge judge_{io_, [this](Height height, Round round, const Value& value, bool valid) {
                       if (stopping_ || !replica_) return;
                       replica_->on_verdict(height, round, value, valid, Clock::now());
                       after_event();
                     }};
  std::unique_ptr<Blockchain> chain_;
  asio::thread_pool admission_{1};  // gossiped transactions through check_tx
  Wiring wiring_;
  std::optional<TxGossip> gossip_;
  std::unique_ptr<net::Transport> transport_;
  std::unique_ptr<Replica> replica_;
  StatusBoard status_;
  Height published_height_ = 0;
  const ValidatorEpoch* holders_epoch_ = nullptr;  // the set TxGossip's holders follow
  // The sets of the current and the next height, which the transport admits.
  std::pair<const ValidatorEpoch*, const ValidatorEpoch*> admitted_epochs_{nullptr, nullptr};
  Clock::time_point published_at_{};
  std::optional<ClientApi> api_;
  std::optional<HttpServer> http_;
  bool timer_armed_ = false;
  Clock::time_point armed_for_{};
  bool stopping_ = false;
  int exit_code_ = 0;
};

Node::Node(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Node::~Node() = default;

Result<std::unique_ptr<Node>> Node::open(NodeConfig config, crypto::Ed25519Signer signer, Application& app,
                                         const Logger& logger) {
  auto impl = std::make_unique<Impl>(std::move(config), std::move(signer), app, logger);
  if (auto opened = impl->open(); !opened) return opened.error();
  return std::unique_ptr<Node>(new Node(std::move(impl)));
}

int Node::run() { return impl_->run(); }
void Node::stop() { impl_->stop(); }
std::uint16_t Node::p2p_port() const { return impl_->p2p_port(); }
std::uint16_t Node::http_port() const { return impl_->http_port(); }

}  // namespace bft::node
