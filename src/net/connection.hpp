// One TCP connection of the transport: the handshake, then length-prefixed frames both
// ways (sealed in version 2) with a bounded, batched send queue. Private to bftnet.
#pragma once

#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>

#include <chrono>
#include <cstddef>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "bft/bytes.hpp"
#include "bft/crypto/signer.hpp"
#include "bft/net/wire.hpp"
#include "bft/result.hpp"

namespace bft::net::detail {

/// What every connection of one transport shares; immutable once built.
struct ConnectionSettings {
  const crypto::Signer* self = nullptr;
  std::string chain_id;
  std::uint8_t version = encrypted_version;  // the only one this transport speaks
  std::size_t max_frame_size = 0;
  std::size_t max_queued_bytes = 0;
  std::chrono::milliseconds handshake_timeout{0};
  std::chrono::milliseconds delay{0};  // FaultInjection::delay
};

enum class CloseReason {
  io,                  // the peer closed, or a read or write failed
  // The handshake refused, by why:
  handshake_malformed,      // a hello or proof that does not parse, or a frame of another protocol
  handshake_wrong_version,  // a hello of another handshake version
  handshake_not_admitted,   // an unknown key, another key than the one dialed, the wrong side dialing
  handshake_bad_proof,      // a proof that does not open or verify (another chain id, a forged key)
  handshake_timeout,   // no complete handshake within handshake_timeout
  protocol_error,      // a frame above max_frame_size after the handshake
  auth_failed,         // a sealed frame that does not open: altered, dropped, replayed, reordered
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  /// The transport's side. No call happens after close(), nor after closed().
  class Events {
   public:
    virtual ~Events() = default;
    /// After the peer's hello: may this key talk to us on this connection?
    virtual Result<void> admit(Connection& connection, const crypto::PublicKey& key) = 0;
    virtual void established(Connection& connection) = 0;
    virtual void frame(Connection& connection, std::span<const std::uint8_t> payload) = 0;
    virtual void closed(Connection& connection, CloseReason reason, const std::string& why) = 0;
  };

  /// `dialed`: the address this node dialed, for an outbound connection.
  Connection(asio::ip::tcp::socket socket, std::shared_ptr<const ConnectionSettings> settings,
             Events& events, std::optional<Address> dialed);

  /// Sends the hello, arms the handshake timeout and starts reading.
  void start();
  /// False if the frame would take the queue above its bound (the frame is not queued).
  bool send(std::shared_ptr<const Bytes> frame);
  /// Closes quietly: no more events.
  void close();

  const std::optional<Address>& dialed() const noexcept { return dialed_; }
  /// The peer's key and address; set once its hello is read.
  const crypto::PublicKey& peer_key() const noexcept { return peer_key_; }
  const Address& peer_address() const noexcept { return peer_address_; }
  bool established() const noexcept { return state_ == State::established; }
  std::size_t queued_bytes() const noexcept { return queued_bytes_; }
  /// "ip:port" of the other end, for log lines.
  const std::string& remote() const noexcept { return remote_; }

 private:
  enum class State { awaiting_hello, awaiting_proof, established, closed };

  struct Outgoing {
    std::shared_ptr<const Bytes> payload;
    bool seal = false;  // sealed when written, so the frame count follows the wire order
  };

  void fail(CloseReason reason, const std::string& why);
  void read_more();
  void on_read(std::size_t bytes);
  /// Consumes every whole frame in the read buffer; false once the connection is closed.
  bool take_frames();
  /// `payload` lies in the read buffer; a sealed one is opened in place.
  void handle_payload(std::span<std::uint8_t> payload);
  void handle_hello(std::span<const std::uint8_t> payload);
  void handle_proof(std::span<std::uint8_t> payload);
  void deliver(std::span<std::uint8_t> payload);
  /// The largest payload acceptable in the current state.
  std::size_t frame_limit() const noexcept;
  Role role() const noexcept { return dialed_ ? Role::dialer : Role::acceptor; }
  /// Bytes a frame takes in the send queue's bound: header, payload and tag if sealed.
  static std::size_t wire_size(const Outgoing& frame) noexcept;

  void queue_for_write(Outgoing frame);
  void release_delayed();
  void write_next();
  void on_written(std::size_t frames);

  asio::ip::tcp::socket socket_;
  std::shared_ptr<const ConnectionSettings> settings_;
  Events* events_;  // nullptr once closed
  std::optional<Address> dialed_;
  std::string remote_;
  State state_ = State::awaiting_hello;
  asio::steady_timer handshake_timer_;

  Nonce own_nonce_{};
  Bytes own_hello_;                           // kept for the transcript
  std::optional<EphemeralKeyPair> ephemeral_;  // version 2, until the session keys exist
  Bytes transcript_;                          // version 2, until the peer's proof is checked
  std::optional<FrameCipher> sealer_;         // version 2: frames to the peer
  std::optional<FrameCipher> opener_;         // version 2: frames from the peer
  crypto::PublicKey peer_key_{};
  Address peer_address_;

  Bytes in_;                 // read buffer; frames are parsed in place
  std::size_t in_size_ = 0;  // bytes of in_ that hold data

  struct Delayed {
    std::chrono::steady_clock::time_point due;
    std::shared_ptr<const Bytes> frame;
  };
  std::deque<Delayed> delayed_;  // FaultInjection::delay; due times ascend
  asio::steady_timer delay_timer_;
  bool delay_timer_armed_ = false;

  std::deque<Outgoing> queue_;    // the first in-flight ones are being written
  std::size_t queued_bytes_ = 0;  // delayed, queued and in flight, headers and tags included
  bool writing_ = false;
  std::vector<FrameHeader> batch_headers_;  // of the batch's plaintext frames
  Bytes batch_sealed_;                      // the batch's sealed frames, whole
  std::vector<asio::const_buffer> batch_buffers_;
};

}  // namespace bft::net::detail
