#include "connection.hpp"

#include <asio/write.hpp>

#include <algorithm>
#include <cstring>
#include <utility>

#include "bft/crypto/ed25519.hpp"

namespace bft::net::detail {
namespace {

/// Before the handshake completes only a hello or a proof may arrive, so a pending
/// connection holds this much; an established one grows to established_read_buffer.
constexpr std::size_t handshake_read_buffer = 128;
static_assert(handshake_read_buffer >= frame_header_size + max_hello_size &&
              handshake_read_buffer >= frame_header_size + proof_size + seal_overhead);
constexpr std::size_t established_read_buffer = 16 * 1024;
/// Frames per gathered write: two buffers each keeps a batch within one writev.
constexpr std::size_t max_batch_frames = 32;
/// Sealed bytes per batch (a single larger frame goes alone): sealing copies each frame,
/// and this bounds the copy held per connection.
constexpr std::size_t max_sealed_batch = 256 * 1024;

std::string endpoint_text(const asio::ip::tcp::socket& socket) {
  asio::error_code ec;
  const auto endpoint = socket.remote_endpoint(ec);
  if (ec) return "unknown peer";
  return endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
}

}  // namespace

Connection::Connection(asio::ip::tcp::socket socket,
                       std::shared_ptr<const ConnectionSettings> settings, Events& events,
                       std::optional<Address> dialed)
    : socket_(std::move(socket)),
      settings_(std::move(settings)),
      events_(&events),
      dialed_(std::move(dialed)),
      remote_(endpoint_text(socket_)),
      handshake_timer_(socket_.get_executor()),
      in_(handshake_read_buffer),
      delay_timer_(socket_.get_executor()) {}

void Connection::start() {
  asio::error_code ignored;
  socket_.set_option(asio::ip::tcp::no_delay(true), ignored);  // consensus is latency-bound

  handshake_timer_.expires_after(settings_->handshake_timeout);
  handshake_timer_.async_wait([self = shared_from_this()](const asio::error_code& ec) {
    if (ec || self->state_ == State::closed || self->established()) return;
    self->fail(CloseReason::handshake_timeout,
               "no handshake within " + std::to_string(self->settings_->handshake_timeout.count()) +
                   " ms");
  });

  own_nonce_ = fresh_nonce();
  Hello hello;
  hello.version = settings_->version;
  hello.key = settings_->self->public_key();
  hello.nonce = own_nonce_;
  if (hello.version == encrypted_version) {
    ephemeral_.emplace();
    hello.ephemeral = ephemeral_->public_key();
  }
  own_hello_ = encode_hello(hello);
  queue_for_write({std::make_shared<const Bytes>(own_hello_), false});
  read_more();
}

bool Connection::send(std::shared_ptr<const Bytes> frame) {
  Outgoing outgoing{std::move(frame), settings_->version == encrypted_version};
  const std::size_t cost = wire_size(outgoing);
  if (queued_bytes_ + cost > settings_->max_queued_bytes) return false;
  if (settings_->delay.count() == 0) {
    queue_for_write(std::move(outgoing));
    return true;
  }
  queued_bytes_ += cost;
  delayed_.push_back({std::chrono::steady_clock::now() + settings_->delay, std::move(outgoing.payload)});
  if (!delay_timer_armed_) release_delayed();
  return true;
}

void Connection::close() {
  if (state_ == State::closed) return;
  state_ = State::closed;
  events_ = nullptr;
  asio::error_code ignored;
  handshake_timer_.cancel();
  delay_timer_.cancel();
  socket_.close(ignored);
}

void Connection::fail(CloseReason reason, const std::string& why) {
  Events* events = events_;
  close();
  if (events != nullptr) events->closed(*this, reason, why);
}

void Connection::read_more() {
  if (established() && in_.size() < established_read_buffer) in_.resize(established_read_buffer);
  socket_.async_read_some(
      asio::buffer(in_.data() + in_size_, in_.size() - in_size_),
      [self = shared_from_this()](const asio::error_code& ec, std::size_t bytes) {
        if (self->state_ == State::closed) return;
        if (ec) {
          self->fail(CloseReason::io, ec == asio::error::eof ? "closed by peer" : ec.message());
          return;
        }
        self->on_read(bytes);
      });
}

void Connection::on_read(std::size_t bytes) {
  in_size_ += bytes;
  if (take_frames()) read_more();
}

bool Connection::take_frames() {
  std::size_t begin = 0;
  while (in_size_ - begin >= frame_header_size) {
    const std::uint32_t length =
        frame_length(std::span<const std::uint8_t, frame_header_size>(in_.data() + begin, frame_header_size));
    if (length > frame_limit()) {
      if (established()) {
        fail(CloseReason::protocol_error, "frame of " + std::to_string(length) +
                                              " bytes, above the limit of " +
                                              std::to_string(frame_limit()));
      } else {
        fail(CloseReason::handshake_malformed,
             "handshake frame of " + std::to_string(length) + " bytes (garbage or another protocol?)");
      }
      return false;
    }
    if (in_size_ - begin - frame_header_size < length) {
      // Incomplete: make room for the whole frame once it has moved to the front.
      std::memmove(in_.data(), in_.data() + begin, in_size_ - begin);
      in_size_ -= begin;
      if (in_.size() < frame_header_size + length) in_.resize(frame_header_size + length);
      return true;
    }
    handle_payload(std::span<std::uint8_t>(in_.data() + begin + frame_header_size, length));
    if (state_ == State::closed) return false;
    begin += frame_header_size + length;
  }
  std::memmove(in_.data(), in_.data() + begin, in_size_ - begin);
  in_size_ -= begin;
  return true;
}

std::size_t Connection::frame_limit() const noexcept {
  const std::size_t tag = opener_ ? seal_overhead : 0;
  switch (state_) {
    case State::awaiting_hello: return max_hello_size;  // of either version, to name it if it differs
    case State::awaiting_proof: return proof_size + tag;
    case State::established: return settings_->max_frame_size + tag;
    case State::closed: break;
  }
  return 0;
}

std::size_t Connection::wire_size(const Outgoing& frame) noexcept {
  return frame_header_size + frame.payload->size() + (frame.seal ? seal_overhead : 0);
}

void Connection::handle_payload(std::span<std::uint8_t> payload) {
  switch (state_) {
    case State::awaiting_hello: handle_hello(payload); return;
    case State::awaiting_proof: handle_proof(payload); return;
    case State::established: deliver(payload); return;
    case State::closed: return;
  }
}

void Connection::handle_hello(std::span<const std::uint8_t> payload) {
  auto hello = decode_hello(payload);
  if (!hello) {
    fail(hello.error().code == Errc::unsupported_version ? CloseReason::handshake_wrong_version
                                                         : CloseReason::handshake_malformed,
         "bad hello: " + hello.error().message);
    return;
  }
  if (hello->version != settings_->version) {
    fail(CloseReason::handshake_wrong_version,
         "peer speaks handshake version " + std::to_string(hello->version) + ", this node version " +
             std::to_string(settings_->version) + " (encrypt_frames differs between the two)");
    return;
  }
  peer_key_ = hello->key;
  peer_address_ = crypto::address_of(peer_key_);
  if (auto admitted = events_->admit(*this, peer_key_); !admitted) {
    fail(CloseReason::handshake_not_admitted, admitted.error().message);
    return;
  }
  const crypto::Signer& self = *settings_->self;
  if (settings_->version == plaintext_version) {
    const auto proof =
        self.sign(proof_message(settings_->chain_id, hello->nonce, self.public_key(), peer_key_));
    queue_for_write({std::make_shared<const Bytes>(proof.begin(), proof.end()), false});
    state_ = State::awaiting_proof;
    return;
  }
  transcript_ = role() == Role::dialer ? transcript(settings_->chain_id, own_hello_, payload)
                                       : transcript(settings_->chain_id, payload, own_hello_);
  auto keys = ephemeral_->session_keys(hello->ephemeral, role(), transcript_);
  ephemeral_.reset();  // wipes the ephemeral secret: forward secrecy
  own_hello_ = Bytes();
  if (!keys) {
    fail(CloseReason::handshake_malformed, keys.error().message);
    return;
  }
  sealer_.emplace(keys->send);
  opener_.emplace(keys->receive);
  const auto proof = self.sign(transcript_proof_message(transcript_, role()));
  queue_for_write({std::make_shared<const Bytes>(proof.begin(), proof.end()), true});
  state_ = State::awaiting_proof;
}

void Connection::handle_proof(std::span<std::uint8_t> payload) {
  std::span<const std::uint8_t> proof_bytes = payload;
  if (opener_) {
    auto opened = opener_->open(payload);
    if (!opened) {
      fail(CloseReason::handshake_bad_proof, "handshake proof of " + peer_address_.to_string() +
                                                " does not open (another chain id, or hellos altered on the way)");
      return;
    }
    proof_bytes = *opened;
  }
  crypto::Signature proof;  // frame_limit() bounds the payload from above only
  if (proof_bytes.size() != proof.size()) {
    fail(CloseReason::handshake_malformed, "handshake proof of " + std::to_string(proof_bytes.size()) + " bytes");
    return;
  }
  std::copy(proof_bytes.begin(), proof_bytes.end(), proof.begin());
  const Role peer_role = role() == Role::dialer ? Role::acceptor : Role::dialer;
  const Bytes message = settings_->version == plaintext_version
                            ? proof_message(settings_->chain_id, own_nonce_, peer_key_, settings_->self->public_key())
                            : transcript_proof_message(transcript_, peer_role);
  if (!crypto::Ed25519Verifier(peer_key_).verify(message, proof)) {
    fail(CloseReason::handshake_bad_proof,
         "bad handshake proof for " + peer_address_.to_string() + " (wrong key or chain id)");
    return;
  }
  transcript_ = Bytes();
  state_ = State::established;
  handshake_timer_.cancel();
  events_->established(*this);
}

void Connection::deliver(std::span<std::uint8_t> payload) {
  if (!opener_) {
    events_->frame(*this, payload);
    return;
  }
  auto opened = opener_->open(payload);
  if (!opened) {
    fail(CloseReason::auth_failed, opened.error().message);
    return;
  }
  events_->frame(*this, *opened);
}

void Connection::queue_for_write(Outgoing frame) {
  queued_bytes_ += wire_size(frame);
  queue_.push_back(std::move(frame));
  write_next();
}

void Connection::release_delayed() {
  delay_timer_armed_ = false;
  const auto now = std::chrono::steady_clock::now();
  while (!delayed_.empty() && delayed_.front().due <= now) {
    Outgoing frame{std::move(delayed_.front().frame), settings_->version == encrypted_version};
    delayed_.pop_front();
    queued_bytes_ -= wire_size(frame);  // queue_for_write counts it again
    queue_for_write(std::move(frame));
  }
  if (delayed_.empty() || state_ == State::closed) return;
  delay_timer_armed_ = true;
  delay_timer_.expires_at(delayed_.front().due);
  delay_timer_.async_wait([self = shared_from_this()](const asio::error_code& ec) {
    if (ec || self->state_ == State::closed) return;
    self->release_delayed();
  });
}

void Connection::write_next() {
  if (writing_ || queue_.empty() || state_ == State::closed) return;
  std::size_t frames = 0;
  std::size_t sealed_bytes = 0;
  for (; frames < queue_.size() && frames < max_batch_frames; ++frames) {
    if (!queue_[frames].seal) continue;
    const std::size_t size = FrameCipher::sealed_frame_size(queue_[frames].payload->size());
    if (frames > 0 && sealed_bytes + size > max_sealed_batch) break;
    sealed_bytes += size;
  }
  batch_sealed_.resize(sealed_bytes);  // sized once: the buffers below point into it
  batch_headers_.resize(frames);
  batch_buffers_.clear();
  std::size_t sealed_at = 0;
  for (std::size_t i = 0; i < frames; ++i) {
    const Outgoing& frame = queue_[i];
    if (frame.seal) {
      // Sealed here, in queue order, by the only writer: the frame count follows the
      // wire order. The payload, maybe shared with other connections, is only read.
      const std::size_t size = FrameCipher::sealed_frame_size(frame.payload->size());
      const std::span<std::uint8_t> out(batch_sealed_.data() + sealed_at, size);
      sealer_->seal_into(*frame.payload, out);
      batch_buffers_.push_back(asio::buffer(out.data(), out.size()));
      sealed_at += size;
    } else {
      batch_headers_[i] = frame_header(frame.payload->size());
      batch_buffers_.push_back(asio::buffer(batch_headers_[i]));
      batch_buffers_.push_back(asio::buffer(*frame.payload));
    }
  }
  writing_ = true;
  asio::async_write(socket_, batch_buffers_,
                    [self = shared_from_this(), frames](const asio::error_code& ec, std::size_t) {
                      self->writing_ = false;
                      if (self->state_ == State::closed) return;
                      if (ec) {
                        self->fail(CloseReason::io, ec.message());
                        return;
                      }
                      self->on_written(frames);
                    });
}

void Connection::on_written(std::size_t frames) {
  for (std::size_t i = 0; i < frames; ++i) {
    queued_bytes_ -= wire_size(queue_.front());
    queue_.pop_front();
  }
  if (batch_sealed_.capacity() > max_sealed_batch) batch_sealed_ = Bytes();  // after a large frame
  write_next();
}

}  // namespace bft::net::detail
