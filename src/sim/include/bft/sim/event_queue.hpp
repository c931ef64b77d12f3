// The discrete-event scheduler: a calendar queue of small plain events ordered by
// simulated time, ties broken by a seeded random key. Events carry an index into a pool
// owned by the caller instead of a callback, so scheduling allocates nothing once the
// queue's own pool of event slots has grown. Keys are 64-bit random numbers, so
// (time, key) orders events totally but for a collision that practically never happens:
// the sequence popped does not depend on how events are stored (and is a pure function
// of the seed either way).
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <utility>
#include <vector>

#include "bft/sim/rng.hpp"

namespace bft::sim {

/// Simulated time in microseconds since the start of the run.
using Time = std::uint64_t;

inline constexpr Time micros_per_ms = 1000;
constexpr Time from_ms(std::uint64_t ms) noexcept { return ms * micros_per_ms; }
constexpr double to_ms(Time t) noexcept { return static_cast<double>(t) / micros_per_ms; }

enum class EventKind : std::uint8_t {
  deliver,     // arg: parcel id; the parcel's next delivery is due
  wake,        // arg: wake token; a replica's deadline (timeouts, gossip, sync) is due
  crash_tick,  // periodic (--crash-restart): maybe crash a correct node
  restart,     // a crashed node restarts from its disks
};

struct Event {
  Time at = 0;
  std::uint64_t order = 0;  // seeded tie-break among events due at the same time
  std::uint64_t arg = 0;
  std::uint32_t node = 0;
  EventKind kind = EventKind::deliver;
};

/// A calendar queue: time is cut into buckets of 64 µs, and the buckets of the next
/// 131 ms (past every message delay of a default run) are a ring of unsorted lists, so a
/// push is a prepend. A bucket is sorted once, when its turn comes (what is pushed into
/// it after that waits in a heap beside it); a bitmap of the occupied ones skips the
/// empty ones. Events due beyond the ring (timeouts, mostly) wait in a heap. The lists
/// are linked through one pool of event slots, so memory follows the events pending (a
/// vector per bucket would keep each bucket's peak: 80 MB more at 1,000 validators). At
/// 100 validators this costs a fraction of the ~240 instructions per push of a binary
/// heap of the few hundred events pending.
class EventQueue {
 public:
  explicit EventQueue(std::uint64_t seed) : tie_break_(seed), ring_(ring_size, no_slot) {}

  /// `at` is never earlier than the last event popped: simulated time does not go back.
  void push(Time at, EventKind kind, std::uint32_t node, std::uint64_t arg) {
    ++size_;
    const Event event{at, tie_break_.next(), arg, node, kind};
    const Time bucket = at >> bucket_bits;
    if (bucket == current_bucket_) {
      // Due within the bucket being popped, which is sorted already. Inserting into it
      // would move half of it: at 1,000 validators most pushes land here (a parcel's
      // next delivery is tens of microseconds away), in buckets of a thousand events.
      late_.push_back(event);
      std::push_heap(late_.begin(), late_.end(), after);
    } else if (bucket - current_bucket_ < ring_size) {
      add_to_ring(bucket, event);
    } else {
      far_.push_back(event);
      std::push_heap(far_.begin(), far_.end(), due_later);
    }
  }

  bool empty() const noexcept { return size_ == 0; }
  std::size_t size() const noexcept { return size_; }

  /// The earliest event (ties: the smaller order key); the queue must not be empty.
  Event pop() {
    if (current_.empty() && late_.empty()) next_bucket();
    --size_;
    if (!late_.empty() && (current_.empty() || before(late_.front(), current_.back()))) {
      std::pop_heap(late_.begin(), late_.end(), after);
      const Event first = late_.back();
      late_.pop_back();
      return first;
    }
    const Event first = current_.back();
    current_.pop_back();
    return first;
  }

 private:
  static constexpr unsigned bucket_bits = 6;
  static constexpr Time ring_size = 2048;  // buckets, a multiple of 64
  static constexpr std::size_t ring_words = ring_size / 64;
  static constexpr std::uint32_t no_slot = ~std::uint32_t{0};

