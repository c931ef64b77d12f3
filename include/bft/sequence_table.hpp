// A hash table that finds entries kept elsewhere, in order, by their sequence numbers: the
// mempool and the transaction index keep their entries in arrival order (a deque numbered
// from a first sequence number) and look them up by a keyed hash of their key; the vote
// book keeps its votes in a vector, numbered by position.
//
// Open addressing with linear probing over 64-bit slots. A slot is 0 when empty; else bit
// 63 is set, bits 32 to 62 hold 31 bits of the key's hash, and the low 32 bits hold the
// entry's sequence number. A probe reads an entry only when the hash bits match, and
// moving slots (growth, deletion by backward shift) reads no entry at all. The entries a
// table holds must span fewer than 2^32 sequence numbers, from the `first` the caller
// passes: the low 32 bits then place each one.
//
// Not synchronized: its owner's lock covers it.
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace bft {

class SequenceTable {
 public:
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);
  /// How many lookups ahead a batch loads its slots with prefetch(): a table larger than
  /// the caches would otherwise make each lookup wait for its own miss in turn.
  static constexpr std::size_t prefetch_distance = 16;

  /// Room for `entries` before the first growth.
  explicit SequenceTable(std::size_t entries = 0) : slots_(std::bit_ceil(std::max<std::size_t>(16, 2 * entries)), 0) {}

  /// The slot of the entry whose key hashes to `hash` and for which `is_key(sequence)`
  /// holds; npos if there is none.
  template <class IsKey>
  std::size_t find(std::uint64_t hash, std::uint64_t first, IsKey&& is_key) const {
    const std::size_t mask = slots_.size() - 1;
    const std::uint64_t bits = hash & hash_bits;
    for (std::size_t at = bits & mask;; at = (at + 1) & mask) {
      const std::uint64_t slot = slots_[at];
      if (slot == 0) return npos;
      if ((slot >> 32 & hash_bits) == bits && is_key(sequence_of(slot, first))) return at;
    }
  }

  /// The sequence number slot `at` (found by find()) holds.
  std::uint64_t sequence_at(std::size_t at, std::uint64_t first) const { return sequence_of(slots_[at], first); }

  /// Adds the entry `sequence` under `hash`; `entries` is how many the table holds after
  /// it, which decides growth (at most three quarters full).
  void insert(std::uint64_t hash, std::uint64_t sequence, std::size_t entries) {
    if (entries * 4 > slots_.size() * 3) grow();
    place(occupied | (hash & hash_bits) << 32 | (sequence & 0xffff'ffff));
  }

  /// Removes the slot `at` (found by find()). Backward shift: a later slot of the probe
  /// run moves into the hole unless its home lies cyclically after the hole (it would no
  /// longer be found from there), so no tombstones lengthen later probes.
  void erase_at(std::size_t at) {
    const std::size_t mask = slots_.size() - 1;
    std::size_t hole = at;
    for (std::size_t next = (hole + 1) & mask; slots_[next] != 0; next = (next + 1) & mask) {
      const std::size_t home = (slots_[next] >> 32 & hash_bits) & mask;
      const bool stays = hole <= next ? (hole < home && home <= next) : (hole < home || home <= next);
      if (stays) continue;
      slots_[hole] = slots_[next];
      hole = next;
    }
    slots_[hole] = 0;
  }

  /// Starts loading the slot a lookup of `hash` reads first: a batch of lookups into a
  /// table larger than the caches overlaps its misses.
  void prefetch(std::uint64_t hash) const { __builtin_prefetch(&slots_[(hash & hash_bits) & (slots_.size() - 1)]); }

  /// Empties the table, keeping its size.
  void clear() { std::fill(slots_.begin(), slots_.end(), 0); }

 private:
  static constexpr std::uint64_t occupied = std::uint64_t{1} << 63;
  // At most 2^31 slots: the hash bits a slot keeps are its home.
  static constexpr std::uint64_t hash_bits = 0x7fff'ffff;

  static std::uint64_t sequence_of(std::uint64_t slot, std::uint64_t first) {
    return first + static_cast<std::uint32_t>(static_cast<std::uint32_t>(slot) - static_cast<std::uint32_t>(first));
  }

  void place(std::uint64_t slot) {
    const std::size_t mask = slots_.size() - 1;
    std::size_t at = (slot >> 32 & hash_bits) & mask;
    while (slots_[at] != 0) at = (at + 1) & mask;
    slots_[at] = slot;
  }

  void grow() {
    if (slots_.size() > hash_bits) return;  // 2^31 slots: probes lengthen instead
    std::vector<std::uint64_t> old(slots_.size() * 2, 0);
    old.swap(slots_);
    for (const std::uint64_t slot : old)
      if (slot != 0) place(slot);
  }

  std::vector<std::uint64_t> slots_;
};

}  // namespace bft
