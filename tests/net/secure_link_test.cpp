// Two transports linked through a relay that plays the man in the middle: it alters,
// drops, duplicates, reorders, shortens or cuts the dialer's sealed frames, and records
// the wire. Every fault closes the link before a bad frame reaches the handler; the wire
// holds no plaintext; peers of different handshake versions refuse each other.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "bft/net/transport.hpp"
#include "relay.hpp"
#include "support.hpp"

namespace bft::net {
namespace {

using namespace testing;

class SecureLinkTest : public Loopback {
 protected:
  /// a (signers[0]) dials b (signers[1]) through the relay.
  void link(Relay::Fault fault = Relay::Fault::none, std::size_t at = 0,
            const TransportOptions& options = test_options()) {
    relay.reset();
    a.reset();
    b = make_node(signers[1], {peer(signers[0])}, options);
    relay = std::make_unique<Relay>(io, b->port(), fault, at);
    a = make_node(signers[0], {peer(signers[1], relay->port())}, options);
  }
  bool linked() const { return a->connected_to(b_address) && b->connected_to(a_address); }

  std::vector<std::string> delivered_to_b() const {
    std::vector<std::string> texts;
    for (const auto& frame : b->recorder.frames) texts.push_back(as_text(frame.bytes));
    return texts;
  }

  std::vector<crypto::Ed25519Signer> signers = sorted_signers(2);
  const Address a_address = address_of(signers[0]);
  const Address b_address = address_of(signers[1]);
  std::unique_ptr<Node> b, a;
  std::unique_ptr<Relay> relay;
};

struct FaultCase {
  const char* name;
  Relay::Fault fault;
  std::vector<std::string> delivered;  // of "frame 0" .. "frame 5", with the fault at frame 2
  bool rejected_auth;                  // counted as a frame that failed to open
};

class RelayFaultTest : public SecureLinkTest, public ::testing::WithParamInterface<FaultCase> {};

TEST_P(RelayFaultTest, ClosesTheLinkBeforeABadFrameIsDeliveredAndRecovers) {
  const FaultCase& param = GetParam();
  link(param.fault, /*at=*/2);
  ASSERT_TRUE(run_until([&] { return linked(); }));
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(a->transport->send(b_address, text_frame("frame " + std::to_string(i))));

  ASSERT_TRUE(run_until([&] { return !b->recorder.disconnected.empty(); }));
  EXPECT_EQ(delivered_to_b(), param.delivered);
  EXPECT_EQ(b->transport->stats().frames_rejected_auth, param.rejected_auth ? 1u : 0u);
  EXPECT_EQ(b->transport->stats().connections_closed_protocol_error, 0u);

  // The relay misbehaves on its first connection only: a redials and the link works again.
  ASSERT_TRUE(run_until([&] { return linked() && b->recorder.connected.size() == 2; }));
  ASSERT_TRUE(a->transport->send(b_address, text_frame("after")));
  ASSERT_TRUE(run_until([&] { return b->recorder.frames.size() == param.delivered.size() + 1; }));
  EXPECT_EQ(as_text(b->recorder.frames.back().bytes), "after");
  EXPECT_EQ(relay->sessions(), 2u);
}

INSTANTIATE_TEST_SUITE_P(
    Faults, RelayFaultTest,
    ::testing::Values(FaultCase{"flip_bit", Relay::Fault::flip_bit, {"frame 0", "frame 1"}, true},
                      FaultCase{"drop", Relay::Fault::drop, {"frame 0", "frame 1"}, true},
                      FaultCase{"duplicate", Relay::Fault::duplicate, {"frame 0", "frame 1", "frame 2"}, true},
                      FaultCase{"swap", Relay::Fault::swap, {"frame 0", "frame 1"}, true},
                      FaultCase{"shorten", Relay::Fault::shorten, {"frame 0", "frame 1"}, true},
                      // Ending the stream mid-frame is a close, as when a peer crashes mid-write.
                      FaultCase{"cut", Relay::Fault::cut, {"frame 0", "frame 1"}, false}),
    [](const ::testing::TestParamInfo<FaultCase>& fault_case) { return std::string(fault_case.param.name); });

class WireCaptureTest : public SecureLinkTest {
 protected:
  static constexpr std::string_view secret = "ATTACK-AT-DAWN-b7e1f0c4-the-distinctive-payload";

  /// Links a and b through the relay, sends `secret` both ways and returns the wire.
  Bytes capture_of_a_link(bool encrypt_frames) {
    TransportOptions options = test_options();
    options.encrypt_frames = encrypt_frames;
    link(Relay::Fault::none, 0, options);
    EXPECT_TRUE(run_until([&] { return linked(); }));
    EXPECT_TRUE(a->transport->send(b_address, text_frame(secret)));
    EXPECT_TRUE(b->transport->send(a_address, text_frame(secret)));
    EXPECT_TRUE(run_until([&] { return a->recorder.frames.size() == 1 && b->recorder.frames.size() == 1; }));
    EXPECT_EQ(as_text(b->recorder.frames[0].bytes), secret);
    return relay->capture();
  }

  static bool holds(const Bytes& wire, std::string_view text) {
    return std::search(wire.begin(), wire.end(), text.begin(), text.end()) != wire.end();
  }
};

TEST_F(WireCaptureTest, AnEncryptedLinkCarriesNoPlaintext) {
  const Bytes wire = capture_of_a_link(true);
  EXPECT_GT(wire.size(), 2 * secret.size());
  EXPECT_FALSE(holds(wire, secret));
  EXPECT_FALSE(holds(wire, secret.substr(0, 12)));
}

TEST_F(WireCaptureTest, APlaintextLinkDoesShowTheCaptureCanSeeIt) {
  const Bytes wire = capture_of_a_link(false);
  EXPECT_TRUE(holds(wire, secret));
}

TEST_F(SecureLinkTest, PeersOfDifferentHandshakeVersionsRefuseEachOther) {
  TransportOptions plaintext = test_options();
  plaintext.encrypt_frames = false;
  ::testing::internal::CaptureStderr();
  b = make_node(signers[1], {peer(signers[0])}, plaintext);
  a = make_node(signers[0], {peer(signers[1], b->port())});
  const bool both_rejected = run_until([&] {
    return a->transport->stats().handshakes_rejected >= 1 && b->transport->stats().handshakes_rejected >= 1;
  });
  const std::string log = ::testing::internal::GetCapturedStderr();
  ASSERT_TRUE(both_rejected);
  EXPECT_NE(log.find("peer speaks handshake version 1, this node version 2"), std::string::npos) << log;
  EXPECT_NE(log.find("peer speaks handshake version 2, this node version 1"), std::string::npos) << log;
  EXPECT_TRUE(a->recorder.connected.empty());
  EXPECT_TRUE(b->recorder.connected.empty());
}

TEST_F(SecureLinkTest, PlaintextLinksStillWorkForBenchmarks) {
  TransportOptions plaintext = test_options();
  plaintext.encrypt_frames = false;
  link(Relay::Fault::none, 0, plaintext);
  ASSERT_TRUE(run_until([&] { return linked(); }));
  const auto big = std::make_shared<const Bytes>(1 << 20, std::uint8_t{0x5a});
  ASSERT_TRUE(a->transport->send(b_address, big));
  ASSERT_TRUE(a->transport->send(b_address, text_frame("")));
  ASSERT_TRUE(run_until([&] { return b->recorder.frames.size() == 2; }));
  EXPECT_EQ(b->recorder.frames[0].bytes, *big);
  EXPECT_TRUE(b->recorder.frames[1].bytes.empty());
}

}  // namespace
}  // namespace bft::net
