// Validator set changes seen by replicas (replica_cluster.hpp): a set decided at height h
// is in force from h + 2; every height runs, signs and checks with its own set.
#include <gtest/gtest.h>

#include "bft/crypto/certificate.hpp"
#include "replica_cluster.hpp"

namespace bft::node {
namespace {

using namespace replica_cluster;

/// Validators by node index, power 1 each.
std::vector<ValidatorKey> set_of(std::initializer_list<std::uint8_t> nodes) {
  std::vector<ValidatorKey> validators;
  for (std::uint8_t node : nodes) validators.push_back({key(static_cast<std::uint8_t>(node + 1)).public_key(), 1});
  return validators;
}

/// Every commit certificate is signed by validators of its height's set only.
void expect_signed_by_their_sets(const MemoryChain& ledger) {
  for (const codec::QuorumCertificate& block : ledger.blocks) {
    const ValidatorSet& set = ledger.validators().at(block.height).set;
    EXPECT_TRUE(crypto::verify_certificate(block, chain(), set, ledger.validators().keys()).ok())
        << "height " << block.height;
    for (const codec::VoteSignature& signature : block.signatures)
      EXPECT_TRUE(set.index_of(signature.voter)) << "height " << block.height;
  }
}

// Nodes 0-3 validate; node 4 follows. The block of height 4 makes node 4 a validator in
// place of node 0 from height 6 on.
TEST(ReplicaValidators, ASetChangeTakesEffectTwoHeightsAfterTheBlockThatMadeIt) {
  Cluster cluster(5, wal::SyncPolicy::before_send, LogLevel::error, 1);
  cluster.change_validators(6, set_of({1, 2, 3, 4}));
  ASSERT_TRUE(cluster.all_reach(14));
  cluster.expect_agreement();
  cluster.expect_no_double_signing();
  for (Height height = 1; height < 6; ++height) EXPECT_FALSE(cluster.signed_at(4, height)) << height;
  for (Height height = 6; height <= 13; ++height) EXPECT_FALSE(cluster.signed_at(0, height)) << height;
  bool new_validator_signed = false;
  for (Height height = 6; height <= 13; ++height) new_validator_signed = new_validator_signed || cluster.signed_at(4, height);
  EXPECT_TRUE(new_validator_signed);
  for (std::size_t i = 0; i < cluster.size(); ++i) {
    expect_signed_by_their_sets(*cluster.node(i).app);
    EXPECT_EQ(cluster.node(i).replica->stats().frames_rejected, 0u) << i;
    EXPECT_FALSE(cluster.node(i).replica->fatal());
  }
}

// A node in no set of its heights signs nothing and still commits every block.
TEST(ReplicaValidators, AFullNodeFollowsWithoutSigning) {
  Cluster cluster(5, wal::SyncPolicy::before_send, LogLevel::error, 1);
  ASSERT_TRUE(cluster.all_reach(10));
  cluster.expect_agreement();
  for (Height height = 1; height <= 10; ++height) EXPECT_FALSE(cluster.signed_at(4, height));
  EXPECT_EQ(cluster.node(4).guard_disk.syncs(), 0u);
}

// Two of the four validators are replaced at height 6. Three of the old four then sign a
// height of the new set: no quorum of it, so the certificate is refused.
TEST(ReplicaValidators, ACertificateOfTheOldSetIsRefusedAfterTheChange) {
  Cluster cluster(6, wal::SyncPolicy::before_send, LogLevel::error, 2);
  cluster.change_validators(6, set_of({2, 3, 4, 5}));
  ASSERT_TRUE(cluster.all_reach(8));
  Replica& target = *cluster.node(3).replica;
  const Height height = target.height();
  ASSERT_GE(height, 8u);
  std::vector<codec::SignedVote> votes;
  for (std::size_t signer : {0, 1, 2})
    votes.push_back(crypto::sign_vote(cluster.node(signer).signer, chain(),
                                      Vote{VoteType::precommit, height, 0, Value::from_text("old set"),
                                           cluster.node(signer).address}));
  auto old_quorum = crypto::make_certificate(votes);
  ASSERT_TRUE(old_quorum.ok());
  const std::uint64_t rejected = target.stats().frames_rejected;
  target.on_frame(cluster.node(0).address, encode_frame(codec::Message{*old_quorum}), cluster.now());
  EXPECT_EQ(target.stats().frames_rejected, rejected + 1);
  ASSERT_TRUE(cluster.all_reach(height + 3));
  cluster.expect_agreement();
  for (const auto& block : cluster.node(3).app->blocks) EXPECT_NE(block.value, Value::from_text("old set"));
}

// Restarts (with the loss of unsynced bytes) just before a change is in force and just
// after: the restarted nodes start each height with its set and never sign twice.
TEST(ReplicaValidators, RestartsJustBeforeAndJustAfterAChangeRejoin) {
  Cluster cluster(5, wal::SyncPolicy::before_send, LogLevel::error, 1);
  cluster.change_validators(8, set_of({1, 2, 3, 4}));
  ASSERT_TRUE(cluster.all_reach(7));
  cluster.crash(1);
  ASSERT_TRUE(cluster.open(1).ok());
  ASSERT_TRUE(cluster.all_reach(9));
  cluster.crash(4);
  ASSERT_TRUE(cluster.open(4).ok());
  ASSERT_TRUE(cluster.all_reach(16));
  cluster.expect_agreement();
  cluster.expect_no_double_signing();
  for (std::size_t i = 0; i < cluster.size(); ++i) expect_signed_by_their_sets(*cluster.node(i).app);
}

// A node cut off while the set changes three times catches up by block sync: every
// certificate is checked against the set of its height, across the changes. (Frames take
// a millisecond: a sync crossing a change waits for a retry, which needs time to pass.)
TEST(ReplicaValidators, ASyncAcrossSeveralChangesChecksEachBlockAgainstItsSet) {
  Cluster cluster(6, wal::SyncPolicy::before_send, LogLevel::error, 2);
  cluster.set_latency(milliseconds{1});
  cluster.change_validators(6, set_of({0, 1, 2, 4}));
  cluster.change_validators(10, set_of({0, 1, 4, 5}));
  cluster.change_validators(14, set_of({1, 2, 4, 5}));
  ASSERT_TRUE(cluster.all_reach(3));
  cluster.cut().insert(3);
  ASSERT_TRUE(cluster.all_reach(30, {3}));
  EXPECT_LT(cluster.node(3).app->committed_height(), 6u);
  cluster.cut().clear();
  ASSERT_TRUE(cluster.all_reach(34));
  EXPECT_GT(cluster.node(3).replica->stats().blocks_synced, 20u);
  // Messages of the sets it had yet to learn were dropped, not counted as rejections.
  EXPECT_GT(cluster.node(3).replica->stats().set_undecided_ignored, 0u);
  cluster.expect_agreement();
  cluster.expect_no_double_signing();
  for (std::size_t i = 0; i < cluster.size(); ++i) {
    expect_signed_by_their_sets(*cluster.node(i).app);
    EXPECT_EQ(cluster.node(i).replica->stats().frames_rejected, 0u) << i;
  }
}

// From height 6 node 4 is a validator but never heard from: the heights it should propose
// go to a later round, with the new set's proposer order, and the chain goes on.
TEST(ReplicaValidators, AChangeHoldsAcrossRoundChanges) {
  Cluster cluster(5, wal::SyncPolicy::before_send, LogLevel::error, 1);
  cluster.change_validators(6, set_of({0, 1, 2, 4}));
  cluster.cut().insert(4);
  ASSERT_TRUE(cluster.all_reach(16, {4}));
  const MemoryChain& ledger = *cluster.node(0).app;
  bool a_later_round = false;
  for (Height height = 6; height <= 16; ++height) a_later_round = a_later_round || ledger.blocks[height - 1].round > 0;
  EXPECT_TRUE(a_later_round);
  for (std::size_t i = 0; i < 4; ++i) expect_signed_by_their_sets(*cluster.node(i).app);
  cluster.expect_agreement();
  cluster.expect_no_double_signing();
  for (Height height = 6; height <= 16; ++height) EXPECT_FALSE(cluster.signed_at(3, height)) << height;
}

// Every validator of the first set is replaced, one at a time, and the chain goes on.
TEST(ReplicaValidators, TheWholeFirstSetIsRotatedOutOneAtATime) {
  Cluster cluster(8, wal::SyncPolicy::before_send, LogLevel::error, 4);
  cluster.change_validators(5, set_of({1, 2, 3, 4}));
  cluster.change_validators(8, set_of({2, 3, 4, 5}));
  cluster.change_validators(11, set_of({3, 4, 5, 6}));
  cluster.change_validators(14, set_of({4, 5, 6, 7}));
  ASSERT_TRUE(cluster.all_reach(20));
  cluster.expect_agreement();
  cluster.expect_no_double_signing();
  for (Height height = 14; height <= 19; ++height)
    for (std::size_t old : {0, 1, 2, 3}) EXPECT_FALSE(cluster.signed_at(old, height)) << old << " at " << height;
  for (std::size_t i = 0; i < cluster.size(); ++i) expect_signed_by_their_sets(*cluster.node(i).app);
}

}  // namespace
}  // namespace bft::node
