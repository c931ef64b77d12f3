// The cluster: N shipped replicas (bft::node::Replica, unmodified) on simulated time,
// each with in-memory disks that lose what was not synced, an in-memory ledger, and an
// endpoint of the simulated network. Nothing of a node's logic lives here: only the
// network model, the faults (crashes, Byzantine hooks around a replica's signer and
// network), the checkers and the trace, all advanced by one seeded event queue.
#include "bft/sim/simulation.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <unordered_map>
#include <variant>

#include "bft/crypto/ed25519.hpp"
#include "bft/crypto/signing.hpp"
#include "bft/node/block.hpp"
#include "bft/node/replica.hpp"
#include "bft/node/wire.hpp"
#include "bft/sim/application.hpp"
#include "bft/sim/chain.hpp"
#include "bft/sim/event_queue.hpp"
#include "bft/sim/rng.hpp"
#include "bft/sim/signing.hpp"
#include "bft/wal/storage.hpp"

namespace bft::sim {

namespace {

using node::TimePoint;
using Frame = std::shared_ptr<const Bytes>;

/// Simulated time 0. The replica reads TimePoint{} as "never", so the run starts later.
const TimePoint epoch = TimePoint{} + std::chrono::hours(1);
TimePoint time_point(Time t) { return epoch + std::chrono::microseconds(t); }
Time sim_time(TimePoint t) {
  return t <= epoch ? 0 : static_cast<Time>(std::chrono::duration_cast<std::chrono::microseconds>(t - epoch).count());
}
std::chrono::milliseconds whole_ms(Time t) {
  return std::chrono::milliseconds(std::max<Time>(1, (t + micros_per_ms - 1) / micros_per_ms));
}

/// Block times (--blocks): simulated time from this Unix time on.
constexpr std::uint64_t sim_epoch_unix_ms = 1'800'000'000'000;

const codec::ChainId& sim_chain() {
  static const codec::ChainId id = codec::ChainId::create("bft-sim").value();
  return id;
}

/// Node-decisions between two prunings of ledgers and checker records.
constexpr std::uint64_t prune_every_decisions_per_node = 32;
/// Time between two chances of a crash (--crash-restart).
constexpr Time crash_interval = from_ms(300);

[[noreturn]] void invariant_failed(const std::string& what) {
  std::fprintf(stderr, "bft-sim: internal error: %s\n", what.c_str());
  std::abort();
}

std::unique_ptr<ProposerSelector> make_selector(ProposerRule rule) {
  switch (rule) {
    case ProposerRule::round_robin: return make_round_robin_selector();
    case ProposerRule::weighted_round_robin: return make_weighted_round_robin_selector();
    case ProposerRule::seed_pcg: return make_seed_pcg_selector();
  }
  return make_weighted_round_robin_selector();
}

/// What the trace shows of a frame.
struct Label {
  MessageKind kind = MessageKind::status;
  Height height = 0;
  Round round = 0;
  bool nil = false;
};

Label label_of(const node::WireMessage& message) {
  if (const auto* consensus = std::get_if<codec::Message>(&message)) {
    if (const auto* p = std::get_if<codec::SignedProposal>(consensus)) return {MessageKind::proposal, p->height, p->round};
    if (const auto* v = std::get_if<codec::SignedVote>(consensus))
      return {v->vote.type == VoteType::prevote ? MessageKind::prevote : MessageKind::precommit, v->vote.height,
              v->vote.round, !v->vote.value};
    const auto& c = std::get<codec::QuorumCertificate>(*consensus);
    return {MessageKind::certificate, c.height, c.round};
  }
  if (const auto* s = std::get_if<node::PeerStatus>(&message)) return {MessageKind::status, s->height};
  if (const auto* r = std::get_if<node::SyncRequest>(&message)) return {MessageKind::sync_request, r->from};
  if (const auto* p = std::get_if<node::PrunedBelow>(&message)) return {MessageKind::pruned, p->base};
  return {};
}

Proposal unsigned_proposal(const codec::SignedProposal& p) {
  return Proposal{p.height, p.round, p.value, p.valid_round, p.proposer, {}};
}

class Cluster;

/// A node's application and block store, in memory (the blocks a node committed survive
/// its crashes, as a synced block store does): commit certificates by height, values
/// "ok:<height>.<proposer>", anything else invalid.
///
/// With --validator-change-every P, the block of every P-th height makes the validator
/// set of two heights later the cluster's target for it (validator_target()), through
/// the same rules a node applies to an application's updates (apply_validator_updates):
/// every node's ledger then keeps its own history of sets. Without, all share one.
class SimLedger final : public node::Ledger {
 public:
  SimLedger(Cluster& cluster, std::uint32_t index, const node::ValidatorHistory* shared)
      : cluster_(cluster), index_(index), history_(shared) {}
  SimLedger(Cluster& cluster, std::uint32_t index, node::ValidatorHistory own)
      : cluster_(cluster), index_(index), own_(std::move(own)), history_(&*own_) {}

  Value propose(Height height) override { return proposed_value(height, index_); }
  Validity check_proposal(Height height, Round, const Value& value, const Address&, Round) override {
    if (height > committed_height() + 1) return Validity::unknown;  // asked again when its turn comes
    return validity_of(value);
  }
  Result<void> commit(const codec::QuorumCertificate& commit, std::uint32_t) override;
  Height committed_height() const override { return base_ + blocks_.size() - 1; }
  Height base_height() const override { return base_; }
  Result<std::optional<codec::QuorumCertificate>> committed(Height height) const override {
    if (height < base_ || height > committed_height()) return std::optional<codec::QuorumCertificate>{};
    return std::optional<codec::QuorumCertificate>{blocks_[height - base_]};
  }
  const node::ValidatorHistory& validators() const override { return *history_; }

  /// Forgets the blocks below `height` (no node needs them any more); peers asking for
  /// them are told they are pruned.
  void prune_below(Height height) {
    while (base_ < height && !blocks_.empty()) {
      blocks_.pop_front();
      ++base_;
    }
  }

 private:
  /// The set the cluster wants from height + 2 on, as updates to the set in force then.
  void change_validators(Height height);

