// Recovery: a scripted two-height run of one node (locks, a round change, an own
// proposal, a decision), crashed at every write point of the disk and at every step;
// the node restarts from its WAL, must come back in the state the durable records
// describe, must never have sent what the log does not hold, and, continuing, must never
// sign a second message for a slot. Plus the double-sign guard on its own.
#include <gtest/gtest.h>

#include <algorithm>

#include <map>
#include <tuple>

#include "bft/wal/replay.hpp"
#include "bft/wal/sign_guard.hpp"
#include "bft/wal/wal.hpp"

namespace bft::wal {
namespace {

ValidatorSet validators() {
  std::vector<Validator> vs;
  for (int i = 0; i < 4; ++i) vs.push_back(Validator{Address::from_text("v" + std::to_string(i)), 1, 1});
  return *ValidatorSet::create(std::vector<Validator>(vs));
}

Core new_core(const Address& self) { return std::move(Core::create(self, Config{}, make_round_robin_selector()).value()); }

struct State {
  Height height;
  Round round;
  Step step;
  bool decided;
  std::optional<Value> locked;
  Round locked_round;
  std::optional<Value> valid;
  Round valid_round;
  friend bool operator==(const State&, const State&) = default;
};

State state_of(const Core& c) {
  return {c.height(), c.round(), c.step(), c.decided(), c.locked_value(), c.locked_round(), c.valid_value(), c.valid_round()};
}

using Slot = std::tuple<Height, Round, int>;
Slot slot_of(const Vote& v) { return {v.height, v.round, static_cast<int>(v.type)}; }
Slot slot_of(const Proposal& p) { return {p.height, p.round, 0}; }

/// One node as a real one would run it: every input logged, then handled; every own
/// message authorized by the guard and made durable before it is "sent", then fed back.
struct Driver {
  MemoryStorage* disk;
  MemoryStorage* guard_disk;
  Core core;
  std::optional<Wal> wal;
  std::optional<SignGuard> guard;
  bool dead = false;
  std::vector<State> states;  // after each handled input
  std::map<Slot, std::string> sent;

  Driver(MemoryStorage& d, MemoryStorage& g, Address self, WalOptions options)
      : disk(&d), guard_disk(&g), core(new_core(self)) {
    auto opened = Wal::open(d, options);
    EXPECT_TRUE(opened);
    wal.emplace(std::move(opened->wal));
    guard.emplace(std::move(SignGuard::open(g).value()));
  }

  void feed(Input first) {
    std::vector<Input> inbox{std::move(first)};
    for (std::size_t i = 0; i < inbox.size() && !dead; ++i) {
      if (!wal->append(record_of(inbox[i]))) {
        dead = true;
        return;
      }
      std::vector<Output> outputs;
      (void)core.handle(std::move(inbox[i]), outputs);
      states.push_back(state_of(core));
      for (Output& out : outputs) {
        if (auto* bv = std::get_if<BroadcastVote>(&out)) {
          if (!send(bv->vote, OwnVote{bv->vote, {}})) return;
          inbox.emplace_back(bv->vote);
        } else if (auto* bp = std::get_if<BroadcastProposal>(&out)) {
          if (!send(bp->proposal, OwnProposal{bp->proposal, {}})) return;
          inbox.emplace_back(ReceivedProposal{bp->proposal, Validity::valid});
        } else if (auto* gv = std::get_if<GetValue>(&out)) {
          inbox.emplace_back(ProposeValue{gv->height, gv->round, Value::from_text("ok:mine")});
        } else if (auto* d = std::get_if<Decide>(&out)) {
          inbox.emplace_back(StartHeight{d->height + 1, validators()});
        }
      }
    }
  }

