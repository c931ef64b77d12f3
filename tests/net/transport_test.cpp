// Transports talking to each other on loopback: delivery, broadcast, authentication,
// reconnection, replacement, fault injection, and the options create() refuses.
#include "bft/net/transport.hpp"

#include <gtest/gtest.h>

#include "support.hpp"

namespace bft::net {
namespace {

using namespace testing;

class TransportTest : public Loopback {
 protected:
  std::vector<crypto::Ed25519Signer> signers = sorted_signers(3);
  // signers[0] < signers[1] < signers[2]: the smaller address dials, so each node is
  // created after the ones it dials, whose ports are then known.
};

TEST_F(TransportTest, DeliversFramesBothWaysInOrder) {
  auto b = make_node(signers[1], {peer(signers[0])});
  auto a = make_node(signers[0], {peer(signers[1], b->port())});
  const Address a_address = address_of(signers[0]);
  const Address b_address = address_of(signers[1]);
  ASSERT_TRUE(run_until([&] { return a->connected_to(b_address) && b->connected_to(a_address); }));
  EXPECT_EQ(a->recorder.connected, std::vector<Address>{b_address});
  EXPECT_EQ(b->recorder.connected, std::vector<Address>{a_address});

  constexpr int count = 200;
  for (int i = 0; i < count; ++i) {
    ASSERT_TRUE(a->transport->send(b_address, text_frame("a" + std::to_string(i))));
  }
  const auto big = std::make_shared<const Bytes>(1 << 20, std::uint8_t{0x5a});  // spans many reads
  ASSERT_TRUE(b->transport->send(a_address, big));
  ASSERT_TRUE(b->transport->send(a_address, text_frame("")));  // empty frames are frames too
  ASSERT_TRUE(run_until([&] {
    return b->recorder.frames.size() == count && a->recorder.frames.size() == 2;
  }));
  for (int i = 0; i < count; ++i) {
    EXPECT_EQ(b->recorder.frames[i].from, a_address);
    EXPECT_EQ(as_text(b->recorder.frames[i].bytes), "a" + std::to_string(i));
  }
  EXPECT_EQ(a->recorder.frames[0].from, b_address);
  EXPECT_EQ(a->recorder.frames[0].bytes, *big);
  EXPECT_TRUE(a->recorder.frames[1].bytes.empty());
  EXPECT_EQ(a->transport->stats().frames_sent, std::uint64_t{count});
  EXPECT_EQ(b->transport->stats().frames_received, std::uint64_t{count});

  // Per peer: frames and payload bytes each way, one connection, connected.
  std::uint64_t sent_bytes = 0;
  for (int i = 0; i < count; ++i) sent_bytes += ("a" + std::to_string(i)).size();
  const auto a_peers = a->transport->peer_stats();
  ASSERT_EQ(a_peers.size(), 1u);
  EXPECT_EQ(a_peers[0].address, b_address);
  EXPECT_TRUE(a_peers[0].connected);
  EXPECT_EQ(a_peers[0].connections, 1u);
  EXPECT_EQ(a_peers[0].frames_sent, std::uint64_t{count});
  EXPECT_EQ(a_peers[0].bytes_sent, sent_bytes);
  EXPECT_EQ(a_peers[0].frames_received, 2u);
  EXPECT_EQ(a_peers[0].bytes_received, std::uint64_t{1} << 20);
  const auto b_peers = b->transport->peer_stats();
  ASSERT_EQ(b_peers.size(), 1u);
  EXPECT_EQ(b_peers[0].frames_received, std::uint64_t{count});
  EXPECT_EQ(b_peers[0].bytes_received, sent_bytes);
  a->transport->stop();  // a scrape during shutdown sees nobody connected
  EXPECT_FALSE(a->transport->peer_stats()[0].connected);
}

TEST_F(TransportTest, BroadcastReachesEveryConnectedPeer) {
  auto c = make_node(signers[2], {peer(signers[0]), peer(signers[1])});
  auto b = make_node(signers[1], {peer(signers[0]), peer(signers[2], c->port())});
  auto a = make_node(signers[0], {peer(signers[1], b->port()), peer(signers[2], c->port())});
  ASSERT_TRUE(run_until([&] {
    return a->transport->connected_peers().size() == 2 && b->transport->connected_peers().size() == 2 &&
           c->transport->connected_peers().size() == 2;
  }));
  c->transport->broadcast(text_frame("from c"));
  a->transport->broadcast(text_frame("from a"));
  ASSERT_TRUE(run_until([&] {
    return a->recorder.frames.size() == 1 && b->recorder.frames.size() == 2 && c->recorder.frames.size() == 1;
  }));
  EXPECT_EQ(as_text(a->recorder.frames[0].bytes), "from c");
  EXPECT_EQ(as_text(c->recorder.frames[0].bytes), "from a");
  EXPECT_EQ(a->recorder.frames[0].from, address_of(signers[2]));
  EXPECT_EQ(c->recorder.frames[0].from, address_of(signers[0]));
}

TEST_F(TransportTest, SendFailsToUnknownOrUnconnectedPeers) {
  auto b = make_node(signers[1], {peer(signers[0])});
  EXPECT_FALSE(b->transport->send(address_of(signers[2]), text_frame("x")));  // unknown
  EXPECT_FALSE(b->transport->send(address_of(signers[0]), text_frame("x")));  // not connected
  EXPECT_EQ(b->transport->stats().frames_sent, 0u);
}

TEST_F(TransportTest, SendRefusesFramesAboveTheMaximum) {
  TransportOptions options = test_options();
  options.max_frame_size = 16;
  auto b = make_node(signers[1], {peer(signers[0])}, options);
  auto a = make_node(signers[0], {peer(signers[1], b->port())}, options);
  ASSERT_TRUE(run_until([&] { return a->connected_to(address_of(signers[1])); }));
  EXPECT_FALSE(a->transport->send(address_of(signers[1]), std::make_shared<const Bytes>(17)));
  EXPECT_TRUE(a->transport->send(address_of(signers[1]), std::make_shared<const Bytes>(16)));
}

TEST_F(TransportTest, ListenerRejectsAnUnknownKey) {
  auto b = make_node(signers[1], {peer(signers[2])});  // does not know signers[0]
  auto a = make_node(signers[0], {peer(signers[1], b->port())});
  ASSERT_TRUE(run_until([&] { return b->transport->stats().handshakes_rejected >= 2; }));  // and on retry
  EXPECT_TRUE(a->transport->connected_peers().empty());
  EXPECT_TRUE(b->transport->connected_peers().empty());
  EXPECT_TRUE(a->recorder.connected.empty());
  EXPECT_TRUE(b->recorder.connected.empty());
}

TEST_F(TransportTest, DialerRejectsAListenerWithAnotherKey) {
  auto b = make_node(signers[1], {peer(signers[0])});
  // a believes signers[2] listens on b's port.
  auto a = make_node(signers[0], {peer(signers[2], b->port())});
  ASSERT_TRUE(run_until([&] { return a->transport->stats().handshakes_rejected >= 1; }));
  EXPECT_TRUE(a->recorder.connected.empty());
  EXPECT_TRUE(b->recorder.connected.empty());
}

TEST_F(TransportTest, AnotherChainIdFailsTheProof) {
  TransportOptions other_chain = test_options();
  other_chain.chain_id = "other-chain";
  auto b = make_node(signers[1], {peer(signers[0])}, other_chain);
  auto a = make_node(signers[0], {peer(signers[1], b->port())});
  ASSERT_TRUE(run_until([&] {
    return a->transport->stats().handshakes_rejected >= 1 && b->transport->stats().handshakes_rejected >= 1;
  }));
  EXPECT_TRUE(a->recorder.connected.empty());
  EXPECT_TRUE(b->recorder.connected.empty());
}

TEST_F(TransportTest, DialerReconnectsWhenTheListenerRestartsOnTheSamePort) {
  const Address a_address = address_of(signers[0]);
  const Address b_address = address_of(signers[1]);
  auto b = make_node(signers[1], {peer(signers[0])});
  const std::uint16_t port = b->port();
  auto a = make_node(signers[0], {peer(signers[1], port)});
  ASSERT_TRUE(run_until([&] { return a->connected_to(b_address); }));

  b.reset();
  ASSERT_TRUE(run_until([&] { return !a->connected_to(b_address); }));
  EXPECT_EQ(a->recorder.disconnected, std::vector<Address>{b_address});
  run_for(50ms);  // a dials a closed port a few times and backs off

  TransportOptions same_port = test_options();
  same_port.listen_port = port;
  b = make_node(signers[1], {peer(signers[0])}, same_port);
  ASSERT_TRUE(run_until([&] { return a->connected_to(b_address) && b->connected_to(a_address); }));
  EXPECT_EQ(a->recorder.connected.size(), 2u);
  EXPECT_EQ(a->transport->peer_stats()[0].connections, 2u);  // one reconnect
  EXPECT_TRUE(a->transport->peer_stats()[0].connected);
  ASSERT_TRUE(a->transport->send(b_address, text_frame("again")));
  ASSERT_TRUE(run_until([&] { return b->recorder.frames.size() == 1; }));
  EXPECT_EQ(as_text(b->recorder.frames[0].bytes), "again");
}

TEST_F(TransportTest, ListenerAcceptsTheDialerAfterItRestarts) {
  const Address a_address = address_of(signers[0]);
  const Address b_address = address_of(signers[1]);
  auto b = make_node(signers[1], {peer(signers[0])});
  auto a = make_node(signers[0], {peer(signers[1], b->port())});
  ASSERT_TRUE(run_until([&] { return b->connected_to(a_address); }));

  a.reset();
  a = make_node(signers[0], {peer(signers[1], b->port())});
  ASSERT_TRUE(run_until([&] { return a->connected_to(b_address) && b->recorder.connected.size() == 2; }));
  EXPECT_EQ(b->recorder.disconnected, std::vector<Address>{a_address});
  ASSERT_TRUE(b->transport->send(a_address, text_frame("welcome back")));
  ASSERT_TRUE(run_until([&] { return a->recorder.frames.size() == 1; }));
}

TEST_F(TransportTest, ANewConnectionFromAKnownPeerReplacesTheOldOne) {
  // The first a is frozen (its io_context stops running) with its connection still open,
  // as a crashed host would leave it; its successor's connection must take over.
  const Address a_address = address_of(signers[0]);
  const Address b_address = address_of(signers[1]);
  asio::io_context frozen_io;
  auto b = make_node(signers[1], {peer(signers[0])});
  auto first_a = make_node(frozen_io, signers[0], {peer(signers[1], b->port())});
  also_run.push_back(&frozen_io);
  ASSERT_TRUE(run_until([&] { return b->connected_to(a_address) && first_a->connected_to(b_address); }));
  also_run.clear();

  auto a = make_node(signers[0], {peer(signers[1], b->port())});
  ASSERT_TRUE(run_until([&] { return a->connected_to(b_address) && b->recorder.connected.size() == 2; }));
  EXPECT_EQ(b->recorder.disconnected, std::vector<Address>{a_address});
  EXPECT_TRUE(b->connected_to(a_address));
  ASSERT_TRUE(b->transport->send(a_address, text_frame("to the new one")));
  ASSERT_TRUE(run_until([&] { return a->recorder.frames.size() == 1; }));
  EXPECT_TRUE(first_a->recorder.frames.empty());
  first_a.reset();
}

TEST_F(TransportTest, NoHandlerCallAfterStop) {
  const Address a_address = address_of(signers[0]);
  const Address b_address = address_of(signers[1]);
  auto b = make_node(signers[1], {peer(signers[0])});
  auto a = make_node(signers[0], {peer(signers[1], b->port())});
  ASSERT_TRUE(run_until([&] { return a->connected_to(b_address) && b->connected_to(a_address); }));
  a->transport->send(b_address, text_frame("in flight"));
  b->transport->stop();
  EXPECT_TRUE(b->transport->connected_peers().empty());
  ASSERT_TRUE(run_until([&] { return !a->connected_to(b_address); }));
  run_for(50ms);
  EXPECT_TRUE(b->recorder.frames.empty());
  EXPECT_TRUE(b->recorder.disconnected.empty());
  EXPECT_FALSE(b->connected_to(a_address));
}

TEST_F(TransportTest, StopFromInsideOnFrameEndsDeliveryAtOnce) {
  auto b = make_node(signers[1], {peer(signers[0])});
  auto a = make_node(signers[0], {peer(signers[1], b->port())});
  const Address b_address = address_of(signers[1]);
  ASSERT_TRUE(run_until([&] { return a->connected_to(b_address); }));
  b->recorder.after_frame = [&] { b->transport->stop(); };
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(a->transport->send(b_address, text_frame("f")));
  ASSERT_TRUE(run_until([&] { return !a->connected_to(b_address); }));
  EXPECT_EQ(b->recorder.frames.size(), 1u);
  EXPECT_TRUE(b->recorder.disconnected.empty());
}

TEST_F(TransportTest, TheTransportMayBeDestroyedFromInsideOnFrame) {
  auto b = make_node(signers[1], {peer(signers[0])});
  auto a = make_node(signers[0], {peer(signers[1], b->port())});
  const Address b_address = address_of(signers[1]);
  ASSERT_TRUE(run_until([&] { return a->connected_to(b_address); }));
  b->recorder.after_frame = [&] { b->transport.reset(); };
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(a->transport->send(b_address, text_frame("f")));
  ASSERT_TRUE(run_until([&] { return !a->connected_to(b_address); }));
  EXPECT_EQ(b->recorder.frames.size(), 1u);
  EXPECT_EQ(b->transport, nullptr);
}

TEST_F(TransportTest, FaultLossOfOneDropsEveryFrame) {
  TransportOptions lossy = test_options();
  lossy.faults.loss = 1;
  auto b = make_node(signers[1], {peer(signers[0])});
  auto a = make_node(signers[0], {peer(signers[1], b->port())}, lossy);
  const Address a_address = address_of(signers[0]);
  const Address b_address = address_of(signers[1]);
  ASSERT_TRUE(run_until([&] { return a->connected_to(b_address) && b->connected_to(a_address); }));

  for (int i = 0; i < 50; ++i) EXPECT_TRUE(a->transport->send(b_address, text_frame("lost")));
  ASSERT_TRUE(b->transport->send(a_address, text_frame("not lost")));  // b's side is clean
  ASSERT_TRUE(run_until([&] { return a->recorder.frames.size() == 1; }));
  run_for(50ms);
  EXPECT_TRUE(b->recorder.frames.empty());
  EXPECT_EQ(a->transport->stats().frames_dropped_fault, 50u);
  EXPECT_EQ(a->transport->stats().frames_sent, 0u);
  EXPECT_EQ(b->transport->stats().frames_received, 0u);
}

TEST_F(TransportTest, FaultDelayHoldsFramesBackInOrder) {
  TransportOptions delayed = test_options();
  delayed.faults.delay = 40ms;
  auto b = make_node(signers[1], {peer(signers[0])});
  auto a = make_node(signers[0], {peer(signers[1], b->port())}, delayed);
  const Address b_address = address_of(signers[1]);
  ASSERT_TRUE(run_until([&] { return a->connected_to(b_address); }));

  const auto sent_at = std::chrono::steady_clock::now();
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(a->transport->send(b_address, text_frame(std::to_string(i))));
  EXPECT_GT(a->transport->queued_bytes(b_address), 0u);
  ASSERT_TRUE(run_until([&] { return b->recorder.frames.size() == 20; }));
  EXPECT_GE(std::chrono::steady_clock::now() - sent_at, 40ms);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(as_text(b->recorder.frames[i].bytes), std::to_string(i));
}

TEST_F(TransportTest, CreateRefusesBadOptionsAndATakenPort) {
  Recorder recorder;
  TransportOptions options = test_options();
  options.faults.loss = 1.5;
  EXPECT_EQ(Transport::create(io, signers[0], {}, options, recorder).error().code, Errc::invalid_argument);
  options = test_options();
  options.chain_id = std::string(256, 'c');
  EXPECT_EQ(Transport::create(io, signers[0], {}, options, recorder).error().code, Errc::invalid_argument);
  EXPECT_EQ(Transport::create(io, signers[0], {peer(signers[1]), peer(signers[1], 7)}, test_options(), recorder)
                .error()
                .code,
            Errc::invalid_argument);

  auto taken = Transport::create(io, signers[0], {}, test_options(), recorder);
  ASSERT_TRUE(taken.ok());
  options = test_options();
  options.listen_port = taken.value()->local_port();
  EXPECT_EQ(Transport::create(io, signers[1], {}, options, recorder).error().code, Errc::io_error);
}

TEST_F(TransportTest, OwnKeyInThePeerListIsSkipped) {
  auto b = make_node(signers[1], {peer(signers[0]), peer(signers[1])});
  auto a = make_node(signers[0], {peer(signers[0]), peer(signers[1], b->port())});
  ASSERT_TRUE(run_until([&] { return a->connected_to(address_of(signers[1])); }));
  EXPECT_EQ(a->transport->connected_peers().size(), 1u);
}

}  // namespace
}  // namespace bft::net