  Cluster& cluster_;
  std::uint32_t index_;
  std::optional<node::ValidatorHistory> own_;  // with validator changes
  const node::ValidatorHistory* history_;
  Height base_ = 1;
  std::deque<codec::QuorumCertificate> blocks_;  // height base_ + i
};

/// A node's end of the simulated network.
class SimLink final : public node::Network {
 public:
  SimLink(Cluster& cluster, std::uint32_t index) : cluster_(cluster), index_(index) {}
  void broadcast(Frame frame) override;
  void send(const Address& to, Frame frame) override;

 private:
  Cluster& cluster_;
  std::uint32_t index_;
};

struct Node {
  std::uint32_t index = 0;
  Address address;
  std::optional<Fault> fault;  // nullopt: correct
  std::unique_ptr<crypto::Signer> signer;
  wal::MemoryStorage wal_disk;
  wal::MemoryStorage guard_disk;
  // The ledger: certificates only, or with --blocks the engine (open while the node is up).
  std::unique_ptr<SimLedger> certificates;
  std::unique_ptr<ChainLedger> chain;
  node::Ledger* ledger = nullptr;
  std::unique_ptr<SimLink> link;
  node::ReplicaOptions options{sim_chain()};
  std::unique_ptr<node::Replica> replica;  // null while down (and for a silent node)

  /// The pending wake-up event's token (0: none) and time: a replica's deadline can only
  /// be brought forward by another call, so a later event is superseded, not removed.
  std::uint64_t wake_token = 0;
  Time wake_at = 0;
  bool crash_armed = false;  // a coming disk write or sync will fail (--crash-restart)
  bool damaged = false;      // a bit of a synced byte was flipped since it last opened
  bool store_damaged = false;  // --blocks: a bit of its block store was flipped (it may surface at any read)
  bool lost = false;         // its damaged disks refused to open: down for the rest of the run
  Time height_started = 0;

  Height seen_height = 0;
  Round seen_round = nil_round;
  Step seen_step = Step::propose;

  /// A Byzantine node's proposals heard and sent, for its strategies.
  std::vector<Proposal> proposals;

  bool correct() const { return !fault.has_value(); }
  Height decided() const { return ledger->committed_height(); }
};

/// One frame on its way: a parcel holds its deliveries sorted by time, and the queue one
/// event for the next, so a broadcast to n peers costs one queued event, not n.
struct Delivery {
  Time at;
  std::uint64_t key;  // seeded tie-break among deliveries due at the same time
  std::uint32_t to;
};

struct Parcel {
  Frame frame;
  Label label;
  std::uint32_t from = 0;
  std::uint32_t next = 0;
  std::vector<Delivery> deliveries;
};

// ---- the cluster --------------------------------------------------------------------

class Cluster {
 public:
  Cluster(const SimOptions& options, std::uint64_t seed, const RunHooks& hooks)
      : options_(options),
        hooks_(hooks),
        trace_(hooks.trace),
        root_rng_(seed),
        queue_(root_rng_.fork(1).next()),
        net_rng_(root_rng_.fork(2)),
        adversary_rng_(root_rng_.fork(3)),
        crash_rng_(root_rng_.fork(4)),
        checker_(std::vector<bool>(options.validators, true)),
        logger_(node::LogLevel::error, {}, [](std::string_view) {}) {
    result_.seed = seed;
    result_.heal_time = options.network.heal_time();
    result_.liveness_bound = options.effective_liveness_bound();
    deadline_ = result_.heal_time + result_.liveness_bound;
  }

  Height validator_change_every() const { return options_.validator_change_every; }

  Result<RunResult> run() {
    if (auto ok = build(); !ok) return ok.error();
    for (auto& node : nodes_)
      if (node->fault != Fault::silent) open_replica(*node);
    for (auto& node : nodes_)
      if (node->replica) connect(*node);
    if (options_.crash_restart) queue_.push(crash_interval + crash_rng_.below(crash_interval), EventKind::crash_tick, 0, 0);
    loop();
    finish();
    return std::move(result_);
  }

  // ---- what the nodes' ledgers and links report ----

  void on_commit(std::uint32_t index, const codec::QuorumCertificate& commit) {
    Node& node = *nodes_[index];
    const Value& value = *commit.value;  // a commit certificate always holds its value
    // The transactions of a block a correct node committed at this height are judged.
    const bool judged = node.correct() && checker_.decided(commit.height, value);
    checker_.on_decide(index, commit.height, commit.round, value, now_);
    if (node.chain) {
      if (!judged) check_transactions(node, commit.height, value);
      // As a client would: the next transaction, to a node that just committed.
      if (node.correct() && node.chain->submit(simulated_tx(next_tx_++)).accepted()) ++result_.txs_submitted;
    }
    if (trace_) trace_->decisions.push_back({now_, index, commit.height, commit.round, value.to_string()});
    if (node.correct()) {
      result_.commit_latencies_us.push_back(static_cast<std::uint32_t>(
          std::min<Time>(now_ - node.height_started, std::numeric_limits<std::uint32_t>::max())));
      if (commit.height == options_.heights) ++reached_target_;
    }
    node.height_started = now_;
    if (++decisions_since_prune_ >= prune_every_decisions_per_node * nodes_.size()) prune();
  }

  /// --blocks: every transaction of a decided block must be one a client sent, and
  /// committed at one height only.
  void check_transactions(Node& node, Height height, const Value& value) {
    auto block = node::decode_block(value.bytes());
    if (!block) return;  // not a block: the validity checker reports the value itself
    for (const node::Tx& tx : block->txs) {
      const auto number = simulated_tx_number(tx);
      if (!number || *number >= next_tx_) {
        checker_.on_invalid_commit(node.index,
                                   "committed a transaction no client sent at h=" + std::to_string(height), now_);
        continue;
      }
      const auto [first, fresh] = committed_txs_.try_emplace(*number, height);
      if (fresh) {
        ++result_.txs_committed;
      } else if (first->second != height) {
        checker_.on_invalid_commit(node.index,
                                   "committed transaction " + std::to_string(*number) + " at h=" +
                                       std::to_string(height) + ", committed already at h=" +
                                       std::to_string(first->second),
                                   now_);
      }
    }
  }

