// One validator's consensus engine: the pure core with everything a real node puts
// around it — the write-ahead log and the double-sign guard (an own message is durable
// before it leaves), signatures on everything sent and checked on everything received,
// gossip (own messages re-sent on a timer), help for peers one height behind, block sync
// for peers further behind, and the ledger's commit before the next height starts.
//
// Single-threaded and free of IO of its own: frames come in through on_frame(), time
// through the `now` arguments, and everything leaves through the Network and Ledger
// interfaces, so tests run several replicas in one thread on made-up time. bft-node runs
// one on its asio thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "bft/codec/codec.hpp"
#include "bft/codec/messages.hpp"
#include "bft/codec/sign_bytes.hpp"
#include "bft/config.hpp"
#include "bft/core.hpp"
#include "bft/crypto/signer.hpp"
#include "bft/metrics/registry.hpp"
#include "bft/node/log.hpp"
#include "bft/node/validators.hpp"
#include "bft/proposer.hpp"
#include "bft/result.hpp"
#include "bft/types.hpp"
#include "bft/wal/storage.hpp"
#include "bft/wal/wal.hpp"

namespace bft::node {

using TimePoint = std::chrono::steady_clock::time_point;

/// The decided chain, as the replica sees it: where proposals come from, what a proposal
/// must satisfy, and where decisions go. bft::node::Blockchain implements it over the
/// block store, the mempool and the Application.
class Ledger {
 public:
  virtual ~Ledger() = default;
  /// The value to propose at `height` (committed_height() + 1), this node proposing.
  virtual Value propose(Height height) = 0;
  /// Whether `proposer`'s proposal of `value` at (`height`, `round`) may be decided.
  /// `valid_round` is the proposal's (nil_round for a value proposed afresh): a value
  /// re-proposed from an earlier round was built by that round's proposer.
  /// `unknown` for a height the ledger cannot judge yet (beyond committed_height() + 1):
  /// the replica asks again once the heights before it are committed. `unknown` for the
  /// next height too when the ledger judges it asynchronously: it then hands the verdict
  /// to Replica::on_verdict later (until then the core waits, or the round times out).
  virtual Validity check_proposal(Height height, Round round, const Value& value, const Address& proposer,
                                  Round valid_round) = 0;
  /// `commit` (a quorum of precommits; it holds the value) decided the next height:
  /// make it durable and apply it. The replica starts the next height only after this
  /// returns; an error stops the replica. `commit_ms`: from the height's start to now.
  virtual Result<void> commit(const codec::QuorumCertificate& commit, std::uint32_t commit_ms) = 0;
  /// The highest committed height (0 before the first).
  virtual Height committed_height() const = 0;
  /// The lowest height still stored (1 unless blocks were pruned). A peer asking for less
  /// is told so (PrunedBelow).
  virtual Height base_height() const = 0;
  /// The commit certificate of a committed height, to serve peers that sync; nullopt if
  /// the height is not (or no longer) stored. An error: it is, but cannot be read.
  virtual Result<std::optional<codec::QuorumCertificate>> committed(Height height) const = 0;
  /// The validator sets by height, decided up to committed_height() + 2 (a block's
  /// updates are in force two heights later).
  virtual const ValidatorHistory& validators() const = 0;
};

/// The transport, as the replica sees it: authenticated peers, frames in and out.
class Network {
 public:
  virtual ~Network() = default;
  virtual void broadcast(std::shared_ptr<const Bytes> frame) = 0;
  virtual void send(const Address& to, std::shared_ptr<const Bytes> frame) = 0;
};

struct ReplicaOptions {
  explicit ReplicaOptions(codec::ChainId chain_id) : chain(std::move(chain_id)) {}

