// Transports on loopback in one process: deterministic keys, a recording handler, a
// bounded run loop, and a raw socket peer that speaks the wire format by hand.
#pragma once

#include <gtest/gtest.h>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/write.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bft/crypto/ed25519.hpp"
#include "bft/net/transport.hpp"
#include "bft/net/wire.hpp"

namespace bft::net::testing {

using namespace std::chrono_literals;

inline constexpr std::string_view chain = "test-chain";

/// n deterministic validators in ascending address order: signer 0 dials everyone.
inline std::vector<crypto::Ed25519Signer> sorted_signers(std::size_t n) {
  std::vector<crypto::Ed25519Signer> signers;
  for (std::size_t i = 0; i < n; ++i) {
    crypto::Seed seed{};
    seed.fill(static_cast<std::uint8_t>(i + 1));
    signers.push_back(crypto::Ed25519Signer::from_seed(seed));
  }
  std::sort(signers.begin(), signers.end(), [](const auto& a, const auto& b) {
    return crypto::address_of(a.public_key()) < crypto::address_of(b.public_key());
  });
  return signers;
}

inline Address address_of(const crypto::Signer& signer) { return crypto::address_of(signer.public_key()); }

inline std::shared_ptr<const Bytes> text_frame(std::string_view text) {
  return std::make_shared<const Bytes>(text.begin(), text.end());
}

inline std::string as_text(const Bytes& bytes) { return {bytes.begin(), bytes.end()}; }

/// Short delays so that reconnecting tests finish quickly.
inline TransportOptions test_options() {
  TransportOptions options;
  options.chain_id = std::string(chain);
  options.reconnect_initial = 10ms;
  options.reconnect_max = 200ms;
  return options;
}

struct Recorder final : Transport::Handler {
  struct Frame {
    Address from;
    Bytes bytes;
  };
  void on_frame(const Address& from, std::span<const std::uint8_t> frame) override {
    frames.push_back({from, Bytes(frame.begin(), frame.end())});
    if (after_frame) after_frame();
  }
  void on_peer_connected(const Address& peer) override { connected.push_back(peer); }
  void on_peer_disconnected(const Address& peer) override { disconnected.push_back(peer); }

  std::vector<Frame> frames;
  std::vector<Address> connected;
  std::vector<Address> disconnected;
  std::function<void()> after_frame;  // lets a test act from inside the callback
};

/// A transport with its handler (which must outlive it).
struct Node {
  Recorder recorder;
  std::unique_ptr<Transport> transport;

  std::uint16_t port() const { return transport->local_port(); }
  bool connected_to(const Address& peer) const {
    const auto peers = transport->connected_peers();
    return std::find(peers.begin(), peers.end(), peer) != peers.end();
  }
};

class Loopback : public ::testing::Test {
 protected:
  static Peer peer(const crypto::Signer& signer, std::uint16_t port = 0) {
    return Peer{signer.public_key(), "127.0.0.1", port};
  }

  std::unique_ptr<Node> make_node(asio::io_context& context, const crypto::Signer& self,
                                  std::vector<Peer> peers, TransportOptions options = test_options()) {
    auto node = std::make_unique<Node>();
    auto created = Transport::create(context, self, std::move(peers), std::move(options), node->recorder);
    EXPECT_TRUE(created.ok()) << (created.ok() ? "" : created.error().message);
    if (!created.ok()) return nullptr;
    node->transport = std::move(created).value();
    node->transport->start();
    return node;
  }
  std::unique_ptr<Node> make_node(const crypto::Signer& self, std::vector<Peer> peers,
                                  TransportOptions options = test_options()) {
    return make_node(io, self, std::move(peers), std::move(options));
  }

  /// Runs the io_context (and `also_run`) until `done`; false after a deadline that only
  /// a broken transport reaches.
  bool run_until(const std::function<bool()>& done, std::chrono::milliseconds limit = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      run_once(2ms);
    }
    return true;
  }
  /// Gives the transports time to do what they should not (e.g. deliver a lost frame).
  void run_for(std::chrono::milliseconds duration) {
    const auto end = std::chrono::steady_clock::now() + duration;
    while (std::chrono::steady_clock::now() < end) run_once(2ms);
  }

  asio::io_context io;
  std::vector<asio::io_context*> also_run;

 private:
  void run_once(std::chrono::milliseconds slice) {
    if (io.stopped()) io.restart();
    io.run_for(slice);
    for (asio::io_context* other : also_run) {
      if (other->stopped()) other->restart();
      other->poll();
    }
  }
};

/// A hand-driven peer on a plain socket: blocking writes (small, so they never block on
/// loopback) and non-blocking reads polled from the test's run loop.
class RawPeer {
 public:
  /// `source`: the local address to connect from (all of 127/8 is loopback on Linux).
  RawPeer(asio::io_context& context, std::uint16_t port, std::string_view source = "127.0.0.1")
      : socket_(context) {
    socket_.open(asio::ip::tcp::v4());
    socket_.bind({asio::ip::make_address(std::string(source)), 0});
    socket_.connect({asio::ip::make_address("127.0.0.1"), port});
  }

  void write(std::span<const std::uint8_t> bytes) { asio::write(socket_, asio::buffer(bytes.data(), bytes.size())); }
  void write_frame(std::span<const std::uint8_t> payload) { write(frame(payload)); }
  void write_text(std::string_view text) {
    write(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
  }
  void close() { socket_.close(); }

  /// Reads whatever has arrived; true once the other side has closed the connection.
  bool poll() {
    if (closed_) return true;
    socket_.non_blocking(true);
    std::array<std::uint8_t, 64 * 1024> chunk;
    for (;;) {
      asio::error_code ec;
      const std::size_t n = socket_.read_some(asio::buffer(chunk), ec);
      if (ec == asio::error::would_block) break;
      if (ec) {
        closed_ = true;
        break;
      }
      received_.insert(received_.end(), chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(n));
    }
    socket_.non_blocking(false);
    return closed_;
  }

  /// The next whole frame's payload received so far, if any.
  std::optional<Bytes> next_frame() {
    poll();
    if (received_.size() < frame_header_size) return std::nullopt;
    const std::uint32_t length =
        frame_length(std::span<const std::uint8_t, frame_header_size>(received_.data(), frame_header_size));
    if (received_.size() < frame_header_size + length) return std::nullopt;
    const auto begin = received_.begin() + frame_header_size;
    Bytes payload(begin, begin + length);
    received_.erase(received_.begin(), begin + length);
    return payload;
  }

  bool closed() const { return closed_; }

 private:
  asio::ip::tcp::socket socket_;
  Bytes received_;
  bool closed_ = false;
};

}  // namespace bft::net::testing
