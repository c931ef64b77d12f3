// Byte strings with a type per meaning, so an Address can't be passed where a Value is
// expected. Cheap to move, hashable, ordered, printable.
#pragma once

#include <algorithm>
#include <compare>
#include <cstring>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace bft {

using Bytes = std::vector<std::uint8_t>;

/// Bytes with inline room for 32 of them: addresses and hashes, the common case, never
/// touch the heap, which keeps copying votes around cheap. Longer strings (values that are
/// whole blocks) live in one immutable heap buffer that copies share, so a block that
/// travels through the core, the vote book and the log in many votes exists once.
template <class Tag>
class ByteString {
 public:
  static constexpr std::size_t inline_capacity = 32;

  ByteString() = default;
  explicit ByteString(std::span<const std::uint8_t> bytes) { assign(bytes); }
  explicit ByteString(const Bytes& bytes) { assign(bytes); }
  /// The UTF-8 bytes of a text, as scenarios and examples use ("v1", "blue").
  static ByteString from_text(std::string_view text) {
    return ByteString(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
  }

  ByteString(const ByteString& other) { copy(other); }
  ByteString(ByteString&& other) noexcept { take(other); }
  ByteString& operator=(const ByteString& other) {
    if (this != &other) copy(other);
    return *this;
  }
  ByteString& operator=(ByteString&& other) noexcept {
    if (this != &other) take(other);
    return *this;
  }
  ~ByteString() = default;

  const std::uint8_t* data() const noexcept { return heap_ ? heap_.get() : inline_; }
  std::span<const std::uint8_t> bytes() const noexcept { return {data(), size_}; }
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  std::string_view view() const noexcept { return {reinterpret_cast<const char*>(data()), size_}; }
  /// Printable form: the text itself if it is printable ASCII, else 0x and lowercase hex.
  std::string to_string() const;

  /// Word by word, without a call to memcmp: addresses and values (typically 20 to 32
  /// bytes) are compared for every vote a node hears.
  friend bool operator==(const ByteString& a, const ByteString& b) noexcept {
    const std::size_t n = a.size_;
    if (n != b.size_) return false;
    const std::uint8_t* p = a.data();
    const std::uint8_t* q = b.data();
    if (p == q) return true;  // copies of one heap buffer
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
      std::uint64_t x, y;
      std::memcpy(&x, p + i, 8);
      std::memcpy(&y, q + i, 8);
      if (x != y) return false;
    }
    for (; i < n; ++i)
      if (p[i] != q[i]) return false;
    return true;
  }
  friend std::strong_ordering operator<=>(const ByteString& a, const ByteString& b) noexcept {
    const std::size_t common = std::min(a.size(), b.size());
    const int order = common == 0 ? 0 : std::memcmp(a.data(), b.data(), common);
    if (order != 0) return order < 0 ? std::strong_ordering::less : std::strong_ordering::greater;
    return a.size() <=> b.size();
  }

 private:
  void assign(std::span<const std::uint8_t> bytes) {
    if (bytes.size() <= inline_capacity) {
      heap_.reset();
      if (!bytes.empty()) std::memmove(inline_, bytes.data(), bytes.size());
    } else {
      auto copy = std::make_shared_for_overwrite<std::uint8_t[]>(bytes.size());
      std::memcpy(copy.get(), bytes.data(), bytes.size());
      heap_ = std::move(copy);
    }
    size_ = bytes.size();
  }
  // Copies of inline bytes move the whole buffer: a fixed-size copy is a few register
  // moves, where copying size_ bytes is a call to memcpy (votes are copied and moved on
  // every delivery).
  void copy(const ByteString& other) {
    if (other.heap_) {
      heap_ = other.heap_;
      size_ = other.size_;
      return;
    }
    heap_.reset();
    std::memcpy(inline_, other.inline_, inline_capacity);
    size_ = other.size_;
  }
  void take(ByteString& other) noexcept {
    heap_ = std::move(other.heap_);
    if (!heap_) std::memcpy(inline_, other.inline_, inline_capacity);
    size_ = other.size_;
    other.size_ = 0;
  }

  std::size_t size_ = 0;
  std::shared_ptr<const std::uint8_t[]> heap_;  // set only above inline_capacity; never written
  std::uint8_t inline_[inline_capacity]{};  // initialized: whole-buffer copies read it all
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
  return printable(bytes());
}

}  // namespace bft

template <class Tag>
struct std::hash<bft::ByteString<Tag>> {
  std::size_t operator()(const bft::ByteString<Tag>& b) const noexcept {
    return std::hash<std::string_view>{}(b.view());
  }
};
