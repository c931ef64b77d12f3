// A TCP proxy for tests, on 127.0.0.1 between a dialer and a listener, on the test's
// io_context. It parses the u32 length framing, so it acts on whole frames: it records
// every byte it relays, and on its first connection it can misbehave once, on the
// dialer's frames after the handshake (a man in the middle without the keys).
#pragma once

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/write.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <vector>

#include "bft/net/wire.hpp"

namespace bft::net::testing {

class Relay {
 public:
  enum class Fault {
    none,
    flip_bit,   // one bit of frame `at`'s ciphertext
    drop,       // frame `at` never arrives
    duplicate,  // frame `at` arrives twice
    swap,       // frames `at` and `at + 1` arrive in the other order
    shorten,    // frame `at` loses its last 8 bytes, its header says so
    cut,        // the stream ends in the middle of frame `at`
  };

  /// `at` counts the dialer's frames after its hello and proof, from 0.
  Relay(asio::io_context& io, std::uint16_t target_port, Fault fault = Fault::none, std::size_t at = 0)
      : state_(std::make_shared<State>(io, target_port, fault, at)) {
    state_->accept();
  }
  ~Relay() { state_->shutdown(); }
  Relay(const Relay&) = delete;
  Relay& operator=(const Relay&) = delete;

  std::uint16_t port() const { return state_->acceptor.local_endpoint().port(); }
  /// Every byte relayed, both directions, in the order relayed.
  const Bytes& capture() const { return state_->capture; }
  std::size_t sessions() const { return state_->sessions.size(); }

 private:
  using tcp = asio::ip::tcp;
  static constexpr std::size_t handshake_frames = 2;  // hello, proof

  struct State;

  /// One relayed connection: the dialer's socket, the listener's, a pipe each way.
  struct Session : std::enable_shared_from_this<Session> {
    struct Pipe {
      tcp::socket* from;
      tcp::socket* to;
      std::array<std::uint8_t, 16 * 1024> chunk{};
      Bytes in;
      std::size_t frames = 0;
      std::optional<Bytes> held;  // Fault::swap
      std::deque<Bytes> out;
      bool writing = false;
    };

    Session(std::shared_ptr<State> owner, tcp::socket dialer_side, bool faulty_session)
        : state(std::move(owner)),
          down(std::move(dialer_side)),
          up(down.get_executor()),
          faulty(faulty_session) {
      pipes[0].from = &down;  // dialer to listener: the one that may misbehave
      pipes[0].to = &up;
      pipes[1].from = &up;
      pipes[1].to = &down;
    }

    void start() {
      up.async_connect({asio::ip::make_address("127.0.0.1"), state->target},
                       [self = shared_from_this()](const asio::error_code& ec) {
                         if (ec) return self->close();
                         self->read(0);
                         self->read(1);
                       });
    }

    void read(int pipe) {
      Pipe& p = pipes[pipe];
      p.from->async_read_some(asio::buffer(p.chunk), [self = shared_from_this(), pipe](
                                                         const asio::error_code& ec, std::size_t n) {
        if (self->closed) return;
        if (ec) return self->close();
        Pipe& q = self->pipes[pipe];
        q.in.insert(q.in.end(), q.chunk.begin(), q.chunk.begin() + static_cast<std::ptrdiff_t>(n));
        self->take_frames(pipe);
        if (!self->closed && !self->closing) self->read(pipe);
      });
    }

    void take_frames(int pipe) {
      Pipe& p = pipes[pipe];
      while (!closing && p.in.size() >= frame_header_size) {
        const std::size_t length =
            frame_length(std::span<const std::uint8_t, frame_header_size>(p.in.data(), frame_header_size));
        if (p.in.size() < frame_header_size + length) return;
        const auto end = p.in.begin() + static_cast<std::ptrdiff_t>(frame_header_size + length);
        Bytes whole(p.in.begin(), end);
        p.in.erase(p.in.begin(), end);
        on_frame(pipe, std::move(whole));
      }
    }