  /// An equivocator's second value beside `value`: with --blocks the same block a
  /// millisecond later, which every correct node accepts as well; else one no node accepts.
  Value second_value(const Value& value) const {
    if (options_.blocks)
      if (auto block = node::decode_block(value.bytes())) {
        ++block->header.time_unix_ms;
        return node::encode_block(block->header, block->txs);
      }
    return Value::from_text(std::string(value.view()) + "~");
  }

  /// Whether a correct node's ledger could accept `value`: the checker's validity, and
  /// what amnesia prevotes.
  bool valid_value(const Value& value) const {
    return options_.blocks ? node::decode_block(value.bytes()).ok() : is_valid_value(value);
  }

  /// The validators the k-th change aims at: with full nodes, on odd k the next full
  /// node joins with power 1 and on even k it leaves; without, on odd k a correct
  /// validator's power grows by one and on even k it is back. Never more Byzantine power.
  std::vector<node::ValidatorKey> validator_target(std::uint64_t k) const {
    std::vector<node::ValidatorKey> target = genesis_;
    if (k % 2 == 0) return target;
    const std::uint64_t turn = k / 2;
    if (options_.full_nodes > 0) {
      const Node& joining = *nodes_[options_.validators + turn % options_.full_nodes];
      target.push_back({joining.signer->public_key(), 1});
    } else if (!correct_validators_.empty()) {
      ++target[correct_validators_[turn % correct_validators_.size()]].power;
    }
    return target;
  }

  void on_validator_change(Height height) {
    if (changes_seen_.insert(height).second) ++result_.validator_changes;
  }

  void on_evidence(std::uint32_t observer, const Evidence& evidence) {
    const auto offender = index_.find(evidence.offender());
    if (offender == index_.end()) return;
    checker_.on_evidence(observer, offender->second, now_);
    if (trace_ && nodes_[observer]->correct()) trace_->evidence.push_back({now_, observer, offender->second});
  }

  void post(std::uint32_t from, std::optional<Address> to, Frame frame) {
    std::optional<std::uint32_t> recipient;
    if (to) {
      const auto found = index_.find(*to);
      if (found == index_.end()) return;
      recipient = found->second;
    }
    Node& node = *nodes_[from];
    auto decoded = node::decode_frame(*frame, node.options.limits);
    if (!decoded) invariant_failed("v" + std::to_string(from) + " sent a frame it cannot decode: " + decoded.error().message);
    observe_sent(node, *decoded);
    const Label label = label_of(*decoded);
    if (node.correct() || !adversary(node, recipient, frame, *decoded)) send(from, recipient, std::move(frame), label);
  }

 private:
  // ---- setup ----

  Result<void> build() {
    const std::size_t n = options_.validators + options_.full_nodes;
    nodes_.reserve(n);
    for (std::uint32_t i = 0; i < n; ++i) {
      auto node = std::make_unique<Node>();
      node->index = i;
      if (options_.real_crypto) {
        crypto::Seed seed{};
        for (std::size_t b = 0; b < 4; ++b) seed[b] = static_cast<std::uint8_t>(i >> (8 * b));
        seed[4] = 0x5e;
        node->signer = std::make_unique<crypto::Ed25519Signer>(crypto::Ed25519Signer::from_seed(seed));
      } else {
        node->signer = std::make_unique<SimulatedSigner>(i);
      }
      node->address = crypto::address_of(node->signer->public_key());
      index_.emplace(node->address, i);
      if (i < options_.validators) genesis_.push_back({node->signer->public_key(), options_.weight(i)});
      nodes_.push_back(std::move(node));
    }
    const crypto::SignatureScheme& scheme = options_.real_crypto ? crypto::ed25519_scheme() : simulated_scheme();
    auto history = node::ValidatorHistory::create(genesis_, scheme);
    if (!history) return history.error();
    validators_.emplace(std::move(*history));

    // The Byzantine validators (never a full node) and the two halves an equivocator
    // splits the network into are drawn per seed: every seed attacks from different
    // positions.
    std::vector<std::uint32_t> order(options_.validators);
    for (std::uint32_t i = 0; i < order.size(); ++i) order[i] = i;
    shuffle(order);
    for (std::uint32_t i = static_cast<std::uint32_t>(options_.validators); i < n; ++i) order.push_back(i);
    std::vector<bool> correct(n, true);
    for (std::size_t i = 0; i < options_.byzantine; ++i) correct[order[i]] = false;
    side_.assign(n, 0);
    std::size_t correct_seen = 0;
    correct_count_ = n - options_.byzantine;
    for (std::size_t i = options_.byzantine; i < n; ++i)  // Byzantine nodes stay on side 0
      side_[order[i]] = correct_seen++ < (correct_count_ + 1) / 2 ? 0 : 1;
    checker_ = SafetyChecker(correct, [this](const Value& value) { return valid_value(value); });
    for (std::uint32_t i = 0; i < options_.validators; ++i)
      if (correct[i]) correct_validators_.push_back(i);

    const Time gossip = options_.effective_gossip_interval();
    for (auto& node : nodes_) {
      const std::uint32_t i = node->index;
      if (!correct[i]) {
        node->fault = options_.fault;
        result_.byzantine_nodes.push_back(i);
      }
      if (options_.blocks) {
        ChainLedger::Options chain(sim_chain());
        chain.genesis = genesis_;
        chain.scheme = &scheme;
        chain.self = node->address;
        chain.unix_ms = [this] { return sim_epoch_unix_ms + now_ / micros_per_ms; };
        chain.on_commit = [this, i](const codec::QuorumCertificate& commit) { on_commit(i, commit); };
        chain.validator_plan.every = options_.validator_change_every;
        chain.validator_plan.target = [this](std::uint64_t k) { return validator_target(k); };
        chain.on_validator_change = [this](Height height) { on_validator_change(height); };
        node->chain = std::make_unique<ChainLedger>(std::move(chain), logger_);
        node->ledger = node->chain.get();
      } else if (options_.validator_change_every == 0) {
        node->certificates = std::make_unique<SimLedger>(*this, i, &*validators_);
        node->ledger = node->certificates.get();
      } else {
        auto own = node::ValidatorHistory::create(genesis_, scheme);
        if (!own) return own.error();
        node->certificates = std::make_unique<SimLedger>(*this, i, std::move(*own));
        node->ledger = node->certificates.get();
      }
      node->link = std::make_unique<SimLink>(*this, i);
      node::ReplicaOptions& o = node->options;
      o.consensus = options_.consensus;
      o.make_selector = [rule = options_.proposer] { return make_selector(rule); };
      o.on_evidence = [this, i](const Evidence& evidence) { on_evidence(i, evidence); };
      o.gossip_interval = whole_ms(gossip);
      o.sync_patience = whole_ms(4 * options_.network.max_delay() + gossip);
      o.help_delay = whole_ms(2 * options_.network.max_delay());
      // In-memory disks: preallocation would only hold memory.
      o.wal.preallocate_bytes = 0;
      o.guard_preallocate_bytes = 0;
    }

    if (trace_) {
      trace_->seed = result_.seed;
      trace_->fault = std::string(to_string(options_.fault));
      trace_->partitions = options_.network.partitions;
      for (const auto& node : nodes_) {
        trace_->node_names.push_back("v" + std::to_string(node->index));
        trace_->byzantine.push_back(!node->correct());
      }
    }
    return {};
  }

