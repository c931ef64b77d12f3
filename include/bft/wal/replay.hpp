// Recovery: feed the recorded inputs to a fresh core through its normal input path, and
// check its own broadcasts against the own messages the log holds. Nothing the replay
// produces is sent here: own messages the log holds were sent before the crash, and own
// messages it does not hold were never durable, hence never sent (the caller may sign
// them again: the replayed core is where the crashed one was when it produced them).
#pragma once

#include <functional>
#include <span>
#include <vector>

#include "bft/core.hpp"
#include "bft/wal/record.hpp"

namespace bft::wal {

struct ReplayResult {
  std::size_t inputs = 0;    // inputs fed to the core
  std::size_t rejected = 0;  // of which the core rejected (as it did the first time)
  /// Own messages the log holds, in order (sent before the crash; may be re-sent as is).
  std::vector<Proposal> own_proposals;
  std::vector<Vote> own_votes;
  /// Own messages in the log that the core was not given back as inputs before the crash
  /// (the caller feeds them back, as it would have).
  std::vector<Input> not_fed_back;
  /// Own broadcasts the replay produced that the log does not hold: they were never made
  /// durable, hence never sent, and no conflicting message of their slots was either
  /// (it would be in the log). The core counts them as emitted: a caller that does not
  /// send them (through its guard) leaves the node silent in those slots, which can
  /// stall a round whose other voters wait for them.
  std::vector<Output> unsent;
  /// Every other output, in order (timeouts to re-arm, GetValue, Decide, ...).
  std::vector<Output> local;
  /// Own-message mismatches below the last height, where a pruned segment may have held
  /// inputs the replay lacks (they cannot matter: those heights are over).
  std::size_t old_mismatches = 0;
};

/// Replays `records` into `core` (fresh, from Core::create). `observe` sees each input
/// before the core does. Errors: replay_diverged (at the last replayed height, the core
/// produced an own message that conflicts with the one the log holds, or the log holds an
/// own message the core did not produce: the log belongs to another node or config).
Result<ReplayResult> replay(Core& core, std::span<const Record> records,
                            const std::function<void(const Input&)>& observe = {});

}  // namespace bft::wal
