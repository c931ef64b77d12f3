#include "connection.hpp"

#include <asio/write.hpp>

#include <algorithm>
#include <cstring>
#include <utility>

#include "bft/crypto/ed25519.hpp"

namespace bft::net::detail {
namespace {

constexpr std::size_t initial_read_buffer = 16 * 1024;
/// Frames per gathered write: two buffers each keeps a batch within one writev.
constexpr std::size_t max_batch_frames = 32;

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
      in_(initial_read_buffer),
      delay_timer_(socket_.get_executor()) {}

void Connection::start() {
  asio::error_code ignored;
  socket_.set_option(asio::ip::tcp::no_delay(true), ignored);  // consensus is latency-bound

  handshake_timer_.expires_after(settings_->handshake_timeout);
  handshake_timer_.async_wait([self = shared_from_this()](const asio::error_code& ec) {
    if (ec || self->state_ == State::closed || self->established()) return;
    self->fail(CloseReason::handshake_rejected,
               "no handshake within " + std::to_string(self->settings_->handshake_timeout.count()) +
                   " ms");
  });

  own_nonce_ = fresh_nonce();
  Hello hello;
  hello.key = settings_->self->public_key();
  hello.nonce = own_nonce_;
  queue_for_write(std::make_shared<const Bytes>(encode_hello(hello)));
  read_more();
}

bool Connection::send(std::shared_ptr<const Bytes> frame) {
  const std::size_t cost = frame_header_size + frame->size();
  if (queued_bytes_ + cost > settings_->max_queued_bytes) return false;
  if (settings_->delay.count() == 0) {
    queue_for_write(std::move(frame));
    return true;
  }
  queued_bytes_ += cost;
  delayed_.push_back({std::chrono::steady_clock::now() + settings_->delay, std::move(frame)});
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
        fail(CloseReason::handshake_rejected,
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
    handle_payload(std::span<const std::uint8_t>(in_.data() + begin + frame_header_size, length));
    if (state_ == State::closed) return false;
    begin += frame_header_size + length;
  }
  std::memmove(in_.data(), in_.data() + begin, in_size_ - begin);
  in_size_ -= begin;
  return true;
}

std::size_t Connection::frame_limit() const noexcept {
  switch (state_) {
    case State::awaiting_hello: return hello_size;
    case State::awaiting_proof: return proof_size;
    case State::established: return settings_->max_frame_size;
    case State::closed: break;
  }
  return 0;
}

void Connection::handle_payload(std::span<const std::uint8_t> payload) {
  switch (state_) {
    case State::awaiting_hello: handle_hello(payload); return;
    case State::awaiting_proof: handle_proof(payload); return;
    case State::established: events_->frame(*this, payload); return;
    case State::closed: return;
  }
}

void Connection::handle_hello(std::span<const std::uint8_t> payload) {
  auto hello = decode_hello(payload);
  if (!hello) {
    fail(CloseReason::handshake_rejected, "bad hello: " + hello.error().message);
    return;
  }
  peer_key_ = hello->key;
  peer_address_ = crypto::address_of(peer_key_);
  if (auto admitted = events_->admit(*this, peer_key_); !admitted) {
    fail(CloseReason::handshake_rejected, admitted.error().message);
    return;
  }
  const crypto::Signer& self = *settings_->self;
  const auto proof =
      self.sign(proof_message(settings_->chain_id, hello->nonce, self.public_key(), peer_key_));
  queue_for_write(std::make_shared<const Bytes>(proof.begin(), proof.end()));
  state_ = State::awaiting_proof;
}

void Connection::handle_proof(std::span<const std::uint8_t> payload) {
  crypto::Signature proof;  // frame_limit() bounds the payload from above only
  if (payload.size() != proof.size()) {
    fail(CloseReason::handshake_rejected, "handshake proof of " + std::to_string(payload.size()) + " bytes");
    return;
  }
  std::copy(payload.begin(), payload.end(), proof.begin());
  const Bytes message = proof_message(settings_->chain_id, own_nonce_, peer_key_,
                                      settings_->self->public_key());
  if (!crypto::Ed25519Verifier(peer_key_).verify(message, proof)) {
    fail(CloseReason::handshake_rejected,
         "bad handshake proof for " + peer_address_.to_string() + " (wrong key or chain id)");
    return;
  }
  state_ = State::established;
  handshake_timer_.cancel();
  events_->established(*this);
}

void Connection::queue_for_write(std::shared_ptr<const Bytes> frame) {
  queued_bytes_ += frame_header_size + frame->size();
  queue_.push_back(std::move(frame));
  write_next();
}

void Connection::release_delayed() {
  delay_timer_armed_ = false;
  const auto now = std::chrono::steady_clock::now();
  while (!delayed_.empty() && delayed_.front().due <= now) {
    auto frame = std::move(delayed_.front().frame);
    delayed_.pop_front();
    queued_bytes_ -= frame_header_size + frame->size();  // queue_for_write counts it again
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
  const std::size_t frames = std::min(queue_.size(), max_batch_frames);
  batch_headers_.resize(frames);
  batch_buffers_.clear();
  for (std::size_t i = 0; i < frames; ++i) {
    batch_headers_[i] = frame_header(queue_[i]->size());
    batch_buffers_.push_back(asio::buffer(batch_headers_[i]));
    batch_buffers_.push_back(asio::buffer(*queue_[i]));
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
    queued_bytes_ -= frame_header_size + queue_.front()->size();
    queue_.pop_front();
  }
  write_next();
}

}  // namespace bft::net::detail
