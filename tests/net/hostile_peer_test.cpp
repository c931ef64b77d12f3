// A transport facing a peer on a raw socket that speaks handshake version 2 by hand and
// misbehaves: bad proofs, replayed handshakes, other versions, weak ephemeral keys,
// garbage, plaintext or oversized frames, truncated frames, silence, a peer that stops
// reading.
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

  /// The raw peer's end of a version 2 handshake, done by hand.
  struct Session {
    EphemeralKeyPair ephemeral;
    Bytes hello;           // as sent
    Bytes listener_hello;  // as received
    Bytes transcript;
    Bytes sealed_proof;    // the whole proof frame as sent
    std::optional<FrameCipher> sealer;
    std::optional<FrameCipher> opener;
  };

  /// Sends a hello claiming `claimed`'s key, reads the listener's hello and answers with
  /// a sealed proof that `prover` signs.
  std::unique_ptr<Session> handshake(RawPeer& raw, const crypto::Signer& claimed, const crypto::Signer& prover) {
    auto session = std::make_unique<Session>();
    Hello hello;
    hello.key = claimed.public_key();
    hello.nonce = fresh_nonce();
    hello.ephemeral = session->ephemeral.public_key();
    session->hello = encode_hello(hello);
    raw.write_frame(session->hello);
    std::optional<Bytes> listener_hello;
    EXPECT_TRUE(run_until([&] { return (listener_hello = raw.next_frame()) || raw.closed(); }));
    if (!listener_hello) return session;
    session->listener_hello = *listener_hello;
    const auto decoded = decode_hello(*listener_hello);
    EXPECT_TRUE(decoded.ok());
    if (!decoded.ok()) return session;
    EXPECT_EQ(decoded->key, signers[1].public_key());
    session->transcript = transcript(chain, session->hello, *listener_hello);
    auto keys = session->ephemeral.session_keys(decoded->ephemeral, Role::dialer, session->transcript);
    EXPECT_TRUE(keys.ok());
    if (!keys.ok()) return session;
    session->sealer.emplace(keys->send);
    session->opener.emplace(keys->receive);
    const auto proof = prover.sign(transcript_proof_message(session->transcript, Role::dialer));
    session->sealed_proof = session->sealer->seal(proof);
    raw.write(session->sealed_proof);
    return session;
  }

  /// A raw peer that has completed a valid handshake as signers[0].
  struct Connected {
    std::unique_ptr<RawPeer> raw;
    std::unique_ptr<Session> session;
    void write_sealed(std::span<const std::uint8_t> payload) { raw->write(session->sealer->seal(payload)); }
  };
  Connected connected_raw_peer(Node& node) {
    Connected connected;
    connected.raw = std::make_unique<RawPeer>(io, node.port());
    connected.session = handshake(*connected.raw, signers[0], signers[0]);
    EXPECT_TRUE(run_until([&] { return node.connected_to(address_of(signers[0])); }));
    return connected;
  }

  /// The next frame from the listener, opened.
  std::optional<Bytes> next_opened(RawPeer& raw, Session& session) {
    std::optional<Bytes> sealed;
    if (!run_until([&] { return (sealed = raw.next_frame()).has_value(); })) return std::nullopt;
    auto opened = session.opener->open(*sealed);
    EXPECT_TRUE(opened.ok());
    if (!opened.ok()) return std::nullopt;
    return Bytes(opened->begin(), opened->end());
  }

  std::vector<crypto::Ed25519Signer> signers = sorted_signers(3);
};

TEST_F(HostilePeerTest, RawPeerWithAValidProofIsAccepted) {
  auto node = listener();
  RawPeer raw(io, node->port());
  auto session = handshake(raw, signers[0], signers[0]);
  ASSERT_TRUE(run_until([&] { return node->connected_to(address_of(signers[0])); }));

  // The listener's proof is sealed and signs the same transcript in the acceptor's role.
  const auto listener_proof = next_opened(raw, *session);
  ASSERT_TRUE(listener_proof.has_value());
  crypto::Signature signature{};
  ASSERT_EQ(listener_proof->size(), signature.size());
  std::copy(listener_proof->begin(), listener_proof->end(), signature.begin());
  EXPECT_TRUE(crypto::Ed25519Verifier(signers[1].public_key())
                  .verify(transcript_proof_message(session->transcript, Role::acceptor), signature));

  raw.write(session->sealer->seal(Bytes{'h', 'i'}));
  ASSERT_TRUE(run_until([&] { return node->recorder.frames.size() == 1; }));
  EXPECT_EQ(as_text(node->recorder.frames[0].bytes), "hi");
  ASSERT_TRUE(node->transport->send(address_of(signers[0]), text_frame("hello raw")));
  const auto reply = next_opened(raw, *session);
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(as_text(*reply), "hello raw");
}

