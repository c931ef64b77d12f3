#include "bft/net/transport.hpp"

#include <asio/connect.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "bft/net/log_limiter.hpp"
#include "connection.hpp"

namespace bft::net {

std::string_view to_string(HandshakeRejection kind) noexcept {
  switch (kind) {
    case HandshakeRejection::malformed: return "malformed";
    case HandshakeRejection::wrong_version: return "wrong_version";
    case HandshakeRejection::not_admitted: return "not_admitted";
    case HandshakeRejection::bad_proof: return "bad_proof";
    case HandshakeRejection::timeout: return "timeout";
  }
  return "unknown";
}

namespace {

HandshakeRejection rejection_of(detail::CloseReason reason) {
  switch (reason) {
    case detail::CloseReason::handshake_malformed: return HandshakeRejection::malformed;
    case detail::CloseReason::handshake_wrong_version: return HandshakeRejection::wrong_version;
    case detail::CloseReason::handshake_not_admitted: return HandshakeRejection::not_admitted;
    case detail::CloseReason::handshake_bad_proof: return HandshakeRejection::bad_proof;
    default: return HandshakeRejection::timeout;
  }
}

}  // namespace

using asio::ip::tcp;
using detail::CloseReason;
using detail::Connection;

namespace {

void log_line(const std::string& line) {
  const std::string text = "bft-net: " + line + "\n";
  std::fwrite(text.data(), 1, text.size(), stderr);
}

Result<void> check_options(const TransportOptions& options) {
  const auto bad = [](const std::string& what) { return make_error(Errc::invalid_argument, what); };
  if (options.chain_id.size() > max_chain_id_size) return bad("chain_id longer than 255 bytes");
  if (options.max_frame_size == 0 || options.max_frame_size > 0xffff'ffffu - seal_overhead)
    return bad("max_frame_size must be in [1, 2^32 - 16)");  // a sealed frame's length fits a u32
  if (options.max_queued_bytes_per_peer == 0) return bad("max_queued_bytes_per_peer must be positive");
  if (options.reconnect_initial.count() <= 0 || options.reconnect_max < options.reconnect_initial)
    return bad("reconnect delays must satisfy 0 < reconnect_initial <= reconnect_max");
  if (options.handshake_timeout.count() <= 0) return bad("handshake_timeout must be positive");
  if (options.max_pending_handshakes == 0 || options.max_pending_handshakes_per_address == 0)
    return bad("max_pending_handshakes and max_pending_handshakes_per_address must be positive");
  if (options.faults.delay.count() < 0) return bad("faults.delay must not be negative");
  if (!(options.faults.loss >= 0 && options.faults.loss <= 1)) return bad("faults.loss must be in [0, 1]");
  return {};
}

std::mt19937_64 seeded_from_os() {
  const Nonce nonce = fresh_nonce();
  std::seed_seq seq(nonce.begin(), nonce.end());
  return std::mt19937_64(seq);
}

}  // namespace

class Transport::Impl final : public Connection::Events, public std::enable_shared_from_this<Impl> {
 public:
  Impl(asio::io_context& io, const crypto::Signer& self, TransportOptions options, Handler& handler)
      : io_(io),
        self_address_(crypto::address_of(self.public_key())),
        options_(std::move(options)),
        handler_(handler),
        acceptor_(io),
        accept_retry_(io),
        rejections_({5, std::chrono::seconds(10), "rejections"}),
        log_timer_(io),
        fault_random_(options_.faults.seed),
        jitter_random_(seeded_from_os()) {
    auto settings = std::make_shared<detail::ConnectionSettings>();
    settings->self = &self;
    settings->chain_id = options_.chain_id;
    settings->version = options_.encrypt_frames ? encrypted_version : plaintext_version;
    settings->max_frame_size = options_.max_frame_size;
    settings->max_queued_bytes = options_.max_queued_bytes_per_peer;
    settings->handshake_timeout = options_.handshake_timeout;
    settings->delay = options_.faults.delay;
    settings_ = std::move(settings);
  }

  Result<void> add_peers(std::vector<Peer> peers) {
    for (Peer& peer : peers) {
      Address address = crypto::address_of(peer.key);
      if (address == self_address_) continue;
      if (peers_.contains(address)) {
        return make_error(Errc::invalid_argument, "two peers with address " + address.to_string());
      }
      auto slot = std::make_unique<Slot>(io_);
      slot->peer = std::move(peer);
      slot->address = address;
      slot->listed = true;
      peers_.emplace(std::move(address), std::move(slot));
    }
    return {};
  }

