// The handshake's bytes: frame headers, hellos of both versions, what a proof and the
// transcript cover, the session keys and sealed frames.
#include "bft/net/wire.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <string>

namespace bft::net {
namespace {

TEST(Wire, FrameHeaderIsLittleEndianLength) {
  const FrameHeader header = frame_header(0x01020304);
  EXPECT_EQ(header, (FrameHeader{4, 3, 2, 1}));
  EXPECT_EQ(frame_length(header), 0x01020304u);
  const Bytes framed = frame(Bytes{7, 8});
  EXPECT_EQ(framed, (Bytes{2, 0, 0, 0, 7, 8}));
}

TEST(Wire, HellosOfBothVersionsRoundTrip) {
  Hello hello;
  hello.key.fill(5);
  hello.nonce.fill(9);
  hello.ephemeral.fill(3);
  const Bytes v2 = encode_hello(hello);
  ASSERT_EQ(v2.size(), hello_v2_size);
  EXPECT_EQ(v2[0], encrypted_version);
  EXPECT_EQ(v2[1], 5);
  EXPECT_EQ(v2[1 + 32], 9);
  EXPECT_EQ(v2[1 + 64], 3);
  auto decoded = decode_hello(v2);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->version, encrypted_version);
  EXPECT_EQ(decoded->key, hello.key);
  EXPECT_EQ(decoded->nonce, hello.nonce);
  EXPECT_EQ(decoded->ephemeral, hello.ephemeral);

  hello.version = plaintext_version;
  const Bytes v1 = encode_hello(hello);
  ASSERT_EQ(v1.size(), hello_v1_size);
  decoded = decode_hello(v1);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->version, plaintext_version);
  EXPECT_EQ(decoded->nonce, hello.nonce);
  EXPECT_EQ(decoded->ephemeral, EphemeralKey{});
}

TEST(Wire, HelloOfAnUnknownVersionOrTheWrongSizeIsRejected) {
  Bytes bytes = encode_hello(Hello{});
  bytes.pop_back();
  EXPECT_EQ(decode_hello(bytes).error().code, Errc::malformed);
  EXPECT_EQ(decode_hello(Bytes{}).error().code, Errc::malformed);
  Hello v1;
  v1.version = plaintext_version;
  bytes = encode_hello(v1);
  bytes[0] = encrypted_version;  // a v1-sized hello claiming v2
  EXPECT_EQ(decode_hello(bytes).error().code, Errc::malformed);
  bytes = encode_hello(Hello{});
  bytes[0] = 7;
  const auto unknown = decode_hello(bytes);
  EXPECT_EQ(unknown.error().code, Errc::unsupported_version);
  EXPECT_NE(unknown.error().message.find("unknown handshake version 7"), std::string::npos);
}

TEST(Wire, ProofMessageBindsChainNonceAndBothKeys) {
  Nonce nonce{};
  crypto::PublicKey a{}, b{};
  a.fill(1);
  b.fill(2);
  const Bytes base = proof_message("chain", nonce, a, b);
  EXPECT_NE(base, proof_message("chain2", nonce, a, b));
  EXPECT_NE(base, proof_message("chain", nonce, b, a));
  nonce[0] = 1;
  EXPECT_NE(base, proof_message("chain", nonce, a, b));
}

TEST(Wire, TranscriptIsDomainChainIdAndBothHellosInRoleOrder) {
  const Bytes dialer(hello_v2_size, 1);
  const Bytes acceptor(hello_v2_size, 2);
  const Bytes t = transcript("ch", dialer, acceptor);
  const std::string domain = "bftcore/handshake/v2";
  ASSERT_EQ(t.size(), domain.size() + 1 + 2 + 2 * hello_v2_size);
  EXPECT_EQ(std::string(t.begin(), t.begin() + static_cast<std::ptrdiff_t>(domain.size())), domain);
  EXPECT_EQ(t[domain.size()], 2);
  EXPECT_EQ(t[domain.size() + 1], 'c');
  EXPECT_EQ(t[domain.size() + 3], 1);
  EXPECT_EQ(t.back(), 2);
  EXPECT_NE(t, transcript("ch", acceptor, dialer));
  EXPECT_NE(t, transcript("ch2", dialer, acceptor));

  const Bytes as_dialer = transcript_proof_message(t, Role::dialer);
  EXPECT_EQ(as_dialer.size(), t.size() + 1);
  EXPECT_EQ(as_dialer.back(), 1);
  EXPECT_NE(as_dialer, transcript_proof_message(t, Role::acceptor));
}