  void shuffle(std::vector<std::uint32_t>& items) {
    for (std::size_t i = items.size(); i > 1; --i) std::swap(items[i - 1], items[adversary_rng_.below(i)]);
  }

  // ---- the event loop ----

  void loop() {
    std::uint64_t until_progress = hooks_.progress_every;
    while (!queue_.empty()) {
      const Event event = queue_.pop();
      if (event.at > deadline_) break;
      now_ = event.at;
      ++result_.events;
      switch (event.kind) {
        case EventKind::deliver: deliver_next(static_cast<std::uint32_t>(event.arg)); break;
        case EventKind::wake: wake(*nodes_[event.node], event.arg); break;
        case EventKind::crash_tick: crash_tick(); break;
        case EventKind::restart: restart(*nodes_[event.node]); break;
      }
      if (!checker_.safe()) {
        result_.stopped_on_violation = true;
        break;
      }
      if (reached_target_ + result_.nodes_lost == correct_count_) {
        result_.complete = true;
        break;
      }
      if (hooks_.progress && --until_progress == 0) {
        until_progress = hooks_.progress_every;
        hooks_.progress(progress());
      }
    }
  }

  Progress progress() const {
    Progress p{result_.seed, now_, std::numeric_limits<Height>::max(), 0, options_.heights, result_.round_changes};
    for (const auto& node : nodes_) {
      if (!node->correct()) continue;
      p.lowest_height = std::min(p.lowest_height, node->decided());
      p.highest_height = std::max(p.highest_height, node->decided());
    }
    if (correct_count_ == 0) p.lowest_height = 0;
    return p;
  }

  void finish() {
    result_.end_time = now_;
    if (result_.complete) {
      result_.time_to_target_after_heal = now_ > result_.heal_time ? now_ - result_.heal_time : 0;
    } else if (!result_.stopped_on_violation) {
      for (const auto& node : nodes_) {
        if (!node->correct() || node->lost || node->decided() >= options_.heights) continue;
        checker_.on_liveness_failure("correct v" + std::to_string(node->index) + " decided only " +
                                         std::to_string(node->decided()) + " of " + std::to_string(options_.heights) +
                                         " heights within the liveness bound (" +
                                         std::to_string(to_ms(result_.liveness_bound)) + " ms after the heal at " +
                                         std::to_string(to_ms(result_.heal_time)) + " ms)",
                                     now_);
      }
    }
    Height committed = options_.heights;
    for (const auto& node : nodes_)
      if (node->correct() && !node->lost) committed = std::min(committed, node->decided());
    result_.heights_committed = correct_count_ == result_.nodes_lost ? 0 : committed;
    for (const auto& [height, round] : checker_.decision_rounds())
      if (height <= result_.heights_committed) result_.rounds_sum += static_cast<std::uint64_t>(round) + 1;
    for (auto& node : nodes_)
      if (node->replica) count_stats(*node);
    result_.violations = checker_.violations();
    result_.agreement_violations = checker_.count(ViolationKind::agreement);
    result_.validity_violations = checker_.count(ViolationKind::validity);
    result_.double_signs = checker_.count(ViolationKind::double_sign);
    result_.false_evidence = checker_.count(ViolationKind::false_evidence);
    result_.stops = checker_.count(ViolationKind::stopped);
    result_.evidence_against = checker_.evidence_against();
    if (hooks_.progress) hooks_.progress(progress());
    if (trace_) {
      trace_->end = now_;
      for (const Violation& v : result_.violations)
        trace_->violations.push_back(std::string(to_string(v.kind)) + ": " + v.detail);
    }
  }

  // ---- driving a replica ----

  void open_replica(Node& node) {
    if (node.chain && !node.chain->is_open()) {
      // Nothing damages the block store's memory: an engine that cannot open is a bug.
      if (auto chain = node.chain->open(); !chain) {
        if (node.store_damaged) return lose(node);  // what docs/NODE.md promises: it refuses to start
        checker_.on_stop("v" + std::to_string(node.index) + " cannot open its chain: " + chain.error().message, now_);
        return;
      }
      result_.blocks_replayed += node.chain->replayed();
    }
    auto opened = node::Replica::open(node.options, *node.signer, node.wal_disk, node.guard_disk, *node.ledger, *node.link,
                                      logger_, time_point(now_));
    if (!opened) {
      // What docs/WAL.md promises for damage it cannot repair: the node refuses to start.
      if (node.damaged || node.store_damaged) return lose(node);
      checker_.on_stop("v" + std::to_string(node.index) + " cannot open its disks: " + opened.error().message, now_);
      return;
    }
    node.damaged = false;
    node.replica = std::move(*opened);
    node.height_started = now_;
  }

  /// The transport's connection to every peer up: both ends are told.
  void connect(Node& node) {
    for (auto& peer : nodes_) {
      if (peer.get() == &node || !peer->replica) continue;
      node.replica->on_peer_connected(peer->address, time_point(now_));
      peer->replica->on_peer_connected(node.address, time_point(now_));
      after(*peer);
    }
    after(node);
  }