  void admit_unlisted(std::span<const crypto::PublicKey> keys) {
    const auto keep = shared_from_this();  // the handler may destroy the Transport
    std::set<Address> admitted;
    for (const crypto::PublicKey& key : keys) {
      Address address = crypto::address_of(key);
      if (address == self_address_) continue;
      const auto it = peers_.find(address);
      if (it != peers_.end() && it->second->listed) continue;
      if (it == peers_.end()) {
        // Slots are never erased: asynchronous work may refer to them, and peer_stats()
        // keeps the counters of a peer that came and went.
        auto slot = std::make_unique<Slot>(io_);
        slot->peer.key = key;
        slot->address = address;
        const std::lock_guard lock(slots_mutex_);
        peers_.emplace(address, std::move(slot));
      }
      admitted.insert(std::move(address));
    }
    for (auto& [address, slot] : peers_) {
      if (slot->listed) continue;
      const bool now_admitted = admitted.contains(address);
      slot->counters.admitted.store(now_admitted, std::memory_order_relaxed);
      if (now_admitted || !slot->active) continue;
      slot->active->close();
      slot->active.reset();
      slot->counters.connected.store(false, std::memory_order_relaxed);
      handler_.on_peer_disconnected(address);
      if (stopped_) return;
    }
  }

  Result<void> listen() {
    const std::string where = options_.listen_host + ":" + std::to_string(options_.listen_port);
    asio::error_code ec;
    tcp::resolver resolver(io_);
    const auto endpoints = resolver.resolve(options_.listen_host, std::to_string(options_.listen_port),
                                            tcp::resolver::passive, ec);
    if (ec || endpoints.empty()) {
      return make_error(Errc::io_error, "cannot resolve listen address " + where + ": " + ec.message());
    }
    const tcp::endpoint endpoint = *endpoints.begin();
    // reuse_address: a restarted node can listen again while old connections sit in TIME_WAIT.
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return make_error(Errc::io_error, "cannot listen on " + where + ": " + ec.message());
    local_port_ = acceptor_.local_endpoint().port();
    return {};
  }

  void start() {
    if (started_ || stopped_) return;
    started_ = true;
    accept_next();
    for (auto& [address, slot] : peers_) {
      if (slot->listed && (self_address_ < address || options_.dial_every_peer)) dial(*slot);
    }
  }

  void stop() {
    if (stopped_) return;
    stopped_ = true;
    asio::error_code ignored;
    acceptor_.close(ignored);
    accept_retry_.cancel();
    log_timer_.cancel();
    for (auto& [address, slot] : peers_) {
      slot->retry.cancel();
      slot->resolver.cancel();
      if (slot->connecting) slot->connecting->close(ignored);
      if (slot->active) slot->active->close();
      slot->active.reset();
      slot->counters.connected.store(false, std::memory_order_relaxed);
    }
    for (auto& [raw, pending] : pending_) pending.connection->close();
    pending_.clear();
    pending_inbound_ = 0;
    pending_per_address_.clear();
  }

  std::uint16_t local_port() const { return local_port_; }

  bool send(const Address& to, std::shared_ptr<const Bytes> frame) {
    const auto it = peers_.find(to);
    if (it == peers_.end() || !it->second->active) return false;
    return send_on(*it->second, std::move(frame));
  }

  void broadcast(const std::shared_ptr<const Bytes>& frame) {
    for (auto& [address, slot] : peers_) {
      if (slot->active) send_on(*slot, frame);
    }
  }

  std::vector<PeerStats> peer_stats() const {
    std::vector<PeerStats> all;
    // admit_unlisted() adds slots on the transport's thread: the lock orders that against
    // this walk. Slots are never erased, and their counters are atomics.
    const std::lock_guard lock(slots_mutex_);
    for (const auto& [address, slot] : peers_) {
      const PeerCounters& c = slot->counters;
      all.push_back({address, slot->listed ? slot->peer.host + ":" + std::to_string(slot->peer.port) : std::string(),
                     c.admitted.load(std::memory_order_relaxed), c.connected.load(std::memory_order_relaxed),
                     c.connections.load(std::memory_order_relaxed),
                     c.frames_sent.load(std::memory_order_relaxed), c.frames_received.load(std::memory_order_relaxed),
                     c.bytes_sent.load(std::memory_order_relaxed), c.bytes_received.load(std::memory_order_relaxed),
                     c.frames_dropped_queue_full.load(std::memory_order_relaxed)});
    }
    return all;
  }

