// Commands accepted from clients and waiting for a block: bounded, first in first out.
#pragma once

#include <cstddef>
#include <deque>
#include <vector>

#include "bft/node/kv.hpp"

namespace bft::node {

struct MempoolLimits {
  std::size_t max_commands = 10'000;
  /// Sum of Command::encoded_size() over the pool.
  std::size_t max_bytes = std::size_t{16} << 20;
};

/// Not thread-safe: the node uses it from its IO thread.
class Mempool {
 public:
  explicit Mempool(MempoolLimits limits = {}) : limits_(limits) {}

  /// Appends all of `commands` or none: invalid_argument if one fails validate(),
  /// buffer_full if they do not fit the limits (the client gets 503 and retries).
  Result<void> add(std::vector<Command> commands);

  /// The block of the longest prefix of the pool with at most `max_commands` commands
  /// whose encoding fits in min(max_bytes, max_block_size); the commands stay in the pool
  /// until remove_committed() (the proposal may not be decided).
  Value propose(std::size_t max_commands, std::size_t max_bytes) const;

  /// Drops the commands of a decided block. Matching is by multiset: each committed
  /// command removes the oldest identical command still pooled, wherever it is. The
  /// decided block may come from another proposer whose pool held a different order or
  /// a subset of ours, and a client may have sent the same command to two nodes, so a
  /// "same commands at the head" rule would leave applied commands behind to be applied
  /// again later. The usual case, our own proposal decided, is a prefix and is taken
  /// without building the multiset.
  void remove_committed(const std::vector<Command>& committed);

  std::size_t size() const noexcept { return commands_.size(); }
  std::size_t bytes() const noexcept { return bytes_; }
  const MempoolLimits& limits() const noexcept { return limits_; }

 private:
  MempoolLimits limits_;
  std::deque<Command> commands_;
  std::size_t bytes_ = 0;
};

}  // namespace bft::node
