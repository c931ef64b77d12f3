// Everything that defines a simulated cluster except its seed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "bft/config.hpp"
#include "bft/result.hpp"
#include "bft/sim/network.hpp"

namespace bft::sim {

/// What the Byzantine validators do (see docs/SIMULATOR.md for the exact strategies).
enum class Fault : std::uint8_t {
  equivocate,  // two different proposals / votes per slot, one to each half of the network
  silent,      // never sends anything
  random,      // well-formed messages with arbitrary heights, rounds, types and values
  amnesia,     // prevotes for the current proposal whatever its own lock says
};

std::string_view to_string(Fault fault) noexcept;
std::optional<Fault> parse_fault(std::string_view text) noexcept;

enum class ProposerRule : std::uint8_t { round_robin, weighted_round_robin, seed_pcg };

std::string_view to_string(ProposerRule rule) noexcept;
std::optional<ProposerRule> parse_proposer_rule(std::string_view text) noexcept;

struct SimOptions {
  std::size_t validators = 4;
  /// Vote power (and propose weight) per validator; empty means 1 each.
  std::vector<std::uint64_t> weights;
  /// The run succeeds when every correct node has decided this height (heights start at 1).
  Height heights = 10;
  /// Nodes beyond the validators, with no vote at genesis: they follow the chain, and
  /// validator changes make them validators and back.
  std::size_t full_nodes = 0;
  /// Every this many heights a block changes the validator set, two heights later: with
  /// full nodes, one joins (power 1) and at the next change leaves; without, a correct
  /// validator's power grows by one and then is back. 0: the set never changes.
  Height validator_change_every = 0;
  std::size_t byzantine = 0;
  Fault fault = Fault::equivocate;
  /// Accept Byzantine power of a third or more: safety is then not guaranteed, which the
  /// checkers must notice.
  bool allow_unsafe = false;
  ProposerRule proposer = ProposerRule::weighted_round_robin;

  NetworkModel network;
  /// Timeouts sized for the default network (10..50 ms links).
  Config consensus = default_consensus();
  /// How often each replica re-sends its own messages of its height, with its status
  /// (node::ReplicaOptions::gossip_interval). 0: derive from the network (4 * max delay,
  /// at least 20 ms).
  Time gossip_interval = 0;
  /// Every correct node must reach `heights` within this long after the network heals.
  /// 0: derive from the timeouts and the number of heights (see liveness_bound()).
  Time liveness_bound = 0;
  /// Crash correct nodes at random points (at once, or in the middle of a disk write) and
  /// restart them from their write-ahead log (in-memory disks; see docs/WAL.md).
  bool crash_restart = false;
  /// Disk faults at the crashes (needs crash_restart): some crashes become a failed fsync
  /// (the node stops at its next sync, and restarts) or a flipped bit in a synced byte
  /// of its WAL or guard file (at the restart the log repairs a damaged tail, or refuses
  /// to open and the node stays down: docs/WAL.md). One correct node may be lost that
  /// way, so the Byzantine bound is checked with one more faulty node.
  bool disk_faults = false;
  /// A broken node, to show that the checkers catch one: a crashed node comes back with
  /// empty disks (its write-ahead log and double-sign guard lost), as if its disks had
  /// acknowledged syncs they never did. Needs crash_restart.
  bool wipe_disks_on_crash = false;
  /// Sign with ed25519 instead of the simulation's hash signatures (slower; the same
  /// runs otherwise, but for the bytes of signatures).
  bool real_crypto = false;
  /// Each node's ledger is the engine bft-node runs (node::Blockchain: block store in
  /// memory, mempool, start-up handshake) with a simulated application (bft/sim/chain.hpp),
  /// and each correct node's commit brings its mempool a new client transaction. Without,
  /// a ledger of certificates whose values are "ok:<height>.<proposer>".
  bool blocks = false;

  static Config default_consensus();

  std::uint64_t weight(std::size_t node) const { return weights.empty() ? 1 : weights[node]; }
  Time effective_gossip_interval() const;
  Time effective_liveness_bound() const;

  /// Errors: invalid_argument (no validators, weights of the wrong length, Byzantine power
  /// of a third or more without allow_unsafe, a bad network or consensus config).
  Result<void> validate() const;
};

}  // namespace bft::sim
