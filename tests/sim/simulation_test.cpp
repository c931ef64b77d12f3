// Whole-cluster runs of shipped replicas on fixed seeds: determinism, the happy path's
// latency, every Byzantine behaviour with n = 3f + 1, lossy networks, partitions,
// laggards, crashes, and broken configurations the checkers must catch.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

#include "bft/codec/hash.hpp"
#include "bft/sim/simulation.hpp"

namespace bft::sim {
namespace {

RunResult run(const SimOptions& options, std::uint64_t seed, Trace* trace = nullptr) {
  RunHooks hooks;
  hooks.trace = trace;
  auto result = run_simulation(options, seed, hooks);
  EXPECT_TRUE(result) << result.error().message;
  return result ? std::move(*result) : RunResult{};
}

std::string describe(const RunResult& r) {
  std::string text = "seed " + std::to_string(r.seed) + (r.complete ? " complete" : " incomplete");
  for (const auto& v : r.violations) text += "\n  " + std::string(to_string(v.kind)) + ": " + v.detail;
  return text;
}

void expect_safe_and_live(const RunResult& r, Height heights) {
  EXPECT_TRUE(r.complete) << describe(r);
  EXPECT_TRUE(r.violations.empty()) << describe(r);
  EXPECT_EQ(r.heights_committed, heights) << describe(r);
}

std::uint64_t evidence_against_byzantine(const RunResult& r) {
  std::uint64_t total = 0;
  for (auto node : r.byzantine_nodes) total += r.evidence_against[node];
  return total;
}

SimOptions cluster(std::size_t validators, Height heights) {
  SimOptions options;
  options.validators = validators;
  options.heights = heights;
  return options;
}

/// Seven validators, two of them Byzantine, on a network that loses, duplicates and
/// reorders.
SimOptions lossy_with_two_faulty(Fault fault, Height heights) {
  SimOptions options = cluster(7, heights);
  options.byzantine = 2;
  options.fault = fault;
  options.network.default_link.drop = 0.1;
  options.network.default_link.duplicate = 0.05;
  options.network.default_link.reorder = 0.05;
  return options;
}

TEST(Simulation, SameSeedSameRunEventForEvent) {
  const SimOptions options = lossy_with_two_faulty(Fault::equivocate, 8);
  const RunResult a = run(options, 42);
  Trace trace;
  const RunResult b = run(options, 42, &trace);  // recording a trace changes nothing
  EXPECT_EQ(a.events, b.events);
  EXPECT_EQ(a.end_time, b.end_time);
  EXPECT_EQ(a.messages_sent, b.messages_sent);
  EXPECT_EQ(a.messages_dropped, b.messages_dropped);
  EXPECT_EQ(a.commit_latencies_us, b.commit_latencies_us);
  EXPECT_EQ(a.evidence_against, b.evidence_against);
  EXPECT_EQ(a.byzantine_nodes, b.byzantine_nodes);
  const RunResult c = run(options, 43);
  EXPECT_NE(a.commit_latencies_us, c.commit_latencies_us);
}

/// A digest of everything a trace recorded: two runs with equal digests did the same
/// thing, frame for frame and step for step.
codec::Digest fingerprint(const Trace& trace) {
  std::string text;
  for (const auto& m : trace.messages)
    text += std::to_string(m.sent) + ">" + std::to_string(m.delivered) + ":" + std::to_string(m.from) + "-" +
            std::to_string(m.to) + "/" + std::to_string(static_cast<int>(m.kind)) + "@" + std::to_string(m.height) +
            "." + std::to_string(m.round) + (m.nil ? "n" : "") + (m.dropped ? "x" : "") + ";";
  for (const auto& s : trace.steps)
    text += std::to_string(s.at) + "#" + std::to_string(s.node) + "@" + std::to_string(s.height) + "." +
            std::to_string(s.round) + "/" + std::to_string(static_cast<int>(s.step)) + ";";
  for (const auto& d : trace.decisions) text += std::to_string(d.at) + "!" + std::to_string(d.node) + "=" + d.value + ";";
  for (const auto& e : trace.evidence) text += std::to_string(e.at) + "?" + std::to_string(e.offender) + ";";
  return codec::sha256(std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
}

TEST(Simulation, EveryRunIsByteIdenticalForItsSeed) {
  SimOptions options = lossy_with_two_faulty(Fault::random, 10);
  options.crash_restart = true;
  Trace a;
  Trace b;
  Trace c;
  expect_safe_and_live(run(options, 11, &a), 10);
  run(options, 11, &b);
  run(options, 12, &c);
  EXPECT_FALSE(a.messages.empty());
  EXPECT_EQ(fingerprint(a), fingerprint(b));
  EXPECT_NE(fingerprint(a), fingerprint(c));
}

// bft-sim draws a failing seed by running it again with a trace: recording must not
// change the run (on a plain network the untraced run takes a faster path).
TEST(Simulation, ATracedRunIsTheSameRun) {
  const SimOptions options = cluster(4, 20);
  Trace trace;
  const RunResult plain = run(options, 5);
  const RunResult traced = run(options, 5, &trace);
  EXPECT_EQ(plain.events, traced.events);
  EXPECT_EQ(plain.end_time, traced.end_time);
  EXPECT_EQ(plain.messages_sent, traced.messages_sent);
  EXPECT_EQ(plain.commit_latencies_us, traced.commit_latencies_us);
}

TEST(Simulation, RealSignaturesRunTheSameProtocol) {
  SimOptions options = cluster(4, 10);
  options.byzantine = 1;
  options.fault = Fault::equivocate;
  options.real_crypto = true;
  const RunResult r = run(options, 3);
  expect_safe_and_live(r, 10);
  EXPECT_GT(evidence_against_byzantine(r), 0u);
  EXPECT_EQ(r.frames_rejected, 0u);
}

/// One full node (node 4 of 4 validators) and a change every 5 heights: the block of
/// height 5 makes it a validator, and its first vote is at height 7.
void expect_the_full_node_votes_from_height_7(SimOptions options) {
  options.full_nodes = 1;
  options.validator_change_every = 5;
  Trace trace;
  const RunResult r = run(options, 3, &trace);
  expect_safe_and_live(r, options.heights);
  EXPECT_GE(r.validator_changes, options.heights / 5 - 1);
  Height first_vote = 0;
  for (const auto& m : trace.messages)
    if (m.from == 4 && (m.kind == MessageKind::prevote || m.kind == MessageKind::precommit) &&
        (first_vote == 0 || m.height < first_vote))
      first_vote = m.height;
  EXPECT_EQ(first_vote, 7u);
}

// Validator changes through the ledger's blocks: a full node signs nothing until a block
// makes it a validator (two heights later), then votes; powers of correct validators
// change too. Safe and live throughout, with an equivocator and loss.
TEST(Simulation, FullNodesVoteOnceABlockMakesThemValidators) {
  SimOptions options = cluster(4, 30);
  expect_the_full_node_votes_from_height_7(options);

  options.full_nodes = 0;
  options.validator_change_every = 2;
  expect_safe_and_live(run(options, 3), 30);
  options = lossy_with_two_faulty(Fault::equivocate, 30);
  options.full_nodes = 2;
  options.validator_change_every = 3;
  for (std::uint64_t seed = 1; seed <= 5; ++seed) {
    const RunResult changed = run(options, seed);
    expect_safe_and_live(changed, 30);
    EXPECT_GE(changed.validator_changes, 9u);
  }
}

TEST(Simulation, HappyPathCommitsInThreeMessageDelays) {
  SimOptions options = cluster(4, 50);
  const Time delta = from_ms(10);
  options.network.default_link.min_delay = options.network.default_link.max_delay = delta;
  const RunResult r = run(options, 1);
  expect_safe_and_live(r, 50);
  EXPECT_EQ(r.rounds_sum, 50u);  // every height in round 0
  ASSERT_EQ(r.commit_latencies_us.size(), 4u * 50u);
  // Proposal, prevotes, precommits: 3 delta; the simulated application adds nothing.
  EXPECT_EQ(*std::max_element(r.commit_latencies_us.begin(), r.commit_latencies_us.end()), 3 * delta);
  EXPECT_EQ(r.blocks_synced, 0u);
  EXPECT_EQ(r.frames_rejected, 0u);
}

TEST(Simulation, WeightedValidatorsAndEveryProposerRule) {
  for (ProposerRule rule : {ProposerRule::round_robin, ProposerRule::weighted_round_robin, ProposerRule::seed_pcg}) {
    SimOptions options = cluster(5, 10);
    options.weights = {5, 1, 3, 10, 2};
    options.proposer = rule;
    options.network.default_link.drop = 0.05;
    expect_safe_and_live(run(options, 3), 10);
  }
}

class Equivocators : public ::testing::TestWithParam<std::size_t> {};

// f equivocators with n = 3f + 1, on a lossy network: safe, live, and caught.
TEST_P(Equivocators, AreSafeLiveAndReported) {
  const std::size_t f = GetParam();
  SimOptions options = cluster(3 * f + 1, 6);
  options.byzantine = f;
  options.fault = Fault::equivocate;
  options.network.default_link.drop = 0.1;
  std::uint64_t evidence = 0;
  for (std::uint64_t seed = 1; seed <= 4; ++seed) {
    const RunResult r = run(options, seed);
    expect_safe_and_live(r, 6);
    EXPECT_EQ(r.byzantine_nodes.size(), f);
    evidence += evidence_against_byzantine(r);
  }
  EXPECT_GT(evidence, 0u);
}

INSTANTIATE_TEST_SUITE_P(F, Equivocators, ::testing::Values(1, 2, 3));

class Faults : public ::testing::TestWithParam<Fault> {};

TEST_P(Faults, TwoFaultyOfSevenOnALossyNetworkAreSafeAndLive) {
  SimOptions options = cluster(7, 8);
  options.byzantine = 2;
  options.fault = GetParam();
  options.network.default_link.drop = 0.1;
  options.network.default_link.duplicate = 0.05;
  options.network.default_link.reorder = 0.1;
  for (std::uint64_t seed = 1; seed <= 4; ++seed) expect_safe_and_live(run(options, seed), 8);
}

INSTANTIATE_TEST_SUITE_P(Kinds, Faults, ::testing::Values(Fault::equivocate, Fault::silent, Fault::random, Fault::amnesia),
                         [](const auto& param_info) { return std::string(to_string(param_info.param)); });

TEST(Simulation, RandomMessagesAreReportedAsEvidence) {
  SimOptions options = cluster(4, 10);
  options.byzantine = 1;
  options.fault = Fault::random;
  std::uint64_t evidence = 0;
  for (std::uint64_t seed = 1; seed <= 3; ++seed) evidence += evidence_against_byzantine(run(options, seed));
  EXPECT_GT(evidence, 0u);
}

// Neither side of a 2|2 split has a quorum: nothing is decided until the heal, then
// every node reaches the target.
TEST(Simulation, EvenSplitStallsThenRecoversAfterTheHeal) {
  SimOptions options = cluster(4, 6);
  options.network.partitions.push_back(*parse_partition("0,1|2,3@0..3000"));
  for (std::uint64_t seed = 1; seed <= 3; ++seed) {
    const RunResult r = run(options, seed);
    expect_safe_and_live(r, 6);
    EXPECT_GT(r.end_time, from_ms(3000));
    EXPECT_EQ(r.time_to_target_after_heal, r.end_time - from_ms(3000));
    EXPECT_LE(r.time_to_target_after_heal, r.liveness_bound);
  }
}

// A node cut off while the others decide one height is sent that height's commit by the
// peers that still hear it behind after the help delay, and catches up (with block
// sync for what the others decided meanwhile).
TEST(Simulation, LaggardOneHeightBehindIsHelpedWithTheCommit) {
  SimOptions options = cluster(4, 6);
  options.network.default_link.min_delay = options.network.default_link.max_delay = from_ms(10);
  options.gossip_interval = from_ms(5);
  // Height 2 runs from 30 to 60 ms; v3 hears none of its votes.
  options.network.partitions.push_back(*parse_partition("3@35..60"));
  const RunResult r = run(options, 1);
  expect_safe_and_live(r, 6);
  EXPECT_GE(r.help_sent, 1u);
}

// A node cut off for many heights catches up through block sync after the heal.
TEST(Simulation, LaggardManyHeightsBehindCatchesUpThroughBlockSync) {
  SimOptions options = cluster(4, 150);
  options.network.partitions.push_back(*parse_partition("2@100..3000"));
  const RunResult r = run(options, 1);
  expect_safe_and_live(r, 150);
  // The other three kept deciding while it was away, dozens of heights.
  EXPECT_GT(r.blocks_synced, 10u);
}

TEST(Simulation, EquivocatorsWithPartitionsAndLoss) {
  SimOptions options = cluster(7, 10);
  options.byzantine = 2;
  options.fault = Fault::equivocate;
  options.network.default_link.drop = 0.05;
  options.network.partitions.push_back(*parse_partition("0,1,2|3,4,5,6@200..1500"));
  options.network.partitions.push_back(*parse_partition("6@2000..2600"));
  for (std::uint64_t seed = 1; seed <= 3; ++seed) expect_safe_and_live(run(options, seed), 10);
}

// f + 1 equivocators break the n >= 3f + 1 assumption: the coalition shows each half of
// the network its own proposal and votes, and the agreement checker must catch it.
TEST(Simulation, UnsafeCoalitionIsCaughtByTheAgreementChecker) {
  SimOptions options = cluster(4, 8);
  options.byzantine = 2;
  options.fault = Fault::equivocate;
  EXPECT_FALSE(options.validate());
  options.allow_unsafe = true;
  for (std::uint64_t seed = 1; seed <= 5; ++seed) {
    const RunResult r = run(options, seed);
    EXPECT_GE(r.agreement_violations, 1u) << describe(r);
    EXPECT_TRUE(r.stopped_on_violation);
    EXPECT_FALSE(r.complete);
  }
}

TEST(Simulation, LivenessFailureIsReportedWhenTheBoundIsTooTight) {
  SimOptions options = cluster(4, 20);
  options.liveness_bound = from_ms(100);
  const RunResult r = run(options, 1);
  EXPECT_FALSE(r.complete);
  ASSERT_FALSE(r.violations.empty());
  EXPECT_EQ(r.violations.front().kind, ViolationKind::liveness);
  EXPECT_LE(r.end_time, from_ms(100));
}

TEST(Simulation, SilentMajorityOfPowerIsRejectedUnlessUnsafeIsAllowed) {
  SimOptions options = cluster(4, 3);
  options.byzantine = 2;
  options.fault = Fault::silent;
  EXPECT_FALSE(run_simulation(options, 1));
  options.allow_unsafe = true;
  options.liveness_bound = from_ms(2000);
  const RunResult r = run(options, 1);  // half the power is silent: nothing can be decided
  EXPECT_FALSE(r.complete);
  EXPECT_EQ(r.heights_committed, 0u);
}

// A correct node that already counted an equivocator's other prevote of a round still
// accepts a proof of lock for that round: the proof's votes count like a certificate's.
// Before the core did so, the coalition kept such nodes from accepting any re-proposal
// and these seeds never finished.
TEST(Simulation, CoreAcceptsProofOfLockDespiteEarlierConflictingPrevote) {
  SimOptions options = cluster(7, 20);
  options.byzantine = 2;
  options.fault = Fault::equivocate;
  options.network.default_link.drop = 0.1;
  for (std::uint64_t seed : {2, 10, 12, 18, 20}) expect_safe_and_live(run(options, seed), 20);
}

}  // namespace
}  // namespace bft::sim

namespace bft::sim {
namespace {

// Crash-restart property: over random crash points (at once, or in the middle of a disk
// write with a torn tail), restarted nodes replay their WAL and never double-sign; the
// run stays safe and live, and is reproducible from its seed.
TEST(CrashRestart, NodesRecoverFromTheirWalWithoutDoubleSigning) {
  SimOptions options;
  options.validators = 4;
  options.heights = 12;
  options.crash_restart = true;
  std::uint64_t crashes = 0, recoveries = 0, torn = 0;
  for (std::uint64_t seed = 1; seed <= 12; ++seed) {
    auto run = run_simulation(options, seed);
    ASSERT_TRUE(run);
    EXPECT_TRUE(run->complete) << "seed " << seed;
    EXPECT_EQ(run->double_signs, 0u) << "seed " << seed;
    EXPECT_EQ(run->agreement_violations, 0u) << "seed " << seed;
    EXPECT_TRUE(run->violations.empty()) << "seed " << seed << ": " << run->violations.front().detail;
    EXPECT_GE(run->crashes, run->recoveries);
    crashes += run->crashes;
    recoveries += run->recoveries;
    torn += run->torn_tails_repaired;
  }
  EXPECT_GT(crashes, 10u);
  EXPECT_GT(recoveries, 10u);
  EXPECT_GT(torn, 0u);
  auto a = run_simulation(options, 7);
  auto b = run_simulation(options, 7);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->events, b->events);
  EXPECT_EQ(a->crashes, b->crashes);
  EXPECT_EQ(a->end_time, b->end_time);
}

// Longer runs crash each node several times, so restarts meet every phase of a height.
// Seeds 20 and 49 found two bugs: a crash just after a WAL rotation lost the messages
// buffered for the last durable height (the replay diverged), and an own proposal the log
// held but had not fed back went into the core behind the harness's back.
TEST(CrashRestart, LongRunsRecoverAtEveryPhaseOfAHeight) {
  SimOptions options;
  options.validators = 4;
  options.heights = 50;
  options.crash_restart = true;
  for (std::uint64_t seed = 1; seed <= 60; ++seed) {
    auto run = run_simulation(options, seed);
    ASSERT_TRUE(run);
    EXPECT_TRUE(run->complete) << "seed " << seed;
    EXPECT_EQ(run->double_signs, 0u) << "seed " << seed;
    EXPECT_TRUE(run->violations.empty()) << "seed " << seed << ": " << run->violations.front().detail;
  }
}

// The checkers can fail: a node whose disks lose what they acknowledged (its WAL and
// double-sign guard) signs again, differently, what it signed before its crash. The same
// runs with intact disks are clean.
TEST(CrashRestart, ANodeThatLosesItsDisksIsCaughtDoubleSigning) {
  SimOptions options;
  options.validators = 4;
  options.heights = 30;
  options.crash_restart = true;
  options.network.default_link.drop = 0.2;
  std::uint64_t intact = 0;
  for (std::uint64_t seed = 1; seed <= 20; ++seed) intact += run(options, seed).double_signs;
  EXPECT_EQ(intact, 0u);
  options.wipe_disks_on_crash = true;
  std::uint64_t caught = 0;
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    const RunResult r = run(options, seed);
    if (r.double_signs == 0) continue;
    ++caught;
    EXPECT_TRUE(r.stopped_on_violation) << describe(r);
    EXPECT_EQ(r.violations.front().kind, ViolationKind::double_sign) << describe(r);
  }
  EXPECT_GE(caught, 1u);
  options.crash_restart = false;
  EXPECT_FALSE(options.validate());
}

// Found by this simulator on the shipped replica: a node restarted after deciding a
// height that only it had decided (an equivocator's precommit completed its quorum)
// held the deciding votes without their signatures, could build no certificate, and
// waited for one nobody had while the others could not decide without it. Its log now
// keeps peers' signatures (wal::PeerSignatures).
TEST(CrashRestart, ANodeThatAloneDecidedProvesItAfterARestart) {
  SimOptions options = cluster(5, 15);
  options.byzantine = 1;
  options.fault = Fault::equivocate;
  options.crash_restart = true;
  options.network.default_link.drop = 0.05;
  expect_safe_and_live(run(options, 189), 15);
  options.network.default_link.drop = 0;
  options.network.partitions.push_back(*parse_partition("0,1|2,3,4@200..1500"));
  options.network.partitions.push_back(*parse_partition("4@2000..2600"));
  for (std::uint64_t seed : {92, 206}) expect_safe_and_live(run(options, seed), 15);
}

// Disk faults: a failed fsync stops a node, which restarts; a flipped bit is repaired
// (a damaged tail) or makes the node refuse to open (it stays down). Nothing is signed
// twice and the others go on. Seed 109 found a replica that asked only the furthest
// peer it had heard for blocks, which had since been lost to its damaged disk: sync
// requests now go round the peers heard ahead.
TEST(CrashRestart, DiskFaultsStopOrRepairAndNeverDoubleSign) {
  SimOptions options = cluster(4, 20);
  options.crash_restart = true;
  options.disk_faults = true;
  std::uint64_t failed_syncs = 0;
  std::uint64_t flipped = 0;
  std::uint64_t lost = 0;
  for (std::uint64_t seed = 100; seed <= 130; ++seed) {
    const RunResult r = run(options, seed);
    expect_safe_and_live(r, 20);
    failed_syncs += r.failed_syncs;
    flipped += r.bits_flipped;
    lost += r.nodes_lost;
  }
  EXPECT_GT(failed_syncs, 0u);
  EXPECT_GT(flipped, 0u);
  EXPECT_GT(lost, 0u);
  options.byzantine = 1;  // with one node lost to its disk, two of four would be faulty
  EXPECT_FALSE(options.validate());
  options.byzantine = 0;
  options.crash_restart = false;
  EXPECT_FALSE(options.validate());
}

// --blocks: the engine bft-node runs (block store, mempool, handshake) on every node.
// Crashes make restarts replay stored blocks into the application, the equivocator's
// second block is refused, and every client transaction committed commits once.
TEST(Engine, RunsUnderCrashesAndAnEquivocatorAndCommitsTransactionsOnce) {
  SimOptions options = cluster(5, 15);
  options.blocks = true;
  options.byzantine = 1;
  options.fault = Fault::equivocate;
  options.crash_restart = true;
  options.network.default_link.drop = 0.05;
  std::uint64_t committed = 0;
  std::uint64_t replayed = 0;
  for (std::uint64_t seed = 1; seed <= 30; ++seed) {
    const RunResult r = run(options, seed);
    expect_safe_and_live(r, 15);
    EXPECT_LE(r.txs_committed, r.txs_submitted) << describe(r);
    committed += r.txs_committed;
    replayed += r.blocks_replayed;
  }
  EXPECT_GT(committed, 30u * 10);
  EXPECT_GT(replayed, 0u);
}

TEST(Engine, EveryRunIsByteIdenticalForItsSeed) {
  SimOptions options = lossy_with_two_faulty(Fault::amnesia, 8);
  options.blocks = true;
  options.crash_restart = true;
  Trace a;
  Trace b;
  expect_safe_and_live(run(options, 3, &a), 8);
  run(options, 3, &b);
  EXPECT_EQ(fingerprint(a), fingerprint(b));
}

// What seed 1 of `--blocks --crash-restart --disk-faults` found: a restarted proposer's
// new block refused by a guard that held what the log lost (docs/WAL.md). Bits flipped
// in block stores too: a node stops (or refuses to start) rather than apply or serve a
// damaged block, and the others go on.
TEST(Engine, DiskFaultsLeaveEveryRoundLive) {
  SimOptions options = cluster(4, 15);
  options.blocks = true;
  options.crash_restart = true;
  options.disk_faults = true;
  std::uint64_t stored_flips = 0;
  for (std::uint64_t seed = 1; seed <= 60; ++seed) {
    const RunResult r = run(options, seed);
    expect_safe_and_live(r, 15);
    stored_flips += r.stored_bits_flipped;
  }
  EXPECT_GT(stored_flips, 0u);
}

// --blocks --validator-change-every: the application's updates change the set, through
// the engine's own rules; a full node votes from two heights after the block that makes
// it a validator. Crashes replay blocks whose updates must come out the same.
TEST(Engine, TheApplicationsUpdatesMakeAFullNodeAValidator) {
  SimOptions options = cluster(4, 20);
  options.blocks = true;
  expect_the_full_node_votes_from_height_7(options);

  options.full_nodes = 2;
  options.validator_change_every = 3;
  options.crash_restart = true;
  options.byzantine = 1;
  options.fault = Fault::equivocate;
  options.validators = 5;
  std::uint64_t replayed = 0;
  for (std::uint64_t seed = 1; seed <= 10; ++seed) {
    const RunResult changed = run(options, seed);
    expect_safe_and_live(changed, 20);
    EXPECT_GE(changed.validator_changes, 5u) << describe(changed);
    replayed += changed.blocks_replayed;
  }
  EXPECT_GT(replayed, 0u);
}

TEST(CrashRestart, OffMeansNoCrashes) {
  SimOptions options;
  options.heights = 3;
  auto run = run_simulation(options, 1);
  ASSERT_TRUE(run);
  EXPECT_EQ(run->crashes, 0u);
  EXPECT_EQ(run->recoveries, 0u);
}

}  // namespace
}  // namespace bft::sim