/// Both ends of one link, keyed the way Connection keys them.
struct Link {
  explicit Link(const Bytes& transcript_bytes) {
    auto d = dialer_pair.session_keys(acceptor_pair.public_key(), Role::dialer, transcript_bytes);
    auto a = acceptor_pair.session_keys(dialer_pair.public_key(), Role::acceptor, transcript_bytes);
    EXPECT_TRUE(d.ok() && a.ok());
    dialer.emplace(d.ok() ? *d : SessionKeys{});
    acceptor.emplace(a.ok() ? *a : SessionKeys{});
  }
  EphemeralKeyPair dialer_pair, acceptor_pair;
  std::optional<SessionKeys> dialer, acceptor;
};

TEST(Wire, BothEndsDeriveMatchingDirectionalKeys) {
  const Link link(Bytes{1, 2, 3});
  EXPECT_EQ(link.dialer->send.bytes(), link.acceptor->receive.bytes());
  EXPECT_EQ(link.dialer->receive.bytes(), link.acceptor->send.bytes());
  EXPECT_NE(link.dialer->send.bytes(), link.dialer->receive.bytes());

  // The transcript is mixed in: the same ephemeral keys with another transcript give other keys.
  const auto other = link.dialer_pair.session_keys(link.acceptor_pair.public_key(), Role::dialer, Bytes{1, 2, 4});
  ASSERT_TRUE(other.ok());
  EXPECT_NE(other->send.bytes(), link.dialer->send.bytes());
  EXPECT_NE(EphemeralKeyPair().public_key(), EphemeralKeyPair().public_key());
}

TEST(Wire, ALowOrderEphemeralKeyIsRefused) {
  const EphemeralKeyPair pair;
  const auto keys = pair.session_keys(EphemeralKey{}, Role::dialer, Bytes{1});  // the zero point
  EXPECT_EQ(keys.error().code, Errc::bad_signature);
}

TEST(Wire, SealedFramesOpenInOrderOnly) {
  const Link link(Bytes{9});
  FrameCipher sealer(link.dialer->send);
  FrameCipher opener(link.acceptor->receive);
  const Bytes payload{'s', 'e', 'c', 'r', 'e', 't'};

  Bytes first = sealer.seal(payload);
  Bytes second = sealer.seal(payload);
  ASSERT_EQ(first.size(), FrameCipher::sealed_frame_size(payload.size()));
  EXPECT_EQ(frame_length(std::span<const std::uint8_t, frame_header_size>(first.data(), frame_header_size)),
            payload.size() + seal_overhead);
  EXPECT_NE(first, second);  // another nonce
  EXPECT_EQ(std::search(first.begin(), first.end(), payload.begin(), payload.end()), first.end());

  // The second frame cannot be opened first: the nonce is the count of frames before.
  Bytes body2(second.begin() + frame_header_size, second.end());
  EXPECT_EQ(opener.open(body2).error().code, Errc::bad_signature);
  EXPECT_EQ(opener.count(), 0u);

  Bytes body1(first.begin() + frame_header_size, first.end());
  auto opened = opener.open(body1);
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(Bytes(opened->begin(), opened->end()), payload);
  Bytes replay(first.begin() + frame_header_size, first.end());
  EXPECT_FALSE(opener.open(replay).ok());  // a replay of frame 0 as frame 1

  body2.assign(second.begin() + frame_header_size, second.end());
  body2[3] ^= 0x10;  // one bit of ciphertext
  EXPECT_FALSE(opener.open(body2).ok());
  body2.assign(second.begin() + frame_header_size, second.end());
  body2.pop_back();  // the length (the additional data) and the tag no longer match
  EXPECT_FALSE(opener.open(body2).ok());
  Bytes tiny(seal_overhead - 1);
  EXPECT_EQ(opener.open(tiny).error().code, Errc::malformed);
  body2.assign(second.begin() + frame_header_size, second.end());
  ASSERT_TRUE(opener.open(body2).ok());
  EXPECT_EQ(opener.count(), 2u);

  // The other direction has its own key: a frame reflected back does not open.
  FrameCipher reverse_opener(link.dialer->receive);
  Bytes reflected(first.begin() + frame_header_size, first.end());
  EXPECT_FALSE(reverse_opener.open(reflected).ok());
}

TEST(Wire, AnEmptyPayloadSealsToATagOnly) {
  const Link link(Bytes{4});
  FrameCipher sealer(link.acceptor->send);
  FrameCipher opener(link.dialer->receive);
  Bytes sealed = sealer.seal({});
  ASSERT_EQ(sealed.size(), frame_header_size + seal_overhead);
  Bytes body(sealed.begin() + frame_header_size, sealed.end());
  const auto opened = opener.open(body);
  ASSERT_TRUE(opened.ok());
  EXPECT_TRUE(opened->empty());
}

TEST(Wire, NoncesAreFresh) { EXPECT_NE(fresh_nonce(), fresh_nonce()); }

}  // namespace
}  // namespace bft::net