  std::vector<Address> connected_peers() const {
    std::vector<Address> connected;
    for (const auto& [address, slot] : peers_) {
      if (slot->active) connected.push_back(address);
    }
    return connected;
  }

  std::size_t queued_bytes(const Address& to) const {
    const auto it = peers_.find(to);
    if (it == peers_.end() || !it->second->active) return 0;
    return it->second->active->queued_bytes();
  }

  Stats stats() const {
    Stats stats;
    stats.frames_sent = frames_sent_.load(std::memory_order_relaxed);
    stats.frames_received = frames_received_.load(std::memory_order_relaxed);
    stats.frames_dropped_queue_full = frames_dropped_queue_full_.load(std::memory_order_relaxed);
    stats.handshakes_rejected = handshakes_rejected_.load(std::memory_order_relaxed);
    for (std::size_t i = 0; i < handshake_rejection_kinds; ++i)
      stats.handshakes_rejected_by[i] = handshake_rejections_[i].load(std::memory_order_relaxed);
    stats.connections_closed_protocol_error = protocol_errors_.load(std::memory_order_relaxed);
    stats.frames_dropped_fault = frames_dropped_fault_.load(std::memory_order_relaxed);
    stats.frames_rejected_auth = frames_rejected_auth_.load(std::memory_order_relaxed);
    stats.connections_refused_pending_limit = refused_pending_limit_.load(std::memory_order_relaxed);
    stats.inbound_handshakes_pending = inbound_pending_gauge_.load(std::memory_order_relaxed);
    return stats;
  }

  // Connection::Events

  Result<void> admit(Connection& connection, const crypto::PublicKey& key) override {
    const Address address = crypto::address_of(key);
    if (connection.dialed()) {
      if (address == *connection.dialed()) return {};
      return make_error(Errc::unknown_validator, "dialed " + connection.dialed()->to_string() +
                                                     " but the listener is " + address.to_string());
    }
    const auto it = peers_.find(address);
    if (it == peers_.end()) {
      return make_error(Errc::unknown_validator, "unknown key of address " + address.to_string());
    }
    return admissible(*it->second);
  }

  void established(Connection& connection) override {
    const auto keep = shared_from_this();  // the handler may destroy the Transport
    std::shared_ptr<Connection> shared = connection.shared_from_this();
    forget_pending(connection);
    Slot& slot = *peers_.at(connection.peer_address());
    if (!connection.dialed()) {
      // admit_unlisted() may have withdrawn the peer while its handshake ran.
      if (auto admitted = admissible(slot); !admitted) {
        connection.close();
        closed(connection, CloseReason::handshake_not_admitted, admitted.error().message);
        return;
      }
    }
    if (connection.dialed()) {
      slot.dialing = false;
      slot.failed_dials = 0;
    }
    slot.counters.connections.fetch_add(1, std::memory_order_relaxed);
    slot.counters.connected.store(true, std::memory_order_relaxed);
    std::shared_ptr<Connection> replaced = std::exchange(slot.active, std::move(shared));
    if (replaced) {
      replaced->close();
      handler_.on_peer_disconnected(slot.address);
      if (stopped_) return;
    }
    handler_.on_peer_connected(slot.address);
  }

  void frame(Connection& connection, std::span<const std::uint8_t> payload) override {
    const auto keep = shared_from_this();
    frames_received_.fetch_add(1, std::memory_order_relaxed);
    if (const auto it = peers_.find(connection.peer_address()); it != peers_.end()) {
      it->second->counters.frames_received.fetch_add(1, std::memory_order_relaxed);
      it->second->counters.bytes_received.fetch_add(payload.size(), std::memory_order_relaxed);
    }
    handler_.on_frame(connection.peer_address(), payload);
  }

