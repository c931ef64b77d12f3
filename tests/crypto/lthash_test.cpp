// LtHash16: a hash of the set, not of the history; pinned digests so that a change of the
// expansion (which would change every application's app hash) cannot pass unnoticed.
#include "bft/crypto/lthash.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "bft/crypto/key_file.hpp"

namespace bft::crypto {
namespace {

std::span<const std::uint8_t> bytes(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

LtHash16 of(std::initializer_list<std::string_view> elements) {
  LtHash16 hash;
  for (std::string_view e : elements) hash.add(bytes(e));
  return hash;
}

TEST(LtHash16, KnownDigests) {
  // Computed independently (Python: hashlib.blake2b(digest_size=32) and the ChaCha20 of
  // the `cryptography` package with a zero counter and nonce), not by this code.
  EXPECT_EQ(to_hex(LtHash16().digest()), "200823e5158b3774c11b5c61850ada762f8264144a9bebec3ebac5a2adde67b8");
  EXPECT_EQ(to_hex(of({"alpha", "beta"}).digest()),
            "21005eccf4c41e3b14d99c4a2b943e3c5d4c8e7daf508f70c5a1934d65ee5872");
  // The first lanes of expand("alpha"), little-endian: 45457, 52161.
  const auto state = of({"alpha"}).serialize();
  EXPECT_EQ(state[0] | (state[1] << 8), 45457);
  EXPECT_EQ(state[2] | (state[3] << 8), 52161);
}

TEST(LtHash16, OrderDoesNotMatter) {
  EXPECT_EQ(of({"a", "b", "c"}), of({"c", "a", "b"}));
  EXPECT_EQ(of({"a", "b", "c"}).digest(), of({"b", "c", "a"}).digest());
}

TEST(LtHash16, RemoveUndoesAdd) {
  LtHash16 hash = of({"kept"});
  const LtHash16 before = hash;
  hash.add(bytes("x"));
  hash.add(bytes("y"));
  hash.remove(bytes("x"));
  hash.remove(bytes("y"));
  EXPECT_EQ(hash, before);
  hash.remove(bytes("kept"));
  EXPECT_EQ(hash, LtHash16());
  EXPECT_EQ(hash.digest(), LtHash16().digest());
}

TEST(LtHash16, DifferentSetsDifferentDigests) {
  const std::vector<LtHash16> sets{LtHash16(),      of({"a"}),      of({"b"}),      of({"a", "b"}),
                                   of({"a", "a"}),  of({""}),       of({"ab"}),     of({"a", "b", "c"})};
  for (std::size_t i = 0; i < sets.size(); ++i)
    for (std::size_t j = i + 1; j < sets.size(); ++j) EXPECT_NE(sets[i].digest(), sets[j].digest()) << i << " " << j;
}

TEST(LtHash16, ReplacingAnElementEqualsBuildingTheNewSet) {
  LtHash16 hash = of({"k=1", "j=2"});
  hash.remove(bytes("k=1"));
  hash.add(bytes("k=3"));
  EXPECT_EQ(hash.digest(), of({"j=2", "k=3"}).digest());
}

TEST(LtHash16, SerializeRoundTripsAndRefusesOtherSizes) {
  const LtHash16 hash = of({"a", "b"});
  const auto state = hash.serialize();
  auto back = LtHash16::deserialize(state);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, hash);
  EXPECT_EQ(back->digest(), hash.digest());

  for (std::size_t size : {std::size_t{0}, LtHash16::state_size - 1, LtHash16::state_size + 1}) {
    const std::vector<std::uint8_t> wrong(size, 7);
    auto refused = LtHash16::deserialize(wrong);
    ASSERT_FALSE(refused.ok()) << size;
    EXPECT_EQ(refused.error().code, Errc::malformed);
  }
}

}  // namespace
}  // namespace bft::crypto
