// Replicas in one thread on made-up time: frames go through a FIFO network the test can
// cut, disks are MemoryStorage (crashes drop what was not synced), the application is an
// in-memory chain of commit certificates with a validator set per height.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <functional>
#include <map>
#include <set>

#include "bft/codec/codec.hpp"
#include "bft/crypto/ed25519.hpp"
#include "bft/crypto/signing.hpp"
#include "bft/node/replica.hpp"
#include "bft/node/wire.hpp"
#include "bft/wal/record.hpp"
#include "bft/wal/sign_guard.hpp"

namespace bft::node::replica_cluster {

using std::chrono::milliseconds;

inline const codec::ChainId& chain() {
  static const codec::ChainId id = codec::ChainId::create("replica-test").value();
  return id;
}

inline crypto::Ed25519Signer key(std::uint8_t index) {
  crypto::Seed seed{};
  seed[0] = index;
  seed[1] = 0x5a;
  return crypto::Ed25519Signer::from_seed(seed);
}

/// Commits into memory; values are "h<height> by <proposer index>". The validators of
/// height 1 are the genesis set; `changes` plays the application's validator updates.
class MemoryChain final : public Ledger {
 public:
  MemoryChain(std::size_t index, std::span<const ValidatorKey> genesis)
      : index_(index), history_(std::move(ValidatorHistory::create(genesis).value())) {}
  Value propose(Height height) override {
    std::string value = "h" + std::to_string(height) + " by " + std::to_string(index_);
    if (fresh_values) value += " #" + std::to_string(++proposals_);
    return Value::from_text(value);
  }
  Validity check_proposal(Height height, Round round, const Value& value, const Address&, Round) override {
    if (height > blocks.size() + 1) {
      unknown_values.insert(value.to_string());
      return Validity::unknown;
    }
    if (unknown_values.erase(value.to_string()) > 0) ++late_verdicts;
    const bool valid = value.view().rfind("h" + std::to_string(height) + " ", 0) == 0;
    if (!valid) ++invalid_verdicts;
    if (asynchronous) {
      verdicts_due.push_back({height, round, value, valid});
      return Validity::unknown;
    }
    return valid ? Validity::valid : Validity::invalid;
  }
  Result<void> commit(const codec::QuorumCertificate& commit, std::uint32_t) override {
    if (fail_next_commit) {
      fail_next_commit = false;
      return make_error(Errc::io_error, "disk full");
    }
    EXPECT_EQ(commit.height, blocks.size() + 1);
    blocks.push_back(commit);
    if (const auto change = changes.find(commit.height + 2); change != changes.end()) {
      EXPECT_TRUE(history_.change(change->first, change->second).ok());
    }
    return {};
  }
  const ValidatorHistory& validators() const override { return history_; }
  Height committed_height() const override { return blocks.size(); }
  Height base_height() const override { return base; }
  Result<std::optional<codec::QuorumCertificate>> committed(Height height) const override {
    if (unreadable.contains(height)) return make_error(Errc::io_error, "pread: Input/output error");
    if (height < base || height > blocks.size()) return std::optional<codec::QuorumCertificate>{};
    return std::optional<codec::QuorumCertificate>{blocks[height - 1]};
  }

  std::vector<codec::QuorumCertificate> blocks;
  bool fail_next_commit = false;
  Height base = 1;  // heights below it answer as pruned
  std::set<std::string> unknown_values;  // proposals of heights beyond the next, not judged yet
  std::uint64_t late_verdicts = 0;        // judged once their height came
  struct Verdict {
    Height height;
    Round round;
    Value value;
    bool valid;
  };
  bool asynchronous = false;           // verdicts come later, through Replica::on_verdict
  std::vector<Verdict> verdicts_due;   // judged, not yet delivered
  std::uint64_t invalid_verdicts = 0;
  std::set<Height> unreadable;  // committed, but reading them fails
  /// The set from a height on, in force once the height two below it commits.
  std::map<Height, std::vector<ValidatorKey>> changes;
  /// Each proposal another value, as bft-node's engine builds each block anew (its time,
  /// the mempool's transactions): a proposal lost in a crash is not proposed again.
  bool fresh_values = false;

 private:
  std::size_t index_;
  ValidatorHistory history_;
  std::uint64_t proposals_ = 0;
};

class Cluster;

class Link final : public Network {
 public:
  Link(Cluster& cluster, std::size_t index) : cluster_(cluster), index_(index) {}
  void broadcast(std::shared_ptr<const Bytes> frame) override;
  void send(const Address& to, std::shared_ptr<const Bytes> frame) override;