  void closed(Connection& connection, CloseReason reason, const std::string& why) override {
    const auto keep = shared_from_this();
    const std::shared_ptr<Connection> shared = connection.shared_from_this();
    switch (reason) {
      case CloseReason::handshake_malformed:
      case CloseReason::handshake_wrong_version:
      case CloseReason::handshake_not_admitted:
      case CloseReason::handshake_bad_proof:
      case CloseReason::handshake_timeout: {
        const HandshakeRejection kind = rejection_of(reason);
        handshakes_rejected_.fetch_add(1, std::memory_order_relaxed);
        handshake_rejections_[static_cast<std::size_t>(kind)].fetch_add(1, std::memory_order_relaxed);
        log_rejection(std::string("handshake_") + std::string(to_string(kind)),
                      "handshake with " + connection.remote() + " rejected: " + why);
        break;
      }
      case CloseReason::protocol_error:
        protocol_errors_.fetch_add(1, std::memory_order_relaxed);
        log_rejection("protocol_error", "closed connection to " + connection.peer_address().to_string() +
                                            " at " + connection.remote() + ": " + why);
        break;
      case CloseReason::auth_failed:
        frames_rejected_auth_.fetch_add(1, std::memory_order_relaxed);
        log_rejection("auth_failed", "closed connection to " + connection.peer_address().to_string() +
                                         " at " + connection.remote() + ": " + why);
        break;
      case CloseReason::io: break;  // peers restart; the dialer reconnects quietly
    }
    forget_pending(connection);
    // Before the peer's hello, an inbound connection has no address and finds no slot.
    const Address& address = connection.dialed() ? *connection.dialed() : connection.peer_address();
    const auto it = peers_.find(address);
    if (it == peers_.end()) return;
    Slot& slot = *it->second;
    if (slot.active == shared) {
      slot.active.reset();
      slot.counters.connected.store(false, std::memory_order_relaxed);
      handler_.on_peer_disconnected(slot.address);
      if (stopped_) return;
    }
    if (connection.dialed()) {
      slot.dialing = false;
      retry_later(slot);
    }
  }

 private:
  /// What went to and came from one peer; written on the transport's thread, read by
  /// peer_stats() on any.
  struct PeerCounters {
    std::atomic<bool> admitted{true};
    std::atomic<bool> connected{false};
    std::atomic<std::uint64_t> connections{0};
    std::atomic<std::uint64_t> frames_sent{0};
    std::atomic<std::uint64_t> frames_received{0};
    std::atomic<std::uint64_t> bytes_sent{0};
    std::atomic<std::uint64_t> bytes_received{0};
    std::atomic<std::uint64_t> frames_dropped_queue_full{0};
  };

  /// A known peer: its live connection and, if this node dials it, the dialing state.
  struct Slot {
    explicit Slot(asio::io_context& io) : retry(io), resolver(io) {}
    Peer peer;  // an unlisted peer has no host: it is never dialed
    Address address;
    bool listed = false;
    std::shared_ptr<Connection> active;  // established
    bool dialing = false;                // resolving, connecting or in the handshake
    unsigned failed_dials = 0;
    asio::steady_timer retry;
    tcp::resolver resolver;
    std::shared_ptr<tcp::socket> connecting;
    PeerCounters counters;
  };

  /// Whether a peer's inbound connection may be accepted.
  Result<void> admissible(const Slot& slot) const {
    if (!slot.listed) {
      if (slot.counters.admitted.load(std::memory_order_relaxed)) return {};
      return make_error(Errc::unknown_validator, slot.address.to_string() + " is no longer admitted");
    }
    if (self_address_ < slot.address) {
      return make_error(Errc::invalid_argument,
                        slot.address.to_string() + " dialed us, but the smaller address dials");
    }
    return {};
  }

