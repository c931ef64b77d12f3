// The cluster: nodes (a core plus the harness a real node would put around it: network,
// timers, application, block store, block sync), the simulated network, the adversary and
// the checkers, all advanced by one event queue in virtual time.
#include "bft/sim/simulation.hpp"

#include <algorithm>
#include <array>
#include <cassert>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <limits>
#include <map>
#include <memory>
#include <tuple>
#include <variant>

#include "bft/core.hpp"
#include "bft/sim/application.hpp"
#include "bft/sim/event_queue.hpp"
#include "bft/sim/rng.hpp"
#include "bft/wal/replay.hpp"
#include "bft/wal/sign_guard.hpp"
#include "bft/wal/wal.hpp"

namespace bft::sim {

namespace {

// ---- what travels on the simulated wire ---------------------------------------------

/// A decided height as the application stores it: what another node's core needs to
/// decide it too (rule L49: the proposal and a quorum of precommits for its value).
struct Block {
  Proposal proposal;
  std::vector<Vote> commit;
};
/// Immutable once stored; shared between a node's store and sync replies in flight.
using BlockRef = std::shared_ptr<const Block>;

/// A core Retransmit: a decided height's proposal and commit, or a round's own votes.
struct Help {
  std::optional<Proposal> proposal;
  std::vector<Vote> votes;
};
/// Application-level block sync, for a node more than one height behind (the core keeps
/// only its last decision, so core retransmission cannot bring it back).
struct SyncRequest {
  Height from;
};
struct SyncResponse {
  std::vector<BlockRef> blocks;
};
/// What a stalled node relays: the proposals and votes it has of its current round, its
/// own and everyone else's (both of an equivocator's votes if it saw both).
struct Gossip {
  std::vector<Proposal> proposals;
  std::vector<Vote> votes;
};
using Wire = std::variant<Proposal, Vote, Help, Gossip, SyncRequest, SyncResponse>;

/// The consensus height a message is about (0 for sync traffic).
Height height_of(const Help& help) {
  if (help.proposal) return help.proposal->height;
  return help.votes.empty() ? 0 : help.votes.front().height;
}

Height height_of(const Wire& wire) {
  if (const auto* p = std::get_if<Proposal>(&wire)) return p->height;
  if (const auto* v = std::get_if<Vote>(&wire)) return v->height;
  if (const auto* h = std::get_if<Help>(&wire)) return height_of(*h);
  if (const auto* g = std::get_if<Gossip>(&wire)) {
    if (!g->proposals.empty()) return g->proposals.front().height;
    if (!g->votes.empty()) return g->votes.front().height;
  }
  return 0;
}

struct Delivery {
  Time at;
  std::uint64_t key;  // seeded tie-break among deliveries due at the same time
  std::uint32_t to;
};

/// One message and its deliveries sorted by time. The queue holds one event per parcel,
/// for its next delivery, so a broadcast to n peers costs one queued event, not n.
struct Parcel {
  Wire wire;
  std::uint32_t from = 0;
  std::uint32_t next = 0;
  std::vector<Delivery> deliveries;
};

// ---- tuning of the harness ----------------------------------------------------------

/// Blocks per sync reply.
constexpr Height sync_batch = 64;
/// Node-decisions between two prunings of block stores and checker records.
constexpr std::uint64_t prune_every_decisions_per_node = 32;
/// Marks a heard-vote slot whose sender's conflicting second vote is kept too.
constexpr std::uint32_t conflict_kept = std::uint32_t{1} << 31;

[[noreturn]] void invariant_failed(const char* what) {
  std::fprintf(stderr, "bft-sim: internal error: %s\n", what);
  std::abort();
}

// ---- a node -------------------------------------------------------------------------

/// A vote a node heard, as the node keeps it for relaying. Every node hears every vote,
/// but relays only when it stalls, so hearing must be cheap: the voter is its validator
/// index and the value an index into the node's table of values heard at the height,
/// and the Vote is rebuilt only to relay it.
struct HeardVote {
  Height height;
  Round round;
  std::uint32_t sender;
  std::uint32_t value;  // index into Node::heard_values
  VoteType type;
};

struct Node {
  std::uint32_t index = 0;
  Address address;
  std::optional<Fault> fault;  // nullopt: correct
  std::optional<Core> core;    // none for a silent node: it never reads nor sends

  /// Inputs the node gives itself (its own proposal and votes, the application's
  /// answers), handled before the next event: they never wait behind network traffic.
  std::vector<Input> inbox;  // a queue: handled from inbox_head, emptied when drained
  std::size_t inbox_head = 0;
  bool handling = false;

  /// Proposals fed to the core at or above its height, to store the decided one.
  std::vector<Proposal> proposals;

  /// Votes heard at the core's current height, its own included, relayed when it stalls:
  /// a sender's first vote per (round, type) and, if it equivocates, its second one.
  std::vector<HeardVote> heard;
  /// The distinct values of `heard` (nil included), which HeardVote::value indexes.
  std::vector<std::optional<Value>> heard_values;
  /// Per round, per vote type, per sender: 1 + the index of its first vote in `heard`
  /// (0: none), with conflict_kept set once its second, different vote is kept too.
  std::vector<std::array<std::vector<std::uint32_t>, 2>> heard_slots;
  std::tuple<Height, Round, Step, bool> state_at_last_tick{0, nil_round, Step::propose, false};

  /// Last observed core state (round-change counting and the trace).
  Height seen_height = 0;
  Round seen_round = nil_round;
  Step seen_step = Step::propose;

  // The application: its block store and block sync.
  Height decided = 0;
  Time height_started = 0;
  Height chain_base = 1;  // chain[i] holds height chain_base + i
  std::deque<BlockRef> chain;
  std::map<Height, BlockRef> fetched;  // synced blocks not applied yet
  Time sync_busy_until = 0;

  /// The highest height heard from each peer: help for heights below it is not needed.
  std::vector<Height> peer_heights;

  // --crash-restart: the node's disk (WAL) and its double-sign guard's disk survive a
  // crash; everything else of the harness but the application's block store is lost.
  std::unique_ptr<wal::MemoryStorage> disk;
  std::unique_ptr<wal::MemoryStorage> guard_disk;
  std::optional<wal::Wal> wal;
  std::optional<wal::SignGuard> guard;
  bool down = false;
  bool crash_armed = false;  // the disk will fail at a coming write