  codec::ChainId chain;
  Config consensus;
  /// Who proposes each round; every node of a chain must use the same rule.
  std::function<std::unique_ptr<ProposerSelector>()> make_selector = make_weighted_round_robin_selector;
  /// Told of every equivocation the core proves, after the replica has logged and counted
  /// it (a simulation checks that only faulty validators are reported). May be empty.
  std::function<void(const Evidence&)> on_evidence;
  /// Own messages of the current height are re-sent this often (messages lost while a
  /// connection was down), together with a status that tells peers where this node is.
  std::chrono::milliseconds gossip_interval{200};
  /// A peer reported at a later height for this long makes this node fetch blocks
  /// (a peer two or more heights ahead does at once). Also the wait before a request is
  /// repeated.
  std::chrono::milliseconds sync_patience{500};
  /// A peer whose status shows it one height behind gets that height's commit
  /// certificate if it is still behind this much later: most such statuses crossed the
  /// peer's own decision, and answering each at once costs up to n^2 certificates a
  /// height among n validators.
  std::chrono::milliseconds help_delay{50};
  /// Commit certificates per sync answer.
  std::size_t sync_batch = 16;
  /// Blocks served to one peer per second, in bursts of up to four batches: however
  /// often a peer asks, it cannot make this node read its block store without bound.
  std::uint32_t sync_blocks_per_second = 2000;
  /// 64 heights per segment: a new segment file, its directory sync, the sync that seals
  /// the last one and the removal of an old one (about 1.5 ms together on this project's
  /// disk) come once per 64 heights instead of at every height. A restart replays at most
  /// 64 + keep_heights heights of records, a few milliseconds. Segments are preallocated
  /// (64 heights hold ~70 KB at light load): a sync then flushes data only, ~90 us
  /// instead of ~145 us for an append that grows the file (ext4, this project's disk).
  /// Large blocks end a segment after 2 MiB, so that a restart reads a few MiB of log
  /// whatever the block size.
  wal::WalOptions wal = {.heights_per_segment = 64, .max_segment_bytes = 2 << 20, .preallocate_bytes = 256 << 10};
  /// The same for the double-sign guard's files (64 heights hold ~7 KB).
  std::uint64_t guard_preallocate_bytes = 16 << 10;
  codec::Limits limits;
  /// Where the replica registers what it measures (commit latency, rounds per height,
  /// time per step, messages received and rejected); none if null. Must outlive it.
  metrics::Registry* metrics = nullptr;
};

struct ReplicaStats {
  std::uint64_t heights_committed = 0;
  std::uint64_t frames_received = 0;
  std::uint64_t frames_rejected = 0;  // undecodable, bad signature, unknown signer
  std::uint64_t inputs_rejected = 0;  // well-signed, but refused by the core (stale, duplicate, ...)
  std::uint64_t duplicates_ignored = 0;  // proposals and votes held already (gossip repeats)
  std::uint64_t stale_ignored = 0;  // proposals and votes of decided heights, dropped unchecked
  /// Messages of heights whose validator set this node has yet to decide (more than two
  /// heights ahead) that no set it knows of carries: dropped, not judged.
  std::uint64_t set_undecided_ignored = 0;
  std::uint64_t evidence = 0;
  std::uint64_t sync_requests = 0;
  std::uint64_t blocks_synced = 0;
  std::uint64_t sync_blocks_served = 0;       // blocks sent in answer to peers' requests
  std::uint64_t sync_requests_throttled = 0;  // requests beyond the peer's budget, unanswered
  std::uint64_t sync_pruned_answers = 0;      // peers' answers that they pruned what was asked
  /// Decisions whose certificate came from a peer: after a restart the log holds the
  /// votes that decided, but not their signatures.
  std::uint64_t certificates_fetched_after_decision = 0;
  std::uint64_t help_sent = 0;
  std::uint64_t blocks_unreadable = 0;  // committed blocks that could not be read to serve a peer
  std::uint64_t guard_refusals = 0;
};

/// What opening the replica found on disk.
struct RecoveryInfo {
  wal::RecoveryReport wal;
  std::size_t replayed_inputs = 0;
  std::size_t unsent_own_messages = 0;  // never durable, so never sent: signed again
  Height resumed_height = 0;
  Round resumed_round = nil_round;
};

class Replica {
 public:
  /// Opens the guard and the WAL, replays the log into a fresh core, reconciles it with
  /// the ledger's committed height and starts. Each height runs with the ledger's
  /// validators of that height; while the signer is not one of them, the replica follows
  /// the chain (gossip, block sync) and signs nothing. Errors: invalid_argument (bad
  /// options), the WAL's (corrupt_log, replay_diverged,
  /// io_error), and invalid_argument when the log is ahead of the ledger's blocks
  /// (the data directory is inconsistent).
  static Result<std::unique_ptr<Replica>> open(ReplicaOptions options, const crypto::Signer& signer,
                                               wal::Storage& wal_storage, wal::Storage& guard_storage,
                                               Ledger& ledger, Network& network, const Logger& logger,
                                               TimePoint now);
  ~Replica();
  Replica(const Replica&) = delete;
  Replica& operator=(const Replica&) = delete;

  /// A frame from an authenticated peer.
  void on_frame(const Address& from, std::span<const std::uint8_t> frame, TimePoint now);
  /// A peer (re)connected: it may have missed anything, so it gets this node's status
  /// and own messages of the current height.
  void on_peer_connected(const Address& peer, TimePoint now);
  /// The ledger's asynchronous verdict on a proposal it answered `unknown` for; one for
  /// a height or round already over is ignored.
  void on_verdict(Height height, Round round, const Value& value, bool valid, TimePoint now);
  /// Fires what is due: timeouts, gossip, sync, and the start of the next height. Call at
  /// next_deadline() (or later). No call finishes more than one height: the next one
  /// starts on the host's next turn, so a host can always stop or serve in between.
  void on_time(TimePoint now);
  TimePoint next_deadline() const;

  /// Set once the replica cannot go on safely (disk error, a guard that cannot record):
  /// it then ignores every input. The node must stop.
  const std::optional<Error>& fatal() const noexcept;

  Height height() const noexcept;
  Round round() const noexcept;
  Step step() const noexcept;
  const ReplicaStats& stats() const noexcept;
  const RecoveryInfo& recovery() const noexcept;

 private:
  class Impl;
  explicit Replica(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace bft::node
