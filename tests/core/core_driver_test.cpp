// The loop every host of the core shares: own broadcasts come back as inputs only if the
// host sent them, timeouts fire at their deadline for the core's height, a halted host
// gets nothing more, and a host that misses an output type does not compile.
#include "bft/core_driver.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "harness.hpp"

namespace bft::test {
namespace {

using time_point = CoreDriver<>::time_point;

struct RecordingHost {
  bool sends = true;
  bool halts = false;
  std::vector<std::string> events;

  bool on_output(const BroadcastProposal&) {
    events.emplace_back("proposal");
    return sends;
  }
  bool on_output(const BroadcastVote& out) {
    events.emplace_back(std::string(to_string(out.vote.type)));
    return sends;
  }
  void on_output(Decide&) { events.emplace_back("decide"); }
  void on_output(GetValue&) { events.emplace_back("get_value"); }
  void on_output(Evidence&) { events.emplace_back("evidence"); }
  void on_output(Retransmit&) { events.emplace_back("retransmit"); }
  bool halted() const { return halts; }
};

struct HostWithoutRetransmit {
  bool on_output(const BroadcastProposal&) { return true; }
  bool on_output(const BroadcastVote&) { return true; }
  void on_output(Decide&) {}
  void on_output(GetValue&) {}
  void on_output(Evidence&) {}
  bool halted() const { return false; }
};

static_assert(CoreHost<RecordingHost>);
static_assert(!CoreHost<HostWithoutRetransmit>, "a host that ignores an output type must not compile");

const auto ignore_result = [](const Result<void>&) {};

class CoreDriverTest : public ::testing::Test {
 protected:
  bool handle(Input input) { return driver_.handle(std::move(input), host_, now_, ignore_result); }

  /// Handles every queued input, as a host's loop does.
  void drain() {
    while (driver_.has_queued()) handle(driver_.pop());
  }

  Node node_{"v0"};  // proposes round 0 of every height
  CoreDriver<> driver_{node_.core()};
  RecordingHost host_;
  time_point now_{};
};

TEST_F(CoreDriverTest, ASentBroadcastComesBackAsAnInput) {
  ASSERT_TRUE(handle(StartHeight{1, node_.set()}));
  EXPECT_EQ(host_.events, (std::vector<std::string>{"get_value"}));
  ASSERT_TRUE(handle(ProposeValue{1, 0, val("a")}));
  ASSERT_TRUE(driver_.has_queued());
  const Input fed_back = driver_.pop();
  const auto* proposal = std::get_if<ReceivedProposal>(&fed_back);
  ASSERT_NE(proposal, nullptr);
  EXPECT_EQ(proposal->proposal.proposer, addr("v0"));
  EXPECT_EQ(proposal->proposal.value, val("a"));
  EXPECT_EQ(proposal->validity, Validity::valid);
  EXPECT_FALSE(driver_.has_queued());

  ASSERT_TRUE(handle(fed_back));  // the core prevotes for its own proposal
  ASSERT_TRUE(driver_.has_queued());
  const Input own_vote = driver_.pop();
  ASSERT_TRUE(std::holds_alternative<Vote>(own_vote));
  EXPECT_EQ(std::get<Vote>(own_vote).voter, addr("v0"));
  EXPECT_EQ(std::get<Vote>(own_vote).value, opt("a"));
}

TEST_F(CoreDriverTest, ABroadcastTheHostDidNotSendDoesNotComeBack) {
  host_.sends = false;
  ASSERT_TRUE(handle(StartHeight{1, node_.set()}));
  ASSERT_TRUE(handle(ProposeValue{1, 0, val("a")}));
  EXPECT_EQ(host_.events, (std::vector<std::string>{"get_value", "proposal"}));
  EXPECT_FALSE(driver_.has_queued());
}

TEST_F(CoreDriverTest, OwnVotesThatComeBackCountTowardsTheDecision) {
  ASSERT_TRUE(handle(StartHeight{1, node_.set()}));
  ASSERT_TRUE(handle(ProposeValue{1, 0, val("a")}));
  drain();
  // Two peers' prevotes and precommits: with this node's own, a quorum of three.
  for (const char* peer : {"v1", "v2"}) ASSERT_TRUE(handle(Node::make_vote(VoteType::prevote, peer, 0, "a")));
  drain();
  for (const char* peer : {"v1", "v2"}) ASSERT_TRUE(handle(Node::make_vote(VoteType::precommit, peer, 0, "a")));
  drain();
  EXPECT_EQ(host_.events, (std::vector<std::string>{"get_value", "proposal", "prevote", "precommit", "decide"}));
}

TEST_F(CoreDriverTest, TimeoutsAreQueuedAtTheirDeadlineForTheCoresHeightOnly) {
  Node follower{"v1"};
  CoreDriver<> driver{follower.core()};
  ASSERT_TRUE(driver.handle(StartHeight{1, follower.set()}, host_, now_, ignore_result));
  const Duration propose = Config{}.propose.base;
  ASSERT_EQ(driver.next_timer(), now_ + propose);
  driver.schedule(ScheduleTimeout{TimeoutKind::propose, 7, 0, Duration{0}}, now_);  // another height's

  driver.queue_due_timers(now_ + propose - Duration{1});
  EXPECT_FALSE(driver.has_queued());
  driver.queue_due_timers(now_ + propose);
  ASSERT_TRUE(driver.has_queued());
  const Input fired = driver.pop();
  ASSERT_TRUE(std::holds_alternative<TimeoutFired>(fired));
  EXPECT_EQ(std::get<TimeoutFired>(fired).kind, TimeoutKind::propose);
  EXPECT_EQ(std::get<TimeoutFired>(fired).height, Height{1});
  EXPECT_FALSE(driver.has_queued());
  EXPECT_FALSE(driver.next_timer().has_value());
}

TEST_F(CoreDriverTest, BookkeepingAfterTheCoreComesBeforeTheOutputs) {
  std::vector<std::string> order;
  ASSERT_TRUE(driver_.handle(StartHeight{1, node_.set()}, host_, now_, [&](const Result<void>& result) {
    EXPECT_TRUE(result.ok());
    order.emplace_back("after_core");
    order.insert(order.end(), host_.events.begin(), host_.events.end());
  }));
  EXPECT_EQ(order, (std::vector<std::string>{"after_core"}));
  EXPECT_EQ(host_.events, (std::vector<std::string>{"get_value"}));
}

TEST_F(CoreDriverTest, ARejectedInputIsReportedWithItsReason) {
  std::optional<Errc> reason;
  EXPECT_FALSE(driver_.handle(Node::make_vote(VoteType::prevote, "v1", 0, "a"), host_, now_,
                              [&](const Result<void>& result) {
                                if (!result) reason = result.error().code;
                              }));
  EXPECT_TRUE(reason.has_value());
  EXPECT_TRUE(host_.events.empty());
}

TEST_F(CoreDriverTest, AHaltedHostGetsNoFurtherOutputs) {
  host_.halts = true;
  ASSERT_TRUE(handle(StartHeight{1, node_.set()}));
  EXPECT_TRUE(host_.events.empty());
  EXPECT_FALSE(driver_.has_queued());
}

}  // namespace
}  // namespace bft::test