  template <class M>
  bool send(const M& message, const Record& own) {
    if (auto ok = guard->authorize(message); !ok) {
      ADD_FAILURE() << "guard refused " << to_string(message) << ": " << ok.error().message;
      return false;
    }
    if (!wal->append(own)) {
      dead = true;
      return false;
    }
    auto [it, fresh] = sent.emplace(slot_of(message), to_string(message));
    EXPECT_TRUE(fresh || it->second == to_string(message)) << "double sign: " << it->second << " vs " << to_string(message);
    return true;
  }
};

struct Script {
  Address self;
  std::vector<Input> steps;
};

Script make_script() {
  Core probe = new_core(Address::from_text("v0"));
  std::vector<Output> ignored;
  (void)probe.handle(StartHeight{1, validators()}, ignored);
  const Address p0 = *probe.proposer(0);
  const Address self = *probe.proposer(1);
  EXPECT_NE(p0, self);
  std::vector<Address> others;
  for (int i = 0; i < 4; ++i)
    if (Address a = Address::from_text("v" + std::to_string(i)); a != self && others.size() < 2) others.push_back(a);
  const auto A = Value::from_text("ok:A");
  Script s{self, {}};
  s.steps.emplace_back(StartHeight{1, validators()});
  s.steps.emplace_back(ReceivedProposal{Proposal{1, 0, A, nil_round, p0, {}}, Validity::valid});
  for (const Address& o : others) s.steps.emplace_back(Vote{VoteType::prevote, 1, 0, A, o});
  for (const Address& o : others) s.steps.emplace_back(Vote{VoteType::precommit, 1, 0, std::nullopt, o});
  s.steps.emplace_back(TimeoutFired{TimeoutKind::precommit, 1, 0});
  for (const Address& o : others) s.steps.emplace_back(Vote{VoteType::prevote, 1, 1, A, o});
  for (const Address& o : others) s.steps.emplace_back(Vote{VoteType::precommit, 1, 1, A, o});
  s.steps.emplace_back(TimeoutFired{TimeoutKind::propose, 2, 0});
  for (const Address& o : others) s.steps.emplace_back(Vote{VoteType::prevote, 2, 0, std::nullopt, o});
  for (const Address& o : others) s.steps.emplace_back(Vote{VoteType::precommit, 2, 0, std::nullopt, o});
  return s;
}

/// Restarts a crashed driver's node from its disks, checks the recovered state against
/// the reference run, then replays the whole script again and checks the end state.
void recover_and_check(MemoryStorage& disk, MemoryStorage& guard_disk, const std::map<Slot, std::string>& sent_before,
                       const Script& script, const std::vector<State>& reference, const State& final_state,
                       WalOptions options, const std::string& where) {
  SCOPED_TRACE(where);
  auto opened = Wal::open(disk, options);
  ASSERT_TRUE(opened) << opened.error().message;
  Core core = new_core(script.self);
  auto replayed = replay(core, opened->records);
  ASSERT_TRUE(replayed) << replayed.error().message;
  // The replayed inputs are a prefix of the reference run's: the state is the one the
  // node had after the last durable input.
  ASSERT_LE(replayed->inputs, reference.size());
  if (replayed->inputs > 0) {
    EXPECT_EQ(state_of(core), reference[replayed->inputs - 1]);
  }
  EXPECT_EQ(replayed->rejected, 0u);
  // Everything sent before the crash is in the log (durable before send).
  std::map<Slot, std::string> logged;
  for (const Vote& v : replayed->own_votes) logged.emplace(slot_of(v), to_string(v));
  for (const Proposal& p : replayed->own_proposals) logged.emplace(slot_of(p), to_string(p));
  for (const auto& [slot, text] : sent_before) {
    auto it = logged.find(slot);
    ASSERT_NE(it, logged.end()) << "sent but not in the log: " << text;
    EXPECT_EQ(it->second, text);
  }
  // Continue from the log: the node signs nothing that conflicts with what it sent.
  Driver d(disk, guard_disk, script.self, options);
  d.core = std::move(core);
  d.wal.emplace(std::move(opened->wal));
  d.sent = sent_before;
  for (Input& in : replayed->not_fed_back) d.feed(std::move(in));
  // The application learns of a decision it may have missed, and starts the next height.
  if (d.core.decided()) d.feed(StartHeight{d.core.height() + 1, validators()});
  // A value request whose answer was lost is answered again.
  for (const Output& out : replayed->local)
    if (const auto* gv = std::get_if<GetValue>(&out);
        gv && gv->height == d.core.height() && gv->round == d.core.round() && d.core.step() == Step::propose)
      d.feed(ProposeValue{gv->height, gv->round, Value::from_text("ok:mine")});
  for (const Input& in : script.steps) d.feed(in);
  EXPECT_FALSE(d.dead);
  EXPECT_EQ(d.guard->refusals(), 0u);
  // With every message the core emitted before the crash durable, the run ends as the
  // reference did; with one lost (never sent, and not sent now), the scripted peers
  // alone cannot make up for the node's silence in that slot.
  if (replayed->unsent.empty()) {
    EXPECT_EQ(state_of(d.core), final_state);
  }
}

class Recovery : public ::testing::TestWithParam<SyncPolicy> {};

TEST_P(Recovery, CrashAtEveryWritePointOfAScriptedRun) {
  const WalOptions options{GetParam()};
  const Script script = make_script();
  MemoryStorage ref_disk, ref_guard;
  Driver ref(ref_disk, ref_guard, script.self, options);
  for (const Input& in : script.steps) ref.feed(in);
  ASSERT_FALSE(ref.dead);
  ASSERT_EQ(ref.core.height(), 2u);  // height 1 decided, in round 1, on the own proposal's value
  ASSERT_EQ(ref.core.round(), 0);
  ASSERT_TRUE(ref.sent.count(Slot{1, 1, 0})) << "the node proposed in round 1";
  const std::uint64_t writes = ref_disk.appends();
  ASSERT_GE(writes, 8u);
  std::size_t checked = 0;
  for (std::uint64_t k = 1; k <= writes; ++k) {
    for (std::size_t torn : {std::size_t{0}, std::size_t{3}, std::size_t{11}, std::size_t{1000}}) {
      MemoryStorage disk, guard_disk;
      disk.fail_after_writes(k, torn);
      Driver d(disk, guard_disk, script.self, options);
      for (const Input& in : script.steps)
        if (!d.dead) d.feed(in);
      ASSERT_TRUE(d.dead) << "write " << k << " was never reached";
      disk.restart();
      recover_and_check(disk, guard_disk, d.sent, script, ref.states, state_of(ref.core), options,
                        "crash at write " + std::to_string(k) + ", torn " + std::to_string(torn));
      ++checked;
    }
  }
  EXPECT_EQ(checked, writes * 4);
}

TEST_P(Recovery, PowerLossAfterEveryStepDropsOnlyUnsyncedRecords) {
  const WalOptions options{GetParam()};
  const Script script = make_script();
  MemoryStorage ref_disk, ref_guard;
  Driver ref(ref_disk, ref_guard, script.self, options);
  for (const Input& in : script.steps) ref.feed(in);
  for (std::size_t steps = 0; steps <= script.steps.size(); ++steps) {
    for (std::size_t torn : {std::size_t{0}, std::size_t{5}}) {
      MemoryStorage disk, guard_disk;
      std::map<Slot, std::string> sent;
      {
        Driver d(disk, guard_disk, script.self, options);
        for (std::size_t i = 0; i < steps; ++i) d.feed(script.steps[i]);
        sent = d.sent;
      }
      disk.crash(torn);
      recover_and_check(disk, guard_disk, sent, script, ref.states, state_of(ref.core), options,
                        "power loss after step " + std::to_string(steps) + ", torn " + std::to_string(torn));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Policies, Recovery, ::testing::Values(SyncPolicy::before_send, SyncPolicy::every_record));

// Peers' signatures are for the host: the replay feeds the core the same inputs with or
// without them.
TEST(Replay, PassesOverPeerSignatures) {
  const Script script = make_script();
  MemoryStorage disk, guard_disk;
  {
    Driver d(disk, guard_disk, script.self, WalOptions{});
    d.feed(script.steps[0]);
    d.feed(script.steps[1]);
    ASSERT_TRUE(d.wal->append(PeerSignatures{{std::get<Vote>(script.steps[2])}, {Bytes(64, 1)}}));
    d.feed(script.steps[2]);
    ASSERT_TRUE(d.wal->sync());
  }
  auto opened = Wal::open(disk);
  ASSERT_TRUE(opened);
  EXPECT_EQ(std::count_if(opened->records.begin(), opened->records.end(),
                          [](const Record& r) { return std::holds_alternative<PeerSignatures>(r); }),
            1);
  Core core = new_core(script.self);
  auto r = replay(core, opened->records);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->rejected, 0u);
  EXPECT_GE(r->inputs, 3u);
  EXPECT_EQ(core.height(), 1u);
}

TEST(Replay, RejectsALogWhoseOwnMessagesTheCoreDoesNotProduce) {
  const Script script = make_script();
  MemoryStorage disk, guard_disk;
  {
    Driver d(disk, guard_disk, script.self, WalOptions{});
    d.feed(script.steps[0]);
    ASSERT_TRUE(d.wal->append(OwnVote{Vote{VoteType::precommit, 1, 0, Value::from_text("ok:B"), script.self}, {}}));
  }
  auto opened = Wal::open(disk);
  ASSERT_TRUE(opened);
  Core core = new_core(script.self);
  auto r = replay(core, opened->records);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::replay_diverged);
}

TEST(SignGuard, RefusesAConflictingVoteEvenWithTheLogGone) {
  MemoryStorage guard_disk;
  const Address self = Address::from_text("v0");
  const Vote a{VoteType::prevote, 3, 1, Value::from_text("ok:A"), self};
  Vote b = a;
  b.value = std::nullopt;
  {
    auto guard = SignGuard::open(guard_disk);
    ASSERT_TRUE(guard);
    ASSERT_TRUE(guard->authorize(a));
    ASSERT_TRUE(guard->authorize(a));  // the same vote again: a re-send, allowed
    EXPECT_EQ(guard->authorize(b).error().code, Errc::already_signed);
    Vote precommit = b;
    precommit.type = VoteType::precommit;
    EXPECT_TRUE(guard->authorize(precommit));  // another slot
    const Proposal p{3, 1, Value::from_text("ok:A"), nil_round, self, {}};
    ASSERT_TRUE(guard->authorize(p));
    Proposal q = p;
    q.value = Value::from_text("ok:Q");
    EXPECT_EQ(guard->authorize(q).error().code, Errc::already_signed);
    EXPECT_EQ(guard->refusals(), 2u);
  }
  guard_disk.crash();  // whatever was not synced is lost: the guard synced before answering
  auto again = SignGuard::open(guard_disk);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->authorize(b).error().code, Errc::already_signed);
  EXPECT_TRUE(again->authorize(a));
  // Old heights are forgotten and then refused outright.
  for (Height h = 4; h <= 20; ++h) ASSERT_TRUE(again->authorize(Vote{VoteType::prevote, h, 0, std::nullopt, self}));
  EXPECT_EQ(again->authorize(Vote{VoteType::precommit, 3, 5, std::nullopt, self}).error().code, Errc::already_signed);
  std::size_t files = 0;
  for (const auto& [name, f] : guard_disk.files()) files += name.starts_with("guard") ? 1 : 0;
  EXPECT_LE(files, 9u);
}

// The guard records digests: a megabyte block costs it a few dozen bytes per message.
TEST(SignGuard, RecordsTheDigestOfALargeValueNotTheValue) {
  MemoryStorage guard_disk;
  const Address self = Address::from_text("v0");
  const Value block = Value(Bytes(1 << 20, 0x5b));
  {
    auto guard = SignGuard::open(guard_disk);
    ASSERT_TRUE(guard);
    ASSERT_TRUE(guard->authorize(Proposal{5, 0, block, nil_round, self, {}}));
    ASSERT_TRUE(guard->authorize(Vote{VoteType::prevote, 5, 0, block, self}));
  }
  std::size_t bytes = 0;
  for (const auto& [name, file] : guard_disk.files()) bytes += file.data.size();
  EXPECT_LT(bytes, 1000u);
  auto again = SignGuard::open(guard_disk);
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->authorize(Vote{VoteType::prevote, 5, 0, block, self}));  // the same vote: a re-send
  Bytes other(1 << 20, 0x5b);
  other.back() = 0;
  EXPECT_EQ(again->authorize(Vote{VoteType::prevote, 5, 0, Value(other), self}).error().code, Errc::already_signed);
}

