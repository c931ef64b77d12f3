// The discrete-event scheduler: a binary min-heap of small plain events ordered by
// simulated time, ties broken by a seeded random key. Events carry an index into a pool
// owned by the caller instead of a callback, so scheduling allocates nothing. Keys are
// 64-bit random numbers, so (time, key) orders events totally but for a collision that
// practically never happens: the sequence popped does not depend on how the heap is laid
// out (and is a pure function of the seed either way).
#pragma once

#include <cstdint>
#include <deque>
#include <iterator>
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
  timeout,     // arg: timer id; a core timeout fires
  app_commit,  // arg: height; the application has committed it: start the next height
  gossip_tick, // periodic: a stalled node relays its current round's messages
  late_vote_due,  // arg: late vote id; a held-back vote of a decided height goes to the core
                  // unless its sender has moved on
  crash_tick,  // periodic (--crash-restart): maybe crash a correct node
  restart,     // a crashed node restarts from its WAL
};

struct Event {
  Time at = 0;
  std::uint64_t order = 0;  // seeded tie-break among events due at the same time
  std::uint64_t arg = 0;
  std::uint32_t node = 0;
  EventKind kind = EventKind::deliver;
};

class EventQueue {
 public:
  explicit EventQueue(std::uint64_t seed) : tie_break_(seed) {}

  void push(Time at, EventKind kind, std::uint32_t node, std::uint64_t arg) {
    push_to_heap(Event{at, tie_break_.next(), arg, node, kind});
  }

  /// For events due a fixed delay after the present, so in the order they are pushed:
  /// they wait in a FIFO instead of deepening the heap (at 100 validators, held-back
  /// late votes outnumber every other kind of pending event). Same order key and same
  /// pop order as push(); an event that would break the FIFO's order goes to the heap.
  void push_in_order(Time at, EventKind kind, std::uint32_t node, std::uint64_t arg) {
    const Event event{at, tie_break_.next(), arg, node, kind};
    if (!in_order_.empty() && at < in_order_.back().at) {
      push_to_heap(event);
      return;
    }
    // Events due at the same time are ordered by key here too.
    auto slot = in_order_.end();
    while (slot != in_order_.begin() && std::prev(slot)->at == at && before(event, *std::prev(slot))) --slot;
    in_order_.insert(slot, event);
  }

  bool empty() const noexcept { return size() == 0; }
  std::size_t size() const noexcept { return heap_.size() - (root_vacant_ ? 1 : 0) + in_order_.size(); }

  /// The earliest event (ties: the smaller order key); the queue must not be empty.
  Event pop() {
    if (root_vacant_) fill_root();
    if (!in_order_.empty() && (heap_.empty() || before(in_order_.front(), heap_.front()))) {
      const Event first = in_order_.front();
      in_order_.pop_front();
      return first;
    }
    root_vacant_ = true;
    return heap_.front();
  }

 private:
  static bool before(const Event& a, const Event& b) noexcept {
    __extension__ using u128 = unsigned __int128;
    // One 128-bit comparison instead of two dependent branches.
    return ((u128{a.at} << 64) | a.order) < ((u128{b.at} << 64) | b.order);
  }

  void push_to_heap(const Event& event) {
    if (root_vacant_) {
      // Most pushes follow a pop (a parcel re-armed for its next delivery, a periodic
      // tick) and are due soon: placed at the root, the event sinks once, part of the
      // way, where filling the root with the last leaf would sink that leaf all the way
      // down and the new event would then climb most of the way back up.
      root_vacant_ = false;
      sift_down(0, event);
      return;
    }
    heap_.push_back(event);
    sift_up(heap_.size() - 1, event);
  }

  /// Moves the last event into the vacant root, as an ordinary heap pop does.
  void fill_root() {
    root_vacant_ = false;
    const Event last = heap_.back();
    heap_.pop_back();
    if (!heap_.empty()) sift_down(0, last);
  }

  /// Places `moving` at the hole `i`, or above it where order requires.
  void sift_up(std::size_t i, const Event& moving) {
    while (i > 0) {
      const std::size_t parent = (i - 1) / 2;
      if (!before(moving, heap_[parent])) break;
      heap_[i] = heap_[parent];
      i = parent;
    }
    heap_[i] = moving;
  }

  /// Places `moving` at the hole `i`, or below it where order requires.
  void sift_down(std::size_t i, const Event& moving) {
    const std::size_t n = heap_.size();
    for (;;) {
      std::size_t child = 2 * i + 1;
      if (child >= n) break;
      // Which child is earlier is a coin flip: an addition, not a mispredicted branch.
      if (child + 1 < n) child += before(heap_[child + 1], heap_[child]) ? 1 : 0;
      if (!before(heap_[child], moving)) break;
      heap_[i] = heap_[child];
      i = child;
    }
    heap_[i] = moving;
  }

  Rng tie_break_;
  std::vector<Event> heap_;
  /// Set by pop(): heap_[0] is a stale copy of the event just returned.
  bool root_vacant_ = false;
  std::deque<Event> in_order_;  // sorted by (at, order)
};

}  // namespace bft::sim