 private:
  Cluster& cluster_;
  std::size_t index_;
};

struct Node {
  crypto::Ed25519Signer signer;
  Address address;
  wal::MemoryStorage wal_disk;
  wal::MemoryStorage guard_disk;
  std::unique_ptr<MemoryChain> app;
  std::unique_ptr<Link> link;
  std::unique_ptr<Replica> replica;
};

struct Delivery {
  std::size_t from;
  std::size_t to;
  std::shared_ptr<const Bytes> frame;
  TimePoint due;
};

class Cluster {
 public:
  /// `size` nodes; the first `size - full_nodes` are the validators of height 1, each of
  /// power 1.
  explicit Cluster(std::size_t size, wal::SyncPolicy policy = wal::SyncPolicy::before_send,
                   LogLevel log_level = LogLevel::error, std::size_t full_nodes = 0)
      : options_(chain()), logger_(log_level) {
    options_.wal.sync = policy;
    options_.wal.heights_per_segment = 16;  // runs of 100 heights cross several segments
    std::vector<ValidatorKey> genesis;
    for (std::size_t i = 0; i + full_nodes < size; ++i)
      genesis.push_back({key(static_cast<std::uint8_t>(i + 1)).public_key(), 1});
    for (std::size_t i = 0; i < size; ++i) {
      auto node = std::make_unique<Node>(Node{key(static_cast<std::uint8_t>(i + 1)), {}, {}, {}, nullptr, nullptr, nullptr});
      node->address = crypto::address_of(node->signer.public_key());
      node->app = std::make_unique<MemoryChain>(i, genesis);
      node->link = std::make_unique<Link>(*this, i);
      nodes_.push_back(std::move(node));
    }
    options_.consensus.propose = {milliseconds{300}, milliseconds{100}};
    options_.consensus.prevote = {milliseconds{100}, milliseconds{50}};
    options_.consensus.precommit = {milliseconds{100}, milliseconds{50}};
    for (std::size_t i = 0; i < size; ++i) EXPECT_TRUE(open(i).ok());
  }

  Result<void> open(std::size_t i) {
    Node& node = *nodes_[i];
    auto replica = Replica::open(options_, node.signer, node.wal_disk, node.guard_disk, *node.app, *node.link, logger_, now_);
    if (!replica) return replica.error();
    node.replica = std::move(*replica);
    for (std::size_t peer = 0; peer < nodes_.size(); ++peer)
      if (peer != i && nodes_[peer]->replica) {
        node.replica->on_peer_connected(nodes_[peer]->address, now_);
        nodes_[peer]->replica->on_peer_connected(node.address, now_);
      }
    return {};
  }

  /// Power loss: the replica is gone, its disks keep what was synced.
  void crash(std::size_t i) {
    nodes_[i]->replica.reset();
    nodes_[i]->wal_disk.crash();
    nodes_[i]->guard_disk.crash();
    std::erase_if(in_flight_, [&](const Delivery& d) { return d.to == i || d.from == i; });
  }

  void enqueue(std::size_t from, std::size_t to, std::shared_ptr<const Bytes> frame) {
    if (!nodes_[from]->replica || cut_.contains(from) || cut_.contains(to) || muted_.contains(from)) return;
    record_signed(from, to, *frame);
    in_flight_.push_back({from, to, std::move(frame), now_ + latency_});
  }

  void broadcast(std::size_t from, const std::shared_ptr<const Bytes>& frame) {
    for (std::size_t to = 0; to < nodes_.size(); ++to)
      if (to != from) enqueue(from, to, frame);
  }

  std::size_t index_of(const Address& address) const {
    for (std::size_t i = 0; i < nodes_.size(); ++i)
      if (nodes_[i]->address == address) return i;
    ADD_FAILURE() << "unknown address";
    return 0;
  }

  /// Every frame takes this long from now on (0: delivered before time moves on, so a
  /// healthy cluster decides heights without time passing).
  void set_latency(milliseconds latency) { latency_ = latency; }