template <class Node>
std::uint64_t rejected(const Node& node, HandshakeRejection kind) {
  return node.transport->stats().handshakes_rejected_by[static_cast<std::size_t>(kind)];
}

TEST_F(HostilePeerTest, AProofByAnotherKeyIsRejected) {
  auto node = listener();
  RawPeer raw(io, node->port());
  handshake(raw, signers[0], /*prover=*/signers[2]);
  ASSERT_TRUE(run_until([&] { return raw.poll(); }));
  EXPECT_EQ(node->transport->stats().handshakes_rejected, 1u);
  EXPECT_EQ(rejected(*node, HandshakeRejection::bad_proof), 1u);
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
  EXPECT_EQ(rejected(*node, HandshakeRejection::not_admitted), 1u);
  EXPECT_TRUE(node->recorder.connected.empty());
}

TEST_F(HostilePeerTest, GarbageBeforeTheHandshakeClosesTheConnection) {
  auto node = listener();
  RawPeer raw(io, node->port());
  raw.write_text("GET / HTTP/1.1\r\nHost: validator\r\n\r\n");
  ASSERT_TRUE(run_until([&] { return raw.poll(); }));
  EXPECT_EQ(node->transport->stats().handshakes_rejected, 1u);
  EXPECT_EQ(rejected(*node, HandshakeRejection::malformed), 1u);
  EXPECT_TRUE(node->recorder.connected.empty());
}

TEST_F(HostilePeerTest, ASilentPeerTimesOut) {
  TransportOptions options = test_options();
  options.handshake_timeout = 100ms;
  auto node = listener(options);
  RawPeer raw(io, node->port());
  ASSERT_TRUE(run_until([&] { return raw.poll(); }));
  EXPECT_EQ(node->transport->stats().handshakes_rejected, 1u);
  EXPECT_EQ(rejected(*node, HandshakeRejection::timeout), 1u);
}

TEST_F(HostilePeerTest, AFrameAboveTheMaximumClosesTheConnection) {
  TransportOptions options = test_options();
  options.max_frame_size = 1024;
  auto node = listener(options);
  auto peer0 = connected_raw_peer(*node);
  ASSERT_FALSE(HasFatalFailure());
  peer0.write_sealed(Bytes(1024, 1));  // at the limit: fine
  peer0.write_sealed(Bytes(1025, 2));
  ASSERT_TRUE(run_until([&] { return peer0.raw->poll(); }));
  EXPECT_EQ(node->transport->stats().connections_closed_protocol_error, 1u);
  ASSERT_EQ(node->recorder.frames.size(), 1u);
  EXPECT_EQ(node->recorder.frames[0].bytes.size(), 1024u);
  EXPECT_EQ(node->recorder.disconnected, std::vector<Address>{address_of(signers[0])});
  EXPECT_TRUE(node->transport->connected_peers().empty());
}

TEST_F(HostilePeerTest, GarbageAfterTheHandshakeClosesTheConnection) {
  auto node = listener();
  auto peer0 = connected_raw_peer(*node);
  ASSERT_FALSE(HasFatalFailure());
  peer0.raw->write(Bytes(256, 0xff));  // reads as a frame of 4 GiB - 1
  ASSERT_TRUE(run_until([&] { return peer0.raw->poll(); }));
  EXPECT_EQ(node->transport->stats().connections_closed_protocol_error, 1u);
  EXPECT_TRUE(node->recorder.frames.empty());
}

TEST_F(HostilePeerTest, ATruncatedFrameIsNeverDelivered) {
  auto node = listener();
  auto peer0 = connected_raw_peer(*node);
  ASSERT_FALSE(HasFatalFailure());
  const Bytes whole = peer0.session->sealer->seal(Bytes(100, 7));
  peer0.raw->write(std::span<const std::uint8_t>(whole).first(frame_header_size + 10));
  peer0.raw->close();
  ASSERT_TRUE(run_until([&] { return !node->recorder.disconnected.empty(); }));
  EXPECT_TRUE(node->recorder.frames.empty());
  // A peer that crashes mid-write looks the same: a plain close, not a violation.
  EXPECT_EQ(node->transport->stats().connections_closed_protocol_error, 0u);
  EXPECT_EQ(node->transport->stats().frames_rejected_auth, 0u);
}