  bool correct() const { return !fault.has_value(); }
  /// The lowest height this node still needs.
  Height frontier() const { return decided + 1; }
};

std::unique_ptr<ProposerSelector> make_selector(ProposerRule rule) {
  switch (rule) {
    case ProposerRule::round_robin: return make_round_robin_selector();
    case ProposerRule::weighted_round_robin: return make_weighted_round_robin_selector();
    case ProposerRule::seed_pcg: return make_seed_pcg_selector();
  }
  return make_round_robin_selector();
}

MessageKind kind_of(const Wire& wire) {
  if (const auto* vote = std::get_if<Vote>(&wire))
    return vote->type == VoteType::prevote ? MessageKind::prevote : MessageKind::precommit;
  if (std::holds_alternative<Proposal>(wire)) return MessageKind::proposal;
  if (std::holds_alternative<Help>(wire)) return MessageKind::help;
  if (std::holds_alternative<Gossip>(wire)) return MessageKind::gossip;
  if (std::holds_alternative<SyncRequest>(wire)) return MessageKind::sync_request;
  return MessageKind::sync_response;
}

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
        checker_(std::vector<bool>(options.validators, true)),
        gossip_interval_(options.effective_gossip_interval()),
        max_delay_(options.network.max_delay()),
        sync_timeout_(4 * max_delay_ + gossip_interval_) {
    result_.seed = seed;
    result_.heal_time = options.network.heal_time();
    result_.liveness_bound = options.effective_liveness_bound();
    deadline_ = result_.heal_time + result_.liveness_bound;
  }

  Result<RunResult> run() {
    if (auto ok = build(); !ok) return ok.error();
    for (Node& node : nodes_) {
      if (!node.core) continue;
      feed(node, StartHeight{1, validators_});
      if (node.correct() || node.fault == Fault::random)
        queue_.push(adversary_rng_.below(gossip_interval_) + 1, EventKind::gossip_tick, node.index, 0);
    }
    if (options_.crash_restart) queue_.push(crash_interval + crash_rng_.below(crash_interval), EventKind::crash_tick, 0, 0);
    loop();
    finish();
    return std::move(result_);
  }

 private:
  // ---- setup ----

