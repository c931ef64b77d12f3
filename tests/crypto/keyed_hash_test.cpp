// SipHash under a per-hasher random key: stable for one hasher, unpredictable across them.
#include "bft/crypto/keyed_hash.hpp"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace bft::crypto