  bool send_on(Slot& slot, std::shared_ptr<const Bytes> frame) {
    Connection& connection = *slot.active;
    if (frame->size() > options_.max_frame_size) return false;
    if (options_.faults.loss > 0 && std::uniform_real_distribution<double>(0, 1)(fault_random_) <
                                        options_.faults.loss) {
      frames_dropped_fault_.fetch_add(1, std::memory_order_relaxed);
      return true;
    }
    const std::size_t size = frame->size();
    if (!connection.send(std::move(frame))) {
      frames_dropped_queue_full_.fetch_add(1, std::memory_order_relaxed);
      slot.counters.frames_dropped_queue_full.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    frames_sent_.fetch_add(1, std::memory_order_relaxed);
    slot.counters.frames_sent.fetch_add(1, std::memory_order_relaxed);
    slot.counters.bytes_sent.fetch_add(size, std::memory_order_relaxed);
    return true;
  }

  void accept_next() {
    acceptor_.async_accept([self = shared_from_this()](const asio::error_code& ec, tcp::socket socket) {
      if (self->stopped_) return;
      if (ec) {
        // Out of descriptors and the like: try again a little later rather than spin.
        self->log_rejection("accept_failed", "accept failed: " + ec.message());
        self->accept_retry_.expires_after(self->options_.reconnect_initial);
        self->accept_retry_.async_wait([self](const asio::error_code& wait_ec) {
          if (!wait_ec && !self->stopped_) self->accept_next();
        });
        return;
      }
      self->admit_inbound(std::move(socket));
      self->accept_next();
    });
  }

  /// Caps the inbound connections still in the handshake: one beyond a cap is closed
  /// before a Connection (and its buffers) exists.
  void admit_inbound(tcp::socket socket) {
    asio::error_code ec;
    const tcp::endpoint remote = socket.remote_endpoint(ec);
    if (ec) return;  // already reset by the peer; the socket closes here
    const asio::ip::address from = remote.address();
    std::size_t& from_here = pending_per_address_[from];
    if (pending_inbound_ >= options_.max_pending_handshakes ||
        from_here >= options_.max_pending_handshakes_per_address) {
      const bool total = pending_inbound_ >= options_.max_pending_handshakes;
      if (from_here == 0) pending_per_address_.erase(from);
      refused_pending_limit_.fetch_add(1, std::memory_order_relaxed);
      log_rejection("pending_limit",
                    "refused " + from.to_string() + ":" + std::to_string(remote.port()) + ": " +
                        (total ? std::to_string(options_.max_pending_handshakes) + " handshakes pending"
                               : std::to_string(options_.max_pending_handshakes_per_address) +
                                     " handshakes pending from this address"));
      socket.close(ec);
      return;
    }
    ++from_here;
    ++pending_inbound_;
    inbound_pending_gauge_.store(pending_inbound_, std::memory_order_relaxed);
    adopt(std::move(socket), std::nullopt, from);
  }

  void adopt(tcp::socket socket, std::optional<Address> dialed, std::optional<asio::ip::address> inbound_from) {
    auto connection = std::make_shared<Connection>(std::move(socket), settings_, *this, std::move(dialed));
    pending_.emplace(connection.get(), Pending{connection, std::move(inbound_from)});
    connection->start();
  }

  /// Once a connection has left the handshake (established or closed).
  void forget_pending(Connection& connection) {
    const auto it = pending_.find(&connection);
    if (it == pending_.end()) return;
    if (const auto& from = it->second.inbound_from) {
      const auto count = pending_per_address_.find(*from);
      if (--count->second == 0) pending_per_address_.erase(count);
      --pending_inbound_;
      inbound_pending_gauge_.store(pending_inbound_, std::memory_order_relaxed);
    }
    pending_.erase(it);
  }

  /// One line on stderr, unless rejections flood in: then a few per interval and a summary.
  void log_rejection(std::string_view reason, const std::string& line) {
    const std::string prefix = "port " + std::to_string(local_port_) + ": ";
    for (const std::string& text : rejections_.note(reason, prefix + line, LogLimiter::Clock::now())) {
      log_line(text);
    }
    arm_log_summary();
  }

  void arm_log_summary() {
    const auto due = rejections_.summary_due();
    if (!due || log_timer_armed_ || stopped_) return;
    log_timer_armed_ = true;
    log_timer_.expires_at(*due);
    log_timer_.async_wait([self = shared_from_this()](const asio::error_code& ec) {
      self->log_timer_armed_ = false;
      if (ec || self->stopped_) return;
      if (auto summary = self->rejections_.flush(LogLimiter::Clock::now())) {
        log_line("port " + std::to_string(self->local_port_) + ": " + *summary);
      }
      self->arm_log_summary();
    });
  }

  void dial(Slot& slot) {
    slot.dialing = true;
    slot.resolver.async_resolve(
        slot.peer.host, std::to_string(slot.peer.port),
        [self = shared_from_this(), &slot](const asio::error_code& ec, tcp::resolver::results_type endpoints) {
          if (self->stopped_) return;
          if (ec) {
            slot.dialing = false;
            self->retry_later(slot);
            return;
          }
          slot.connecting = std::make_shared<tcp::socket>(self->io_);
          asio::async_connect(*slot.connecting, endpoints,
                              [self, &slot, socket = slot.connecting](const asio::error_code& connect_ec,
                                                                      const tcp::endpoint&) {
                                if (self->stopped_) return;
                                slot.connecting.reset();
                                if (connect_ec) {
                                  slot.dialing = false;
                                  self->retry_later(slot);
                                  return;
                                }
                                self->adopt(std::move(*socket), slot.address, std::nullopt);
                              });
        });
  }

  /// Exponential backoff with jitter: a random delay in [d/2, d], d doubling per failure
  /// up to reconnect_max, so peers restarting together do not redial in lockstep.
  void retry_later(Slot& slot) {
    if (stopped_ || slot.dialing || slot.active) return;
    std::chrono::milliseconds ceiling = options_.reconnect_initial;
    for (unsigned i = 0; i < slot.failed_dials && ceiling < options_.reconnect_max; ++i) ceiling *= 2;
    ceiling = std::min(ceiling, options_.reconnect_max);
    ++slot.failed_dials;
    const auto delay = std::chrono::milliseconds(
        std::uniform_int_distribution<std::chrono::milliseconds::rep>(ceiling.count() / 2,
                                                                      ceiling.count())(jitter_random_));
    slot.dialing = true;  // a dial is due: nothing else starts one meanwhile
    slot.retry.expires_after(delay);
    slot.retry.async_wait([self = shared_from_this(), &slot](const asio::error_code& ec) {
      if (ec || self->stopped_) return;
      self->dial(slot);
    });
  }

  asio::io_context& io_;
  Address self_address_;
  TransportOptions options_;
  Handler& handler_;
  std::shared_ptr<const detail::ConnectionSettings> settings_;
  tcp::acceptor acceptor_;
  asio::steady_timer accept_retry_;
  std::uint16_t local_port_ = 0;
  bool started_ = false;
  bool stopped_ = false;

  std::map<Address, std::unique_ptr<Slot>> peers_;  // ordered: broadcast goes out in address order
  mutable std::mutex slots_mutex_;                  // held to add a slot, and by peer_stats()
  struct Pending {
    std::shared_ptr<Connection> connection;
    std::optional<asio::ip::address> inbound_from;  // counted against the caps if set
  };
  std::unordered_map<Connection*, Pending> pending_;  // in the handshake
  std::size_t pending_inbound_ = 0;
  std::map<asio::ip::address, std::size_t> pending_per_address_;  // no zero entries

  LogLimiter rejections_;
  asio::steady_timer log_timer_;
  bool log_timer_armed_ = false;

  std::mt19937_64 fault_random_;
  std::mt19937_64 jitter_random_;

  std::atomic<std::uint64_t> frames_sent_{0};
  std::atomic<std::uint64_t> frames_received_{0};
  std::atomic<std::uint64_t> frames_dropped_queue_full_{0};
  std::atomic<std::uint64_t> handshakes_rejected_{0};
  std::array<std::atomic<std::uint64_t>, handshake_rejection_kinds> handshake_rejections_{};
  std::atomic<std::uint64_t> protocol_errors_{0};
  std::atomic<std::uint64_t> frames_dropped_fault_{0};
  std::atomic<std::uint64_t> frames_rejected_auth_{0};
  std::atomic<std::uint64_t> refused_pending_limit_{0};
  std::atomic<std::uint64_t> inbound_pending_gauge_{0};  // pending_inbound_, for stats() on any thread
};

Result<std::unique_ptr<Transport>> Transport::create(asio::io_context& io, const crypto::Signer& self,
                                                     std::vector<Peer> peers, TransportOptions options,
                                                     Handler& handler) {
  if (auto valid = check_options(options); !valid) return valid.error();
  auto impl = std::make_shared<Impl>(io, self, std::move(options), handler);
  if (auto added = impl->add_peers(std::move(peers)); !added) return added.error();
  if (auto listening = impl->listen(); !listening) return listening.error();
  return std::unique_ptr<Transport>(new Transport(std::move(impl)));
}

Transport::Transport(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
Transport::~Transport() { impl_->stop(); }

void Transport::start() { impl_->start(); }
void Transport::admit_unlisted(std::span<const crypto::PublicKey> keys) { impl_->admit_unlisted(keys); }
std::uint16_t Transport::local_port() const { return impl_->local_port(); }
bool Transport::send(const Address& to, std::shared_ptr<const Bytes> frame) {
  return impl_->send(to, std::move(frame));
}
void Transport::broadcast(std::shared_ptr<const Bytes> frame) { impl_->broadcast(frame); }
std::vector<Address> Transport::connected_peers() const { return impl_->connected_peers(); }
std::size_t Transport::queued_bytes(const Address& to) const { return impl_->queued_bytes(to); }
Transport::Stats Transport::stats() const { return impl_->stats(); }
std::vector<Transport::PeerStats> Transport::peer_stats() const { return impl_->peer_stats(); }
void Transport::stop() { impl_->stop(); }

}  // namespace bft::net