TEST_F(HostilePeerTest, AFrameWrittenByteByByteArrivesWhole) {
  auto node = listener();
  auto peer0 = connected_raw_peer(*node);
  ASSERT_FALSE(HasFatalFailure());
  Bytes payload(300);
  std::iota(payload.begin(), payload.end(), std::uint8_t{0});
  const Bytes whole = peer0.session->sealer->seal(payload);
  for (std::size_t i = 0; i < whole.size(); ++i) {
    peer0.raw->write(std::span<const std::uint8_t>(whole).subspan(i, 1));
    io.poll();
  }
  ASSERT_TRUE(run_until([&] { return node->recorder.frames.size() == 1; }));
  EXPECT_EQ(node->recorder.frames[0].bytes, payload);
}

TEST_F(HostilePeerTest, APlaintextFrameAfterTheHandshakeIsRejected) {
  auto node = listener();
  auto peer0 = connected_raw_peer(*node);
  ASSERT_FALSE(HasFatalFailure());
  peer0.raw->write_frame(Bytes(40, 'p'));  // long enough to hold a tag, but not sealed
  ASSERT_TRUE(run_until([&] { return peer0.raw->poll(); }));
  EXPECT_EQ(node->transport->stats().frames_rejected_auth, 1u);
  EXPECT_TRUE(node->recorder.frames.empty());
  EXPECT_EQ(node->recorder.disconnected, std::vector<Address>{address_of(signers[0])});
}

TEST_F(HostilePeerTest, AFrameShorterThanATagIsRejected) {
  auto node = listener();
  auto peer0 = connected_raw_peer(*node);
  ASSERT_FALSE(HasFatalFailure());
  peer0.raw->write_frame(Bytes{'h', 'i'});
  ASSERT_TRUE(run_until([&] { return peer0.raw->poll(); }));
  EXPECT_EQ(node->transport->stats().frames_rejected_auth, 1u);
  EXPECT_TRUE(node->recorder.frames.empty());
}

TEST_F(HostilePeerTest, AHandshakeReplayedOnANewConnectionFails) {
  // Someone who recorded a whole handshake of signers[0] replays it: the listener's new
  // ephemeral key makes a new transcript and new keys, so the old sealed proof is noise.
  auto node = listener();
  auto recorded = connected_raw_peer(*node);
  ASSERT_FALSE(HasFatalFailure());
  RawPeer replay(io, node->port());
  replay.write_frame(recorded.session->hello);
  replay.write(recorded.session->sealed_proof);
  ASSERT_TRUE(run_until([&] { return replay.poll(); }));
  EXPECT_EQ(node->transport->stats().handshakes_rejected, 1u);
  EXPECT_EQ(node->recorder.connected.size(), 1u);  // the recorded one only
}

TEST_F(HostilePeerTest, AnUnknownHandshakeVersionIsRejected) {
  auto node = listener();
  RawPeer raw(io, node->port());
  Hello hello;
  hello.key = signers[0].public_key();
  Bytes bytes = encode_hello(hello);
  bytes[0] = 9;
  raw.write_frame(bytes);
  ASSERT_TRUE(run_until([&] { return raw.poll(); }));
  EXPECT_EQ(node->transport->stats().handshakes_rejected, 1u);
  EXPECT_EQ(rejected(*node, HandshakeRejection::wrong_version), 1u);
  EXPECT_TRUE(node->recorder.connected.empty());
}

TEST_F(HostilePeerTest, ALowOrderEphemeralKeyIsRejected) {
  auto node = listener();
  RawPeer raw(io, node->port());
  Hello hello;
  hello.key = signers[0].public_key();
  hello.nonce = fresh_nonce();
  hello.ephemeral = EphemeralKey{};  // X25519 with it gives an all-zero secret anyone knows
  raw.write_frame(encode_hello(hello));
  ASSERT_TRUE(run_until([&] { return raw.poll(); }));
  EXPECT_EQ(node->transport->stats().handshakes_rejected, 1u);
  EXPECT_TRUE(node->recorder.connected.empty());
}

TEST_F(HostilePeerTest, APeerThatStopsReadingMakesTheSenderDropFramesNotBlock) {
  TransportOptions options = test_options();
  options.max_queued_bytes_per_peer = 64 * 1024;
  auto other = make_node(signers[2], {peer(signers[1])});
  auto node = make_node(signers[1], {peer(signers[0]), peer(signers[2], other->port())}, options);
  auto peer0 = connected_raw_peer(*node);  // from here on it reads nothing
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