// Files of the first format held whole values: still read, and still refuse conflicts.
TEST(SignGuard, FilesOfTheFirstFormatStillRefuseConflicts) {
  MemoryStorage guard_disk;
  const Address self = Address::from_text("v0");
  const Vote signed_vote{VoteType::precommit, 9, 2, Value::from_text("block nine"), self};
  {
    auto file = guard_disk.open("guard-00000000000000000001.log", true);
    ASSERT_TRUE(file);
    Bytes payload;
    encode_record(OwnVote{signed_vote, {}}, payload);
    Bytes framed;
    append_frame(payload, framed);
    ASSERT_TRUE((*file)->append(framed));
    ASSERT_TRUE((*file)->sync());
  }
  auto guard = SignGuard::open(guard_disk);
  ASSERT_TRUE(guard);
  EXPECT_TRUE(guard->authorize(signed_vote));
  Vote conflicting = signed_vote;
  conflicting.value = Value::from_text("another block");
  EXPECT_EQ(guard->authorize(conflicting).error().code, Errc::already_signed);
}

// A file (and a directory sync) per 64 heights, not per height; what the files hold
// still refuses a conflict after a crash, and old files go.
TEST(SignGuard, FilesHoldManyHeightsAndOldOnesArePruned) {
  MemoryStorage guard_disk;
  const Address self = Address::from_text("v0");
  const auto prevote = [&](Height h, const char* value) {
    return Vote{VoteType::prevote, h, 0, Value::from_text(value), self};
  };
  {
    auto guard = SignGuard::open(guard_disk);
    ASSERT_TRUE(guard);
    for (Height h = 1; h <= 200; ++h) ASSERT_TRUE(guard->authorize(prevote(h, "ok:A")));
  }
  guard_disk.crash();
  std::size_t files = 0;
  for (const auto& [name, f] : guard_disk.files()) files += name.starts_with("guard") ? 1 : 0;
  EXPECT_LE(files, 2u);  // heights 129..192 and 193..200: the rest is below the kept 8
  auto again = SignGuard::open(guard_disk);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->authorize(prevote(200, "ok:B")).error().code, Errc::already_signed);
  EXPECT_EQ(again->authorize(prevote(193, "ok:B")).error().code, Errc::already_signed);
  EXPECT_EQ(again->authorize(prevote(195, "ok:B")).error().code, Errc::already_signed);
  EXPECT_TRUE(again->authorize(prevote(200, "ok:A")));
}

