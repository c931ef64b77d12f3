// The handshake's bytes: frame headers, hellos, and what a proof covers.
#include "bft/net/wire.hpp"

#include <gtest/gtest.h>

namespace bft::net {
namespace {

TEST(Wire, FrameHeaderIsLittleEndianLength) {
  const FrameHeader header = frame_header(0x01020304);
  EXPECT_EQ(header, (FrameHeader{4, 3, 2, 1}));
  EXPECT_EQ(frame_length(header), 0x01020304u);
  const Bytes framed = frame(Bytes{7, 8});
  EXPECT_EQ(framed, (Bytes{2, 0, 0, 0, 7, 8}));
}

TEST(Wire, HelloRoundTrips) {
  Hello hello;
  hello.key.fill(5);
  hello.nonce.fill(9);
  const Bytes bytes = encode_hello(hello);
  ASSERT_EQ(bytes.size(), hello_size);
  const auto decoded = decode_hello(bytes);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->key, hello.key);
  EXPECT_EQ(decoded->nonce, hello.nonce);
}

TEST(Wire, HelloOfAnotherSizeOrVersionIsRejected) {
  Bytes bytes = encode_hello(Hello{});
  bytes.pop_back();
  EXPECT_EQ(decode_hello(bytes).error().code, Errc::malformed);
  bytes = encode_hello(Hello{});
  bytes[0] = protocol_version + 1;
  EXPECT_EQ(decode_hello(bytes).error().code, Errc::unsupported_version);
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

TEST(Wire, NoncesAreFresh) { EXPECT_NE(fresh_nonce(), fresh_nonce()); }

}  // namespace
}  // namespace bft::net
