// ABCI's socket framing (CometBFT v0.38, libs/protoio): every protobuf message is preceded
// by its length in bytes as an unsigned varint (LEB128, 7 bits a byte, low bits first).
// The decoder takes bytes as they arrive, in pieces of any size, and refuses a length
// above its limit before reading the body: an application cannot make the node buffer
// gigabytes by announcing them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "bft/result.hpp"

namespace bft::abci {

/// The longest an unsigned 64-bit varint can be.
inline constexpr std::size_t max_varint_bytes = 10;

/// Appends `value` as an unsigned varint.
void append_varint(std::string& out, std::uint64_t value);

/// Appends `message`'s length as a varint, then the message.
void append_frame(std::string& out, std::string_view message);

/// Splits a byte stream into frames.
class FrameDecoder {
 public:
  explicit FrameDecoder(std::size_t max_frame_bytes) : max_frame_bytes_(max_frame_bytes) {}

  /// Takes the next bytes of the stream.
  void feed(std::span<const char> bytes) { buffer_.append(bytes.data(), bytes.size()); }

  /// The next complete frame's body, or nullopt while more bytes are needed. Errors:
  /// malformed (a varint longer than 10 bytes or above 2^64), too_large (a length above
  /// the limit). After an error the stream is unusable.
  Result<std::optional<std::string>> next();

  /// Bytes received and not yet returned as frames.
  std::size_t buffered() const noexcept { return buffer_.size() - consumed_; }

 private:
  std::size_t max_frame_bytes_;
  std::string buffer_;
  std::size_t consumed_ = 0;
};

}  // namespace bft::abci
