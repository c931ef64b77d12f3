// An encrypted, authenticated TCP transport between validators that know each other's
// ed25519 keys. It moves opaque frames (encoded messages); it does not interpret them.
//
// - Connections: one per pair of nodes. Between two listed peers (create()'s list, with
//   addresses) the one with the smaller address dials, the other only accepts; an inbound
//   connection from a listed peer with the larger address is rejected. A new connection
//   from a known peer (it restarted) replaces the old one. A dialer retries with
//   exponential backoff and jitter for as long as it runs.
// - Admission: listed peers always; besides them, the keys of admit_unlisted() (e.g. the
//   validators the chain added), which have no address here: they dial in, whatever the
//   address order. A node its peers do not list (dial_every_peer) dials them all.
// - Handshake (bft/net/wire.hpp, docs/HANDSHAKE.md): ephemeral X25519 keys give each
//   direction its own ChaCha20-Poly1305 key; each side signs the handshake transcript
//   with its validator key, binding those keys to both identities and the chain id.
//   Unknown keys, a listener whose key is not the one dialed, bad proofs, another
//   handshake version and handshakes slower than handshake_timeout are rejected: logged,
//   counted, connection closed.
// - After it every frame is sealed; one that fails to open (altered, dropped, replayed,
//   reordered, shortened) closes the connection before anything reaches the Handler
//   (logged, counted). Frames larger than max_frame_size close it too.
// - Inbound connections still in the handshake are capped in total and per remote IP;
//   one beyond a cap is closed at once (counted), so a flood of silent connections
//   cannot exhaust descriptors or memory. Connections this node dials are not capped.
// - Rejections are logged to stderr at most a few lines per 10 s, then one summary line
//   with the counts by reason (LogLimiter).
// - Each connection's send queue is bounded in bytes; a frame beyond the bound is dropped
//   and counted, so a peer that does not read cannot exhaust memory or block the caller.
//
// Threading: everything runs on the thread that runs the io_context (one thread). Call
// every member there, except stats(), which any thread may call. Handler callbacks run
// there too. The io_context and the signer must outlive the Transport.
#pragma once

#include <asio/io_context.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bft/bytes.hpp"
#include "bft/crypto/signer.hpp"
#include "bft/result.hpp"

namespace bft::net {

/// A validator to connect to; its address is crypto::address_of(key).
struct Peer {
  crypto::PublicKey key{};
  std::string host;
  std::uint16_t port = 0;
};

/// For tests and benchmarks only; the zero values switch it off.
struct FaultInjection {
  /// Added to every outgoing frame (one-way); frames to a peer keep their order.
  std::chrono::milliseconds delay{0};
  /// Probability that an outgoing frame is silently dropped (counted in frames_dropped_fault).
  double loss = 0;
  std::uint64_t seed = 1;
};

struct TransportOptions {
  std::string listen_host = "127.0.0.1";
  std::uint16_t listen_port = 0;  // 0: the system picks a free port (see local_port())
  std::string chain_id;           // bound into the handshake proof; at most 255 bytes
  std::size_t max_frame_size = 4 << 20;  // payload bytes; a sealed frame has 16 more on the wire
  std::size_t max_queued_bytes_per_peer = 16 << 20;  // headers and tags included
  std::chrono::milliseconds reconnect_initial{50}, reconnect_max{2000};
  std::chrono::milliseconds handshake_timeout{3000};
  /// Handshake version 2: every frame after the handshake encrypted and authenticated.
  /// false: version 1, plaintext frames after an authenticating handshake. For benchmarks
  /// that measure what encryption costs only; both ends must agree (a peer of the other
  /// version is rejected with "peer speaks handshake version N").
  bool encrypt_frames = true;
  /// Inbound connections still in the handshake, in all and from one remote IP address.
  std::size_t max_pending_handshakes = 64;
  std::size_t max_pending_handshakes_per_address = 8;
  /// The listed peers do not list this node (it joined later, admitted by its key only):
  /// they cannot dial it, so it dials every listed peer whatever the address order. A peer
  /// that does list it refuses the wrong-way dial and dials itself.
  bool dial_every_peer = false;
  FaultInjection faults;
};

/// Why a handshake failed (Transport::Stats::handshakes_rejected_by).
enum class HandshakeRejection : std::uint8_t {
  malformed,      // a hello or proof that does not parse, or another protocol altogether
  wrong_version,  // another handshake version (encrypt_frames differs)
  not_admitted,   // a key neither listed nor admitted, not the one dialed, or the wrong side dialing
  bad_proof,      // a proof that does not open or verify: another chain id, or a forged key
  timeout,        // no complete handshake within handshake_timeout
};
inline constexpr std::size_t handshake_rejection_kinds = 5;
std::string_view to_string(HandshakeRejection kind) noexcept;

class Transport {
 public:
  /// Callbacks may call any member of the Transport, stop() included, and may even
  /// destroy it.
  class Handler {
   public:
    virtual ~Handler() = default;
    /// `frame` is valid during the call only.
    virtual void on_frame(const Address& from, std::span<const std::uint8_t> frame) = 0;
    virtual void on_peer_connected(const Address& /*peer*/) {}
    /// Also called, before on_peer_connected, when a new connection replaces the old one.
    virtual void on_peer_disconnected(const Address& /*peer*/) {}
  };

