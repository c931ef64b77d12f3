// The simulator's deterministic building blocks: random numbers, the event queue, the
// network model and its specs, and the simulation's signatures.
#include <gtest/gtest.h>

#include <set>
#include <tuple>

#include "bft/crypto/key_ring.hpp"
#include "bft/sim/event_queue.hpp"
#include "bft/sim/network.hpp"
#include "bft/sim/options.hpp"
#include "bft/sim/rng.hpp"
#include "bft/sim/signing.hpp"

namespace bft::sim {
namespace {

TEST(Rng, SameSeedSameSequenceOtherSeedOtherSequence) {
  Rng a(7), b(7), c(8);
  bool differs = false;
  for (int i = 0; i < 100; ++i) {
    const auto x = a.next();
    EXPECT_EQ(x, b.next());
    differs = differs || x != c.next();
  }
  EXPECT_TRUE(differs);
}

TEST(Rng, BelowStaysInRangeAndCoversIt) {
  Rng rng(1);
  std::set<std::uint64_t> seen;
  for (int i = 0; i < 2000; ++i) {
    const auto x = rng.below(7);
    ASSERT_LT(x, 7u);
    seen.insert(x);
  }
  EXPECT_EQ(seen.size(), 7u);
  for (int i = 0; i < 1000; ++i) {
    const auto x = rng.between(10, 12);
    ASSERT_GE(x, 10u);
    ASSERT_LE(x, 12u);
  }
}

TEST(Rng, ChanceHonoursItsExtremesAndIsRoughlyRight) {
  Rng rng(3);
  int hits = 0;
  for (int i = 0; i < 10000; ++i) {
    EXPECT_FALSE(rng.chance(0));
    EXPECT_TRUE(rng.chance(1));
    hits += rng.chance(0.25) ? 1 : 0;
  }
  EXPECT_NEAR(hits, 2500, 250);
}

TEST(Rng, ForksAreIndependentStreams) {
  Rng root(5);
  Rng one = root.fork(1);
  Rng two = root.fork(2);
  EXPECT_NE(one.next(), two.next());
}

TEST(EventQueue, PopsInTimeOrder) {
  EventQueue queue(1);
  const Time times[] = {50, 10, 30, 10, 20, 40, 0};
  for (std::uint32_t i = 0; i < 7; ++i) queue.push(times[i], EventKind::deliver, i, i);
  Time last = 0;
  std::size_t popped = 0;
  while (!queue.empty()) {
    const Event e = queue.pop();
    EXPECT_GE(e.at, last);
    EXPECT_EQ(e.at, times[e.arg]);
    last = e.at;
    ++popped;
  }
  EXPECT_EQ(popped, 7u);
}

// Simultaneous events come out in an order fixed by the seed: the same for the same
// seed, different for some other seed (this is what explores interleavings).
TEST(EventQueue, TiesAreBrokenBySeed) {
  auto order = [](std::uint64_t seed) {
    EventQueue queue(seed);
    for (std::uint32_t i = 0; i < 16; ++i) queue.push(100, EventKind::deliver, i, i);
    std::vector<std::uint64_t> out;
    while (!queue.empty()) out.push_back(queue.pop().arg);
    return out;
  };
  EXPECT_EQ(order(1), order(1));
  bool some_other_order = false;
  for (std::uint64_t seed = 2; seed < 6; ++seed) some_other_order = some_other_order || order(seed) != order(1);
  EXPECT_TRUE(some_other_order);
}

// Buckets, the ring and the far heap are only where events wait: pops interleaved with
// pushes (into the bucket being popped, across the ring's reach, far beyond it, after
// long empty stretches) come out exactly in (time, order key) order, the keys being the
// seed's tie-break draws in push order.
TEST(EventQueue, PopsAsAnOrderedSetWould) {
  EventQueue queue(9);
  Rng keys(9);  // the queue's tie-break stream
  Rng script(4);
  std::set<std::tuple<Time, std::uint64_t, std::uint64_t>> expected;  // (at, order, arg)
  Time now = 0;
  std::uint64_t pushed = 0;
  auto push = [&](Time at) {
    queue.push(at, EventKind::deliver, 0, pushed);
    expected.emplace(at, keys.next(), pushed++);
  };
  const Time delays[] = {0, 1, 255, 256, 40'000, 1'048'575, 1'048'576, 5'000'000, 60'000'000};
  for (int step = 0; step < 20'000; ++step) {
    if (script.below(3) != 0 || expected.empty()) {
      const Time delay = delays[script.below(std::size(delays))];
      push(now + delay + (delay == 0 ? 0 : script.below(delay)));
      continue;
    }
    const Event e = queue.pop();
    ASSERT_FALSE(expected.empty());
    const auto [at, order, arg] = *expected.begin();
    expected.erase(expected.begin());
    ASSERT_EQ(e.at, at);
    ASSERT_EQ(e.order, order);
    ASSERT_EQ(e.arg, arg);
    now = e.at;
    ASSERT_EQ(queue.size(), expected.size());
  }
  while (!queue.empty()) {
    ASSERT_EQ(queue.pop().arg, std::get<2>(*expected.begin()));
    expected.erase(expected.begin());
  }
  EXPECT_TRUE(expected.empty());
}

TEST(NetworkSpecs, MillisecondRanges) {
  auto range = parse_ms_range("10..50");
  ASSERT_TRUE(range);
  EXPECT_EQ(range->first, from_ms(10));
  EXPECT_EQ(range->second, from_ms(50));
  auto fixed = parse_ms_range("2.5");
  ASSERT_TRUE(fixed);
  EXPECT_EQ(fixed->first, 2500u);
  EXPECT_EQ(fixed->second, 2500u);
  EXPECT_FALSE(parse_ms_range("50..10"));
  EXPECT_FALSE(parse_ms_range("ten"));
  EXPECT_FALSE(parse_ms_range("-1..3"));
}

TEST(NetworkSpecs, Partitions) {
  auto p = parse_partition("0,1|2-4@1000..5000");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->start, from_ms(1000));
  EXPECT_EQ(p->end, from_ms(5000));
  ASSERT_EQ(p->groups.size(), 2u);
  EXPECT_EQ(p->groups[0], (std::vector<std::uint32_t>{0, 1}));
  EXPECT_EQ(p->groups[1], (std::vector<std::uint32_t>{2, 3, 4}));
  EXPECT_EQ(describe(*p), "0,1|2,3,4@1000..5000");
  EXPECT_FALSE(parse_partition("0,1|2"));         // no window
  EXPECT_FALSE(parse_partition("0,x@1..2"));      // not an index
  EXPECT_FALSE(parse_partition("3-1@1..2"));      // empty range
  EXPECT_FALSE(parse_partition("0||1@1..2"));     // empty group
}

TEST(NetworkSpecs, LinkDelays) {
  auto one = parse_link_delay("0-3:100..200");
  ASSERT_TRUE(one);
  EXPECT_EQ(one->from, 0u);
  EXPECT_EQ(one->to, 3u);
  EXPECT_EQ(one->min_delay, from_ms(100));
  auto all = parse_link_delay("2-*:5");
  ASSERT_TRUE(all);
  EXPECT_FALSE(all->to.has_value());
  EXPECT_FALSE(parse_link_delay("2:5"));
}

TEST(NetworkModel, PartitionCutsLinksBetweenGroupsWhileActive) {
  NetworkModel net;
  net.partitions.push_back(*parse_partition("0,1|2@100..200"));
  EXPECT_TRUE(net.connected(0, 2, from_ms(99)));
  EXPECT_FALSE(net.connected(0, 2, from_ms(100)));
  EXPECT_FALSE(net.connected(2, 1, from_ms(150)));
  EXPECT_TRUE(net.connected(0, 1, from_ms(150)));
  EXPECT_FALSE(net.connected(3, 0, from_ms(150)));  // 3 is in no group: a group of its own
  EXPECT_TRUE(net.connected(3, 4, from_ms(150)));   // ... together with 4
  EXPECT_TRUE(net.connected(0, 2, from_ms(200)));   // healed
  EXPECT_EQ(net.heal_time(), from_ms(200));
  EXPECT_TRUE(net.validate(5));
  EXPECT_FALSE(net.validate(2));  // names node 2 of 2
}

TEST(NetworkModel, PerLinkModelOverridesTheDefault) {
  NetworkModel net;
  LinkModel slow;
  slow.min_delay = slow.max_delay = from_ms(300);
  net.set_link(1, 2, slow);
  EXPECT_EQ(net.link(1, 2).min_delay, from_ms(300));
  EXPECT_EQ(net.link(2, 1).min_delay, net.default_link.min_delay);
  EXPECT_EQ(net.max_delay(), from_ms(300));
  LinkModel bad;
  bad.drop = 1;
  net.set_link(0, 1, bad);
  EXPECT_FALSE(net.validate(3));
}

TEST(Options, ByzantinePowerMustStayBelowAThird) {
  SimOptions options;
  options.validators = 4;
  options.byzantine = 1;
  EXPECT_TRUE(options.validate());
  options.byzantine = 2;
  EXPECT_FALSE(options.validate());
  options.allow_unsafe = true;
  EXPECT_TRUE(options.validate());
}

TEST(Options, WeightsCountForTheByzantineBound) {
  SimOptions options;
  options.validators = 4;
  options.byzantine = 1;
  options.weights = {1, 1, 1, 3};  // the heaviest may be Byzantine: 3 of 6 power
  EXPECT_FALSE(options.validate());
  options.weights = {2, 2, 2, 1};  // 2 of 7
  EXPECT_TRUE(options.validate());
  options.weights = {1, 1, 1};
  EXPECT_FALSE(options.validate());
}

TEST(Options, FaultAndProposerNamesRoundTrip) {
  for (Fault f : {Fault::equivocate, Fault::silent, Fault::random, Fault::amnesia})
    EXPECT_EQ(parse_fault(to_string(f)), f);
  EXPECT_FALSE(parse_fault("sneaky"));
  for (ProposerRule r : {ProposerRule::round_robin, ProposerRule::weighted_round_robin, ProposerRule::seed_pcg})
    EXPECT_EQ(parse_proposer_rule(to_string(r)), r);
}

// The simulation's signatures behind the same interfaces as ed25519: a key ring built
// with the scheme checks them, and they fail for another message or another key.
TEST(SimulatedSignatures, VerifyThroughAKeyRingOfTheirScheme) {
  const SimulatedSigner a(1);
  const SimulatedSigner b(2);
  EXPECT_NE(a.public_key(), b.public_key());
  EXPECT_EQ(SimulatedSigner(1).public_key(), a.public_key());
  crypto::KeyRing keys(simulated_scheme());
  ASSERT_TRUE(keys.add(a.public_key()).ok());
  ASSERT_TRUE(keys.add(b.public_key()).ok());
  const std::uint8_t message[] = {1, 2, 3};
  const std::uint8_t other[] = {1, 2, 4};
  const crypto::Signature signature = a.sign(message);
  const crypto::Verifier* of_a = keys.find(crypto::address_of(a.public_key()));
  const crypto::Verifier* of_b = keys.find(crypto::address_of(b.public_key()));
  ASSERT_NE(of_a, nullptr);
  ASSERT_NE(of_b, nullptr);
  EXPECT_TRUE(of_a->verify(message, signature));
  EXPECT_FALSE(of_a->verify(other, signature));
  EXPECT_FALSE(of_b->verify(message, signature));
}

}  // namespace
}  // namespace bft::sim
