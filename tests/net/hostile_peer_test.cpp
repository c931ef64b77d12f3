// A transport facing a peer on a raw socket that misbehaves: bad proofs, garbage, frames
// above the limit, truncated frames, silence, and a peer that stops reading.
#include <gtest/gtest.h>

#include <numeric>

#include "bft/net/transport.hpp"
#include "bft/net/wire.hpp"
#include "support.hpp"

namespace bft::net {
namespace {

using namespace testing;

class HostilePeerTest : public Loopback {
 protected:
  /// The transport under test is signers[1]; the raw peer claims signers[0], whose
  /// smaller address makes it the one that dials.
  std::unique_ptr<Node> listener(TransportOptions options = test_options()) {
    return make_node(signers[1], {peer(signers[0])}, std::move(options));
  }

  /// Sends a hello claiming `claimed`'s key, reads the listener's hello and answers with
  /// a proof that `prover` signs. Returns the nonce the raw peer sent.
  Nonce handshake(RawPeer& raw, const crypto::Signer& claimed, const crypto::Signer& prover) {
    Hello hello;
    hello.key = claimed.public_key();
    hello.nonce = fresh_nonce();
    raw.write_frame(encode_hello(hello));
    std::optional<Bytes> listener_hello;
    EXPECT_TRUE(run_until([&] { return (listener_hello = raw.next_frame()) || raw.closed(); }));
    if (!listener_hello) return hello.nonce;
    const auto decoded = decode_hello(*listener_hello);
    EXPECT_TRUE(decoded.ok());
    if (!decoded.ok()) return hello.nonce;
    EXPECT_EQ(decoded->key, signers[1].public_key());
    const auto proof = prover.sign(proof_message(chain, decoded->nonce, claimed.public_key(), decoded->key));
    raw.write_frame(proof);
    return hello.nonce;
  }

  /// A raw peer that has completed a valid handshake as signers[0].
  std::unique_ptr<RawPeer> connected_raw_peer(Node& node) {
    auto raw = std::make_unique<RawPeer>(io, node.port());
    handshake(*raw, signers[0], signers[0]);
    EXPECT_TRUE(run_until([&] { return node.connected_to(address_of(signers[0])); }));
    return raw;
  }

