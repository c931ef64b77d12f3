// The flat map of addresses the replica keeps per peer: it answers as a std::map would
// through growth, for addresses of any length, including ones that share most bytes.
#include "bft/address_map.hpp"

#include <gtest/gtest.h>

#include <map>
#include <random>

namespace bft {
namespace {

Address address(std::size_t length, std::uint8_t last, std::uint8_t fill = 0x5a) {
  Bytes bytes(length, fill);
  if (length > 0) bytes.back() = last;
  return Address(bytes);
}

TEST(AddressMap, AgreesWithAMapThroughGrowth) {
  std::vector<Address> keys;
  for (std::uint8_t i = 0; i < 200; ++i) keys.push_back(address(static_cast<std::size_t>(i % 4) * 10, i));  // 0, 10, 20, 30 bytes
  keys.push_back(Address());
  AddressMap<std::uint64_t> map;
  std::map<Address, std::uint64_t> model;
  std::mt19937_64 random(3);
  for (int step = 0; step < 5'000; ++step) {
    const Address& key = keys[random() % keys.size()];
    if (random() % 2 == 0) {
      const std::uint64_t value = random();
      map[key] = value;
      model[key] = value;
    }
    const std::uint64_t* found = map.find(key);
    const auto expected = model.find(key);
    ASSERT_EQ(found != nullptr, expected != model.end()) << key.to_string();
    if (found) {
      ASSERT_EQ(*found, expected->second);
    }
    ASSERT_EQ(map.size(), model.size());
  }
  std::map<Address, std::uint64_t> listed;
  map.for_each([&](const Address& key, std::uint64_t value) { EXPECT_TRUE(listed.emplace(key, value).second); });
  EXPECT_EQ(listed, model);
}

TEST(AddressMap, AnAbsentKeyIsAddedWithADefaultValueOnlyWhenIndexed) {
  AddressMap<std::uint64_t> map;
  EXPECT_EQ(map.find(address(20, 1)), nullptr);
  EXPECT_EQ(map.size(), 0u);
  EXPECT_EQ(map[address(20, 1)], 0u);
  EXPECT_EQ(map.size(), 1u);
  ASSERT_NE(map.find(address(20, 1)), nullptr);
  EXPECT_EQ(map.find(address(20, 2)), nullptr);
}

}  // namespace
}  // namespace bft