  /// After every call into a replica: a stop, a changed step, the next wake-up.
  void after(Node& node) {
    if (!node.replica) return;
    if (const auto& fatal = node.replica->fatal()) {
      if (!node.correct() || node.crash_armed || node.wal_disk.crashed() || node.guard_disk.crashed()) {
        crash_now(node);  // the injected disk failure: the node stops, and is restarted
      } else if (node.store_damaged) {
        lose(node);  // a damaged block surfaced: the node stops rather than apply or serve it
      } else {
        checker_.on_stop("v" + std::to_string(node.index) + " stopped with no fault injected: " + fatal->message, now_);
        count_stats(node);
        node.replica.reset();
      }
      return;
    }
    observe_state(node);
    const Time due = std::max(now_, sim_time(node.replica->next_deadline()));
    if (node.wake_token != 0 && node.wake_at <= due) return;
    node.wake_token = ++wake_tokens_;
    node.wake_at = due;
    queue_.push(due, EventKind::wake, node.index, node.wake_token);
  }

  void wake(Node& node, std::uint64_t token) {
    if (token != node.wake_token) return;  // superseded by an earlier one
    node.wake_token = 0;
    if (!node.replica) return;
    node.replica->on_time(time_point(now_));
    after(node);
  }

  void observe_state(Node& node) {
    const node::Replica& r = *node.replica;
    if (r.height() == node.seen_height && r.round() == node.seen_round && r.step() == node.seen_step) return;
    if (node.correct() && r.round() > 0 && (r.round() != node.seen_round || r.height() != node.seen_height))
      ++result_.round_changes;
    node.seen_height = r.height();
    node.seen_round = r.round();
    node.seen_step = r.step();
    if (trace_) trace_->steps.push_back({now_, node.index, r.height(), r.round(), r.step()});
  }

  void count_stats(const Node& node) {
    const node::ReplicaStats& s = node.replica->stats();
    if (!node.correct()) return;
    result_.help_sent += s.help_sent;
    result_.blocks_synced += s.blocks_synced;
    result_.frames_rejected += s.frames_rejected;
    result_.guard_refusals += s.guard_refusals;
  }

  // ---- what left a node ----

  /// The checkers see every proposal on the wire and every message a correct node signed.
  void observe_sent(const Node& node, const node::WireMessage& message) {
    const auto* consensus = std::get_if<codec::Message>(&message);
    if (!consensus) return;
    if (const auto* p = std::get_if<codec::SignedProposal>(consensus)) {
      const Proposal proposal = unsigned_proposal(*p);
      checker_.on_proposal_sent(proposal);
      if (p->proposer == node.address) checker_.on_signed_proposal(node.index, proposal, now_);
    } else if (const auto* v = std::get_if<codec::SignedVote>(consensus)) {
      if (v->vote.voter == node.address) checker_.on_signed_vote(node.index, v->vote, now_);
    } else {
      const auto& certificate = std::get<codec::QuorumCertificate>(*consensus);
      for (const codec::VoteSignature& signature : certificate.signatures)
        if (signature.voter == node.address) checker_.on_signed_vote(node.index, certificate.vote_of(signature), now_);
    }
  }

  // ---- Byzantine nodes: a hook on what their (honest) replica sends ----

  /// Sends what the node's fault makes of `message`; false: the frame goes out as it is.
  bool adversary(Node& node, std::optional<std::uint32_t> to, const Frame& frame, const node::WireMessage& message) {
    const auto* consensus = std::get_if<codec::Message>(&message);
    if (!consensus) return false;
    if (const auto* p = std::get_if<codec::SignedProposal>(consensus); p && p->proposer == node.address) {
      remember_proposal(node, unsigned_proposal(*p));
      if (node.fault == Fault::equivocate) return equivocate_proposal(node, to, frame, unsigned_proposal(*p)), true;
      if (node.fault == Fault::random) return send_random_messages(node, to), true;
      return false;
    }
    if (const auto* v = std::get_if<codec::SignedVote>(consensus); v && v->vote.voter == node.address) {
      if (node.fault == Fault::equivocate) return equivocate_vote(node, to, v->vote), true;
      if (node.fault == Fault::random) return send_random_messages(node, to), true;
      if (node.fault == Fault::amnesia) return forget_lock(node, to, v->vote), true;
    }
    return false;
  }

  Frame signed_frame(const Node& node, const Proposal& proposal) {
    const crypto::VoteBook no_lock_votes;
    auto signed_proposal = crypto::sign_proposal(*node.signer, sim_chain(), proposal, no_lock_votes);
    if (!signed_proposal) invariant_failed("a Byzantine proposal that cannot be signed: " + signed_proposal.error().message);
    checker_.on_proposal_sent(proposal);
    return std::make_shared<const Bytes>(node::encode_frame(codec::Message{*signed_proposal}));
  }

  Frame signed_frame(const Node& node, const Vote& vote) {
    return std::make_shared<const Bytes>(node::encode_frame(codec::Message{crypto::sign_vote(*node.signer, sim_chain(), vote)}));
  }

  // equivocate: one proposal / vote to each side. The Byzantine nodes act as one
  // coalition: when one of them splits a round's proposal, all of them vote for the first
  // value towards side 0 and the second towards side 1, whatever their replicas chose.
  void equivocate_proposal(Node& node, std::optional<std::uint32_t> to, const Frame& signed_by_replica,
                           const Proposal& proposal) {
    Proposal other = proposal;
    other.value = second_value(proposal.value);
    other.valid_round = nil_round;  // a lock proof cannot be forged for the second value
    split_proposals_[{proposal.height, proposal.round}] = {proposal.value, other.value};
    send_split(node, to, signed_by_replica, signed_frame(node, other), MessageKind::proposal, proposal.height,
               proposal.round);
  }

  void equivocate_vote(Node& node, std::optional<std::uint32_t> to, Vote vote) {
    std::optional<Value> first = vote.value;
    std::optional<Value> second;
    if (auto split = split_proposals_.find({vote.height, vote.round}); split != split_proposals_.end()) {
      first = split->second.first;
      second = split->second.second;
    } else if (!vote.value) {
      if (const Proposal* p = proposal_of(node, vote.height, vote.round)) second = p->value;
    }
    const MessageKind kind = vote.type == VoteType::prevote ? MessageKind::prevote : MessageKind::precommit;
    vote.value = first;
    if (first == second) return send(node.index, to, signed_frame(node, vote), Label{kind, vote.height, vote.round, !first});
    Vote other = vote;
    other.value = std::move(second);
    send_split(node, to, signed_frame(node, vote), signed_frame(node, other), kind, vote.height, vote.round);
  }