  std::vector<crypto::Ed25519Signer> signers = sorted_signers(3);
};

TEST_F(HostilePeerTest, RawPeerWithAValidProofIsAccepted) {
  auto node = listener();
  RawPeer raw(io, node->port());
  const Nonce raw_nonce = handshake(raw, signers[0], signers[0]);
  ASSERT_TRUE(run_until([&] { return node->connected_to(address_of(signers[0])); }));

  std::optional<Bytes> listener_proof;
  ASSERT_TRUE(run_until([&] { return (listener_proof = raw.next_frame()).has_value(); }));
  crypto::Signature signature{};
  ASSERT_EQ(listener_proof->size(), signature.size());
  std::copy(listener_proof->begin(), listener_proof->end(), signature.begin());
  EXPECT_TRUE(crypto::Ed25519Verifier(signers[1].public_key())
                  .verify(proof_message(chain, raw_nonce, signers[1].public_key(), signers[0].public_key()),
                          signature));

  raw.write_frame(Bytes{'h', 'i'});
  ASSERT_TRUE(run_until([&] { return node->recorder.frames.size() == 1; }));
  EXPECT_EQ(as_text(node->recorder.frames[0].bytes), "hi");
  ASSERT_TRUE(node->transport->send(address_of(signers[0]), text_frame("hello raw")));
  std::optional<Bytes> reply;
  ASSERT_TRUE(run_until([&] { return (reply = raw.next_frame()).has_value(); }));
  EXPECT_EQ(as_text(*reply), "hello raw");
}

TEST_F(HostilePeerTest, AProofByAnotherKeyIsRejected) {
  auto node = listener();
  RawPeer raw(io, node->port());
  handshake(raw, signers[0], /*prover=*/signers[2]);
  ASSERT_TRUE(run_until([&] { return raw.poll(); }));
  EXPECT_EQ(node->transport->stats().handshakes_rejected, 1u);
  EXPECT_TRUE(node->recorder.connected.empty());
}

TEST_F(HostilePeerTest, AKnownPeerWithTheLargerAddressMayNotDial) {
  TransportOptions options = test_options();
  options.reconnect_initial = options.reconnect_max = 10s;  // keep its own dialing quiet
  auto node = make_node(signers[1], {peer(signers[0]), peer(signers[2], 1)}, options);
  RawPeer raw(io, node->port());
  handshake(raw, signers[2], signers[2]);
  ASSERT_TRUE(run_until([&] { return raw.poll(); }));
  EXPECT_EQ(node->transport->stats().handshakes_rejected, 1u);
  EXPECT_TRUE(node->recorder.connected.empty());
}

TEST_F(HostilePeerTest, GarbageBeforeTheHandshakeClosesTheConnection) {
  auto node = listener();
  RawPeer raw(io, node->port());
  raw.write_text("GET / HTTP/1.1\r\nHost: validator\r\n\r\n");
  ASSERT_TRUE(run_until([&] { return raw.poll(); }));
  EXPECT_EQ(node->transport->stats().handshakes_rejected, 1u);
  EXPECT_TRUE(node->recorder.connected.empty());
}

TEST_F(HostilePeerTest, ASilentPeerTimesOut) {
  TransportOptions options = test_options();
  options.handshake_timeout = 100ms;
  auto node = listener(options);
  RawPeer raw(io, node->port());
  ASSERT_TRUE(run_until([&] { return raw.poll(); }));
  EXPECT_EQ(node->transport->stats().handshakes_rejected, 1u);
}

TEST_F(HostilePeerTest, AFrameAboveTheMaximumClosesTheConnection) {
  TransportOptions options = test_options();
  options.max_frame_size = 1024;
  auto node = listener(options);
  auto raw = connected_raw_peer(*node);
  ASSERT_FALSE(HasFatalFailure());
  raw->write_frame(Bytes(1024, 1));  // at the limit: fine
  raw->write_frame(Bytes(1025, 2));
  ASSERT_TRUE(run_until([&] { return raw->poll(); }));
  EXPECT_EQ(node->transport->stats().connections_closed_protocol_error, 1u);
  ASSERT_EQ(node->recorder.frames.size(), 1u);
  EXPECT_EQ(node->recorder.frames[0].bytes.size(), 1024u);
  EXPECT_EQ(node->recorder.disconnected, std::vector<Address>{address_of(signers[0])});
  EXPECT_TRUE(node->transport->connected_peers().empty());
}

TEST_F(HostilePeerTest, GarbageAfterTheHandshakeClosesTheConnection) {
  auto node = listener();
  auto raw = connected_raw_peer(*node);
  ASSERT_FALSE(HasFatalFailure());
  raw->write(Bytes(256, 0xff));  // reads as a frame of 4 GiB - 1
  ASSERT_TRUE(run_until([&] { return raw->poll(); }));
  EXPECT_EQ(node->transport->stats().connections_closed_protocol_error, 1u);
  EXPECT_TRUE(node->recorder.frames.empty());
}

TEST_F(HostilePeerTest, ATruncatedFrameIsNeverDelivered) {
  auto node = listener();
  auto raw = connected_raw_peer(*node);
  ASSERT_FALSE(HasFatalFailure());
  const Bytes whole = frame(Bytes(100, 7));
  raw->write(std::span<const std::uint8_t>(whole).first(frame_header_size + 10));
  raw->close();
  ASSERT_TRUE(run_until([&] { return !node->recorder.disconnected.empty(); }));
  EXPECT_TRUE(node->recorder.frames.empty());
  EXPECT_EQ(node->transport->stats().connections_closed_protocol_error, 0u);
}

TEST_F(HostilePeerTest, AFrameWrittenByteByByteArrivesWhole) {
  auto node = listener();
  auto raw = connected_raw_peer(*node);
  ASSERT_FALSE(HasFatalFailure());
  Bytes payload(300);
  std::iota(payload.begin(), payload.end(), std::uint8_t{0});
  const Bytes whole = frame(payload);
  for (std::size_t i = 0; i < whole.size(); ++i) {
    raw->write(std::span<const std::uint8_t>(whole).subspan(i, 1));
    io.poll();
  }
  ASSERT_TRUE(run_until([&] { return node->recorder.frames.size() == 1; }));
  EXPECT_EQ(node->recorder.frames[0].bytes, payload);
}

TEST_F(HostilePeerTest, APeerThatStopsReadingMakesTheSenderDropFramesNotBlock) {
  TransportOptions options = test_options();
  options.max_queued_bytes_per_peer = 64 * 1024;
  auto other = make_node(signers[2], {peer(signers[1])});
  auto node = make_node(signers[1], {peer(signers[0]), peer(signers[2], other->port())}, options);
  auto raw = connected_raw_peer(*node);  // from here on it reads nothing
  ASSERT_FALSE(HasFatalFailure());
  const Address stalled = address_of(signers[0]);
  const Address healthy = address_of(signers[2]);
  ASSERT_TRUE(run_until([&] { return node->connected_to(healthy); }));

  // One shared 16 KiB buffer: the kernel's socket buffers fill up (some MiB), then the
  // queue, then every further frame is dropped. 80 MiB offered in all.
  const auto frame16k = std::make_shared<const Bytes>(16 * 1024, std::uint8_t{3});
  constexpr std::uint64_t offered = 5000;
  std::uint64_t accepted = 0;
  std::size_t most_queued = 0;
  for (std::uint64_t i = 0; i < offered; ++i) {
    if (node->transport->send(stalled, frame16k)) ++accepted;
    most_queued = std::max(most_queued, node->transport->queued_bytes(stalled));
    io.poll();
  }
  const Transport::Stats stats = node->transport->stats();
  EXPECT_GT(stats.frames_dropped_queue_full, 0u);
  EXPECT_EQ(stats.frames_dropped_queue_full + accepted, offered);
  EXPECT_EQ(stats.frames_sent, accepted);
  EXPECT_LE(most_queued, options.max_queued_bytes_per_peer);
  EXPECT_TRUE(node->connected_to(stalled));  // slow is not a protocol violation

  // Meanwhile the io thread still serves everyone else.
  ASSERT_TRUE(node->transport->send(healthy, text_frame("still here")));
  ASSERT_TRUE(run_until([&] { return other->recorder.frames.size() == 1; }));
}

}  // namespace
}  // namespace bft::net
