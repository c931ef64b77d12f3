// Replicas in one thread on made-up time (replica_cluster.hpp): consensus, recovery,
// sync and gossip of the node's engine.
#include "bft/node/replica.hpp"

#include <gtest/gtest.h>

#include "replica_cluster.hpp"

namespace bft::node {
namespace {

using namespace replica_cluster;

TEST(Replica, FourReplicasCommitTheSameBlocks) {
  Cluster cluster(4);
  ASSERT_TRUE(cluster.all_reach(20));
  cluster.expect_agreement();
  cluster.expect_no_double_signing();
  for (std::size_t i = 0; i < cluster.size(); ++i) {
    EXPECT_EQ(cluster.node(i).replica->stats().frames_rejected, 0u);
    EXPECT_FALSE(cluster.node(i).replica->fatal());
  }
  // Every block is a valid commit certificate of the chain's validators.
  const auto& block = cluster.node(0).app->blocks[4];
  EXPECT_EQ(block.height, 5u);
  EXPECT_GE(block.signatures.size(), 3u);
}

// Own messages logged in one call are made durable together: a proposer's proposal and
// the prevote it causes cost one flush of the guard, so a height costs each replica two
// (prevote, precommit), not three. The guard's file per 64 heights adds a directory sync.
TEST(Replica, AnOwnProposalAndThePrevoteItCausesShareOneFlush) {
  Cluster cluster(4);
  ASSERT_TRUE(cluster.all_reach(40));
  std::uint64_t flushes = 0;
  Height heights = 0;
  for (std::size_t i = 0; i < cluster.size(); ++i) {
    flushes += cluster.node(i).guard_disk.syncs();
    heights += cluster.node(i).replica->height();
  }
  EXPECT_LE(flushes, 2 * heights + cluster.size());
}

TEST(Replica, ACutOffReplicaCatchesUpBySync) {
  Cluster cluster(4);
  ASSERT_TRUE(cluster.all_reach(3));
  cluster.cut().insert(3);
  ASSERT_TRUE(cluster.all_reach(15, {3}));
  const Height behind = cluster.node(3).app->committed_height();
  EXPECT_LT(behind, 10u);
  cluster.cut().clear();
  ASSERT_TRUE(cluster.all_reach(20));
  const ReplicaStats& synced = cluster.node(3).replica->stats();
  EXPECT_GT(synced.blocks_synced, 0u);
  // One request per batch of sync_batch blocks (and a spare), not one per block received.
  EXPECT_LE(synced.sync_requests, synced.blocks_synced / cluster.options().sync_batch + 2);
  cluster.expect_agreement();
  cluster.expect_no_double_signing();
}

TEST(Replica, ARestartedReplicaResumesFromItsLogAndNeverSignsTwice) {
  Cluster cluster(4);
  for (Height target : {4, 8, 12, 16}) {
    ASSERT_TRUE(cluster.all_reach(target));
    cluster.crash(static_cast<std::size_t>(target / 4 % 4));
    ASSERT_TRUE(cluster.all_reach(target + 2, {static_cast<std::size_t>(target / 4 % 4)}));
    ASSERT_TRUE(cluster.open(static_cast<std::size_t>(target / 4 % 4)).ok());
  }
  ASSERT_TRUE(cluster.all_reach(24));
  cluster.expect_agreement();
  cluster.expect_no_double_signing();
  std::uint64_t duplicates = 0;
  for (std::size_t i = 0; i < cluster.size(); ++i) {
    EXPECT_EQ(cluster.node(i).replica->stats().guard_refusals, 0u);
    duplicates += cluster.node(i).replica->stats().duplicates_ignored;
  }
  // A reconnected peer is sent the current height's messages again; who has them skips them.
  EXPECT_GT(duplicates, 0u);
}

// Many crashes over many heights: restarts land on every phase of a height and across
// WAL segments (16 heights each), and each restarted replica catches up.
TEST(Replica, ManyCrashesAcrossSegmentsLoseNothingAndNeverDoubleSign) {
  Cluster cluster(4);
  std::size_t victim = 0;
  for (Height target = 5; target <= 95; target += 5) {
    ASSERT_TRUE(cluster.all_reach(target));
    victim = (victim + 3) % cluster.size();
    cluster.crash(victim);
    ASSERT_TRUE(cluster.all_reach(target + 1 + target % 3, {victim}));
    ASSERT_TRUE(cluster.open(victim).ok());
  }
  ASSERT_TRUE(cluster.all_reach(100));
  cluster.expect_agreement();
  cluster.expect_no_double_signing();
}

// The log can hold an own message the guard never recorded durably (a segment's seal
// syncs the log in the middle of a call; the guard is flushed at its end). On restart
// the guard learns the log's own messages of the current height before any leaves:
// here the guard's files are lost altogether, and it still refuses a conflict.
TEST(Replica, TheGuardRelearnsTheOwnMessagesTheLogHolds) {
  Cluster cluster(4);
  ASSERT_TRUE(cluster.all_reach(3));
  cluster.cut().insert(0);  // node 0 alone: it times out and prevotes nil, or proposes
  cluster.run_until([] { return false; }, milliseconds{2'000});
  const Height height = cluster.node(0).replica->height();
  cluster.crash(0);
  cluster.node(0).guard_disk.files().clear();
  cluster.cut().clear();
  ASSERT_TRUE(cluster.open(0).ok());
  auto guard = wal::SignGuard::open(cluster.node(0).guard_disk);
  ASSERT_TRUE(guard);
  const Vote conflicting{VoteType::prevote, height, 0, Value::from_text("h-conflict"), cluster.node(0).address};
  const auto refused = guard->reserve(conflicting);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Errc::already_signed);
  ASSERT_TRUE(cluster.all_reach(height + 3));
  cluster.expect_agreement();
  cluster.expect_no_double_signing();
}

// The proposer's proposal and the prevote it caused reached the guard, but the log's sync
// failed, so neither was sent. Restarted, it builds another value (as bft-node's engine
// does: a new time, other transactions). It must take part in the round all the same:
// with one validator cut off, the round needs it. (A guard holding what the log lost left
// it mute for the round, and the other two waited for a third prevote for ever.)
TEST(Replica, AProposerWhoseLogSyncFailedTakesPartInTheRoundAfterRestart) {
  std::size_t proposer = 0;  // of height 5, round 0: the same in every cluster of four
  {
    Cluster probe(4);
    ASSERT_TRUE(probe.all_reach(5));
    const codec::QuorumCertificate& fifth = probe.node(0).app->blocks[4];
    ASSERT_EQ(fifth.round, 0);
    const std::string value(fifth.value->view());
    proposer = static_cast<std::size_t>(std::stoul(value.substr(value.find(" by ") + 4)));
  }
  Cluster cluster(4);
  for (std::size_t i = 0; i < cluster.size(); ++i) cluster.node(i).app->fresh_values = true;
  const std::size_t cut_off = (proposer + 1) % cluster.size();
  // Its precommit of height 4 is durable and sent: its next log sync is height 5's proposal's.
  ASSERT_TRUE(cluster.run_until([&] {
    const Replica& replica = *cluster.node(proposer).replica;
    return replica.height() == 4 && replica.step() == Step::precommit;
  }));
  cluster.node(proposer).wal_disk.fail_next_sync();
  cluster.cut().insert(cut_off);
  ASSERT_TRUE(cluster.run_until([&] { return cluster.node(proposer).replica->fatal().has_value(); }));
  EXPECT_EQ(cluster.node(proposer).replica->height(), 5u);
  cluster.crash(proposer);
  ASSERT_TRUE(cluster.open(proposer).ok());
  ASSERT_TRUE(cluster.all_reach(8, {cut_off}));
  cluster.expect_agreement();
  cluster.expect_no_double_signing();
}

// A validator that floods sync requests gets sync_blocks_per_second blocks, in bursts of
// four batches, not a block-store read per request; its budget refills with time.
TEST(Replica, SyncRequestsAreServedWithinAPerPeerBudget) {
  Cluster cluster(4);
  ASSERT_TRUE(cluster.all_reach(80));
  Replica& target = *cluster.node(0).replica;
  const Address& flooder = cluster.node(1).address;
  const std::uint64_t batch = cluster.options().sync_batch;
  const ReplicaStats before = target.stats();
  for (int i = 0; i < 50; ++i) target.on_frame(flooder, encode_frame(SyncRequest{1}), cluster.now());
  EXPECT_EQ(target.stats().sync_blocks_served - before.sync_blocks_served, 4 * batch);
  EXPECT_EQ(target.stats().sync_requests_throttled - before.sync_requests_throttled, 46u);
  // Another peer has its own budget.
  target.on_frame(cluster.node(2).address, encode_frame(SyncRequest{1}), cluster.now());
  EXPECT_EQ(target.stats().sync_blocks_served - before.sync_blocks_served, 5 * batch);
  // 10 ms later, 2000 blocks/s have refilled 20 blocks: one batch, then the 4 left.
  const TimePoint later = cluster.now() + milliseconds{10};
  target.on_frame(flooder, encode_frame(SyncRequest{1}), later);
  target.on_frame(flooder, encode_frame(SyncRequest{1}), later);
  target.on_frame(flooder, encode_frame(SyncRequest{1}), later);
  EXPECT_EQ(target.stats().sync_blocks_served - before.sync_blocks_served, 6 * batch + 4);
  EXPECT_EQ(target.stats().sync_requests_throttled - before.sync_requests_throttled, 47u);
  EXPECT_FALSE(target.fatal());
}

// A block that cannot be read is not served: the error is logged and counted, the
// request is answered up to it, and the node goes on.
TEST(Replica, AnUnreadableBlockIsReportedNotServed) {
  Cluster cluster(4);
  ASSERT_TRUE(cluster.all_reach(20));
  Replica& target = *cluster.node(0).replica;
  cluster.node(0).app->unreadable.insert(5);
  const ReplicaStats before = target.stats();
  target.on_frame(cluster.node(1).address, encode_frame(SyncRequest{1}), cluster.now());
  EXPECT_EQ(target.stats().blocks_unreadable, before.blocks_unreadable + 1);
  EXPECT_EQ(target.stats().sync_blocks_served, before.sync_blocks_served + 4);
  EXPECT_FALSE(target.fatal());
  ASSERT_TRUE(cluster.all_reach(25));
}

TEST(Replica, NeedsAProposerRule) {
  Cluster cluster(4);
  ReplicaOptions options(chain());
  options.make_selector = nullptr;
  auto& node = cluster.node(0);
  wal::MemoryStorage wal_disk;
  wal::MemoryStorage guard_disk;
  const Logger logger(LogLevel::error);
  const auto opened = Replica::open(options, node.signer, wal_disk, guard_disk, *node.app, *node.link, logger, TimePoint{});
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, Errc::invalid_argument);
}

// A status one height behind is mostly a status that crossed the peer's own decision:
// the commit goes to the peer only if it is still behind help_delay later, once.
TEST(Replica, HelpsAPeerStillBehindOnlyAfterTheHelpDelay) {
  Cluster cluster(4);
  ASSERT_TRUE(cluster.all_reach(3));
  cluster.cut().insert(3);
  ASSERT_TRUE(cluster.run_until([&] { return cluster.node(0).app->committed_height() >= 5; }));
  cluster.cut().insert({1, 2});  // node 0 alone: it stays at its height
  Replica& replica = *cluster.node(0).replica;
  const Height decided = cluster.node(0).app->committed_height();
  const Address laggard = cluster.node(3).address;
  const Address caught_up = cluster.node(2).address;
  const TimePoint t = cluster.now();
  const std::uint64_t before = replica.stats().help_sent;
  replica.on_frame(laggard, encode_frame(PeerStatus{decided, 0}), t);
  replica.on_frame(caught_up, encode_frame(PeerStatus{decided, 0}), t);
  replica.on_frame(caught_up, encode_frame(PeerStatus{decided + 1, 0}), t + milliseconds{10});
  replica.on_time(t + milliseconds{20});
  EXPECT_EQ(replica.stats().help_sent, before);
  replica.on_frame(laggard, encode_frame(PeerStatus{decided, 0}), t + milliseconds{30});  // repeated
  replica.on_time(t + milliseconds{60});
  EXPECT_EQ(replica.stats().help_sent, before + 1);  // the laggard only, once
  replica.on_time(t + milliseconds{200});
  EXPECT_EQ(replica.stats().help_sent, before + 1);
}

// Gossip repeats a node's own votes only for a height that lasted a whole gossip
// interval: heights that decide sooner cost each vote one frame per peer, and a stalled
// height gets its votes repeated until it moves.
TEST(Replica, GossipRepeatsOwnVotesOnlyOfAHeightThatStalled) {
  Cluster cluster(4);
  cluster.set_latency(milliseconds{10});  // a height takes a few tens of ms; gossip: 200
  ASSERT_TRUE(cluster.all_reach(30));
  const Height last_decided = cluster.node(0).app->committed_height();
  for (Height height = 1; height <= last_decided; ++height)
    for (std::size_t to = 1; to < cluster.size(); ++to)
      for (const auto& [vote, sends] : cluster.own_vote_sends(0, to, height))
        EXPECT_EQ(sends, 1u) << "height " << height << " round " << vote.first << " to node " << to;

  cluster.cut().insert({2, 3});  // nodes 0 and 1 alone: no quorum, the height stalls
  const Height stalled = cluster.node(0).replica->height();
  EXPECT_FALSE(cluster.run_until([] { return false; }, milliseconds{1'000}));
  EXPECT_EQ(cluster.node(0).replica->height(), stalled);
  std::size_t repeated = 0;
  for (const auto& [vote, sends] : cluster.own_vote_sends(0, 1, stalled)) repeated += sends > 1 ? 1 : 0;
  EXPECT_GT(repeated, 0u);
}

// A crash after an own vote was signed and logged but before the log was synced: the
// inputs that led to it survived (a torn write), the vote did not, so it was never sent.
// The restarted node signs it again (the same vote: the replay reaches the same state),
// as it would have without the crash. Staying silent in that slot instead can stall the
// chain for good: here three validators are left and every one's vote is needed, and the
// others wait in the same round for exactly that vote.
TEST(Replica, AnOwnVoteThatNeverBecameDurableIsSignedAfterRestart) {
  Cluster cluster(4);
  cluster.crash(3);
  ASSERT_TRUE(cluster.all_reach(3, {3}));
  cluster.muted().insert(2);  // node 2 hears the others; they do not hear it
  const Height height = cluster.node(2).replica->height();
  EXPECT_FALSE(cluster.run_until([] { return false; }, milliseconds{100}));
  ASSERT_EQ(cluster.node(2).replica->height(), height);
  cluster.crash(2);

  // Node 2's log as the crash left it: everything before its last own vote.
  Node& node = cluster.node(2);
  auto logged = wal::Wal::open(node.wal_disk, cluster.options().wal);
  ASSERT_TRUE(logged);
  std::vector<wal::Record> records = std::move(logged->records);
  const auto last_own = std::find_if(records.rbegin(), records.rend(),
                                     [](const wal::Record& r) { return std::holds_alternative<wal::OwnVote>(r); });
  ASSERT_NE(last_own, records.rend());
  ASSERT_EQ(std::get<wal::OwnVote>(*last_own).vote.height, height);
  records.erase(std::prev(last_own.base()), records.end());
  node.wal_disk.files().clear();
  auto rewritten = wal::Wal::open(node.wal_disk, cluster.options().wal);
  ASSERT_TRUE(rewritten);
  for (const wal::Record& record : records) ASSERT_TRUE(rewritten->wal.append(record));
  ASSERT_TRUE(rewritten->wal.sync());

  cluster.muted().clear();
  ASSERT_TRUE(cluster.open(2));
  EXPECT_EQ(node.replica->recovery().unsent_own_messages, 1u);
  ASSERT_TRUE(cluster.all_reach(height + 3, {3}));
  cluster.expect_agreement();
  cluster.expect_no_double_signing();
}

TEST(Replica, RecoveryReplaysTheCurrentHeight) {
  Cluster cluster(4);
  ASSERT_TRUE(cluster.all_reach(5));
  cluster.crash(1);
  ASSERT_TRUE(cluster.open(1).ok());
  const RecoveryInfo& info = cluster.node(1).replica->recovery();
  EXPECT_GT(info.replayed_inputs, 0u);
  EXPECT_EQ(info.resumed_height, cluster.node(1).app->committed_height() + 1);
  ASSERT_TRUE(cluster.all_reach(8));
  cluster.expect_agreement();
}

/// Rewrites a node's log without the peers' signatures, as if they had been lost with
/// their record (or an older version had written the log).
void drop_peer_signatures(wal::MemoryStorage& disk) {
  auto opened = wal::Wal::open(disk);
  ASSERT_TRUE(opened.ok());
  wal::MemoryStorage rewritten;
  auto fresh = wal::Wal::open(rewritten);
  ASSERT_TRUE(fresh.ok());
  for (const wal::Record& record : opened->records) {
    if (std::holds_alternative<wal::PeerSignatures>(record)) continue;
    ASSERT_TRUE(fresh->wal.append(record).ok());
  }
  ASSERT_TRUE(fresh->wal.sync().ok());
  disk.files() = rewritten.files();
}

// The application failed to store a decided block: the replica stops; after a restart
// its log (every record durable here) holds the decision but not the peers' signatures,
// so it fetches the proof.
TEST(Replica, ADecisionTheApplicationLostIsFetchedAfterRestart) {
  Cluster cluster(4, wal::SyncPolicy::every_record);
  ASSERT_TRUE(cluster.all_reach(3));
  cluster.node(2).app->fail_next_commit = true;
  ASSERT_TRUE(cluster.run_until([&] { return cluster.node(2).replica->fatal().has_value(); }));
  EXPECT_EQ(cluster.node(2).replica->fatal()->code, Errc::io_error);
  const Height stored = cluster.node(2).app->committed_height();
  cluster.crash(2);
  drop_peer_signatures(cluster.node(2).wal_disk);
  ASSERT_TRUE(cluster.open(2).ok());
  EXPECT_EQ(cluster.node(2).replica->recovery().resumed_height, stored + 1);
  ASSERT_TRUE(cluster.all_reach(stored + 4));
  EXPECT_GT(cluster.node(2).replica->stats().certificates_fetched_after_decision, 0u);
  cluster.expect_agreement();
  cluster.expect_no_double_signing();
}

// The same, but with the node cut off after its restart: its log holds the peers'
// signatures of the votes that decided, so it proves and commits the height alone.
TEST(Replica, ADecisionTheApplicationLostIsProvenFromTheLogAfterRestart) {
  Cluster cluster(4, wal::SyncPolicy::every_record);
  ASSERT_TRUE(cluster.all_reach(3));
  cluster.node(2).app->fail_next_commit = true;
  ASSERT_TRUE(cluster.run_until([&] { return cluster.node(2).replica->fatal().has_value(); }));
  const Height stored = cluster.node(2).app->committed_height();
  cluster.crash(2);
  cluster.cut().insert(2);
  ASSERT_TRUE(cluster.open(2).ok());
  ASSERT_TRUE(cluster.run_until([&] { return cluster.node(2).app->committed_height() == stored + 1; },
                                std::chrono::milliseconds{5'000}));
  EXPECT_EQ(cluster.node(2).replica->stats().certificates_fetched_after_decision, 0u);
  cluster.cut().clear();
  ASSERT_TRUE(cluster.all_reach(stored + 4));
  cluster.expect_agreement();
}

TEST(Replica, ALogAheadOfTheApplicationIsRefused) {
  Cluster cluster(4);
  ASSERT_TRUE(cluster.all_reach(5));
  cluster.crash(2);
  cluster.node(2).app->blocks.resize(2);  // the application lost blocks the log went past
  const auto opened = cluster.open(2);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().code, Errc::invalid_argument);
}

TEST(Replica, BadFramesAreRejectedAndChangeNothing) {
  Cluster cluster(4);
  ASSERT_TRUE(cluster.all_reach(2));
  Replica& target = *cluster.node(0).replica;
  const Address& peer = cluster.node(1).address;
  const Height height = target.height();
  const Round round = target.round();

  const Bytes garbage{1, 2, 3, 4, 5};
  const Bytes empty;
  // Signed by node 1's key but claiming node 2 as voter: the signature does not verify.
  codec::SignedVote forged = crypto::sign_vote(cluster.node(1).signer, chain(),
                                               Vote{VoteType::prevote, height, round, std::nullopt, cluster.node(2).address});
  // A key that is not a validator's.
  const crypto::Ed25519Signer stranger = key(99);
  const codec::SignedVote unknown = crypto::sign_vote(
      stranger, chain(), Vote{VoteType::prevote, height, round, std::nullopt, crypto::address_of(stranger.public_key())});
  for (const Bytes& frame : {garbage, empty, encode_frame(codec::Message{forged}), encode_frame(codec::Message{unknown})})
    target.on_frame(peer, frame, cluster.now());
  EXPECT_EQ(target.stats().frames_rejected, 4u);
  EXPECT_EQ(target.height(), height);
  EXPECT_EQ(target.round(), round);
  EXPECT_FALSE(target.fatal());
  ASSERT_TRUE(cluster.all_reach(5));
  cluster.expect_agreement();
}

// A lone validator decides every height by itself, at once: were the next height started
// inside the same call, one call would never return (bft-node could not even be stopped).
TEST(Replica, ALoneValidatorFinishesOneHeightPerCall) {
  Cluster cluster(1);
  Replica& replica = *cluster.node(0).replica;
  const MemoryChain& chain = *cluster.node(0).app;
  TimePoint now = cluster.now();
  for (int call = 0; call < 50; ++call) {
    const Height before = chain.committed_height();
    ASSERT_LE(replica.next_deadline(), now + std::chrono::milliseconds(1000));
    now = std::max(now, replica.next_deadline());
    replica.on_time(now);
    EXPECT_LE(chain.committed_height(), before + 1);
  }
  EXPECT_GE(chain.committed_height(), 20u);
}

// A peer can send rejectable frames as fast as its link carries them: each is counted,
// but the log gets a few lines and then a summary per interval, not a line each.
TEST(Replica, RejectionsAreCountedAllButLoggedWithinABudget) {
  Cluster cluster(4, wal::SyncPolicy::before_send, LogLevel::warn);
  ASSERT_TRUE(cluster.all_reach(2));
  Replica& target = *cluster.node(0).replica;
  const Bytes garbage{1, 2, 3, 4, 5};
  testing::internal::CaptureStderr();
  for (int i = 0; i < 1000; ++i) target.on_frame(cluster.node(1).address, garbage, cluster.now());
  target.on_time(cluster.now() + std::chrono::seconds(11));  // the interval is over: its summary
  const std::string log = testing::internal::GetCapturedStderr();
  EXPECT_EQ(target.stats().frames_rejected, 1000u);
  std::size_t lines = 0;
  for (char c : log) lines += c == '\n' ? 1 : 0;
  EXPECT_LE(lines, 10u) << log;
  EXPECT_NE(log.find("suppressed 995 frames rejected"), std::string::npos) << log;
}

// The last precommit of a height usually arrives after the decision: it is dropped
// before its signature is checked (one verification of seven saved per height). Forged
// or not, it changes nothing.
TEST(Replica, VotesOfDecidedHeightsAreDroppedUnchecked) {
  Cluster cluster(4);
  ASSERT_TRUE(cluster.all_reach(5));
  std::uint64_t stale = 0;
  for (std::size_t i = 0; i < cluster.size(); ++i) stale += cluster.node(i).replica->stats().stale_ignored;
  EXPECT_GT(stale, 0u);

  Replica& target = *cluster.node(0).replica;
  const ReplicaStats before = target.stats();
  const Height decided = target.height() - 1;
  codec::SignedVote genuine =
      crypto::sign_vote(cluster.node(1).signer, chain(), Vote{VoteType::precommit, decided, 7, std::nullopt, cluster.node(1).address});
  codec::SignedVote forged = genuine;
  forged.signature[0] ^= 1;
  target.on_frame(cluster.node(1).address, encode_frame(codec::Message{genuine}), cluster.now());
  target.on_frame(cluster.node(1).address, encode_frame(codec::Message{forged}), cluster.now());
  EXPECT_EQ(target.stats().stale_ignored, before.stale_ignored + 2);
  EXPECT_EQ(target.stats().frames_rejected, before.frames_rejected);
  EXPECT_EQ(target.stats().inputs_rejected, before.inputs_rejected);
  ASSERT_TRUE(cluster.all_reach(8));
  cluster.expect_agreement();
}

TEST(Replica, AForgedCommitCertificateIsRejected) {
  Cluster cluster(4);
  ASSERT_TRUE(cluster.all_reach(3));
  Replica& target = *cluster.node(0).replica;
  // A quorum's signatures, but for a different value than they signed.
  codec::QuorumCertificate forged = cluster.node(1).app->blocks[1];
  forged.height = target.height();
  forged.value = Value::from_text("h-forged");
  target.on_frame(cluster.node(1).address, encode_frame(codec::Message{forged}), cluster.now());
  EXPECT_EQ(target.stats().frames_rejected, 1u);
  ASSERT_TRUE(cluster.all_reach(6));
  cluster.expect_agreement();
  for (const auto& block : cluster.node(0).app->blocks) EXPECT_NE(block.value, Value::from_text("h-forged"));
}

// A node that deleted the blocks a peer asks for says so instead of staying silent; the
// peer counts the answer, and sync of what is still stored works as before.
TEST(Replica, ARequestBelowThePrunedBaseIsAnsweredWithTheBase) {
  Cluster cluster(4);
  ASSERT_TRUE(cluster.all_reach(30));
  cluster.node(0).app->base = 20;
  Replica& asker = *cluster.node(1).replica;
  const ReplicaStats before = cluster.node(0).replica->stats();
  cluster.node(0).replica->on_frame(cluster.node(1).address, encode_frame(SyncRequest{5}), cluster.now());
  EXPECT_EQ(cluster.node(0).replica->stats().sync_blocks_served, before.sync_blocks_served);
  const std::uint64_t answers_before = asker.stats().sync_pruned_answers;
  ASSERT_TRUE(cluster.run_until([&] { return asker.stats().sync_pruned_answers > answers_before; }));
  cluster.node(0).replica->on_frame(cluster.node(1).address, encode_frame(SyncRequest{20}), cluster.now());
  EXPECT_GT(cluster.node(0).replica->stats().sync_blocks_served, before.sync_blocks_served);
  ASSERT_TRUE(cluster.all_reach(35));
  cluster.expect_agreement();
}

// A proposal of a height the ledger cannot judge yet (the node is still deciding the
// height before) is judged once that height is committed, and the node then votes for it.
TEST(Replica, AProposalHeardAheadIsJudgedWhenItsHeightStarts) {
  Cluster cluster(4);
  ASSERT_TRUE(cluster.all_reach(3));
  cluster.cut().insert(3);
  ASSERT_TRUE(cluster.all_reach(7, {3}));  // height 8 is proposed by another node than 3
  cluster.cut().clear();
  // The link comes back: each peer sends its status and its messages of the current
  // height, the proposal among them, before node 3 has fetched the heights between.
  for (std::size_t i = 0; i < 3; ++i) cluster.node(i).replica->on_peer_connected(cluster.node(3).address, cluster.now());
  ASSERT_TRUE(cluster.all_reach(30));
  cluster.expect_agreement();
  EXPECT_GT(cluster.node(3).app->late_verdicts, 0u);
  for (std::size_t i = 0; i < cluster.size(); ++i) EXPECT_EQ(cluster.node(i).app->invalid_verdicts, 0u) << i;
}

// The ledger judges proposals off the replica's call (a slow process_proposal): the
// replica hands the core an unknown verdict, the real one arrives later through
// on_verdict, and heights decide on the proposed values, not nil.
TEST(Replica, VerdictsThatArriveLaterDecideHeights) {
  Cluster cluster(4);
  for (std::size_t i = 0; i < cluster.size(); ++i) cluster.node(i).app->asynchronous = true;
  ASSERT_TRUE(cluster.all_reach(20));
  cluster.expect_agreement();
  cluster.expect_no_double_signing();
  for (std::size_t i = 0; i < cluster.size(); ++i)
    for (const codec::QuorumCertificate& block : cluster.node(i).app->blocks) EXPECT_EQ(block.round, 0);
  // A verdict for a height already decided changes nothing.
  Replica& replica = *cluster.node(0).replica;
  replica.on_verdict(3, 0, Value::from_text("h3 by 9"), false, cluster.now());
  EXPECT_FALSE(replica.fatal());
  ASSERT_TRUE(cluster.all_reach(22));
}

TEST(Wire, FramesRoundTripAndBadOnesAreErrors) {
  const PeerStatus status{7, 3};
  EXPECT_EQ(std::get<PeerStatus>(*decode_frame(encode_frame(status))), status);
  const SyncRequest request{42};
  EXPECT_EQ(std::get<SyncRequest>(*decode_frame(encode_frame(request))), request);
  const PrunedBelow pruned{1000};
  EXPECT_EQ(std::get<PrunedBelow>(*decode_frame(encode_frame(pruned))), pruned);
  Bytes short_pruned = encode_frame(pruned);
  short_pruned.pop_back();
  EXPECT_EQ(decode_frame(short_pruned).error().code, Errc::malformed);
  const PeerStatus no_round{1, nil_round};
  EXPECT_EQ(std::get<PeerStatus>(*decode_frame(encode_frame(no_round))), no_round);

  Bytes long_status = encode_frame(status);
  long_status.push_back(0);
  EXPECT_EQ(decode_frame(long_status).error().code, Errc::malformed);
  Bytes bad_round = encode_frame(status);
  bad_round[9] = 0xfe;  // round -2
  for (std::size_t i = 10; i < bad_round.size(); ++i) bad_round[i] = 0xff;
  EXPECT_EQ(decode_frame(bad_round).error().code, Errc::malformed);
  EXPECT_EQ(decode_frame(Bytes{9}).error().code, Errc::malformed);
  EXPECT_EQ(decode_frame(Bytes{}).error().code, Errc::malformed);
  EXPECT_FALSE(decode_frame(Bytes{1, 0xff}).ok());
}

}  // namespace
}  // namespace bft::node