  struct Stats {
    std::uint64_t frames_sent = 0;  // accepted into a send queue
    std::uint64_t frames_received = 0;
    std::uint64_t frames_dropped_queue_full = 0;
    std::uint64_t handshakes_rejected = 0;  // every kind below, together
    std::array<std::uint64_t, handshake_rejection_kinds> handshakes_rejected_by{};  // by HandshakeRejection
    std::uint64_t connections_closed_protocol_error = 0;
    std::uint64_t frames_dropped_fault = 0;  // FaultInjection::loss
    std::uint64_t frames_rejected_auth = 0;  // sealed frames that failed to open (each closed its connection)
    std::uint64_t connections_refused_pending_limit = 0;  // closed at accept: a pending-handshake cap
    std::uint64_t inbound_handshakes_pending = 0;         // now, not a running total
  };

  /// Binds and listens already, so local_port() is known before start(). Peers with this
  /// node's own key are skipped, so the whole validator list may be passed.
  /// Errors: invalid_argument (options out of range, two peers with one address),
  /// io_error (the listen address cannot be resolved or bound, e.g. the port is in use).
  static Result<std::unique_ptr<Transport>> create(asio::io_context& io, const crypto::Signer& self,
                                                   std::vector<Peer> peers,
                                                   TransportOptions options, Handler& handler);
  ~Transport();  // stop()
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  /// Accepts connections and dials the listed peers with a larger address (every listed
  /// peer with dial_every_peer).
  void start();

  /// The keys admitted besides the listed peers, replacing the previous call's: they may
  /// connect (they dial in), and frames may be sent to them. An unlisted peer that is no
  /// longer admitted is disconnected (on_peer_disconnected) and refused from then on.
  /// Listed peers and this node's own key are ignored.
  void admit_unlisted(std::span<const crypto::PublicKey> keys);
  std::uint16_t local_port() const;

  /// False if `to` is unknown or not connected, the frame is above max_frame_size, or
  /// the peer's send queue is full (counted). A frame lost to FaultInjection returns true.
  bool send(const Address& to, std::shared_ptr<const Bytes> frame);
  /// To every connected peer; they all share `frame`.
  void broadcast(std::shared_ptr<const Bytes> frame);

  std::vector<Address> connected_peers() const;
  /// Bytes waiting in the send queue to `to` (0 if not connected).
  std::size_t queued_bytes(const Address& to) const;
  Stats stats() const;

  /// What went to and came from one peer (payload bytes: the frame header and
  /// authentication tag, a fixed amount per frame, are not counted).
  struct PeerStats {
    Address address;
    std::string endpoint;  // host:port as listed; empty for an unlisted peer
    bool admitted = true;  // false: an unlisted peer no longer admitted
    bool connected = false;
    std::uint64_t connections = 0;  // established, the first included: reconnects are one less
    std::uint64_t frames_sent = 0;
    std::uint64_t frames_received = 0;
    std::uint64_t bytes_sent = 0;
    std::uint64_t bytes_received = 0;
    std::uint64_t frames_dropped_queue_full = 0;
  };
  /// One entry per listed peer and per unlisted peer ever admitted, in address order.
  /// Any thread.
  std::vector<PeerStats> peer_stats() const;

  /// Closes every connection and stops dialing and accepting. No handler call happens
  /// during or after it (no on_peer_disconnected either). Idempotent.
  void stop();

 private:
  class Impl;
  explicit Transport(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace bft::net