// A caller's cached value digests name the same content as the guard's own hashing: a
// vote reserved through them is the same vote after a restart, another value is not.
TEST(SignGuard, ADigestFromTheCallersCacheNamesTheSameContent) {
  MemoryStorage guard_disk;
  const Vote a{VoteType::prevote, 2, 0, Value::from_text("ok:A"), Address::from_text("v0")};
  Vote b = a;
  b.value = Value::from_text("ok:B");
  codec::ValueDigests digests;
  {
    auto guard = SignGuard::open(guard_disk);
    ASSERT_TRUE(guard);
    ASSERT_TRUE(guard->reserve(a, &digests));
    EXPECT_EQ(guard->reserve(b, &digests).error().code, Errc::already_signed);
    ASSERT_TRUE(guard->sync());
  }
  guard_disk.crash();
  auto again = SignGuard::open(guard_disk);
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->authorize(a));
  EXPECT_EQ(again->authorize(b).error().code, Errc::already_signed);
}

// reserve() takes the slot at once (a conflict is refused before any sync) but is
// durable only after sync(): until then a crash forgets it, as if never signed.
TEST(SignGuard, AReservedMessageIsDurableOnlyAfterSync) {
  MemoryStorage guard_disk;
  const Vote a{VoteType::prevote, 2, 0, Value::from_text("ok:A"), Address::from_text("v0")};
  Vote b = a;
  b.value = std::nullopt;
  {
    auto guard = SignGuard::open(guard_disk);
    ASSERT_TRUE(guard);
    ASSERT_TRUE(guard->reserve(a));
    EXPECT_EQ(guard->reserve(b).error().code, Errc::already_signed);
    // Nothing is written before sync(): a caller syncs its own log first, and the guard
    // then never holds a message that log lost.
    EXPECT_EQ(guard_disk.syncs(), 0u);
    EXPECT_TRUE(guard_disk.files().empty());
  }
  guard_disk.crash();
  {
    auto guard = SignGuard::open(guard_disk);
    ASSERT_TRUE(guard);
    ASSERT_TRUE(guard->reserve(b));  // a never became durable: b may take the slot
    ASSERT_TRUE(guard->sync());
    const std::uint64_t flushes = guard_disk.syncs();
    ASSERT_TRUE(guard->sync());
    EXPECT_EQ(guard_disk.syncs(), flushes);  // nothing new: no second flush
  }
  guard_disk.crash();
  auto again = SignGuard::open(guard_disk);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->reserve(a).error().code, Errc::already_signed);
  EXPECT_TRUE(again->authorize(b));
}

TEST(SignGuard, ATornGuardRecordWasNeverSigned) {
  MemoryStorage guard_disk;
  const Vote a{VoteType::prevote, 1, 0, Value::from_text("ok:A"), Address::from_text("v0")};
  Vote b = a;
  b.value = std::nullopt;
  {
    auto guard = SignGuard::open(guard_disk);
    ASSERT_TRUE(guard);
    guard_disk.fail_after_writes(1, 7);
    EXPECT_EQ(guard->authorize(a).error().code, Errc::io_error);
    EXPECT_EQ(guard->authorize(b).error().code, Errc::io_error);  // closed
  }
  guard_disk.restart();
  auto again = SignGuard::open(guard_disk);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_TRUE(again->authorize(b));  // a was never authorized: b may be signed
  EXPECT_EQ(again->authorize(a).error().code, Errc::already_signed);
}

}  // namespace
}  // namespace bft::wal