  Result<void> build() {
    const std::size_t n = options_.validators;
    std::vector<Validator> validators;
    for (std::size_t i = 0; i < n; ++i)
      validators.push_back(Validator{Address::from_text("v" + std::to_string(i)), options_.weight(i), options_.weight(i)});
    auto set = ValidatorSet::create(std::move(validators));
    if (!set) return set.error();
    validators_ = std::move(*set);

    // The Byzantine validators and the two halves an equivocator splits the network into
    // are drawn per seed: every seed attacks from different positions.
    std::vector<std::uint32_t> order(n);
    for (std::uint32_t i = 0; i < n; ++i) order[i] = i;
    shuffle(order);
    std::vector<bool> byzantine(n, false);
    for (std::size_t i = 0; i < options_.byzantine; ++i) byzantine[order[i]] = true;
    side_.assign(n, 0);
    std::size_t correct_seen = 0;
    const std::size_t correct_count = n - options_.byzantine;
    for (std::size_t i = options_.byzantine; i < n; ++i)  // Byzantine nodes stay on side 0
      side_[order[i]] = correct_seen++ < (correct_count + 1) / 2 ? 0 : 1;

    std::vector<bool> correct(n);
    nodes_.resize(n);
    for (std::uint32_t i = 0; i < n; ++i) {
      Node& node = nodes_[i];
      node.index = i;
      node.address = validators_[i].address;
      node.peer_heights.assign(n, 0);
      if (byzantine[i]) {
        node.fault = options_.fault;
        result_.byzantine_nodes.push_back(i);
      }
      correct[i] = node.correct();
      if (node.fault != Fault::silent) {
        auto core = Core::create(node.address, options_.consensus, make_selector(options_.proposer));
        if (!core) return core.error();
        node.core.emplace(std::move(*core));
      }
      if (options_.crash_restart && node.correct()) {
        node.disk = std::make_unique<wal::MemoryStorage>();
        node.guard_disk = std::make_unique<wal::MemoryStorage>();
        open_disks(node);
      }
    }
    correct_count_ = correct_count;
    checker_ = SafetyChecker(correct);

    if (trace_) {
      trace_->seed = result_.seed;
      trace_->fault = std::string(to_string(options_.fault));
      trace_->partitions = options_.network.partitions;
      for (const Node& node : nodes_) {
        trace_->node_names.push_back(node.address.to_string());
        trace_->byzantine.push_back(!node.correct());
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
        case EventKind::timeout: fire_timer(nodes_[event.node], static_cast<std::uint32_t>(event.arg)); break;
        case EventKind::app_commit: commit_height(nodes_[event.node], event.arg); break;
        case EventKind::gossip_tick: gossip_tick(nodes_[event.node]); break;
        case EventKind::late_vote_due: late_vote_due(nodes_[event.node], static_cast<std::uint32_t>(event.arg)); break;
        case EventKind::crash_tick: crash_tick(); break;
        case EventKind::restart: restart(nodes_[event.node]); break;
      }
      if (!checker_.safe()) {
        result_.stopped_on_violation = true;
        break;
      }
      if (reached_target_ == correct_count_) {
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
    for (const Node& node : nodes_) {
      if (!node.correct()) continue;
      p.lowest_height = std::min(p.lowest_height, node.decided);
      p.highest_height = std::max(p.highest_height, node.decided);
    }
    if (correct_count_ == 0) p.lowest_height = 0;
    return p;
  }

  void finish() {
    result_.end_time = now_;
    if (result_.complete) {
      result_.time_to_target_after_heal = now_ > result_.heal_time ? now_ - result_.heal_time : 0;
    } else if (!result_.stopped_on_violation) {
      for (const Node& node : nodes_) {
        if (!node.correct() || node.decided >= options_.heights) continue;
        checker_.on_liveness_failure("correct v" + std::to_string(node.index) + " decided only " +
                                         std::to_string(node.decided) + " of " + std::to_string(options_.heights) +
                                         " heights within the liveness bound (" +
                                         std::to_string(to_ms(result_.liveness_bound)) + " ms after the heal at " +
                                         std::to_string(to_ms(result_.heal_time)) + " ms)",
                                     now_);
      }
    }
    Height committed = options_.heights;
    for (const Node& node : nodes_)
      if (node.correct()) committed = std::min(committed, node.decided);
    result_.heights_committed = correct_count_ == 0 ? 0 : committed;
    for (const auto& [height, round] : checker_.decision_rounds())
      if (height <= result_.heights_committed) result_.rounds_sum += static_cast<std::uint64_t>(round) + 1;
    result_.violations = checker_.violations();
    result_.agreement_violations = checker_.count(ViolationKind::agreement);
    result_.validity_violations = checker_.count(ViolationKind::validity);
    result_.double_signs = checker_.count(ViolationKind::double_sign);
    result_.false_evidence = checker_.count(ViolationKind::false_evidence);
    result_.evidence_against = checker_.evidence_against();
    if (hooks_.progress) hooks_.progress(progress());
    if (trace_) {
      trace_->end = now_;
      for (const Violation& v : result_.violations)
        trace_->violations.push_back(std::string(to_string(v.kind)) + ": " + v.detail);
    }
  }

  // ---- feeding a core ----

  /// Hands `input` to the node's core and acts on its outputs; inputs the node gives
  /// itself meanwhile (own messages fed back, application answers) are handled next.
  void feed(Node& node, Input&& input) {
    if (node.down) return;
    if (node.handling) {
      node.inbox.push_back(std::move(input));
      return;
    }
    // Idle, so the inbox is empty: handle the input at once, then what it queued.
    node.handling = true;
    handle(node, std::move(input));
    drain(node);
  }

  void drain(Node& node) {
    node.handling = true;
    while (!node.down && node.inbox_head < node.inbox.size()) handle(node, std::move(node.inbox[node.inbox_head++]));
    node.inbox.clear();
    node.inbox_head = 0;
    node.handling = false;
  }

  void handle(Node& node, Input&& input) {
    if (node.wal && !node.wal->append(wal::record_of(input))) {
      crash_now(node);
      return;
    }
    const bool starts_height = std::holds_alternative<StartHeight>(input);
    if (starts_height) begin_height(node, std::get<StartHeight>(input).height);
    outputs_.clear();
    (void)node.core->handle(std::move(input), outputs_);  // rejected input is routine here
    if (act(node) && starts_height) apply_fetched_block(node);
  }

  /// Acts on the core's outputs_; false if the node crashed meanwhile.
  bool act(Node& node) {
    for (Output& output : outputs_) {
      if (node.down) return false;  // crashed while acting on an earlier output
      dispatch(node, output);
    }
    if (node.down) return false;
    observe_state(node);
    return true;
  }

  void forget_heard(Node& node) {
    node.heard.clear();
    node.heard_values.clear();
    for (auto& round : node.heard_slots)
      for (auto& senders : round) std::fill(senders.begin(), senders.end(), 0);
  }

  void begin_height(Node& node, Height height) {
    node.height_started = now_;
    forget_heard(node);
    std::erase_if(node.proposals, [&](const Proposal& p) { return p.height < height; });
  }

  void observe_state(Node& node) {
    const Core& core = *node.core;
    if (core.height() == node.seen_height && core.round() == node.seen_round && core.step() == node.seen_step) return;
    if (node.correct() && core.round() > 0 && (core.round() != node.seen_round || core.height() != node.seen_height))
      ++result_.round_changes;
    node.seen_height = core.height();
    node.seen_round = core.round();
    node.seen_step = core.step();
    if (trace_) trace_->steps.push_back({now_, node.index, core.height(), core.round(), core.step()});
  }

  void dispatch(Node& node, Output& output) {
    std::visit(
        [&](auto& out) {
          using T = std::decay_t<decltype(out)>;
          if constexpr (std::is_same_v<T, BroadcastProposal>) {
            sign_proposal(node, std::move(out.proposal));
          } else if constexpr (std::is_same_v<T, BroadcastVote>) {
            sign_vote(node, std::move(out.vote));
          } else if constexpr (std::is_same_v<T, Decide>) {
            on_decide(node, out);
          } else if constexpr (std::is_same_v<T, GetValue>) {
            node.inbox.push_back(ProposeValue{out.height, out.round, proposed_value(out.height, out.round, node.index)});
          } else if constexpr (std::is_same_v<T, ScheduleTimeout>) {
            schedule_timer(node, out);
          } else if constexpr (std::is_same_v<T, Evidence>) {
            const auto offender = validators_.index_of(out.offender());
            if (offender) {
              checker_.on_evidence(node.index, static_cast<std::uint32_t>(*offender), now_);
              if (trace_ && node.correct())
                trace_->evidence.push_back({now_, node.index, static_cast<std::uint32_t>(*offender)});
            }
          } else if constexpr (std::is_same_v<T, Retransmit>) {
            send_help(node, out);
          }
        },
        output);
  }

  // ---- signing: where correct and Byzantine nodes differ ----

  /// A correct node with a WAL: the guard must allow the message and the log must hold it
  /// durably before it may leave the node. False: not sent (refused, or crashed).
  template <class M, class Own>
  bool make_durable(Node& node, const M& message, Own own) {
    if (!node.wal) return true;
    if (!node.guard->authorize(message)) {
      ++result_.guard_refusals;
      return false;
    }
    if (!node.wal->append(std::move(own))) {
      crash_now(node);
      return false;
    }
    return true;
  }

  void sign_proposal(Node& node, Proposal proposal) {
    if (!make_durable(node, proposal, wal::OwnProposal{proposal, {}})) return;
    checker_.on_signed_proposal(node.index, proposal, now_);
    if (node.fault == Fault::equivocate) {
      equivocate_proposal(node, proposal);
    } else if (node.fault == Fault::random) {
      send_random_messages(node);
    } else {  // correct, or amnesia (whose fault is in its prevotes)
      checker_.on_proposal_sent(proposal);
      broadcast(node, Wire{proposal});
    }
    // The proposer hears its own proposal as an input, like everyone else's.
    remember_proposal(node, proposal);
    node.inbox.push_back(ReceivedProposal{std::move(proposal), Validity::valid});
  }

  void sign_vote(Node& node, Vote vote) {
    if (!make_durable(node, vote, wal::OwnVote{vote, {}})) return;
    checker_.on_signed_vote(node.index, vote, now_);
    if (node.fault == Fault::equivocate) {
      vote = equivocate_vote(node, std::move(vote));
    } else if (node.fault == Fault::random) {
      send_random_messages(node);  // its own core still hears the vote it meant to cast
    } else {
      if (node.fault == Fault::amnesia) vote = forget_lock(node, std::move(vote));
      broadcast(node, Wire{vote});
    }
    hear(node, vote, node.index);
    node.inbox.push_back(std::move(vote));
  }

  /// Records a vote a correct node hears at its current height, for relaying. Rounds far
  /// ahead are not kept: the core would not count them yet either. `voter`: the voter's
  /// index if the caller knows it (a vote sent on its own comes from its voter: nobody
  /// here forges a signature), else it is looked up.
  void hear(Node& node, const Vote& vote, std::optional<std::uint32_t> voter = std::nullopt) {
    const Core& core = *node.core;
    if (!node.correct() || vote.height != core.height() || vote.round < 0 ||
        vote.round > core.round() + static_cast<Round>(options_.consensus.max_future_rounds_per_sender))
      return;
    std::uint32_t sender;
    if (voter) {
      assert(nodes_[*voter].address == vote.voter);
      sender = *voter;
    } else if (const auto index = validators_.index_of(vote.voter)) {
      sender = static_cast<std::uint32_t>(*index);
    } else {
      return;
    }
    const auto round = static_cast<std::size_t>(vote.round);
    if (node.heard_slots.size() <= round) node.heard_slots.resize(round + 1);
    auto& senders = node.heard_slots[round][vote.type == VoteType::prevote ? 0 : 1];
    if (senders.empty()) senders.assign(nodes_.size(), 0);
    std::uint32_t& slot = senders[sender];
    if (slot != 0) {
      // A second, conflicting vote is kept once, so that relaying spreads the evidence.
      if ((slot & conflict_kept) != 0 ||
          node.heard_values[node.heard[(slot & ~conflict_kept) - 1].value] == vote.value)
        return;
      slot |= conflict_kept;
    } else {
      slot = static_cast<std::uint32_t>(node.heard.size()) + 1;
    }
    node.heard.push_back(HeardVote{vote.height, vote.round, sender, heard_value_index(node, vote.value), vote.type});
  }

  /// A height sees few distinct values (the proposal's and nil, a few more under attack),
  /// so a linear search, newest first, beats hashing.
  static std::uint32_t heard_value_index(Node& node, const std::optional<Value>& value) {
    for (std::size_t i = node.heard_values.size(); i-- > 0;)
      if (node.heard_values[i] == value) return static_cast<std::uint32_t>(i);
    node.heard_values.push_back(value);
    return static_cast<std::uint32_t>(node.heard_values.size() - 1);
  }

  Vote heard_vote(const Node& node, const HeardVote& heard) const {
    return Vote{heard.type, heard.height, heard.round, node.heard_values[heard.value], nodes_[heard.sender].address};
  }

  /// feed() for a vote, which is shared by all its parcel's deliveries: an idle node
  /// without a WAL (the common case) has its core read it in place; otherwise it is
  /// copied into an Input.
  void feed_vote(Node& node, const Vote& vote, std::optional<std::uint32_t> voter = std::nullopt) {
    hear(node, vote, voter);
    if (node.handling || node.wal) {
      feed(node, Input{std::in_place_type<Vote>, vote});
      return;
    }
    if (node.down) return;
    node.handling = true;
    outputs_.clear();
    (void)node.core->handle(vote, outputs_);
    act(node);
    drain(node);
  }

  // equivocate: one proposal / vote to each side. The Byzantine nodes act as one
  // coalition: when one of them splits a round's proposal, all of them vote for the first
  // value towards side 0 and the second towards side 1, whatever their cores chose.
  void equivocate_proposal(Node& node, const Proposal& proposal) {
    Proposal other = proposal;
    other.value = Value::from_text(std::string(proposal.value.view()) + "~");
    other.valid_round = nil_round;  // a lock proof cannot be forged for the second value
    other.lock_votes.clear();
    split_proposals_[{proposal.height, proposal.round}] = {proposal.value, other.value};
    checker_.on_proposal_sent(proposal);
    checker_.on_proposal_sent(other);
    send_split(node, Wire{proposal}, Wire{std::move(other)});
  }

  Vote equivocate_vote(Node& node, Vote vote) {
    std::optional<Value> first = vote.value;
    std::optional<Value> second;
    if (auto split = split_proposals_.find({vote.height, vote.round}); split != split_proposals_.end()) {
      first = split->second.first;
      second = split->second.second;
    } else if (!vote.value) {
      if (const Proposal* p = proposal_of(node, vote.height, vote.round)) second = p->value;
    }
    vote.value = first;
    if (first == second) {
      broadcast(node, Wire{vote});
    } else {
      Vote other = vote;
      other.value = std::move(second);
      send_split(node, Wire{vote}, Wire{std::move(other)});
    }
    return vote;
  }

  // amnesia: prevote for the round's valid proposal even when locked on something else.
  Vote forget_lock(Node& node, Vote vote) {
    if (vote.type != VoteType::prevote) return vote;
    if (const Proposal* p = proposal_of(node, vote.height, vote.round); p && is_valid_value(p->value))
      vote.value = p->value;
    return vote;
  }

  // random: instead of each message its core signs, every peer gets its own well-formed
  // but arbitrary proposal or vote (its own signature, any height near its own, any round
  // up to two ahead, nil, a known, a fresh or an invalid value).
  void send_random_messages(Node& node) {
    for (std::uint32_t peer = 0; peer < nodes_.size(); ++peer) {
      if (peer == node.index) continue;
      const std::uint32_t parcel = open_parcel(node.index, random_message(node));
      address(parcel, peer);
      close_parcel(parcel);
    }
  }

  Wire random_message(Node& node) {
    Rng& rng = adversary_rng_;
    const Core& core = *node.core;
    static constexpr int offsets[] = {-1, 0, 0, 0, 1, 2};
    const int offset = offsets[rng.below(std::size(offsets))];
    const Height height = offset < 0 && core.height() <= 1 ? core.height() : core.height() + offset;
    const auto round = static_cast<Round>(rng.below(static_cast<std::uint64_t>(core.round()) + 3));
    auto value = [&]() -> std::optional<Value> {
      switch (rng.below(4)) {
        case 0: return std::nullopt;
        case 1:
          if (const Proposal* p = proposal_of(node, height, round)) return p->value;
          return proposed_value(height, round, node.index);
        case 2: return Value::from_text("ok:random." + std::to_string(rng.below(1000)));
        default: return Value::from_text("bad:" + std::to_string(rng.below(1000)));
      }
    };
    switch (rng.below(5)) {
      case 0: {
        Proposal p{height, round, value().value_or(Value::from_text("bad:empty")),
                   static_cast<Round>(rng.below(static_cast<std::uint64_t>(round) + 1)) - 1, node.address, {}};
        checker_.on_proposal_sent(p);
        return p;
      }
      case 1:
      case 2: return Vote{VoteType::prevote, height, round, value(), node.address};
      default: return Vote{VoteType::precommit, height, round, value(), node.address};
    }
  }

  const Proposal* proposal_of(const Node& node, Height height, Round round) const {
    for (const Proposal& p : node.proposals)
      if (p.height == height && p.round == round) return &p;
    return nullptr;
  }

  void remember_proposal(Node& node, const Proposal& proposal) {
    if (proposal.height < node.core->height()) return;
    for (const Proposal& known : node.proposals)
      if (known == proposal) return;
    node.proposals.push_back(proposal);
  }

  // ---- decisions and the application ----

  void on_decide(Node& node, Decide& decide) {
    checker_.on_decide(node.index, decide.height, decide.round, decide.value, now_);
    if (trace_) trace_->decisions.push_back({now_, node.index, decide.height, decide.round, decide.value.to_string()});

    const Proposal* decided = nullptr;
    for (const Proposal& p : node.proposals)
      if (p.height == decide.height && p.round == decide.round && p.value == decide.value) decided = &p;
    // The core decides only on a proposal it was given, and every one passes through here.
    if (!decided) invariant_failed("a core decided on a proposal the harness never fed it");
    node.chain.push_back(std::make_shared<const Block>(Block{*decided, std::move(decide.commit)}));
    node.decided = decide.height;

    if (node.correct()) {
      const Time latency = now_ - node.height_started;
      result_.commit_latencies_us.push_back(
          static_cast<std::uint32_t>(std::min<Time>(latency, std::numeric_limits<std::uint32_t>::max())));
      if (decide.height == options_.heights) ++reached_target_;
    }
    if (++decisions_since_prune_ >= prune_every_decisions_per_node * nodes_.size()) prune();

    if (options_.commit_delay == 0)
      node.inbox.push_back(StartHeight{decide.height + 1, validators_});
    else
      queue_.push(now_ + options_.commit_delay, EventKind::app_commit, node.index, decide.height);
  }

  void commit_height(Node& node, Height height) { feed(node, StartHeight{height + 1, validators_}); }

  // ---- crashes and restarts (--crash-restart) ----

  /// Every crash interval, maybe one correct node crashes (at most one is down or about
  /// to crash at a time): either at once, losing every record not synced (with a torn
  /// prefix of them left behind), or at one of its next few disk writes, which then
  /// reaches the disk only in part — between a write and its fsync.
  void crash_tick() {
    queue_.push(now_ + crash_interval, EventKind::crash_tick, 0, 0);
    for (const Node& node : nodes_)
      if (node.down || node.crash_armed) return;
    std::vector<std::uint32_t> candidates;
    for (const Node& node : nodes_)
      if (node.disk && node.decided < options_.heights) candidates.push_back(node.index);
    if (candidates.empty() || !crash_rng_.chance(0.5)) return;
    Node& node = nodes_[candidates[crash_rng_.below(candidates.size())]];
    if (crash_rng_.chance(0.5)) {
      node.disk->crash(crash_rng_.below(24));
      crash_now(node);
    } else {
      node.crash_armed = true;
      node.disk->fail_after_writes(1 + crash_rng_.below(6), crash_rng_.below(48));
    }
  }

  void crash_now(Node& node) {
    if (node.down) return;
    node.down = true;
    node.crash_armed = false;
    ++result_.crashes;
    node.inbox.clear();
    node.inbox_head = 0;
    queue_.push(now_ + from_ms(50) + crash_rng_.below(from_ms(450)), EventKind::restart, node.index, 0);
  }

  void open_disks(Node& node) {
    auto opened = wal::Wal::open(*node.disk);
    if (!opened) {
      std::fprintf(stderr, "bft-sim: v%u cannot open its WAL: %s\n", node.index, opened.error().message.c_str());
      invariant_failed("a WAL that does not open");
    }
    if (opened->report.repaired) ++result_.torn_tails_repaired;
    node.wal.emplace(std::move(opened->wal));
    recovered_records_ = std::move(opened->records);
    auto guard = wal::SignGuard::open(*node.guard_disk);
    if (!guard) invariant_failed("a sign guard that does not open");
    node.guard.emplace(std::move(*guard));
  }

  /// The node comes back: its WAL is opened (a torn tail cut) and replayed into a fresh
  /// core; the harness state it lost is rebuilt from the replayed inputs; timeouts are
  /// re-armed, a lost value request answered, a decision the application missed applied.
  void restart(Node& node) {
    if (node.disk->crashed()) node.disk->restart();
    node.wal.reset();
    node.guard.reset();
    open_disks(node);
    auto core = Core::create(node.address, options_.consensus, make_selector(options_.proposer));
    if (!core) invariant_failed("a core that cannot be created");
    node.core.emplace(std::move(*core));
    node.down = false;
    forget_heard(node);
    node.proposals.clear();
    node.state_at_last_tick = {0, nil_round, Step::propose, false};
    auto replayed = wal::replay(*node.core, recovered_records_, [&](const Input& input) {
      if (const auto* s = std::get_if<StartHeight>(&input)) {
        begin_height(node, s->height);
      } else if (const auto* p = std::get_if<ReceivedProposal>(&input)) {
        remember_proposal(node, p->proposal);
      } else if (const auto* v = std::get_if<Vote>(&input)) {
        hear(node, *v);
      }
    });
    recovered_records_.clear();
    if (!replayed) {
      std::fprintf(stderr, "bft-sim: v%u: %s\n", node.index, replayed.error().message.c_str());
      invariant_failed("a WAL replay that diverged");
    }
    ++result_.recoveries;
    result_.unsent_after_recovery += replayed->unsent.size();
    node.handling = true;
    for (Input& input : replayed->not_fed_back) {
      // An own proposal the log holds but had not fed back yet: the core hears it now.
      if (const auto* own = std::get_if<ReceivedProposal>(&input)) remember_proposal(node, own->proposal);
      node.inbox.push_back(std::move(input));
    }
    for (Output& out : replayed->local) {
      const Core& c = *node.core;
      if (auto* t = std::get_if<ScheduleTimeout>(&out); t && t->height == c.height()) {
        schedule_timer(node, *t);
      } else if (auto* d = std::get_if<Decide>(&out); d && d->height > node.decided) {
        on_decide(node, *d);
      } else if (auto* g = std::get_if<GetValue>(&out);
                 g && g->height == c.height() && g->round == c.round() && c.step() == Step::propose) {
        node.inbox.push_back(ProposeValue{g->height, g->round, proposed_value(g->height, g->round, node.index)});
      }
    }
    if (node.core->height() <= node.decided && (!node.core->started() || node.core->height() < node.decided + 1))
      node.inbox.push_back(StartHeight{node.decided + 1, validators_});
    drain(node);
    if (!node.down) {
      observe_state(node);
      apply_fetched_block(node);
    }
  }

  /// Forgets what no node can need any more: blocks below every node's frontier (sync
  /// requests start at the requester's frontier) and checker records of heights every
  /// correct node has decided. Changes memory only, never behaviour.
  void prune() {
    decisions_since_prune_ = 0;
    Height lowest_frontier = std::numeric_limits<Height>::max();
    Height lowest_correct = std::numeric_limits<Height>::max();
    for (const Node& node : nodes_) {
      if (!node.core) continue;
      lowest_frontier = std::min(lowest_frontier, node.frontier());
      if (node.correct()) lowest_correct = std::min(lowest_correct, node.decided);
    }
    for (Node& node : nodes_) {
      while (!node.chain.empty() && node.chain_base < lowest_frontier) {
        node.chain.pop_front();
        ++node.chain_base;
      }
    }
    if (lowest_correct != std::numeric_limits<Height>::max()) checker_.forget_below(lowest_correct + 1);
    for (auto it = split_proposals_.begin(); it != split_proposals_.end() && it->first.first < lowest_frontier;)
      it = split_proposals_.erase(it);
  }

  // ---- block sync ----

  /// A node that hears of a height two or more above the one it needs cannot catch up
  /// through the core (peers keep only their last decision): it fetches the decided
  /// heights from the sender, one request in flight at a time. A stalled node fetches
  /// from a peer only one height ahead too (the commit that peer sent as help was lost).
  void maybe_fetch(Node& node, std::uint32_t peer, Height heard, bool stalled = false) {
    if (heard < node.frontier() + (stalled ? 1 : 2) || now_ < node.sync_busy_until) return;
    node.sync_busy_until = now_ + sync_timeout_;
    const std::uint32_t parcel = open_parcel(node.index, SyncRequest{node.frontier()});
    address(parcel, peer);
    close_parcel(parcel);
  }

  void serve_fetch(Node& node, std::uint32_t peer, Height from) {
    const Height first = std::max(from, node.chain_base);
    if (node.decided < first) return;
    const Height last = std::min(node.decided, first + sync_batch - 1);
    SyncResponse reply;
    for (Height h = first; h <= last; ++h) reply.blocks.push_back(node.chain[h - node.chain_base]);
    const std::uint32_t parcel = open_parcel(node.index, std::move(reply));
    address(parcel, peer);
    close_parcel(parcel);
  }

  void accept_blocks(Node& node, SyncResponse& reply) {
    node.sync_busy_until = 0;
    for (BlockRef& block : reply.blocks)
      if (block->proposal.height >= node.frontier()) node.fetched.emplace(block->proposal.height, std::move(block));
    apply_fetched_block(node);
  }

  /// Gives the core the fetched block of its current height, if it has one: proposal and
  /// commit make it decide through L49, and the application then starts the next height.
  void apply_fetched_block(Node& node) {
    const Core& core = *node.core;
    node.fetched.erase(node.fetched.begin(), node.fetched.lower_bound(node.frontier()));
    if (!core.started() || core.decided() || node.fetched.empty() || node.fetched.begin()->first != core.height())
      return;
    const BlockRef block = node.fetched.begin()->second;
    node.fetched.erase(node.fetched.begin());
    ++result_.blocks_synced;
    feed_proposal(node, block->proposal);
    feed(node, Certificate{block->commit});
  }

  // ---- receiving ----

  /// Hands a delivered message to the node; `take`: this is the message's last delivery,
  /// so its payload may be moved instead of copied.
  void receive(Node& node, std::uint32_t from, Wire& wire, bool take) {
    if (!node.core || node.down) return;
    if (const Height heard = height_of(wire); heard != 0) {
      node.peer_heights[from] = std::max(node.peer_heights[from], heard);
      maybe_fetch(node, from, heard);
    }
    std::visit(
        [&](auto& message) {
          using T = std::decay_t<decltype(message)>;
          auto own = [&](auto& part) { return take ? std::move(part) : std::decay_t<decltype(part)>(part); };
          if constexpr (std::is_same_v<T, Proposal>) {
            feed_proposal(node, own(message));
          } else if constexpr (std::is_same_v<T, Vote>) {
            if (!hold_late_vote(node, from, message)) feed_vote(node, message, from);
          } else if constexpr (std::is_same_v<T, Help>) {
            Help help = own(message);
            receive_help(node, help);
          } else if constexpr (std::is_same_v<T, Gossip>) {
            for (Proposal& p : message.proposals) feed_proposal(node, own(p));
            for (const Vote& vote : message.votes) feed_vote(node, vote);
          } else if constexpr (std::is_same_v<T, SyncRequest>) {
            serve_fetch(node, from, message.from);
          } else {
            SyncResponse reply = own(message);
            accept_blocks(node, reply);
          }
        },
        wire);
  }

  /// A proposal from the network goes to the core with the application's verdict.
  void feed_proposal(Node& node, Proposal proposal) {
    remember_proposal(node, proposal);
    const Validity validity = validity_of(proposal.value);
    feed(node, ReceivedProposal{std::move(proposal), validity});
  }

  /// A decided height's proposal and commit go in as a proposal plus a certificate (the
  /// commit counts even where the laggard saw a conflicting vote from a Byzantine voter);
  /// a round's own votes go in as votes.
  void receive_help(Node& node, Help& help) {
    if (help.proposal) {
      const Height decided_before = node.decided;
      feed_proposal(node, std::move(*help.proposal));
      if (!help.votes.empty()) feed(node, Certificate{std::move(help.votes)});
      if (node.correct() && node.decided > decided_before) ++result_.heights_decided_from_help;
      return;
    }
    for (const Vote& vote : help.votes) feed_vote(node, vote);
  }

  void send_help(Node& node, Retransmit& retransmit) {
    const auto to = validators_.index_of(retransmit.to);
    if (!to) return;
    Help help{std::move(retransmit.proposal), std::move(retransmit.votes)};
    if (node.peer_heights[*to] > height_of(help)) return;  // it has moved on meanwhile
    if (node.correct()) ++result_.help_sent;
    const std::uint32_t parcel = open_parcel(node.index, std::move(help));
    address(parcel, static_cast<std::uint32_t>(*to));
    close_parcel(parcel);
  }

  /// The core answers any vote of the height it last decided with that height's commit,
  /// the late precommits of peers that decided in the same instant included: n^2
  /// commits of n votes per height, for nothing. Like a gossip layer that knows its
  /// peers' heights, the node holds such a vote back for two message delays and gives
  /// it to the core (which then helps) only if it has not heard the peer at a later
  /// height meanwhile.
  bool hold_late_vote(Node& node, std::uint32_t from, const Vote& vote) {
    if (vote.height != node.decided || from == node.index) return false;
    std::uint32_t id;
    if (free_late_votes_.empty()) {
      id = static_cast<std::uint32_t>(late_votes_.size());
      late_votes_.push_back(LateVote{vote, from});
    } else {
      id = free_late_votes_.back();
      free_late_votes_.pop_back();
      late_votes_[id] = LateVote{vote, from};
    }
    queue_.push(now_ + 2 * max_delay_, EventKind::late_vote_due, node.index, id);
    return true;
  }

  void late_vote_due(Node& node, std::uint32_t id) {
    const LateVote& late = late_votes_[id];
    if (node.peer_heights[late.from] <= late.vote.height && !node.down) feed_vote(node, late.vote, late.from);
    free_late_votes_.push_back(id);
  }

  // ---- timers ----

  void schedule_timer(Node& node, const ScheduleTimeout& timeout) {
    std::uint32_t id;
    if (free_timers_.empty()) {
      id = static_cast<std::uint32_t>(timers_.size());
      timers_.emplace_back();
    } else {
      id = free_timers_.back();
      free_timers_.pop_back();
    }
    timers_[id] = TimeoutFired{timeout.kind, timeout.height, timeout.round};
    const auto ms = static_cast<Time>(std::max<Duration::rep>(timeout.duration.count(), 0));
    const Time delay = ms > (std::numeric_limits<Time>::max() - now_) / micros_per_ms ? std::numeric_limits<Time>::max() - now_
                                                                                      : ms * micros_per_ms;
    queue_.push(now_ + delay, EventKind::timeout, node.index, id);
  }

  void fire_timer(Node& node, std::uint32_t id) {
    const TimeoutFired timeout = timers_[id];
    free_timers_.push_back(id);
    if (node.down) return;
    // A timeout of a height the core has left can do nothing: skip the call.
    if (timeout.height < node.core->height()) return;
    if (trace_) trace_->timeouts.push_back({now_, node.index, timeout.kind, timeout.height, timeout.round});
    feed(node, timeout);
  }

  /// A correct node whose height, round and step have not moved since the last tick
  /// relays what it has of its round: the proposal and every vote it heard in this round
  /// and the previous one, its own included. This is the simulated gossip layer, and what the protocol's liveness rests
  /// on: whatever one correct node received, every correct node eventually receives (else
  /// an equivocator could show each half of the network different votes for ever). Peers
  /// in a later round answer with their own votes, peers past the height with its commit
  /// (core laggard help).
  void gossip_tick(Node& node) {
    queue_.push(now_ + gossip_interval_, EventKind::gossip_tick, node.index, 0);
    if (node.down) return;
    if (node.fault == Fault::random) {
      const std::uint32_t peer = static_cast<std::uint32_t>(adversary_rng_.below(nodes_.size()));
      if (peer != node.index) {
        const std::uint32_t parcel = open_parcel(node.index, random_message(node));
        address(parcel, peer);
        close_parcel(parcel);
      }
      return;
    }
    if (!node.correct()) return;
    const Core& core = *node.core;
    const auto state = std::tuple{core.height(), core.round(), core.step(), core.decided()};
    const bool stalled = state == node.state_at_last_tick;
    node.state_at_last_tick = state;
    if (!stalled) return;
    // A peer a height ahead helps once with the commit; if that help was lost (this node
    // was down, say), nothing else would move this node: fetch the block.
    for (std::uint32_t peer = 0; peer < nodes_.size(); ++peer)
      if (peer != node.index) maybe_fetch(node, peer, node.peer_heights[peer], true);
    Gossip gossip;
    for (const Proposal& p : node.proposals)
      if (p.height == core.height() && p.round == core.round()) gossip.proposals.push_back(p);
    // The previous round's votes too: they carry a straggler to this round (its precommit
    // quorum, or the round-skip power of this round's votes).
    for (const HeardVote& heard : node.heard)
      if (heard.round + 1 >= core.round()) gossip.votes.push_back(heard_vote(node, heard));
    if (gossip.proposals.empty() && gossip.votes.empty()) return;
    ++result_.relays;
    broadcast(node, Wire{std::move(gossip)});
  }

  // ---- the network ----

  void broadcast(const Node& node, Wire wire) {
    const std::uint32_t parcel = open_parcel(node.index, std::move(wire));
    if (plain_network()) {
      address_all_plain(parcel);
    } else {
      for (std::uint32_t peer = 0; peer < nodes_.size(); ++peer)
        if (peer != node.index) address(parcel, peer);
    }
    close_parcel(parcel);
  }

  /// No per-link models, partitions, loss, duplication or reordering, and no trace: every
  /// copy is delivered once after the default delay, so address() reduces to the delay
  /// and order-key draws, which address_all_plain() makes in the same order.
  bool plain_network() const {
    const NetworkModel& net = options_.network;
    const LinkModel& link = net.default_link;
    return !trace_ && net.partitions.empty() && !net.has_link_overrides() && link.drop <= 0 &&
           link.duplicate <= 0 && link.reorder <= 0;
  }

  /// address(id, peer) for every peer but the sender, on a plain_network().
  void address_all_plain(std::uint32_t id) {
    Parcel& parcel = *parcels_[id];
    const LinkModel& link = options_.network.default_link;
    const Time min_delay = link.min_delay;
    const Time max_delay = link.max_delay;
    const auto n = static_cast<std::uint32_t>(nodes_.size());
    parcel.deliveries.reserve(n);
    for (std::uint32_t to = 0; to < n; ++to) {
      if (to == parcel.from) continue;
      ++result_.messages_sent;
      if (!nodes_[to].core) continue;  // a silent node reads nothing: spare the events
      const Time delay = min_delay == max_delay ? min_delay : net_rng_.between(min_delay, max_delay);
      parcel.deliveries.push_back(Delivery{now_ + delay, net_rng_.next(), to});
    }
  }

  /// The first message to side 0 (the Byzantine nodes included), the second to side 1.
  void send_split(const Node& node, Wire first, Wire second) {
    const std::uint32_t to_first = open_parcel(node.index, std::move(first));
    const std::uint32_t to_second = open_parcel(node.index, std::move(second));
    for (std::uint32_t peer = 0; peer < nodes_.size(); ++peer)
      if (peer != node.index) address(side_[peer] == 0 ? to_first : to_second, peer);
    close_parcel(to_first);
    close_parcel(to_second);
  }

  std::uint32_t open_parcel(std::uint32_t from, Wire wire) {
    std::uint32_t id;
    if (free_parcels_.empty()) {
      id = static_cast<std::uint32_t>(parcels_.size());
      parcels_.push_back(std::make_unique<Parcel>());
    } else {
      id = free_parcels_.back();
      free_parcels_.pop_back();
    }
    Parcel& parcel = *parcels_[id];
    parcel.wire = std::move(wire);
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
    if (!nodes_[to].core) return;  // a silent node reads nothing: spare the events
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
    if (parcel.deliveries.empty()) {
      release_parcel(id);
      return;
    }
    std::sort(parcel.deliveries.begin(), parcel.deliveries.end(), [](const Delivery& a, const Delivery& b) {
      __extension__ using u128 = unsigned __int128;
      return ((u128{a.at} << 64) | a.key) < ((u128{b.at} << 64) | b.key);  // (at, key), branch-free
    });
    queue_.push(parcel.deliveries.front().at, EventKind::deliver, parcel.from, id);
  }

  void release_parcel(std::uint32_t id) {
    parcels_[id]->wire = Wire{};  // frees the payload now, not when the slot is reused
    free_parcels_.push_back(id);
  }

  void deliver_next(std::uint32_t id) {
    Parcel& parcel = *parcels_[id];  // stays put while the receiver sends
    const Delivery delivery = parcel.deliveries[parcel.next++];
    const bool last = parcel.next == parcel.deliveries.size();
    if (!last) queue_.push(parcel.deliveries[parcel.next].at, EventKind::deliver, parcel.from, id);
    receive(nodes_[delivery.to], parcel.from, parcel.wire, last);
    if (last) release_parcel(id);
  }

  void trace_message(const Parcel& parcel, std::uint32_t to, Time delivered, bool dropped) {
    const auto* vote = std::get_if<Vote>(&parcel.wire);
    Round round = 0;
    if (vote) round = vote->round;
    if (const auto* p = std::get_if<Proposal>(&parcel.wire)) round = p->round;
    trace_->messages.push_back({now_, delivered, parcel.from, to, kind_of(parcel.wire), height_of(parcel.wire), round,
                                vote && !vote->value, dropped});
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
  Rng crash_rng_{root_rng_.fork(4)};
  static constexpr Time crash_interval = from_ms(300);
  std::vector<wal::Record> recovered_records_;
  SafetyChecker checker_;
  const Time gossip_interval_;
  const Time max_delay_;
  const Time sync_timeout_;
  Time deadline_ = 0;
  Time now_ = 0;

  ValidatorSet validators_;
  std::vector<Node> nodes_;
  std::size_t correct_count_ = 0;
  std::size_t reached_target_ = 0;
  std::uint64_t decisions_since_prune_ = 0;
  std::vector<std::uint8_t> side_;  // the half of the network each node belongs to
  std::map<std::pair<Height, Round>, std::pair<Value, Value>> split_proposals_;

  std::vector<Output> outputs_;  // scratch: one node handles one input at a time
  /// Boxed: a parcel stays put while its receiver sends (opening parcels), and indexing
  /// a vector is cheaper than indexing a deque.
  std::vector<std::unique_ptr<Parcel>> parcels_;
  std::vector<std::uint32_t> free_parcels_;
  /// Late votes held back (hold_late_vote): a quarter of all deliveries at 100
  /// validators, so a plain pool rather than parcels.
  struct LateVote {
    Vote vote;
    std::uint32_t from;
  };
  std::vector<LateVote> late_votes_;
  std::vector<std::uint32_t> free_late_votes_;
  std::vector<TimeoutFired> timers_;
  std::vector<std::uint32_t> free_timers_;
};

}  // namespace

Result<RunResult> run_simulation(const SimOptions& options, std::uint64_t seed, const RunHooks& hooks) {
  if (auto ok = options.validate(); !ok) return ok.error();
  Cluster cluster(options, seed, hooks);
  return cluster.run();
}

}  // namespace bft::sim