  struct Slot {
    Event event;
    std::uint32_t next;  // the bucket's next event, or the free list's next slot
  };

  static bool before(const Event& a, const Event& b) noexcept {
    __extension__ using u128 = unsigned __int128;
    // One 128-bit comparison instead of two dependent branches.
    return ((u128{a.at} << 64) | a.order) < ((u128{b.at} << 64) | b.order);
  }
  /// Function objects, not functions: std::sort would call a function pointer.
  static constexpr auto after = [](const Event& a, const Event& b) noexcept { return before(b, a); };
  static constexpr auto due_later = [](const Event& a, const Event& b) noexcept { return a.at > b.at; };

  void add_to_ring(Time bucket, const Event& event) {
    std::uint32_t slot = free_;
    if (slot == no_slot) {
      slot = static_cast<std::uint32_t>(pool_.size());
      pool_.emplace_back();
    } else {
      free_ = pool_[slot].next;
    }
    const std::size_t at = bucket % ring_size;
    pool_[slot] = Slot{event, ring_[at]};
    ring_[at] = slot;
    occupied_[at / 64] |= std::uint64_t{1} << (at % 64);
    ++in_ring_;
  }

  /// Makes the next occupied bucket the current one, sorted latest first so that pops
  /// take from the back. Ring events are all due before far ones.
  void next_bucket() {
    current_bucket_ = in_ring_ == 0 ? far_.front().at >> bucket_bits : next_occupied();
    // The ring now reaches further: far events within its reach join it.
    while (!far_.empty() && (far_.front().at >> bucket_bits) - current_bucket_ < ring_size) {
      std::pop_heap(far_.begin(), far_.end(), due_later);
      add_to_ring(far_.back().at >> bucket_bits, far_.back());
      far_.pop_back();
    }
    const std::size_t at = current_bucket_ % ring_size;
    occupied_[at / 64] &= ~(std::uint64_t{1} << (at % 64));
    for (std::uint32_t slot = std::exchange(ring_[at], no_slot); slot != no_slot;) {
      Slot& taken = pool_[slot];
      current_.push_back(taken.event);
      --in_ring_;
      const std::uint32_t next = taken.next;
      taken.next = std::exchange(free_, slot);
      slot = next;
    }
    std::sort(current_.begin(), current_.end(), after);
  }

  /// The first occupied bucket after the current one; the ring must not be empty.
  Time next_occupied() const {
    const std::size_t from = (current_bucket_ + 1) % ring_size;
    // The first word's bits below `from` are the ring's far end: looked at last.
    for (std::size_t i = 0; i <= ring_words; ++i) {
      const std::size_t word = (from / 64 + i) % ring_words;
      const std::uint64_t bits = i == 0 ? occupied_[word] & (~std::uint64_t{0} << (from % 64)) : occupied_[word];
      if (bits == 0) continue;
      const std::size_t slot = word * 64 + static_cast<std::size_t>(std::countr_zero(bits));
      return current_bucket_ + 1 + (slot + ring_size - from) % ring_size;
    }
    return current_bucket_;  // unreachable with events in the ring
  }

  Rng tie_break_;
  std::size_t size_ = 0;
  Time current_bucket_ = 0;  // the bucket of the last event popped (time >> bucket_bits)
  std::vector<Event> current_;  // its events not popped yet, sorted latest first
  std::vector<Event> late_;     // a heap of the ones pushed after it was sorted
  /// The buckets after the current one within ring_size of it, at bucket % ring_size:
  /// each the pool slot of its first event, or no_slot.
  std::vector<std::uint32_t> ring_;
  std::vector<Slot> pool_;
  std::uint32_t free_ = no_slot;  // the free list of pool slots
  std::array<std::uint64_t, ring_words> occupied_{};
  std::size_t in_ring_ = 0;
  std::vector<Event> far_;  // a heap on time: due beyond the ring
};

}  // namespace bft::sim
