#include "bft/abci/framing.hpp"

namespace bft::abci {

void append_varint(std::string& out, std::uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

void append_frame(std::string& out, std::string_view message) {
  append_varint(out, message.size());
  out.append(message);
}

Result<std::optional<std::string>> FrameDecoder::next() {
  std::uint64_t length = 0;
  std::size_t at = consumed_;
  for (std::size_t i = 0;; ++i) {
    if (at == buffer_.size()) return std::optional<std::string>{};
    if (i == max_varint_bytes) return make_error(Errc::malformed, "a frame length longer than 10 bytes");
    const auto byte = static_cast<std::uint8_t>(buffer_[at++]);
    // The tenth byte holds the 64th bit only.
    if (i == max_varint_bytes - 1 && byte > 1) return make_error(Errc::malformed, "a frame length above 2^64");
    length |= static_cast<std::uint64_t>(byte & 0x7f) << (7 * i);
    if ((byte & 0x80) == 0) break;
  }
  if (length > max_frame_bytes_)
    return make_error(Errc::too_large, "a frame of " + std::to_string(length) + " bytes (limit " +
                                           std::to_string(max_frame_bytes_) + ")");
  if (buffer_.size() - at < length) return std::optional<std::string>{};
  std::string frame = buffer_.substr(at, length);
  consumed_ = at + length;
  // Compact once the consumed prefix dominates, so the buffer does not grow forever.
  if (consumed_ == buffer_.size()) {
    buffer_.clear();
    consumed_ = 0;
  } else if (consumed_ > buffer_.size() / 2) {
    buffer_.erase(0, consumed_);
    consumed_ = 0;
  }
  return std::optional<std::string>{std::move(frame)};
}

}  // namespace bft::abci
