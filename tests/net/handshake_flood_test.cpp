// A flood of silent connections against the caps on pending handshakes: per remote
// address and in total, extra connections are closed at once, a real validator still
// gets in, dial-outs are not capped, and the flood leaves no descriptor behind.
#include <gtest/gtest.h>

#include <filesystem>

#include "bft/net/transport.hpp"
#include "support.hpp"

namespace bft::net {
namespace {

using namespace testing;

std::size_t open_descriptors() {
  std::size_t count = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) ++count;
  return count;
}

class HandshakeFloodTest : public Loopback {
 protected:
  /// Connections from `source` that say nothing.
  void flood_from(std::string_view source, int count) {
    for (int i = 0; i < count; ++i) flood.push_back(std::make_unique<RawPeer>(io, b->port(), source));
  }
  std::size_t closed_flood_connections() {
    return static_cast<std::size_t>(
        std::count_if(flood.begin(), flood.end(), [](const auto& raw) { return raw->poll(); }));
  }

  std::vector<crypto::Ed25519Signer> signers = sorted_signers(3);
  const Address a_address = address_of(signers[0]);
  const Address b_address = address_of(signers[1]);
  std::unique_ptr<Node> b, a;
  std::vector<std::unique_ptr<RawPeer>> flood;
};

TEST_F(HandshakeFloodTest, CapsHoldAValidatorStillConnectsAndDescriptorsReturn) {
  TransportOptions options = test_options();
  options.max_pending_handshakes = 6;
  options.max_pending_handshakes_per_address = 4;
  options.handshake_timeout = 60s;  // nothing times out during the test: only the caps act
  b = make_node(signers[1], {peer(signers[0])}, options);
  a = make_node(signers[0], {peer(signers[1], b->port())});
  ASSERT_TRUE(run_until([&] { return a->connected_to(b_address) && b->connected_to(a_address); }));
  const std::size_t baseline = open_descriptors();  // a and b linked: what the end should look like
  a.reset();
  ASSERT_TRUE(run_until([&] { return !b->connected_to(a_address); }));

  // One address: 4 wait in the handshake, the other 6 are closed at once.
  flood_from("127.0.0.2", 10);
  ASSERT_TRUE(run_until([&] {
    const auto stats = b->transport->stats();
    return stats.connections_refused_pending_limit == 6 && stats.inbound_handshakes_pending == 4;
  }));
  ASSERT_TRUE(run_until([&] { return closed_flood_connections() == 6; }));

  // A validator from another address still gets through.
  a = make_node(signers[0], {peer(signers[1], b->port())});
  ASSERT_TRUE(run_until([&] { return a->connected_to(b_address) && b->connected_to(a_address); }));
  EXPECT_EQ(b->transport->stats().inbound_handshakes_pending, 4u);

  // Another address: the total cap (6) leaves room for 2.
  flood_from("127.0.0.3", 10);
  ASSERT_TRUE(run_until([&] {
    const auto stats = b->transport->stats();
    return stats.connections_refused_pending_limit == 14 && stats.inbound_handshakes_pending == 6;
  }));
  ASSERT_TRUE(run_until([&] { return closed_flood_connections() == 14; }));
  EXPECT_EQ(b->transport->stats().handshakes_rejected, 0u);
  EXPECT_TRUE(b->connected_to(a_address));

  // The flood ends: the pending connections see it close and go too.
  for (auto& raw : flood) raw->close();
  flood.clear();
  ASSERT_TRUE(run_until([&] { return b->transport->stats().inbound_handshakes_pending == 0; }));
  ASSERT_TRUE(run_until([&] { return open_descriptors() == baseline; })) << open_descriptors() << " open, "
                                                                         << baseline << " before";

  // And the caps are free again.
  flood_from("127.0.0.2", 1);
  ASSERT_TRUE(run_until([&] { return b->transport->stats().inbound_handshakes_pending == 1; }));
  EXPECT_EQ(b->transport->stats().connections_refused_pending_limit, 14u);
}

TEST_F(HandshakeFloodTest, DialOutsAreNotCapped) {
  TransportOptions tight = test_options();
  tight.max_pending_handshakes = 1;
  tight.max_pending_handshakes_per_address = 1;
  // signers[0] dials both at once, each dial still in its handshake with the other.
  auto c = make_node(signers[2], {peer(signers[0])});
  b = make_node(signers[1], {peer(signers[0])});
  a = make_node(signers[0], {peer(signers[1], b->port()), peer(signers[2], c->port())}, tight);
  ASSERT_TRUE(run_until([&] { return a->transport->connected_peers().size() == 2; }));
  EXPECT_EQ(a->transport->stats().connections_refused_pending_limit, 0u);
}

TEST_F(HandshakeFloodTest, CreateRefusesZeroCaps) {
  Recorder recorder;
  TransportOptions options = test_options();
  options.max_pending_handshakes = 0;
  EXPECT_EQ(Transport::create(io, signers[0], {}, options, recorder).error().code, Errc::invalid_argument);
  options = test_options();
  options.max_pending_handshakes_per_address = 0;
  EXPECT_EQ(Transport::create(io, signers[0], {}, options, recorder).error().code, Errc::invalid_argument);
}

}  // namespace
}  // namespace bft::net
