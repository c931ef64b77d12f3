// Keyed hashers under a per-hasher random key: stable for one hasher, unpredictable across
// them; the digest hasher spreads digests that share any bytes but their first eight.
#include "bft/crypto/keyed_hash.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <set>
#include <string>

namespace bft::crypto {
namespace {

TEST(KeyedHash, OneHasherIsAFunctionOfTheBytes) {
  const KeyedHash hash;
  const std::string text = "set k v";
  EXPECT_EQ(hash(text), hash(std::string_view(text)));
  EXPECT_EQ(hash(text), hash(std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size())));
  EXPECT_NE(hash("set k v"), hash("set k w"));
  EXPECT_NE(hash(""), hash(std::string(1, '\0')));
}

TEST(KeyedHash, EachHasherHasItsOwnKey) {
  // Two of eight hashers agreeing by chance: about 2^-59.
  std::set<std::uint64_t> seen;
  for (int i = 0; i < 8; ++i) seen.insert(KeyedHash()("the same bytes"));
  EXPECT_EQ(seen.size(), 8u);
}

TEST(KeyedDigestHash, AFunctionOfTheFirstEightBytesUnderItsOwnKey) {
  const KeyedDigestHash hash;
  std::array<std::uint8_t, 32> digest{};
  for (std::size_t i = 0; i < digest.size(); ++i) digest[i] = static_cast<std::uint8_t>(i * 7 + 1);
  const std::uint64_t first = hash(digest);
  EXPECT_EQ(hash(digest), first);
  std::array<std::uint8_t, 32> later_bytes = digest;
  later_bytes[31] ^= 1;
  EXPECT_EQ(hash(later_bytes), first) << "only the first eight bytes count";
  std::set<std::uint64_t> seen;
  for (int bit = 0; bit < 64; ++bit) {
    std::array<std::uint8_t, 32> flipped = digest;
    flipped[bit / 8] ^= static_cast<std::uint8_t>(1 << (bit % 8));
    seen.insert(hash(flipped));
  }
  EXPECT_EQ(seen.size(), 64u) << "a bijection of the first eight bytes";
  std::set<std::uint64_t> keys;
  for (int i = 0; i < 8; ++i) keys.insert(KeyedDigestHash()(digest));
  EXPECT_EQ(keys.size(), 8u);
}

TEST(KeyedDigestHash, SpreadsDigestsSharingMostBitsOverABucketArray) {
  // Digests that differ in one byte of the eight: the low bits a table takes its bucket
  // from must still spread (no bucket of 1024 gets more than a dozen of 1024 digests).
  const KeyedDigestHash hash;
  std::array<int, 1024> buckets{};
  for (int i = 0; i < 1024; ++i) {
    std::array<std::uint8_t, 32> digest{};
    digest[7] = static_cast<std::uint8_t>(i);
    digest[6] = static_cast<std::uint8_t>(i >> 8);
    ++buckets[hash(digest) % buckets.size()];
  }
  EXPECT_LE(*std::max_element(buckets.begin(), buckets.end()), 12);
}

}  // namespace
}  // namespace bft::crypto
