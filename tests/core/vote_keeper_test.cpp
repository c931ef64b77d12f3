#include <gtest/gtest.h>

#include "harness.hpp"
#include "vote_keeper.hpp"

namespace bft::test {
namespace {

using detail::VoteOutcome;
using detail::VoteTally;

TEST(VoteTally, CountsWeightPerValueAndNilSeparately) {
  VoteTally tally(4);
  EXPECT_EQ(tally.add(0, 1, opt("a")), VoteOutcome::counted);
  EXPECT_EQ(tally.add(1, 2, opt("a")), VoteOutcome::counted);
  EXPECT_EQ(tally.add(2, 3, std::nullopt), VoteOutcome::counted);
  EXPECT_EQ(tally.power_for(opt("a")), 3u);
  EXPECT_EQ(tally.power_for(std::nullopt), 3u);
  EXPECT_EQ(tally.power_for(opt("b")), 0u);
  EXPECT_EQ(tally.any_power(), 6u);
}

TEST(VoteTally, IgnoresDuplicatesAndDoesNotCountConflictingVotes) {
  VoteTally tally(3);
  EXPECT_EQ(tally.add(0, 5, opt("a")), VoteOutcome::counted);
  EXPECT_EQ(tally.add(0, 5, opt("a")), VoteOutcome::duplicate);
  EXPECT_EQ(tally.add(0, 5, opt("b")), VoteOutcome::conflicting);
  EXPECT_EQ(tally.add(0, 5, std::nullopt), VoteOutcome::conflicting);
  EXPECT_EQ(tally.power_for(opt("a")), 5u);
  EXPECT_EQ(tally.power_for(opt("b")), 0u);
  EXPECT_EQ(tally.any_power(), 5u);
  EXPECT_EQ(tally.first_vote_of(0), opt("a"));
}

TEST(VoteTally, CertifiedVotesCountForTheirValueButTheSenderOnceInAny) {
  VoteTally tally(4);
  EXPECT_EQ(tally.add(0, 1, std::nullopt), VoteOutcome::counted);
  EXPECT_EQ(tally.add_certified(0, 1, opt("a")), VoteOutcome::counted);
  EXPECT_EQ(tally.add_certified(0, 1, opt("a")), VoteOutcome::duplicate);
  EXPECT_EQ(tally.power_for(opt("a")), 1u);
  EXPECT_EQ(tally.power_for(std::nullopt), 1u);
  EXPECT_EQ(tally.any_power(), 1u);
  EXPECT_EQ(tally.first_vote_of(0), std::nullopt);
}

TEST(VoteTally, ReportsEquivocationOncePerSender) {
  VoteTally tally(2);
  EXPECT_TRUE(tally.mark_reported(1));
  EXPECT_FALSE(tally.mark_reported(1));
  EXPECT_TRUE(tally.mark_reported(0));
}

TEST(SenderSet, TracksMembershipAcrossWordBoundaries) {
  detail::SenderSet set(130);
  EXPECT_TRUE(set.insert(0));
  EXPECT_TRUE(set.insert(64));
  EXPECT_TRUE(set.insert(129));
  EXPECT_FALSE(set.insert(64));
  EXPECT_TRUE(set.contains(129));
  EXPECT_FALSE(set.contains(128));
  std::vector<std::size_t> members;
  set.for_each([&](std::size_t i) { members.push_back(i); });
  EXPECT_EQ(members, (std::vector<std::size_t>{0, 64, 129}));
  EXPECT_EQ(set.count(), 3u);
}

}  // namespace
}  // namespace bft::test
