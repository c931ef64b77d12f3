// Addresses as keys on the path of every message: a fast hash of their bytes and a flat
// map that holds its keys in its own slots, so a lookup reads one or two cache lines
// rather than a bucket array, a node and the node's key.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "bft/bytes.hpp"

namespace bft {

/// A fast 64-bit hash of short byte strings (addresses are typically 20 to 32 bytes):
/// 8-byte words folded with multiply-xorshift rounds. For addresses, which derive from
/// keys; not for bytes an adversary may choose freely.
inline std::uint64_t hash_address(std::span<const std::uint8_t> bytes) noexcept {
  constexpr std::uint64_t k = 0x9e3779b97f4a7c15ULL;
  std::uint64_t h = bytes.size() * k;
  std::size_t i = 0;
  for (; i + 8 <= bytes.size(); i += 8) {
    std::uint64_t word;
    std::memcpy(&word, bytes.data() + i, 8);
    h = (h ^ word) * k;
    h ^= h >> 29;
  }
  std::uint64_t tail = 0;  // byte by byte: a memcpy of a variable length is a call
  for (unsigned shift = 0; i < bytes.size(); ++i, shift += 8) tail |= std::uint64_t{bytes[i]} << shift;
  h = (h ^ tail) * k;
  return h ^ (h >> 32);
}

/// A map from addresses to values that only grows (one entry per peer or validator ever
/// heard, which the transport and the validator sets bound). Open addressing with linear
/// probing, at most half full.
template <class T>
class AddressMap {
 public:
  /// The value of `key`, added as T{} if it is not there yet.
  T& operator[](const Address& key) {
    if (slots_.empty()) slots_.resize(16);
    std::size_t at = slot_of(key);
    if (!slots_[at].used) {
      if ((size_ + 1) * 2 > slots_.size()) {
        grow();
        at = slot_of(key);
      }
      slots_[at].used = true;
      slots_[at].key = key;
      ++size_;
    }
    return slots_[at].value;
  }
  const T* find(const Address& key) const {
    if (slots_.empty()) return nullptr;
    const Slot& slot = slots_[slot_of(key)];
    return slot.used ? &slot.value : nullptr;
  }
  std::size_t size() const noexcept { return size_; }
  /// Calls f(address, value) for each entry, in no particular order.
  template <class F>
  void for_each(F&& f) const {
    for (const Slot& slot : slots_)
      if (slot.used) f(slot.key, slot.value);
  }

 private:
  struct Slot {
    Address key;
    T value{};
    bool used = false;
  };

  /// The slot holding `key`, or the free one where it would go (there is one: the table
  /// is at most half full).
  std::size_t slot_of(const Address& key) const {
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t at = hash_address(key.bytes()) & mask;; at = (at + 1) & mask)
      if (!slots_[at].used || slots_[at].key == key) return at;
  }

  void grow() {
    std::vector<Slot> old(slots_.size() * 2);
    old.swap(slots_);
    for (Slot& slot : old)
      if (slot.used) slots_[slot_of(slot.key)] = std::move(slot);
  }

  std::vector<Slot> slots_;  // empty, or a power of two of them
  std::size_t size_ = 0;
};

}  // namespace bft