    void on_frame(int pipe, Bytes whole) {
      Pipe& p = pipes[pipe];
      const std::size_t index = p.frames++;
      const bool target = pipe == 0 && faulty && index >= handshake_frames;
      const std::size_t at = target ? index - handshake_frames : 0;
      if (!target || (at != state->at && !(state->fault == Fault::swap && at == state->at + 1))) {
        return forward(pipe, std::move(whole));
      }
      switch (state->fault) {
        case Fault::none: return forward(pipe, std::move(whole));
        case Fault::flip_bit: whole[frame_header_size + 2] ^= 0x04; return forward(pipe, std::move(whole));
        case Fault::drop: return;
        case Fault::duplicate:
          forward(pipe, whole);
          return forward(pipe, std::move(whole));
        case Fault::swap:
          if (at == state->at) {
            p.held = std::move(whole);
            return;
          }
          forward(pipe, std::move(whole));
          return forward(pipe, std::move(*p.held));
        case Fault::shorten: {
          const std::span<const std::uint8_t> payload(whole.data() + frame_header_size, whole.size() - frame_header_size);
          return forward(pipe, frame(payload.first(payload.size() - 8)));
        }
        case Fault::cut:
          whole.resize(whole.size() / 2);
          forward(pipe, std::move(whole));
          closing = true;  // once this is written
          return;
      }
    }

    void forward(int pipe, Bytes bytes) {
      state->capture.insert(state->capture.end(), bytes.begin(), bytes.end());
      pipes[pipe].out.push_back(std::move(bytes));
      write(pipe);
    }

    void write(int pipe) {
      Pipe& p = pipes[pipe];
      if (closed || p.writing) return;
      if (p.out.empty()) {
        if (closing) close();
        return;
      }
      p.writing = true;
      asio::async_write(*p.to, asio::buffer(p.out.front()),
                        [self = shared_from_this(), pipe](const asio::error_code& ec, std::size_t) {
                          Pipe& q = self->pipes[pipe];
                          q.writing = false;
                          if (self->closed) return;
                          if (ec) return self->close();
                          q.out.pop_front();
                          self->write(pipe);
                        });
    }

    /// Either side closing closes both, as a real relay would.
    void close() {
      if (closed) return;
      closed = true;
      asio::error_code ignored;
      down.close(ignored);
      up.close(ignored);
    }

    std::shared_ptr<State> state;
    tcp::socket down;
    tcp::socket up;
    std::array<Pipe, 2> pipes;
    bool faulty;
    bool closing = false;
    bool closed = false;
  };

  /// Shared with the pending handlers, which may outlive the Relay.
  struct State : std::enable_shared_from_this<State> {
    State(asio::io_context& io, std::uint16_t target_port, Fault f, std::size_t at_frame)
        : acceptor(io, {asio::ip::make_address("127.0.0.1"), 0}), target(target_port), fault(f), at(at_frame) {}

    void accept() {
      acceptor.async_accept([self = shared_from_this()](const asio::error_code& ec, tcp::socket socket) {
        if (ec || self->stopped) return;
        const bool faulty = self->fault != Fault::none && self->sessions.empty();
        auto session = std::make_shared<Session>(self, std::move(socket), faulty);
        self->sessions.push_back(session);
        session->start();
        self->accept();
      });
    }

    void shutdown() {
      stopped = true;
      asio::error_code ignored;
      acceptor.close(ignored);
      for (const auto& session : sessions) session->close();
      sessions.clear();  // the sessions hold the state: break the cycle
    }

    tcp::acceptor acceptor;
    std::uint16_t target;
    Fault fault;
    std::size_t at;
    Bytes capture;
    std::vector<std::shared_ptr<Session>> sessions;
    bool stopped = false;
  };

  std::shared_ptr<State> state_;
};

}  // namespace bft::net::testing
