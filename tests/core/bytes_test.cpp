#include <gtest/gtest.h>

#include <unordered_set>

#include "bft/bytes.hpp"

namespace bft {
namespace {

Value of_size(std::size_t n, std::uint8_t fill) { return Value(Bytes(n, fill)); }

TEST(ByteString, KeepsContentAcrossTheInlineBoundary) {
  for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{31}, std::size_t{32}, std::size_t{33}, std::size_t{1000}}) {
    const Value v = of_size(n, 0xab);
    ASSERT_EQ(v.size(), n);
    for (auto b : v.bytes()) ASSERT_EQ(b, 0xab);
  }
}

TEST(ByteString, CopiesOfALongStringShareOneBuffer) {
  const Value value = of_size(1000, 9);
  const Value copy = value;
  EXPECT_EQ(copy.data(), value.data());
  EXPECT_EQ(copy, value);
  EXPECT_NE(of_size(1001, 9), value);
  EXPECT_EQ(Value(Bytes(value.bytes().begin(), value.bytes().end())), value);
}

TEST(ByteString, CopiesAndMovesAreIndependentValues) {
  for (std::size_t n : {std::size_t{5}, std::size_t{64}}) {
    Value original = of_size(n, 1);
    Value copy = original;
    EXPECT_EQ(copy, original);
    Value moved = std::move(original);
    EXPECT_EQ(moved, copy);
    EXPECT_TRUE(original.empty());  // NOLINT(bugprone-use-after-move): moved-from is empty
    original = copy;
    EXPECT_EQ(original, copy);
    copy = of_size(n == 5 ? 64 : 5, 2);  // heap <-> inline reassignment
    EXPECT_NE(copy, original);
    Value& self = copy;
    copy = self;
    EXPECT_EQ(copy.size(), n == 5 ? 64u : 5u);
    const Value other_kind = copy;
    original = other_kind;  // copy assignment across heap <-> inline
    EXPECT_EQ(original, other_kind);
    original = of_size(3, 7);  // a shorter inline value after a longer one
    EXPECT_EQ(original, of_size(3, 7));
  }
}

TEST(ByteString, OrdersLexicographicallyThenByLength) {
  EXPECT_LT(Value::from_text("abc"), Value::from_text("abd"));
  EXPECT_LT(Value::from_text("ab"), Value::from_text("abc"));
  EXPECT_LT(Value(), Value::from_text("a"));
  EXPECT_EQ(Value::from_text("same"), Value::from_text("same"));
  EXPECT_LT(of_size(40, 1), of_size(40, 2));
}

TEST(ByteString, HashesByContent) {
  std::unordered_set<Address> set{Address::from_text("x"), Address(Bytes(50, 7))};
  EXPECT_TRUE(set.contains(Address::from_text("x")));
  EXPECT_TRUE(set.contains(Address(Bytes(50, 7))));
  EXPECT_FALSE(set.contains(Address::from_text("y")));
}

TEST(ByteString, PrintsTextOrHex) {
  EXPECT_EQ(Address::from_text("v1").to_string(), "v1");
  EXPECT_EQ(Value(Bytes{0x00, 0xff}).to_string(), "0x00ff");
}

}  // namespace
}  // namespace bft