  // amnesia: prevote for the round's valid proposal even when locked on something else.
  void forget_lock(Node& node, std::optional<std::uint32_t> to, Vote vote) {
    if (vote.type == VoteType::prevote)
      if (const Proposal* p = proposal_of(node, vote.height, vote.round); p && valid_value(p->value)) vote.value = p->value;
    const MessageKind kind = vote.type == VoteType::prevote ? MessageKind::prevote : MessageKind::precommit;
    send(node.index, to, signed_frame(node, vote), Label{kind, vote.height, vote.round, !vote.value});
  }

  // random: instead of each message its replica signs, every peer gets its own
  // well-formed but arbitrary proposal or vote (its own signature, any height near its
  // own, any round up to two ahead, nil, a known, a fresh or an invalid value).
  void send_random_messages(Node& node, std::optional<std::uint32_t> to) {
    for (std::uint32_t peer = 0; peer < nodes_.size(); ++peer) {
      if (peer == node.index || (to && peer != *to)) continue;
      Label label;
      Frame frame = random_message(node, label);
      const std::uint32_t parcel = open_parcel(node.index, std::move(frame), label);
      address(parcel, peer);
      close_parcel(parcel);
    }
  }

  Frame random_message(Node& node, Label& label) {
    Rng& rng = adversary_rng_;
    // What the node last showed (its replica sends while it opens, before it is set).
    const Height own_height = std::max<Height>(node.seen_height, 1);
    const Round own_round = std::max<Round>(node.seen_round, 0);
    static constexpr int offsets[] = {-1, 0, 0, 0, 1, 2};
    const int offset = offsets[rng.below(std::size(offsets))];
    const Height height = offset < 0 && own_height <= 1 ? own_height : own_height + offset;
    const auto round = static_cast<Round>(rng.below(static_cast<std::uint64_t>(own_round) + 3));
    auto value = [&]() -> std::optional<Value> {
      switch (rng.below(4)) {
        case 0: return std::nullopt;
        case 1:
          if (const Proposal* p = proposal_of(node, height, round)) return p->value;
          return proposed_value(height, node.index);
        case 2: return Value::from_text("ok:random." + std::to_string(rng.below(1000)));
        default: return Value::from_text("bad:" + std::to_string(rng.below(1000)));
      }
    };
    switch (rng.below(5)) {
      case 0: {
        label = {MessageKind::proposal, height, round};
        return signed_frame(node, Proposal{height, round, value().value_or(Value::from_text("bad:empty")), nil_round,
                                           node.address, {}});
      }
      case 1:
      case 2: {
        const Vote vote{VoteType::prevote, height, round, value(), node.address};
        label = {MessageKind::prevote, height, round, !vote.value};
        return signed_frame(node, vote);
      }
      default: {
        const Vote vote{VoteType::precommit, height, round, value(), node.address};
        label = {MessageKind::precommit, height, round, !vote.value};
        return signed_frame(node, vote);
      }
    }
  }

  const Proposal* proposal_of(const Node& node, Height height, Round round) const {
    for (const Proposal& p : node.proposals)
      if (p.height == height && p.round == round) return &p;
    return nullptr;
  }

  void remember_proposal(Node& node, Proposal proposal) {
    const Height current = node.seen_height;
    std::erase_if(node.proposals, [&](const Proposal& p) { return p.height + 1 < current; });
    if (proposal.height + 1 < current || proposal_of(node, proposal.height, proposal.round)) return;
    proposal.lock_votes.clear();
    node.proposals.push_back(std::move(proposal));
  }

  // ---- crashes and restarts (--crash-restart) ----

  /// Every crash interval, maybe one correct node crashes (at most one is down or about
  /// to crash at a time): either at once, losing every record not synced (with a torn
  /// prefix of them left behind), or at one of its next few disk writes, which then
  /// reaches the disk only in part — between a write and its fsync.
  ///
  /// With --disk-faults, while no node is lost yet, a crash may also be a failed fsync
  /// (of the WAL or the guard: the node stops at it) or a power loss after which one bit
  /// of a synced byte of one of its files is flipped.
  void crash_tick() {
    queue_.push(now_ + crash_interval, EventKind::crash_tick, 0, 0);
    for (const auto& node : nodes_)
      if ((node->correct() && !node->replica && !node->lost) || node->crash_armed) return;
    std::vector<std::uint32_t> candidates;
    for (const auto& node : nodes_)
      if (node->correct() && node->replica && node->decided() < options_.heights) candidates.push_back(node->index);
    if (candidates.empty() || !crash_rng_.chance(0.5)) return;
    Node& node = *nodes_[candidates[crash_rng_.below(candidates.size())]];
    // One node may be lost to damage; damage to a block store may surface at any later
    // read, so after it no more faults of the disk.
    const bool disk_faults = options_.disk_faults && result_.nodes_lost == 0 && !store_damaged_;
    switch (crash_rng_.below(disk_faults ? 4 : 2)) {
      case 0:
        node.wal_disk.crash(crash_rng_.below(24));
        crash_now(node);
        break;
      case 1:
        node.crash_armed = true;
        node.wal_disk.fail_after_writes(1 + crash_rng_.below(6), crash_rng_.below(48));
        break;
      case 2:
        node.crash_armed = true;
        (crash_rng_.chance(0.5) ? node.wal_disk : node.guard_disk).fail_next_sync();
        ++result_.failed_syncs;
        break;
      default:
        node.wal_disk.crash(crash_rng_.below(24));
        crash_now(node);
        if (node.chain && crash_rng_.chance(1.0 / 3))
          flip_a_stored_bit(node);
        else
          flip_a_synced_bit(node, crash_rng_.chance(0.5) ? node.wal_disk : node.guard_disk);
        break;
    }
  }

  void flip_a_synced_bit(Node& node, wal::MemoryStorage& disk) {
    std::vector<wal::MemoryStorage::File*> files;
    for (auto& [name, file] : disk.files())
      if (file.synced > 0) files.push_back(&file);
    if (files.empty()) return;
    wal::MemoryStorage::File& file = *files[crash_rng_.below(files.size())];
    file.data[crash_rng_.below(file.synced)] ^= static_cast<std::uint8_t>(1u << crash_rng_.below(8));
    node.damaged = true;
    ++result_.bits_flipped;
  }

