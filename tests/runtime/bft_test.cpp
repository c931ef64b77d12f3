// The handle, driven on virtual time: every test waits for the worker with flush() (a
// fence through its queue), never with a sleep, and asserts nothing about real time.
#include "bft/runtime/bft.hpp"

#include <gtest/gtest.h>

#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace bft::runtime {
namespace {

using std::chrono::milliseconds;

Address addr(std::string_view text) { return Address::from_text(text); }
Value val(std::string_view text) { return Value::from_text(text); }

/// Records everything the handle gives it. Read only after flush(), which orders the
/// worker's calls before the read.
class RecordingSink : public FromCore {
 public:
  void send_msg(CoreOutput msg) override {
    const std::lock_guard lock(mutex_);
    outputs_.push_back(std::move(msg));
  }
  void send_retransmit(Retransmit msg) override {
    const std::lock_guard lock(mutex_);
    retransmits_.push_back(std::move(msg));
  }
  void report_evidence(const Evidence& evidence) override {
    const std::lock_guard lock(mutex_);
    evidence_.push_back(evidence);
  }
  void input_rejected(const Error& error) override {
    const std::lock_guard lock(mutex_);
    rejected_.push_back(error.code);
  }

  /// The outputs since the last call.
  std::vector<CoreOutput> take() {
    const std::lock_guard lock(mutex_);
    return std::exchange(outputs_, {});
  }
  std::vector<Errc> take_rejected() {
    const std::lock_guard lock(mutex_);
    return std::exchange(rejected_, {});
  }
  std::vector<Retransmit> retransmits() {
    const std::lock_guard lock(mutex_);
    return retransmits_;
  }
  std::vector<Evidence> evidence() {
    const std::lock_guard lock(mutex_);
    return evidence_;
  }

 private:
  std::mutex mutex_;
  std::vector<CoreOutput> outputs_;
  std::vector<Retransmit> retransmits_;
  std::vector<Evidence> evidence_;
  std::vector<Errc> rejected_;
};

const std::vector<Node> authorities{Node{addr("a"), 1, 1}, Node{addr("b"), 1, 1}, Node{addr("c"), 1, 1},
                                    Node{addr("d"), 1, 1}};
constexpr Duration interval{3000};  // propose waits 2400 ms, prevote and precommit 100 ms

Status status(Height committed, std::optional<Duration> every = interval) {
  return Status{committed, every, authorities};
}

Vote prevote(Height h, Round r, std::optional<Value> v, std::string_view voter) {
  return Vote{VoteType::prevote, h, r, std::move(v), addr(voter)};
}
Vote precommit(Height h, Round r, std::optional<Value> v, std::string_view voter) {
  return Vote{VoteType::precommit, h, r, std::move(v), addr(voter)};
}
Proposal proposal(Height h, Round r, Value v, std::string_view proposer) {
  return Proposal{h, r, std::move(v), std::nullopt, {}, addr(proposer)};
}

/// One handle for node "a" on a manual clock. Proposers rotate through a, b, c, d with
/// height + round, offset so that `first_proposer` proposes at height 1, round 0.
class BftTest : public ::testing::Test {
 protected:
  Bft make(std::size_t first_proposer, Options options = {}) {
    options.clock = &clock;
    options.make_selector = [first_proposer] { return make_round_robin_selector(first_proposer + 3, true); };
    auto created = Bft::create(sink, addr("a"), std::move(options));
    EXPECT_TRUE(created.ok()) << created.error().message;
    return std::move(*created);
  }

  /// Started at height 1, with the outputs of getting there consumed.
  Bft started(std::size_t first_proposer, Options options = {}) {
    Bft bft = make(first_proposer, std::move(options));
    send(bft, Start{});
    send(bft, status(0));
    EXPECT_TRUE(bft.flush());
    sink.take();
    return bft;
  }

  static void send(Bft& bft, CoreInput input) {
    const SendResult sent = bft.send_bft_msg(std::move(input));
    ASSERT_TRUE(sent.ok()) << to_string(sent.error().code) << ": " << sent.error().message;
  }

