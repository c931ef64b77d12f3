// One seeded run of a simulated cluster: N shipped replicas (bft::node::Replica) in one
// process on in-memory disks and a simulated network, driven by a discrete-event
// scheduler in virtual time. The same options and seed give the same run, event for event.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "bft/result.hpp"
#include "bft/sim/checker.hpp"
#include "bft/sim/options.hpp"
#include "bft/sim/trace.hpp"

namespace bft::sim {

/// A snapshot for progress displays, taken every few thousand events.
struct Progress {
  std::uint64_t seed = 0;
  Time now = 0;
  Height lowest_height = 0;   // the lowest height a correct node has decided
  Height highest_height = 0;  // the highest
  Height target = 0;
  std::uint64_t round_changes = 0;  // rounds above 0 started by correct nodes
};

struct RunHooks {
  /// Records the run for a timeline when set.
  Trace* trace = nullptr;
  /// Called every `progress_every` events and once at the end.
  std::function<void(const Progress&)> progress;
  std::uint64_t progress_every = 1 << 14;
};

struct RunResult {
  std::uint64_t seed = 0;
  /// Every correct node decided the target height within the liveness bound.
  bool complete = false;
  /// The run stopped at its first safety violation.
  bool stopped_on_violation = false;
  std::vector<Violation> violations;
  std::uint64_t agreement_violations = 0;
  std::uint64_t validity_violations = 0;
  std::uint64_t double_signs = 0;
  std::uint64_t false_evidence = 0;
  std::uint64_t stops = 0;  // correct replicas that stopped with no fault injected

  std::vector<std::uint32_t> byzantine_nodes;
  /// Evidence reports by correct nodes against each node (index = node).
  std::vector<std::uint64_t> evidence_against;

  /// Heights every correct node has decided (at most the target).
  Height heights_committed = 0;
  /// Decision round + 1 of each committed height, summed (for rounds per height).
  std::uint64_t rounds_sum = 0;
  /// Per correct node and height: simulated microseconds from StartHeight to Decide.
  std::vector<std::uint32_t> commit_latencies_us;

  Time heal_time = 0;
  Time liveness_bound = 0;
  /// When the last correct node reached the target, counted from the heal (0 if it did
  /// before the heal); meaningful only if complete.
  Time time_to_target_after_heal = 0;
  Time end_time = 0;

  std::uint64_t events = 0;
  std::uint64_t messages_sent = 0;  // one per recipient
  std::uint64_t messages_dropped = 0;
  std::uint64_t messages_duplicated = 0;
  std::uint64_t help_sent = 0;        // commits correct replicas sent peers a height behind
  std::uint64_t blocks_synced = 0;    // heights correct replicas decided from block sync
  std::uint64_t frames_rejected = 0;  // frames correct replicas refused (bad signature, ...)
  std::uint64_t round_changes = 0;
  std::uint64_t validator_changes = 0;  // heights from which a new set was in force
  std::uint64_t crashes = 0;
  /// --crash-restart: restarts from the WAL, torn tails cut on restart, own messages the
  /// replay produced that were never durable (so never sent: dropped), and messages the
  /// double-sign guard refused (0 unless the WAL discipline failed).
  std::uint64_t recoveries = 0;
  std::uint64_t torn_tails_repaired = 0;
  std::uint64_t unsent_after_recovery = 0;
  std::uint64_t guard_refusals = 0;
  /// --disk-faults: fsyncs made to fail, bits flipped in synced bytes, and nodes whose
  /// disks then refused to open (down for the rest of the run, as docs/WAL.md says).
  std::uint64_t failed_syncs = 0;
  std::uint64_t bits_flipped = 0;
  std::uint64_t stored_bits_flipped = 0;  // --blocks: of those, in a block store's files
  std::uint64_t nodes_lost = 0;
  /// --blocks: client transactions submitted, and committed (each once: a second commit
  /// is a validity violation); blocks restarted engines replayed into their application.
  std::uint64_t txs_submitted = 0;
  std::uint64_t txs_committed = 0;
  std::uint64_t blocks_replayed = 0;

  bool failed() const noexcept { return !violations.empty(); }
};

/// Errors: invalid_argument (options that do not validate).
Result<RunResult> run_simulation(const SimOptions& options, std::uint64_t seed, const RunHooks& hooks = {});

}  // namespace bft::sim