  void flip_a_stored_bit(Node& node) {
    if (!node.chain->flip_a_stored_bit(crash_rng_.next())) return;
    node.store_damaged = true;
    store_damaged_ = true;
    ++result_.bits_flipped;
    ++result_.stored_bits_flipped;
  }

  /// A node that must stop for good: its damaged disks refused to open or to be read.
  void lose(Node& node) {
    if (node.replica) count_stats(node);
    node.replica.reset();
    if (node.chain) node.chain->close();
    node.lost = true;
    ++result_.nodes_lost;
  }

  /// Power loss: the replica is gone; its disks keep what they synced.
  void crash_now(Node& node) {
    count_stats(node);
    node.replica.reset();
    if (node.chain) node.chain->close();
    node.guard_disk.crash();
    node.crash_armed = false;
    node.wake_token = 0;
    ++result_.crashes;
    queue_.push(now_ + from_ms(50) + crash_rng_.below(from_ms(450)), EventKind::restart, node.index, 0);
  }

  /// The node comes back: the shipped recovery (WAL replay, torn tail cut) runs in
  /// Replica::open, then the transport reconnects to every peer.
  void restart(Node& node) {
    if (node.wal_disk.crashed()) node.wal_disk.restart();
    node.wal_disk.fail_after_writes(std::nullopt);
    if (options_.wipe_disks_on_crash) {
      node.wal_disk.files().clear();
      node.guard_disk.files().clear();
    }
    open_replica(node);
    if (!node.replica) return;
    const node::RecoveryInfo& recovery = node.replica->recovery();
    ++result_.recoveries;
    if (recovery.wal.repaired) ++result_.torn_tails_repaired;
    result_.unsent_after_recovery += recovery.unsent_own_messages;
    node.seen_height = 0;
    connect(node);
  }

  /// Forgets what no node can need any more: blocks below every node's next height
  /// (sync starts there) and checker records of heights every correct node has decided.
  /// Changes memory only, never behaviour.
  void prune() {
    decisions_since_prune_ = 0;
    Height lowest_next = std::numeric_limits<Height>::max();
    Height lowest_correct = std::numeric_limits<Height>::max();
    for (const auto& node : nodes_) {
      if (node->fault == Fault::silent || node->lost) continue;
      lowest_next = std::min(lowest_next, node->decided() + 1);
      if (node->correct()) lowest_correct = std::min(lowest_correct, node->decided());
    }
    for (auto& node : nodes_)
      if (node->certificates) node->certificates->prune_below(lowest_next);
    if (lowest_correct != std::numeric_limits<Height>::max()) checker_.forget_below(lowest_correct + 1);
    for (auto it = split_proposals_.begin(); it != split_proposals_.end() && it->first.first < lowest_next;)
      it = split_proposals_.erase(it);
  }

  // ---- the network ----

  void send(std::uint32_t from, std::optional<std::uint32_t> to, Frame frame, const Label& label) {
    const std::uint32_t parcel = open_parcel(from, std::move(frame), label);
    if (to) {
      address(parcel, *to);
    } else if (plain_network()) {
      address_all_plain(parcel);
    } else {
      for (std::uint32_t peer = 0; peer < nodes_.size(); ++peer)
        if (peer != from) address(parcel, peer);
    }
    close_parcel(parcel);
  }

  /// The first frame to side 0 (the Byzantine nodes included), the second to side 1.
  void send_split(const Node& node, std::optional<std::uint32_t> to, Frame first, Frame second, MessageKind kind,
                  Height height, Round round) {
    const std::uint32_t to_first = open_parcel(node.index, std::move(first), Label{kind, height, round});
    const std::uint32_t to_second = open_parcel(node.index, std::move(second), Label{kind, height, round});
    for (std::uint32_t peer = 0; peer < nodes_.size(); ++peer)
      if (peer != node.index && (!to || peer == *to)) address(side_[peer] == 0 ? to_first : to_second, peer);
    close_parcel(to_first);
    close_parcel(to_second);
  }

  /// No per-link models, partitions, loss, duplication or reordering, and no trace: every
  /// copy is delivered once after the default delay, so address() reduces to the delay
  /// and order-key draws, which address_all_plain() makes in the same order.
  bool plain_network() const {
    const NetworkModel& net = options_.network;
    const LinkModel& link = net.default_link;
    return !trace_ && net.partitions.empty() && !net.has_link_overrides() && link.drop <= 0 && link.duplicate <= 0 &&
           link.reorder <= 0;
  }

  void address_all_plain(std::uint32_t id) {
    Parcel& parcel = *parcels_[id];
    const LinkModel& link = options_.network.default_link;
    const auto n = static_cast<std::uint32_t>(nodes_.size());
    parcel.deliveries.reserve(n);
    for (std::uint32_t to = 0; to < n; ++to) {
      if (to == parcel.from) continue;
      ++result_.messages_sent;
      if (nodes_[to]->fault == Fault::silent) continue;  // a silent node reads nothing: spare the events
      const Time delay = link.min_delay == link.max_delay ? link.min_delay : net_rng_.between(link.min_delay, link.max_delay);
      parcel.deliveries.push_back(Delivery{now_ + delay, net_rng_.next(), to});
    }
  }

  std::uint32_t open_parcel(std::uint32_t from, Frame frame, const Label& label) {
    std::uint32_t id;
    if (free_parcels_.empty()) {
      id = static_cast<std::uint32_t>(parcels_.size());
      parcels_.push_back(std::make_unique<Parcel>());
    } else {
      id = free_parcels_.back();
      free_parcels_.pop_back();
    }
    Parcel& parcel = *parcels_[id];
    parcel.frame = std::move(frame);
    parcel.label = label;
    parcel.from = from;
    parcel.next = 0;
    parcel.deliveries.clear();
    return id;
  }

