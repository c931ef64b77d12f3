// Ed25519 against RFC 8032, addresses and key rings.
#include "bft/crypto/ed25519.hpp"

#include <gtest/gtest.h>

#include "bft/codec/hash.hpp"
#include "bft/crypto/key_file.hpp"
#include "fixtures.hpp"

namespace bft::crypto {
namespace {

using testing::error_of;

std::array<std::uint8_t, 32> hex32(std::string_view hex) { return *parse_public_key(hex); }

TEST(Ed25519, MatchesRfc8032TestVector1) {
  // RFC 8032 section 7.1, TEST 1: the empty message.
  const Seed seed = hex32("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
  const Ed25519Signer signer = Ed25519Signer::from_seed(seed);
  EXPECT_EQ(to_hex(signer.public_key()),
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  EXPECT_EQ(to_hex(signer.sign({})),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
            "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b");
  EXPECT_TRUE(Ed25519Verifier(signer.public_key()).verify({}, signer.sign({})));
}

TEST(Ed25519, WrongKeyOrAlteredMessageOrSignatureFails) {
  const Ed25519Signer alice = testing::signer(1);
  const Ed25519Signer bob = testing::signer(2);
  const Bytes message{1, 2, 3};
  const Signature signature = alice.sign(message);
  EXPECT_TRUE(Ed25519Verifier(alice.public_key()).verify(message, signature));
  EXPECT_FALSE(Ed25519Verifier(bob.public_key()).verify(message, signature));
  EXPECT_FALSE(Ed25519Verifier(alice.public_key()).verify(Bytes{1, 2, 4}, signature));
  for (std::size_t i = 0; i < signature.size(); ++i) {
    Signature altered = signature;
    altered[i] ^= 0x01;
    EXPECT_FALSE(Ed25519Verifier(alice.public_key()).verify(message, altered)) << i;
  }
}

TEST(Ed25519, GeneratedKeysDifferAndSeedsAreDeterministic) {
  EXPECT_NE(Ed25519Signer::generate().public_key(), Ed25519Signer::generate().public_key());
  EXPECT_EQ(testing::signer(7).public_key(), testing::signer(7).public_key());
}

TEST(Ed25519, MovedFromSignerHoldsNoSecret) {
  Ed25519Signer source = testing::signer(3);
  const Seed seed = source.seed();
  const Ed25519Signer target = std::move(source);
  EXPECT_EQ(target.seed(), seed);
  EXPECT_EQ(source.seed(), Seed{});  // NOLINT(bugprone-use-after-move): the point of the test
}

TEST(Ed25519, OnlyKeysThatCanSignAreValidPublicKeys) {
  EXPECT_TRUE(is_valid_public_key(testing::signer(1).public_key()));
  EXPECT_TRUE(is_valid_public_key(Ed25519Signer::generate().public_key()));
  PublicKey identity{};  // the neutral element: small order
  identity[0] = 1;
  EXPECT_FALSE(is_valid_public_key(identity));
  EXPECT_FALSE(is_valid_public_key(PublicKey{}));  // small order too
  PublicKey off_curve{};  // y = 2 has no x on the curve
  off_curve[0] = 2;
  EXPECT_FALSE(is_valid_public_key(off_curve));
  PublicKey non_canonical;  // y = 2^255 - 1, above the field's prime
  non_canonical.fill(0xff);
  non_canonical[31] = 0x7f;
  EXPECT_FALSE(is_valid_public_key(non_canonical));
}

TEST(Address, IsTheFirst20BytesOfTheKeysSha256) {
  const PublicKey key = testing::signer(1).public_key();
  const Address address = address_of(key);
  const codec::Digest digest = codec::sha256(key);
  EXPECT_EQ(address.size(), 20u);
  EXPECT_TRUE(std::equal(address.bytes().begin(), address.bytes().end(), digest.begin()));
  EXPECT_NE(address, address_of(testing::signer(2).public_key()));
}

TEST(KeyRing, FindsKeysByAddress) {
  KeyRing keys;
  const PublicKey key = testing::signer(1).public_key();
  ASSERT_TRUE(keys.add(key).ok());
  ASSERT_TRUE(keys.add(Address::from_text("named"),
                       std::make_unique<Ed25519Verifier>(testing::signer(2).public_key()))
                  .ok());
  ASSERT_NE(keys.find(address_of(key)), nullptr);
  EXPECT_EQ(keys.find(address_of(key))->public_key(), key);
  EXPECT_NE(keys.find(Address::from_text("named")), nullptr);
  EXPECT_EQ(keys.find(Address::from_text("nobody")), nullptr);
  EXPECT_EQ(keys.size(), 2u);
}

TEST(KeyRing, RejectsATakenAddressAndAKeyThatSignsForTwo) {
  KeyRing keys;
  const PublicKey key = testing::signer(1).public_key();
  ASSERT_TRUE(keys.add(key).ok());
  EXPECT_EQ(error_of(keys.add(key)), Errc::duplicate_validator);
  // One key behind two addresses would let one signature count as two votes.
  EXPECT_EQ(error_of(keys.add(Address::from_text("alias"), std::make_unique<Ed25519Verifier>(key))),
            Errc::duplicate_validator);
  EXPECT_EQ(error_of(keys.add(address_of(key),
                              std::make_unique<Ed25519Verifier>(testing::signer(2).public_key()))),
            Errc::duplicate_validator);
  EXPECT_EQ(error_of(keys.add(Address::from_text("x"), nullptr)), Errc::invalid_argument);
  EXPECT_EQ(keys.size(), 1u);
}

}  // namespace
}  // namespace bft::crypto