  std::vector<CoreOutput> outputs_after_flush(Bft& bft) {
    EXPECT_TRUE(bft.flush());
    return sink.take();
  }

  ManualClock clock;
  RecordingSink sink;
};

constexpr std::size_t node_a = 0;
constexpr std::size_t node_b = 1;
constexpr std::size_t node_d = 3;

TEST_F(BftTest, CreateRejectsBadOptions) {
  Options no_capacity;
  no_capacity.queue_capacity = 0;
  EXPECT_EQ(Bft::create(sink, addr("a"), no_capacity).error().code, Errc::invalid_argument);
  Options no_selector;
  no_selector.make_selector = nullptr;
  EXPECT_EQ(Bft::create(sink, addr("a"), no_selector).error().code, Errc::invalid_argument);
  Options bad_config;
  bad_config.config.max_round = 0;
  EXPECT_EQ(Bft::create(sink, addr("a"), bad_config).error().code, Errc::invalid_argument);
}

TEST_F(BftTest, StartsPausedAndProcessesNothingButStart) {
  Bft bft = make(node_a);
  send(bft, status(0));
  send(bft, Feed{1, val("x")});
  EXPECT_TRUE(outputs_after_flush(bft).empty());
  clock.advance(milliseconds{10'000});
  EXPECT_TRUE(outputs_after_flush(bft).empty());

  // Start runs what waited, in order: the Status, then the Feed that answers the request.
  send(bft, Start{});
  const std::vector<CoreOutput> expected{
      GetProposalRequest{1, 0},
      Proposal{1, 0, val("x"), std::nullopt, {}, addr("a")},
      prevote(1, 0, val("x"), "a"),
  };
  EXPECT_EQ(outputs_after_flush(bft), expected);
}

TEST_F(BftTest, ProposerAsksForAValueAndCountsItsOwnProposalAndVotes) {
  Bft proposer = make(node_a);
  send(proposer, Start{});
  send(proposer, status(0));
  EXPECT_EQ(outputs_after_flush(proposer), (std::vector<CoreOutput>{GetProposalRequest{1, 0}}));

  send(proposer, Feed{1, val("x")});
  // The own prevote shows that the own proposal went back into the core.
  EXPECT_EQ(outputs_after_flush(proposer),
            (std::vector<CoreOutput>{Proposal{1, 0, val("x"), std::nullopt, {}, addr("a")}, prevote(1, 0, val("x"), "a")}));
  // Two peers' prevotes and the own one make a quorum: the own prevote was counted.
  send(proposer, prevote(1, 0, val("x"), "b"));
  send(proposer, prevote(1, 0, val("x"), "c"));
  EXPECT_EQ(outputs_after_flush(proposer), (std::vector<CoreOutput>{precommit(1, 0, val("x"), "a")}));
}

TEST_F(BftTest, PeerMessagesRoundTripToCommit) {
  Bft bft = started(node_d);
  send(bft, proposal(1, 0, val("v"), "d"));
  EXPECT_EQ(outputs_after_flush(bft), (std::vector<CoreOutput>{prevote(1, 0, val("v"), "a")}));

  send(bft, prevote(1, 0, val("v"), "b"));
  send(bft, prevote(1, 0, val("v"), "c"));
  EXPECT_EQ(outputs_after_flush(bft), (std::vector<CoreOutput>{precommit(1, 0, val("v"), "a")}));

  send(bft, precommit(1, 0, val("v"), "b"));
  send(bft, precommit(1, 0, val("v"), "d"));
  const Commit commit{1, 0, val("v"),
                      {precommit(1, 0, val("v"), "a"), precommit(1, 0, val("v"), "b"), precommit(1, 0, val("v"), "d")},
                      addr("a")};
  EXPECT_EQ(outputs_after_flush(bft), (std::vector<CoreOutput>{commit}));

  // The application answers Commit with the next Status; at height 2, a proposes.
  send(bft, status(1));
  EXPECT_EQ(bft.get_height(), 2u);
  EXPECT_EQ(outputs_after_flush(bft), (std::vector<CoreOutput>{GetProposalRequest{2, 0}}));
  EXPECT_TRUE(sink.take_rejected().empty());
}

TEST_F(BftTest, PauseKeepsInputsUntilTheNextStart) {
  Bft bft = started(node_b);
  send(bft, Pause{});
  send(bft, proposal(1, 0, val("v"), "b"));
  EXPECT_TRUE(outputs_after_flush(bft).empty());
  // Paused, the propose timeout does not fire either.
  clock.advance(milliseconds{2400});
  EXPECT_TRUE(outputs_after_flush(bft).empty());

  // Start: the kept proposal goes first, as it arrived first; the timeout that came due
  // meanwhile then finds the propose step over.
  send(bft, Start{});
  EXPECT_EQ(outputs_after_flush(bft), (std::vector<CoreOutput>{prevote(1, 0, val("v"), "a")}));
}

TEST_F(BftTest, KeptInputsRunInOrderAfterStart) {
  Bft bft = started(node_b);
  send(bft, Pause{});
  send(bft, proposal(1, 0, val("v"), "b"));
  send(bft, prevote(1, 0, val("v"), "b"));
  send(bft, prevote(1, 0, val("v"), "c"));
  EXPECT_TRUE(outputs_after_flush(bft).empty());
  send(bft, Start{});
  EXPECT_EQ(outputs_after_flush(bft),
            (std::vector<CoreOutput>{prevote(1, 0, val("v"), "a"), precommit(1, 0, val("v"), "a")}));
}

// Peers started earlier may send before this node's first Status arrives (in-process
// clusters start handles one after another): nothing they sent may be lost.
TEST_F(BftTest, MessagesBeforeTheFirstStatusWaitForIt) {
  Bft bft = make(node_d);
  send(bft, Start{});
  send(bft, proposal(1, 0, val("v"), "d"));
  send(bft, prevote(1, 0, val("v"), "b"));
  send(bft, prevote(1, 0, val("v"), "c"));
  EXPECT_TRUE(outputs_after_flush(bft).empty());
  EXPECT_TRUE(sink.take_rejected().empty());

  send(bft, status(0));
  EXPECT_EQ(outputs_after_flush(bft),
            (std::vector<CoreOutput>{prevote(1, 0, val("v"), "a"), precommit(1, 0, val("v"), "a")}));
  EXPECT_TRUE(sink.take_rejected().empty());
}

// They take queue room while they wait, so the wait is bounded like any other; the
// Status they wait for is still taken.
TEST_F(BftTest, MessagesBeforeTheFirstStatusTakeQueueRoom) {
  Options small;
  small.queue_capacity = 2;
  Bft bft = make(node_d, small);
  send(bft, Start{});
  send(bft, proposal(1, 0, val("v"), "d"));
  send(bft, prevote(1, 0, val("v"), "b"));
  ASSERT_TRUE(bft.flush());
  EXPECT_EQ(bft.send_bft_msg(prevote(1, 0, val("v"), "c")).error().code, SendErrc::queue_full);

  send(bft, status(0));
  EXPECT_EQ(outputs_after_flush(bft), (std::vector<CoreOutput>{prevote(1, 0, val("v"), "a")}));
  send(bft, prevote(1, 0, val("v"), "c"));
  EXPECT_EQ(outputs_after_flush(bft), (std::vector<CoreOutput>{precommit(1, 0, val("v"), "a")}));
}

TEST_F(BftTest, TimeoutsRunOnTheInjectedClock) {
  Bft bft = started(node_b);
  clock.advance(milliseconds{2399});
  EXPECT_TRUE(outputs_after_flush(bft).empty());
  clock.advance(milliseconds{1});
  EXPECT_EQ(outputs_after_flush(bft), (std::vector<CoreOutput>{prevote(1, 0, std::nullopt, "a")}));

  // A quorum of nil prevotes: precommit nil; a quorum of precommits schedules the
  // precommit timeout, whose expiry starts round 1, where the propose wait is longer.
  send(bft, prevote(1, 0, std::nullopt, "b"));
  send(bft, prevote(1, 0, std::nullopt, "c"));
  send(bft, precommit(1, 0, std::nullopt, "b"));
  send(bft, precommit(1, 0, std::nullopt, "c"));
  EXPECT_EQ(outputs_after_flush(bft), (std::vector<CoreOutput>{precommit(1, 0, std::nullopt, "a")}));
  clock.advance(milliseconds{100});
  EXPECT_TRUE(outputs_after_flush(bft).empty());  // round 1, where c proposes
  clock.advance(milliseconds{3599});
  EXPECT_TRUE(outputs_after_flush(bft).empty());
  clock.advance(milliseconds{1});
  EXPECT_EQ(outputs_after_flush(bft), (std::vector<CoreOutput>{prevote(1, 1, std::nullopt, "a")}));
}

TEST_F(BftTest, StatusIntervalSetsTheTimeouts) {
  Bft bft = started(node_b);
  send(bft, proposal(1, 0, val("v"), "b"));
  send(bft, precommit(1, 0, val("v"), "b"));
  send(bft, precommit(1, 0, val("v"), "c"));
  send(bft, precommit(1, 0, val("v"), "d"));
  outputs_after_flush(bft);
  // Height 2 with a doubled interval: c proposes, a waits 4800 ms.
  send(bft, status(1, Duration{6000}));
  send(bft, status(1, Duration{1000}));  // stale: refused, and the core is not replaced
  EXPECT_TRUE(bft.flush());  // the timeout counts from when the worker starts the height
  clock.advance(milliseconds{4799});
  EXPECT_TRUE(outputs_after_flush(bft).empty());
  clock.advance(milliseconds{1});
  EXPECT_EQ(outputs_after_flush(bft), (std::vector<CoreOutput>{prevote(2, 0, std::nullopt, "a")}));
  // A Status without an interval keeps the last one.
  send(bft, status(2, std::nullopt));
  EXPECT_TRUE(bft.flush());
  clock.advance(milliseconds{4799});
  EXPECT_TRUE(outputs_after_flush(bft).empty());
  clock.advance(milliseconds{1});
  EXPECT_EQ(outputs_after_flush(bft), (std::vector<CoreOutput>{prevote(3, 0, std::nullopt, "a")}));
  EXPECT_EQ(sink.take_rejected(), std::vector<Errc>{Errc::stale_height});
}

TEST_F(BftTest, StatusForAnOlderHeightDoesNotMoveTheMachineBack) {
  Bft bft = started(node_b);
  EXPECT_EQ(bft.get_height(), 1u);
  send(bft, status(5));
  EXPECT_EQ(bft.get_height(), 6u);
  send(bft, status(2));
  EXPECT_EQ(bft.get_height(), 6u);
  EXPECT_TRUE(outputs_after_flush(bft).empty());
  EXPECT_EQ(sink.take_rejected(), std::vector<Errc>{Errc::stale_height});

  // Still at height 6 (proposer (6 + 0 + 4) mod 4 = c): its messages count, height 3's not.
  send(bft, proposal(3, 0, val("old"), "a"));
  send(bft, proposal(6, 0, val("v"), "c"));
  EXPECT_EQ(outputs_after_flush(bft), (std::vector<CoreOutput>{prevote(6, 0, val("v"), "a")}));
  EXPECT_EQ(sink.take_rejected(), std::vector<Errc>{Errc::stale_height});
}

TEST_F(BftTest, BadStatusIsRefusedAtSend) {
  Bft bft = make(node_a);
  const SendResult empty = bft.send_bft_msg(Status{0, interval, {}});
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().code, SendErrc::invalid_input);
  EXPECT_NE(empty.error().message.find("validator"), std::string::npos) << empty.error().message;
  EXPECT_EQ(bft.send_bft_msg(Status{0, Duration{0}, authorities}).error().code, SendErrc::invalid_input);
  EXPECT_EQ(bft.get_height(), 0u);
}

TEST_F(BftTest, VerifyRespGatesTheVoteOnAPeerProposal) {
  Options options;
  options.async_verify = true;
  Bft bft = started(node_b, options);
  send(bft, proposal(1, 0, val("v"), "b"));
  EXPECT_TRUE(outputs_after_flush(bft).empty());  // validity unknown: no prevote yet
  send(bft, VerifyResp{true, val("other")});
  EXPECT_TRUE(outputs_after_flush(bft).empty());
  send(bft, VerifyResp{true, val("v")});
  EXPECT_EQ(outputs_after_flush(bft), (std::vector<CoreOutput>{prevote(1, 0, val("v"), "a")}));
}

TEST_F(BftTest, FailedVerificationPrevotesNil) {
  Options options;
  options.async_verify = true;
  Bft bft = started(node_b, options);
  send(bft, proposal(1, 0, val("bad"), "b"));
  send(bft, VerifyResp{false, val("bad")});
  EXPECT_EQ(outputs_after_flush(bft), (std::vector<CoreOutput>{prevote(1, 0, std::nullopt, "a")}));
}

TEST_F(BftTest, AVerdictServesLaterProposalsOfTheValue) {
  Options options;
  options.async_verify = true;
  Bft bft = started(node_b, options);
  send(bft, VerifyResp{true, val("v")});  // verified before the proposal arrived
  send(bft, proposal(1, 0, val("v"), "b"));
  EXPECT_EQ(outputs_after_flush(bft), (std::vector<CoreOutput>{prevote(1, 0, val("v"), "a")}));

  // The verdict is for height 1 only: at height 2 the same value waits again.
  send(bft, precommit(1, 0, val("v"), "b"));
  send(bft, precommit(1, 0, val("v"), "c"));
  send(bft, precommit(1, 0, val("v"), "d"));
  send(bft, status(1));
  EXPECT_TRUE(bft.flush());
  sink.take();
  send(bft, proposal(2, 0, val("v"), "c"));
  EXPECT_TRUE(outputs_after_flush(bft).empty());
}

TEST_F(BftTest, CommitInputDecidesTheCurrentHeight) {
  Bft bft = started(node_b);
  // Learnt from sync: no proposal, no votes heard here before.
  const std::vector<Vote> precommits{precommit(1, 0, val("v"), "b"), precommit(1, 0, val("v"), "c"),
                                     precommit(1, 0, val("v"), "d")};
  send(bft, Commit{1, 0, val("v"), precommits, addr("b")});
  EXPECT_EQ(outputs_after_flush(bft), (std::vector<CoreOutput>{Commit{1, 0, val("v"), precommits, addr("a")}}));
  EXPECT_TRUE(sink.take_rejected().empty());
  EXPECT_TRUE(sink.evidence().empty());
}

TEST_F(BftTest, CommitInputDecidesOverAnUnverifiedProposal) {
  Options options;
  options.async_verify = true;
  Bft bft = started(node_b, options);
  Proposal reproposed{1, 1, val("v"), Round{0}, {}, addr("c")};
  // Round 1 (c proposes) after nil precommits in round 0.
  clock.advance(milliseconds{2400});
  EXPECT_TRUE(bft.flush());
  send(bft, prevote(1, 0, std::nullopt, "b"));
  send(bft, prevote(1, 0, std::nullopt, "c"));
  send(bft, precommit(1, 0, std::nullopt, "b"));
  send(bft, precommit(1, 0, std::nullopt, "c"));
  EXPECT_TRUE(bft.flush());
  clock.advance(milliseconds{100});
  EXPECT_TRUE(bft.flush());
  send(bft, reproposed);
  EXPECT_TRUE(bft.flush());
  sink.take();
  const std::vector<Vote> precommits{precommit(1, 1, val("v"), "b"), precommit(1, 1, val("v"), "c"),
                                     precommit(1, 1, val("v"), "d")};
  send(bft, Commit{1, 1, val("v"), precommits, addr("b")});
  EXPECT_EQ(outputs_after_flush(bft), (std::vector<CoreOutput>{Commit{1, 1, val("v"), precommits, addr("a")}}));
  // The held proposal was marked valid, not doubled by a made-up one.
  EXPECT_TRUE(sink.evidence().empty());
}

TEST_F(BftTest, CommitInputWithoutAQuorumIsRefused) {
  Bft bft = started(node_b);
  // Were a proposal of "v" made up for it, a would prevote "v" at once.
  send(bft, Commit{1, 0, val("v"), {precommit(1, 0, val("v"), "b"), precommit(1, 0, val("v"), "c")}, addr("b")});
  send(bft, Commit{1, 0, val("v"), {precommit(1, 0, val("v"), "b"), precommit(1, 0, val("v"), "b")}, addr("b")});
  send(bft, Commit{1, 0, val("v"), {precommit(1, 0, val("v"), "b"), precommit(1, 0, val("v"), "c"),
                                    precommit(1, 0, val("v"), "x")}, addr("b")});
  EXPECT_TRUE(outputs_after_flush(bft).empty());
  EXPECT_EQ(sink.take_rejected(),
            (std::vector<Errc>{Errc::invalid_certificate, Errc::invalid_certificate, Errc::unknown_validator}));
}

TEST_F(BftTest, CommitInputForAnotherHeightIsRefused) {
  Bft bft = started(node_b);
  send(bft, Commit{2, 0, val("v"), {precommit(2, 0, val("v"), "b")}, addr("b")});
  EXPECT_TRUE(outputs_after_flush(bft).empty());
  EXPECT_EQ(sink.take_rejected(), std::vector<Errc>{Errc::invalid_argument});
  // A Commit whose votes are not its precommits is refused at once.
  const SendResult mixed = bft.send_bft_msg(Commit{1, 0, val("v"), {prevote(1, 0, val("v"), "b")}, addr("b")});
  EXPECT_EQ(mixed.error().code, SendErrc::invalid_input);
}

TEST_F(BftTest, LaggardHelpAndEvidenceReachTheirHooks) {
  Bft bft = started(node_b);
  send(bft, proposal(1, 0, val("v"), "b"));
  send(bft, prevote(1, 0, val("v"), "c"));
  send(bft, prevote(1, 0, val("w"), "c"));  // c equivocates
  send(bft, precommit(1, 0, val("v"), "b"));
  send(bft, precommit(1, 0, val("v"), "c"));
  send(bft, precommit(1, 0, val("v"), "d"));
  EXPECT_TRUE(bft.flush());
  ASSERT_EQ(sink.evidence().size(), 1u);
  EXPECT_EQ(sink.evidence()[0].offender(), addr("c"));

  // d is still voting at the decided height: it gets the commit.
  send(bft, prevote(1, 0, val("v"), "d"));
  EXPECT_TRUE(bft.flush());
  const std::vector<Retransmit> retransmits = sink.retransmits();
  ASSERT_EQ(retransmits.size(), 1u);
  const Retransmit& help = retransmits[0];
  EXPECT_EQ(help.to, addr("d"));
  ASSERT_TRUE(help.proposal);
  EXPECT_EQ(help.proposal->content, val("v"));
  EXPECT_EQ(help.votes.size(), 3u);  // the precommits of b, c and d
}

TEST_F(BftTest, AFullQueueRefusesMessagesButNotStartOrStatus) {
  Options options;
  options.queue_capacity = 2;
  Bft bft = make(node_b, options);
  // Paused: nothing is consumed, so the count is exact. Status takes no room.
  send(bft, status(0));
  send(bft, proposal(1, 0, val("v"), "b"));
  send(bft, prevote(1, 0, val("v"), "b"));
  const SendResult full = bft.send_bft_msg(prevote(1, 0, val("v"), "c"));
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.error().code, SendErrc::queue_full);
  EXPECT_TRUE(bft.flush());  // a flush still passes
  EXPECT_EQ(bft.send_bft_msg(prevote(1, 0, val("v"), "c")).error().code, SendErrc::queue_full);

  send(bft, Start{});
  EXPECT_EQ(outputs_after_flush(bft), (std::vector<CoreOutput>{prevote(1, 0, val("v"), "a")}));
  send(bft, prevote(1, 0, val("v"), "c"));  // room again
  EXPECT_EQ(outputs_after_flush(bft), (std::vector<CoreOutput>{precommit(1, 0, val("v"), "a")}));
}

TEST_F(BftTest, StopDropsTimersAndRefusesLaterMessages) {
  Bft bft = started(node_b);  // the propose timeout is pending
  bft.stop();
  clock.advance(milliseconds{60'000});
  EXPECT_TRUE(sink.take().empty());
  EXPECT_EQ(bft.send_bft_msg(prevote(1, 0, std::nullopt, "b")).error().code, SendErrc::stopped);
  EXPECT_EQ(bft.send_bft_msg(Start{}).error().code, SendErrc::stopped);
  EXPECT_FALSE(bft.flush());
  bft.stop();  // idempotent
}

TEST_F(BftTest, DestroyingWithPendingTimersNeverCallsTheSinkAgain) {
  {
    Bft bft = started(node_b);
    send(bft, proposal(1, 0, val("v"), "b"));
    send(bft, prevote(1, 0, std::nullopt, "b"));
  }  // destroyed with timers and, perhaps, queued messages
  sink.take();
  clock.advance(milliseconds{60'000});  // the clock no longer knows the handle
  EXPECT_TRUE(sink.take().empty());
}

TEST(BftRealClock, DestroyingDoesNotWaitForTimers) {
  RecordingSink sink;
  auto bft = Bft::create(sink, addr("a"));
  ASSERT_TRUE(bft.ok());
  ASSERT_TRUE(bft->send_bft_msg(Start{}).ok());
  ASSERT_TRUE(bft->send_bft_msg(Status{0, Duration{3'600'000}, authorities}).ok());
  ASSERT_TRUE(bft->flush());
  // The propose timeout is most of an hour away; a destructor that waited would hang the
  // test until ctest's timeout fails it.
}

/// Answers its own requests from inside the sink, as applications do.
class FeedingSink : public RecordingSink {
 public:
  void send_msg(CoreOutput msg) override {
    if (const auto* request = std::get_if<GetProposalRequest>(&msg)) {
      fed = bft->send_bft_msg(Feed{request->height, val("fed")}).ok();
      flush_from_sink = bft->flush();
    }
    RecordingSink::send_msg(std::move(msg));
  }
  Bft* bft = nullptr;
  bool fed = false;
  bool flush_from_sink = true;
};

/// Stops its own handle when it sees its own proposal.
class StoppingSink : public RecordingSink {
 public:
  void send_msg(CoreOutput msg) override {
    const bool proposal = std::holds_alternative<Proposal>(msg);
    RecordingSink::send_msg(std::move(msg));
    if (proposal) bft->stop();
  }
  Bft* bft = nullptr;
};

TEST(BftSink, MayStopItsOwnHandle) {
  ManualClock clock;
  StoppingSink sink;
  Options options;
  options.clock = &clock;
  options.make_selector = [] { return make_round_robin_selector(3, true); };  // a proposes at height 1
  {
    auto bft = Bft::create(sink, addr("a"), options);
    ASSERT_TRUE(bft.ok());
    sink.bft = &*bft;
    ASSERT_TRUE(bft->send_bft_msg(Status{0, interval, authorities}).ok());
    ASSERT_TRUE(bft->send_bft_msg(Feed{1, val("x")}).ok());
    ASSERT_TRUE(bft->send_bft_msg(Start{}).ok());
    (void)bft->flush();  // true or false, depending on whether the stop came first
    EXPECT_EQ(bft->send_bft_msg(Vote{VoteType::prevote, 1, 0, val("x"), addr("b")}).error().code,
              SendErrc::stopped);
    EXPECT_FALSE(bft->flush());
  }  // joined: the sink has had its last call
  // The own prevote that would have followed the proposal never reached the sink.
  EXPECT_EQ(sink.take(), (std::vector<CoreOutput>{GetProposalRequest{1, 0},
                                                   Proposal{1, 0, val("x"), std::nullopt, {}, addr("a")}}));
}

TEST(BftSink, MaySendToItsOwnHandle) {
  ManualClock clock;
  FeedingSink sink;
  Options options;
  options.clock = &clock;
  options.make_selector = [] { return make_round_robin_selector(3, true); };  // a proposes at height 1
  auto bft = Bft::create(sink, addr("a"), options);
  ASSERT_TRUE(bft.ok());
  sink.bft = &*bft;
  ASSERT_TRUE(bft->send_bft_msg(Start{}).ok());
  ASSERT_TRUE(bft->send_bft_msg(Status{0, interval, authorities}).ok());
  ASSERT_TRUE(bft->flush());  // the Feed went in behind this fence: flush once more
  ASSERT_TRUE(bft->flush());
  EXPECT_TRUE(sink.fed);
  EXPECT_FALSE(sink.flush_from_sink);  // it would wait for itself
  EXPECT_EQ(sink.take(), (std::vector<CoreOutput>{GetProposalRequest{1, 0},
                                                   Proposal{1, 0, val("fed"), std::nullopt, {}, addr("a")},
                                                   prevote(1, 0, val("fed"), "a")}));
}

/// Four handles that deliver to each other, as examples/seed_api.cpp does, on a clock
/// that never moves: every height must be decided in round 0 without any timeout.
class Network {
 public:
  static constexpr Height target = 20;

  class Peer : public FromCore {
   public:
    Peer(Network& network, std::size_t index) : network_(network), index_(index) {}
    void send_msg(CoreOutput msg) override { network_.deliver(index_, std::move(msg)); }

   private:
    Network& network_;
    std::size_t index_;
  };

  Network() {
    for (std::size_t i = 0; i < 4; ++i) peers_.emplace_back(std::make_unique<Peer>(*this, i));
    for (std::size_t i = 0; i < 4; ++i) {
      Options options;
      options.clock = &clock_;
      // A node kept off the CPU falls behind the other three, a quorum without it: let
      // its core keep every later height's messages, so it never needs a sync.
      options.config.future_heights = target;
      options.config.max_buffered_per_sender = 8 * target;
      auto bft = Bft::create(*peers_[i], authorities[i].address, options);
      EXPECT_TRUE(bft.ok());
      nodes_.push_back(std::move(*bft));
    }
  }
  ~Network() {
    for (Bft& node : nodes_) node.stop();  // no sink may run while another handle dies
  }

  void run() {
    for (Bft& node : nodes_) {
      EXPECT_TRUE(node.send_bft_msg(Start{}).ok());
      EXPECT_TRUE(node.send_bft_msg(Status{0, interval, authorities}).ok());
    }
    std::unique_lock lock(mutex_);
    done_.wait(lock, [&] { return finished_ == 4; });
  }

  std::map<Height, Value> decisions(std::size_t node) {
    const std::lock_guard lock(mutex_);
    return decided_[node];
  }

 private:
  void deliver(std::size_t from, CoreOutput msg) {
    if (auto* commit = std::get_if<Commit>(&msg)) {
      const std::lock_guard lock(mutex_);
      decided_[from][commit->height] = commit->proposal;
      if (commit->height == target) {
        ++finished_;
        done_.notify_all();
      } else {
        EXPECT_TRUE(nodes_[from].send_bft_msg(Status{commit->height, interval, authorities}).ok());
      }
      return;
    }
    if (auto* request = std::get_if<GetProposalRequest>(&msg)) {
      const std::string value = "h" + std::to_string(request->height) + "-by-" + std::to_string(from);
      EXPECT_TRUE(nodes_[from].send_bft_msg(Feed{request->height, val(value)}).ok());
      return;
    }
    for (std::size_t to = 0; to < nodes_.size(); ++to) {
      if (to == from) continue;
      CoreInput copy = std::holds_alternative<Proposal>(msg) ? CoreInput{std::get<Proposal>(msg)}
                                                             : CoreInput{std::get<Vote>(msg)};
      EXPECT_TRUE(nodes_[to].send_bft_msg(std::move(copy)).ok());
    }
  }

  ManualClock clock_;
  std::vector<std::unique_ptr<Peer>> peers_;
  std::vector<Bft> nodes_;
  std::mutex mutex_;
  std::condition_variable done_;
  std::size_t finished_ = 0;
  std::map<Height, Value> decided_[4];
};

TEST(BftNetwork, FourHandlesAgreeOnEveryHeight) {
  Network network;
  network.run();
  const std::map<Height, Value> first = network.decisions(0);
  ASSERT_EQ(first.size(), Network::target);
  for (std::size_t node = 1; node < 4; ++node) EXPECT_EQ(network.decisions(node), first) << "node " << node;
}

}  // namespace
}  // namespace bft::runtime
