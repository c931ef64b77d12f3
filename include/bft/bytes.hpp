// Byte strings with a type per meaning, so an Address can't be passed where a Value is
// expected. Cheap to move, hashable, ordered, printable.
#pragma once

#include <algorithm>
#include <compare>
#include <cstring>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace bft {

using Bytes = std::vector<std::uint8_t>;

template <class Tag>
class ByteString {
 public:
  ByteString() = default;
  explicit ByteString(Bytes bytes) : bytes_(std::move(bytes)) {}
  explicit ByteString(std::span<const std::uint8_t> bytes) : bytes_(bytes.begin(), bytes.end()) {}
  /// The UTF-8 bytes of a text, as scenarios and examples use ("v1", "blue").
  static ByteString from_text(std::string_view text) {
    return ByteString(Bytes(text.begin(), text.end()));
  }

  std::span<const std::uint8_t> bytes() const noexcept { return bytes_; }
  std::size_t size() const noexcept { return bytes_.size(); }
  bool empty() const noexcept { return bytes_.empty(); }
  std::string_view view() const noexcept {
    return {reinterpret_cast<const char*>(bytes_.data()), bytes_.size()};
  }
  /// Printable form: the text itself if it is printable ASCII, else lowercase hex.
  std::string to_string() const;

  friend bool operator==(const ByteString&, const ByteString&) = default;
  friend std::strong_ordering operator<=>(const ByteString& a, const ByteString& b) {
    // Spelled out: vector's <=> trips GCC 12's -Wstringop-overread false positive at -O2.
    const std::size_t common = std::min(a.size(), b.size());
    const int order = common == 0 ? 0 : std::memcmp(a.bytes_.data(), b.bytes_.data(), common);
    if (order != 0) return order < 0 ? std::strong_ordering::less : std::strong_ordering::greater;
    return a.size() <=> b.size();
  }

 private:
  Bytes bytes_;
};

struct AddressTag {};
struct ValueTag {};
/// A validator's identity (typically derived from its public key).
using Address = ByteString<AddressTag>;
/// What consensus decides on: opaque bytes for the core (a block, or a block's hash).
using Value = ByteString<ValueTag>;

std::string printable(std::span<const std::uint8_t> bytes);

template <class Tag>
std::string ByteString<Tag>::to_string() const {
  return printable(bytes_);
}

}  // namespace bft

template <class Tag>
struct std::hash<bft::ByteString<Tag>> {
  std::size_t operator()(const bft::ByteString<Tag>& b) const noexcept {
    return std::hash<std::string_view>{}(b.view());
  }
};