  /// Delivers frames in order; when none is due, moves time to the next deadline.
  /// Stops when `done` holds or `limit` of virtual time has passed.
  bool run_until(const std::function<bool()>& done, milliseconds limit = milliseconds{60'000}) {
    const TimePoint end = now_ + limit;
    while (!done()) {
      if (now_ > end) return false;
      for (const auto& node : nodes_) {
        if (!node->replica) continue;
        std::vector<MemoryChain::Verdict> due;
        due.swap(node->app->verdicts_due);
        for (const auto& verdict : due)
          node->replica->on_verdict(verdict.height, verdict.round, verdict.value, verdict.valid, now_);
      }
      if (!in_flight_.empty() && in_flight_.front().due <= now_) {
        Delivery next = std::move(in_flight_.front());
        in_flight_.pop_front();
        if (auto& replica = nodes_[next.to]->replica) replica->on_frame(nodes_[next.from]->address, *next.frame, now_);
        continue;
      }
      TimePoint next = in_flight_.empty() ? end + milliseconds{1} : in_flight_.front().due;
      for (const auto& node : nodes_)
        if (node->replica) next = std::min(next, node->replica->next_deadline());
      now_ = std::max(now_ + milliseconds{1}, next);
      for (const auto& node : nodes_)
        if (node->replica) node->replica->on_time(now_);
    }
    return true;
  }

  bool all_reach(Height height, std::set<std::size_t> except = {}) {
    return run_until([&] {
      for (std::size_t i = 0; i < nodes_.size(); ++i)
        if (!except.contains(i) && nodes_[i]->app->committed_height() < height) return false;
      return true;
    });
  }

  void expect_agreement() const {
    for (const auto& node : nodes_)
      for (std::size_t h = 0; h < node->app->blocks.size(); ++h)
        for (const auto& other : nodes_)
          if (h < other->app->blocks.size()) {
            EXPECT_EQ(node->app->blocks[h].value, other->app->blocks[h].value) << "height " << h + 1;
          }
  }

  /// Every vote slot (signer, height, round, type) was signed for one value only.
  void expect_no_double_signing() const {
    for (const auto& [slot, values] : signed_votes_) EXPECT_EQ(values.size(), 1u);
  }

  /// Whether node `i` sent a vote it signed for `height`.
  bool signed_at(std::size_t i, Height height) const {
    return std::any_of(signed_votes_.begin(), signed_votes_.end(), [&](const auto& entry) {
      return std::get<0>(entry.first) == i && std::get<1>(entry.first) == height;
    });
  }

  /// How often node `from` sent node `to` each vote it signed at `height`, keyed by
  /// (round, type).
  std::map<std::pair<Round, int>, std::size_t> own_vote_sends(std::size_t from, std::size_t to, Height height) const {
    std::map<std::pair<Round, int>, std::size_t> sends;
    for (const auto& [key, count] : own_vote_sends_) {
      const auto& [slot, receiver] = key;
      if (std::get<0>(slot) == from && receiver == to && std::get<1>(slot) == height)
        sends[{std::get<2>(slot), std::get<3>(slot)}] = count;
    }
    return sends;
  }

  /// Plays the same validator updates on every node's chain: the set from `height` on.
  void change_validators(Height height, const std::vector<ValidatorKey>& validators) {
    for (const auto& node : nodes_) node->app->changes[height] = validators;
  }

  Node& node(std::size_t i) { return *nodes_[i]; }
  std::set<std::size_t>& cut() { return cut_; }
  /// Nodes whose frames are lost (they still hear the others).
  std::set<std::size_t>& muted() { return muted_; }
  TimePoint now() const { return now_; }
  std::size_t size() const { return nodes_.size(); }
  const ReplicaOptions& options() const { return options_; }

 private:
  void record_signed(std::size_t from, std::size_t to, const Bytes& frame) {
    auto message = decode_frame(frame);
    ASSERT_TRUE(message.ok());
    const auto* consensus = std::get_if<codec::Message>(&*message);
    if (!consensus) return;
    const bool own = std::visit(
        [&](const auto& m) {
          using M = std::decay_t<decltype(m)>;
          if constexpr (std::is_same_v<M, codec::SignedVote>) return m.vote.voter == nodes_[from]->address;
          if constexpr (std::is_same_v<M, codec::SignedProposal>) return m.proposer == nodes_[from]->address;
          return false;
        },
        *consensus);
    // Nothing signed leaves before the guard's record of it is durable.
    if (own) {
      for (const auto& [name, file] : nodes_[from]->guard_disk.files())
        EXPECT_EQ(file.synced, file.data.size()) << "node " << from << " sent an own message before " << name << " was synced";
    }
    if (const auto* vote = std::get_if<codec::SignedVote>(consensus)) {
      if (vote->vote.voter != nodes_[from]->address) return;
      const VoteSlot slot{from, vote->vote.height, vote->vote.round, static_cast<int>(vote->vote.type)};
      signed_votes_[slot].insert(vote->vote.value ? vote->vote.value->to_string() : "nil");
      ++own_vote_sends_[{slot, to}];
    }
  }

  ReplicaOptions options_;
  Logger logger_;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::deque<Delivery> in_flight_;  // by due time: the latency is the same for every frame
  milliseconds latency_{0};
  std::set<std::size_t> cut_;
  std::set<std::size_t> muted_;
  TimePoint now_{std::chrono::hours(1)};
  using VoteSlot = std::tuple<std::size_t, Height, Round, int>;  // signer, height, round, type
  std::map<VoteSlot, std::set<std::string>> signed_votes_;
  std::map<std::pair<VoteSlot, std::size_t>, std::size_t> own_vote_sends_;  // per receiver
};

inline void Link::broadcast(std::shared_ptr<const Bytes> frame) { cluster_.broadcast(index_, frame); }
inline void Link::send(const Address& to, std::shared_ptr<const Bytes> frame) {
  cluster_.enqueue(index_, cluster_.index_of(to), std::move(frame));
}

}  // namespace bft::node::replica_cluster
