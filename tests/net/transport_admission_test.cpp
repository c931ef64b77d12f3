// Peers admitted by key only (admit_unlisted): a validator the chain added connects
// without an address, whatever the address order, and is dropped once withdrawn; listed
// peers are untouched by it.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <thread>

#include "bft/net/transport.hpp"
#include "support.hpp"

namespace bft::net {
namespace {

using namespace testing;

class TransportAdmissionTest : public Loopback {
 protected:
  std::vector<crypto::Ed25519Signer> signers = sorted_signers(3);
  const Address small = address_of(signers[0]);
  const Address large = address_of(signers[1]);

  /// A node the configurations do not list: it dials every listed peer.
  static TransportOptions joining() {
    TransportOptions options = test_options();
    options.dial_every_peer = true;
    return options;
  }

  static std::uint64_t not_admitted(const Node& node) {
    return node.transport->stats().handshakes_rejected_by[static_cast<std::size_t>(HandshakeRejection::not_admitted)];
  }
};

TEST_F(TransportAdmissionTest, AnUnlistedPeerConnectsOnlyOnceAdmittedAndDialsTheWrongWay) {
  // The joiner has the larger address: between listed peers it would wait to be dialed.
  auto member = make_node(signers[0], {});
  auto joiner = make_node(signers[1], {peer(signers[0], member->port())}, joining());
  ASSERT_TRUE(run_until([&] { return not_admitted(*member) >= 2; }));  // refused, and again on retry
  EXPECT_TRUE(member->recorder.connected.empty());

  const std::vector<crypto::PublicKey> admitted{signers[1].public_key()};
  member->transport->admit_unlisted(admitted);
  ASSERT_TRUE(run_until([&] { return member->connected_to(large) && joiner->connected_to(small); }));
  ASSERT_TRUE(member->transport->send(large, text_frame("to the joiner")));
  ASSERT_TRUE(joiner->transport->send(small, text_frame("to the member")));
  ASSERT_TRUE(run_until([&] { return member->recorder.frames.size() == 1 && joiner->recorder.frames.size() == 1; }));
  EXPECT_EQ(as_text(joiner->recorder.frames[0].bytes), "to the joiner");
  EXPECT_EQ(as_text(member->recorder.frames[0].bytes), "to the member");

  const auto stats = member->transport->peer_stats();
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_EQ(stats[0].address, large);
  EXPECT_EQ(stats[0].endpoint, "");
  EXPECT_TRUE(stats[0].admitted);
  EXPECT_TRUE(stats[0].connected);
}

TEST_F(TransportAdmissionTest, AWithdrawnPeerIsDisconnectedAndRefused) {
  auto member = make_node(signers[0], {});
  const std::vector<crypto::PublicKey> admitted{signers[1].public_key()};
  member->transport->admit_unlisted(admitted);
  auto joiner = make_node(signers[1], {peer(signers[0], member->port())}, joining());
  ASSERT_TRUE(run_until([&] { return member->connected_to(large) && joiner->connected_to(small); }));

  member->transport->admit_unlisted({});
  EXPECT_EQ(member->recorder.disconnected, std::vector<Address>{large});
  EXPECT_FALSE(member->connected_to(large));
  EXPECT_FALSE(member->transport->send(large, text_frame("gone")));
  ASSERT_TRUE(run_until([&] { return !joiner->connected_to(small); }));
  const std::uint64_t refused = not_admitted(*member);
  ASSERT_TRUE(run_until([&] { return not_admitted(*member) > refused; }));  // the joiner's redial
  run_for(100ms);
  EXPECT_FALSE(member->connected_to(large));
  EXPECT_EQ(member->recorder.connected.size(), 1u);
  const auto stats = member->transport->peer_stats();
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_FALSE(stats[0].admitted);
  EXPECT_EQ(stats[0].connections, 1u);

  member->transport->admit_unlisted(admitted);  // a validator again
  ASSERT_TRUE(run_until([&] { return member->connected_to(large) && joiner->connected_to(small); }));
}

TEST_F(TransportAdmissionTest, ListedPeersAndOwnKeyAreUntouched) {
  auto b = make_node(signers[1], {peer(signers[0])});
  auto a = make_node(signers[0], {peer(signers[1], b->port())});
  ASSERT_TRUE(run_until([&] { return a->connected_to(large) && b->connected_to(small); }));
  const std::vector<crypto::PublicKey> keys{signers[0].public_key(), signers[1].public_key()};
  a->transport->admit_unlisted(keys);
  b->transport->admit_unlisted(keys);
  a->transport->admit_unlisted({});
  b->transport->admit_unlisted({});
  run_for(50ms);
  EXPECT_TRUE(a->connected_to(large));
  EXPECT_TRUE(b->connected_to(small));
  EXPECT_TRUE(a->recorder.disconnected.empty());
  EXPECT_TRUE(b->recorder.disconnected.empty());
  ASSERT_EQ(a->transport->peer_stats().size(), 1u);
  EXPECT_TRUE(a->transport->peer_stats()[0].admitted);
}

TEST_F(TransportAdmissionTest, AJoinerAPeerListsSettlesOnThePeersConnection) {
  // The member lists the joiner and dials it (smaller address); the joiner dials the
  // member too, and the member refuses that wrong-way dial: one connection remains.
  auto joiner = make_node(signers[1], {peer(signers[0])}, joining());
  const std::uint16_t joiner_port = joiner->port();
  auto member = make_node(signers[0], {peer(signers[1], joiner_port)});
  joiner.reset();  // again on its port, now knowing the member's
  TransportOptions same_port = joining();
  same_port.listen_port = joiner_port;
  joiner = make_node(signers[1], {peer(signers[0], member->port())}, same_port);
  ASSERT_TRUE(run_until([&] { return member->connected_to(large) && joiner->connected_to(small); }));
  run_for(300ms);
  EXPECT_TRUE(member->connected_to(large));
  EXPECT_TRUE(joiner->connected_to(small));
  EXPECT_EQ(joiner->recorder.connected.size(), 1u);
  EXPECT_TRUE(joiner->recorder.disconnected.empty());
}

TEST_F(TransportAdmissionTest, PeerStatsMayBeReadWhileKeysAreAdmitted) {
  auto node = make_node(signers[0], {});
  std::atomic<bool> done{false};
  std::size_t largest = 0;
  std::thread reader([&] {
    while (!done.load()) largest = std::max(largest, node->transport->peer_stats().size());
  });
  std::vector<crypto::PublicKey> keys;
  for (std::size_t i = 0; i < 200; ++i) {
    crypto::Seed seed{};
    seed.fill(static_cast<std::uint8_t>(i + 10));
    seed[0] = static_cast<std::uint8_t>(i / 256);
    keys.push_back(crypto::Ed25519Signer::from_seed(seed).public_key());
    node->transport->admit_unlisted(keys);
  }
  done.store(true);
  reader.join();
  EXPECT_LE(largest, keys.size());
  EXPECT_EQ(node->transport->peer_stats().size(), keys.size());
}

}  // namespace
}  // namespace bft::net
