// Fixed-width little-endian primitives shared by the encoder, the decoder and the
// sign-bytes, and by the node's block format. Private to the library's sources: not
// installed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <utility>

#include "bft/bytes.hpp"
#include "bft/result.hpp"

namespace bft::codec::wire {

inline void put_u8(Bytes& out, std::uint8_t v) { out.push_back(v); }

inline void put_u32(Bytes& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

inline void put_u64(Bytes& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

inline void put_raw(Bytes& out, std::span<const std::uint8_t> bytes) {
  out.insert(out.end(), bytes.begin(), bytes.end());
}

/// A u32 length, then the bytes. Lengths beyond u32 are a caller bug: no limit allows them.
inline void put_sized(Bytes& out, std::span<const std::uint8_t> bytes) {
  put_u32(out, static_cast<std::uint32_t>(bytes.size()));
  put_raw(out, bytes);
}

/// Reads from an untrusted buffer. Every read checks bounds; the first failure is kept
/// as an Error that names the offset at which decoding stopped.
class Reader {
 public:
  explicit Reader(std::span<const std::uint8_t> in) : in_(in) {}

  std::size_t offset() const noexcept { return pos_; }
  std::size_t remaining() const noexcept { return in_.size() - pos_; }

  bool u8(std::uint8_t& out) {
    if (!need(1, "a byte")) return false;
    out = in_[pos_++];
    return true;
  }

  bool u32(std::uint32_t& out) {
    if (!need(4, "a 32-bit integer")) return false;
    out = 0;
    for (int i = 0; i < 4; ++i) out |= std::uint32_t{in_[pos_ + i]} << (8 * i);
    pos_ += 4;
    return true;
  }

  bool u64(std::uint64_t& out) {
    if (!need(8, "a 64-bit integer")) return false;
    out = 0;
    for (int i = 0; i < 8; ++i) out |= std::uint64_t{in_[pos_ + i]} << (8 * i);
    pos_ += 8;
    return true;
  }

  bool raw(std::span<std::uint8_t> out) {
    if (!need(out.size(), "fixed-size bytes")) return false;
    std::memcpy(out.data(), in_.data() + pos_, out.size());
    pos_ += out.size();
    return true;
  }

  /// A u32 length in [min, max], then that many bytes.
  bool sized(const char* field, std::size_t min, std::size_t max, Bytes& out) {
    std::span<const std::uint8_t> view;
    if (!sized(field, min, max, view)) return false;
    out.assign(view.begin(), view.end());
    return true;
  }

  /// The same, the bytes left where they are in the input: a caller that keeps them in
  /// its own form (an inline address, a shared value) copies them once.
  bool sized(const char* field, std::size_t min, std::size_t max, std::span<const std::uint8_t>& out) {
    std::uint32_t size = 0;
    if (!u32(size)) return false;
    if (size > max) {
      return fail(Errc::too_large, std::string(field) + " of " + std::to_string(size) +
                                       " bytes exceeds the limit of " + std::to_string(max));
    }
    if (size < min) {
      return fail(Errc::malformed, std::string(field) + " of " + std::to_string(size) +
                                       " bytes is shorter than " + std::to_string(min));
    }
    if (!need(size, field)) return false;
    out = in_.subspan(pos_, size);
    pos_ += size;
    return true;
  }

  /// Records the first error (with the offset of the field that caused it); returns false.
  bool fail(Errc code, std::string message) {
    if (!failed_) {
      error_ = Error{code, std::move(message) + " (at byte " + std::to_string(pos_) + ")"};
      failed_ = true;
    }
    return false;
  }

  /// The input must end here: a canonical message has no trailing bytes.
  bool finish() {
    if (pos_ == in_.size()) return true;
    return fail(Errc::non_canonical, std::to_string(remaining()) + " trailing bytes");
  }

  Error take_error() { return std::move(error_); }

 private:
  bool need(std::size_t n, const char* what) {
    if (n <= remaining()) return true;
    return fail(Errc::malformed, std::string("truncated: expected ") + what + ", " +
                                     std::to_string(remaining()) + " bytes left");
  }

  std::span<const std::uint8_t> in_;
  std::size_t pos_ = 0;
  Error error_{};
  bool failed_ = false;
};

}  // namespace bft::codec::wire