  /// Decides the fate of the parcel's copy for `to`: lost (a partition or the link's loss
  /// rate), delivered once or twice, each after its own delay.
  void address(std::uint32_t id, std::uint32_t to) {
    Parcel& parcel = *parcels_[id];
    ++result_.messages_sent;
    if (nodes_[to]->fault == Fault::silent) return;
    const LinkModel& link = options_.network.link(parcel.from, to);
    if (!options_.network.connected(parcel.from, to, now_) || net_rng_.chance(link.drop)) {
      ++result_.messages_dropped;
      if (trace_) trace_message(parcel, to, now_, true);
      return;
    }
    add_delivery(parcel, to, link);
    if (net_rng_.chance(link.duplicate)) {
      ++result_.messages_duplicated;
      add_delivery(parcel, to, link);
    }
  }

  void add_delivery(Parcel& parcel, std::uint32_t to, const LinkModel& link) {
    Time delay = link.min_delay == link.max_delay ? link.min_delay : net_rng_.between(link.min_delay, link.max_delay);
    if (net_rng_.chance(link.reorder)) delay += net_rng_.below(2 * link.max_delay + 1);
    parcel.deliveries.push_back(Delivery{now_ + delay, net_rng_.next(), to});
    if (trace_) trace_message(parcel, to, now_ + delay, false);
  }

  void close_parcel(std::uint32_t id) {
    Parcel& parcel = *parcels_[id];
    if (parcel.deliveries.empty()) return release_parcel(id);
    std::sort(parcel.deliveries.begin(), parcel.deliveries.end(), [](const Delivery& a, const Delivery& b) {
      __extension__ using u128 = unsigned __int128;
      return ((u128{a.at} << 64) | a.key) < ((u128{b.at} << 64) | b.key);  // (at, key), branch-free
    });
    queue_.push(parcel.deliveries.front().at, EventKind::deliver, parcel.from, id);
  }

  void release_parcel(std::uint32_t id) {
    parcels_[id]->frame.reset();  // frees the frame now, not when the slot is reused
    free_parcels_.push_back(id);
  }

  void deliver_next(std::uint32_t id) {
    Parcel& parcel = *parcels_[id];  // stays put (boxed) while the receiver sends
    const Delivery delivery = parcel.deliveries[parcel.next++];
    const bool last = parcel.next == parcel.deliveries.size();
    if (!last) queue_.push(parcel.deliveries[parcel.next].at, EventKind::deliver, parcel.from, id);
    const Frame frame = parcel.frame;
    const std::uint32_t from = parcel.from;
    if (last) release_parcel(id);
    receive(*nodes_[delivery.to], from, *frame);
  }

  void receive(Node& node, std::uint32_t from, const Bytes& frame) {
    if (!node.replica) return;
    if (!node.correct()) {
      // A Byzantine node's strategies need the proposals it hears.
      if (auto decoded = node::decode_frame(frame, node.options.limits))
        if (const auto* consensus = std::get_if<codec::Message>(&*decoded))
          if (const auto* p = std::get_if<codec::SignedProposal>(consensus)) remember_proposal(node, unsigned_proposal(*p));
    }
    node.replica->on_frame(nodes_[from]->address, frame, time_point(now_));
    after(node);
  }

  void trace_message(const Parcel& parcel, std::uint32_t to, Time delivered, bool dropped) {
    trace_->messages.push_back({now_, delivered, parcel.from, to, parcel.label.kind, parcel.label.height,
                                parcel.label.round, parcel.label.nil, dropped});
  }

  // ---- state ----

  const SimOptions& options_;
  const RunHooks& hooks_;
  Trace* trace_;
  RunResult result_;
  Rng root_rng_;
  EventQueue queue_;
  Rng net_rng_;
  Rng adversary_rng_;
  Rng crash_rng_;
  SafetyChecker checker_;
  node::Logger logger_;
  Time deadline_ = 0;
  Time now_ = 0;

  std::vector<node::ValidatorKey> genesis_;
  std::optional<node::ValidatorHistory> validators_;  // shared by the ledgers unless the set changes
  std::vector<std::uint32_t> correct_validators_;
  std::set<Height> changes_seen_;
  std::vector<std::unique_ptr<Node>> nodes_;  // boxed: ledgers and links point at the cluster, replicas at disks
  std::unordered_map<Address, std::uint32_t> index_;
  std::size_t correct_count_ = 0;
  std::size_t reached_target_ = 0;
  std::uint64_t decisions_since_prune_ = 0;
  std::uint64_t wake_tokens_ = 0;
  std::vector<std::uint8_t> side_;  // the half of the network each node belongs to
  std::map<std::pair<Height, Round>, std::pair<Value, Value>> split_proposals_;
  std::uint64_t next_tx_ = 0;  // --blocks: the number of the next client transaction
  bool store_damaged_ = false;  // --blocks --disk-faults: a node's block store was damaged
  std::unordered_map<std::uint64_t, Height> committed_txs_;  // --blocks: the height each committed at

  /// Boxed: a parcel stays put while its receiver sends (opening parcels).
  std::vector<std::unique_ptr<Parcel>> parcels_;
  std::vector<std::uint32_t> free_parcels_;
};

Result<void> SimLedger::commit(const codec::QuorumCertificate& commit, std::uint32_t) {
  blocks_.push_back(commit);
  if (own_ && commit.height % cluster_.validator_change_every() == 0) change_validators(commit.height);
  cluster_.on_commit(index_, commit);
  return {};
}

void SimLedger::change_validators(Height height) {
  const auto& current = own_->newest().keys;
  const std::vector<node::ValidatorKey> target = cluster_.validator_target(height / cluster_.validator_change_every());
  const std::vector<node::ValidatorUpdate> updates = node::validator_updates_between(current, target);
  if (updates.empty()) return;
  // Refused updates (beyond the change limit) leave the set as it is, as in a node.
  auto next = node::apply_validator_updates(current, updates, {}, own_->keys().scheme());
  if (!next || !own_->change(height + 2, *next)) return;
  cluster_.on_validator_change(height + 2);
}

void SimLink::broadcast(Frame frame) { cluster_.post(index_, std::nullopt, std::move(frame)); }
void SimLink::send(const Address& to, Frame frame) { cluster_.post(index_, to, std::move(frame)); }

}  // namespace

Result<RunResult> run_simulation(const SimOptions& options, std::uint64_t seed, const RunHooks& hooks) {
  if (auto ok = options.validate(); !ok) return ok.error();
  Cluster cluster(options, seed, hooks);
  return cluster.run();
}

}  // namespace bft::sim
