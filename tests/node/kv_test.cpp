// The key-value application: command text, the canonical block codec, the hash chain.
#include <gtest/gtest.h>

#include <random>

#include "bft/node/kv.hpp"

namespace bft::node {
namespace {

Bytes bytes_of(const Value& v) { return Bytes(v.bytes().begin(), v.bytes().end()); }

TEST(ParseCommands, OneCommandPerLineWithSpacesInValuesAndEmptyValues) {
  auto parsed = parse_commands("set a 1\r\nset b hello world\n\nset c \nset d");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  const std::vector<Command> expected{{"a", "1"}, {"b", "hello world"}, {"c", ""}, {"d", ""}};
  EXPECT_EQ(*parsed, expected);
}

TEST(ParseCommands, ErrorsNameTheBadLine) {
  const std::vector<std::pair<std::string, std::string>> cases{
      {"set a 1\nget a\n", "line 2: expected 'set <key> <value>'"},
      {"set  a 1", "line 1: empty key"},
      {"set a 1\n\nset\n", "line 3: expected"},
      {"set k\x01y 1", "line 1: key with a space or non-printable byte: 'set k\\x01y 1'"},
      {"set k v\tv", "line 1: value with a non-printable byte"},
      {"set " + std::string(max_key_size + 1, 'k') + " v", "line 1: key of 257 bytes"},
      {"set k " + std::string(max_value_size + 1, 'v'), "line 1: value of 4097 bytes"},
      {"", "no command"},
      {"\n\r\n", "no command"},
  };
  for (const auto& [text, message] : cases) {
    auto parsed = parse_commands(text);
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_EQ(parsed.error().code, Errc::invalid_argument);
    EXPECT_NE(parsed.error().message.find(message), std::string::npos) << parsed.error().message;
  }
}

TEST(ParseCommands, AcceptsTheLimitsExactly) {
  const std::string key(max_key_size, '~');
  const std::string value(max_value_size, ' ');
  auto parsed = parse_commands("set " + key + " " + value);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->at(0).key, key);
  EXPECT_EQ(parsed->at(0).value, value);
}

TEST(BlockCodec, KnownEncodingAndRoundTrip) {
  const std::vector<Command> commands{{"k", "vv"}, {"key2", ""}};
  const Value block = encode_block(commands);
  const Bytes expected{1, 2, 0, 0, 0, 1, 0, 'k', 2, 0, 'v', 'v', 4, 0, 'k', 'e', 'y', '2', 0, 0};
  EXPECT_EQ(bytes_of(block), expected);
  auto decoded = decode_block(block.bytes());
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(*decoded, commands);
}

TEST(BlockCodec, EmptyBatchIsAValidBlock) {
  const Value block = encode_block({});
  EXPECT_EQ(block.size(), block_header_size);
  auto decoded = decode_block(block.bytes());
  ASSERT_TRUE(decoded.ok());
  EXPECT_TRUE(decoded->empty());
}

TEST(BlockCodec, LargestCommandsRoundTrip) {
  const std::vector<Command> commands{{std::string(max_key_size, 'k'), std::string(max_value_size, 'v')}};
  auto decoded = decode_block(encode_block(commands).bytes());
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(*decoded, commands);
}

void expect_rejected(const Bytes& bytes, Errc code, const std::string& what) {
  auto decoded = decode_block(bytes);
  ASSERT_FALSE(decoded.ok()) << what;
  EXPECT_EQ(decoded.error().code, code) << what << ": " << decoded.error().message;
}

TEST(BlockCodec, RejectsEveryNonCanonicalOrOverLimitForm) {
  const Bytes good = bytes_of(encode_block(std::vector<Command>{{"k", "v"}}));
  Bytes trailing = good;
  trailing.push_back(0);
  expect_rejected(trailing, Errc::non_canonical, "trailing byte");
  Bytes version = good;
  version[0] = 2;
  expect_rejected(version, Errc::unsupported_version, "version 2");
  expect_rejected({}, Errc::malformed, "empty input");
  for (std::size_t cut = 1; cut < good.size(); ++cut)
    expect_rejected(Bytes(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(cut)), Errc::malformed,
                    "truncated to " + std::to_string(cut));
  Bytes count = good;
  count[1] = 2;  // two commands announced, one present
  expect_rejected(count, Errc::malformed, "count above the commands");
  Bytes huge_count = good;
  huge_count[4] = 0xff;
  expect_rejected(huge_count, Errc::malformed, "count that cannot fit");
  Bytes empty_key = good;
  empty_key[5] = 0;  // key length 0: the key byte is then read as the value length
  expect_rejected(empty_key, Errc::malformed, "empty key");
  Bytes space_key = good;
  space_key[7] = ' ';
  expect_rejected(space_key, Errc::malformed, "space in key");
  Bytes control_value = good;
  control_value[10] = '\n';
  expect_rejected(control_value, Errc::malformed, "newline in value");

  Bytes long_key{1, 1, 0, 0, 0};
  long_key.push_back(static_cast<std::uint8_t>((max_key_size + 1) & 0xff));
  long_key.push_back(static_cast<std::uint8_t>((max_key_size + 1) >> 8));
  long_key.resize(long_key.size() + max_key_size + 1 + 2, 'k');
  long_key[long_key.size() - 2] = 0;
  long_key[long_key.size() - 1] = 0;
  expect_rejected(long_key, Errc::too_large, "key length above the limit");

  Bytes long_value{1, 1, 0, 0, 0, 1, 0, 'k'};
  long_value.push_back(static_cast<std::uint8_t>((max_value_size + 1) & 0xff));
  long_value.push_back(static_cast<std::uint8_t>((max_value_size + 1) >> 8));
  long_value.resize(long_value.size() + max_value_size + 1, 'v');
  expect_rejected(long_value, Errc::too_large, "value length above the limit");

  Bytes oversized = bytes_of(encode_block({}));
  oversized.resize(max_block_size + 1, 0);
  expect_rejected(oversized, Errc::too_large, "input above max_block_size");
}

TEST(BlockCodec, RandomBytesNeverCrashAndOnlyCanonicalBlocksDecode) {
  std::mt19937_64 rng(20240601);
  std::size_t decoded = 0;
  for (int i = 0; i < 20000; ++i) {
    Bytes bytes(rng() % 64);
    for (auto& b : bytes) b = static_cast<std::uint8_t>(rng());
    // Half the inputs start like a block, so the fuzzing reaches past the header.
    if (i % 2 == 0 && bytes.size() >= 5) {
      bytes[0] = block_version;
      bytes[1] = static_cast<std::uint8_t>(rng() % 4);
      bytes[2] = bytes[3] = bytes[4] = 0;
      for (std::size_t j = 5; j < bytes.size(); ++j)
        if (rng() % 3 != 0) bytes[j] = static_cast<std::uint8_t>('!' + rng() % 90);
    }
    auto result = decode_block(bytes);
    if (result.ok()) {
      ++decoded;
      EXPECT_EQ(bytes_of(encode_block(*result)), bytes) << "decoded bytes must be the canonical encoding";
    }
  }
  EXPECT_GT(decoded, 0u) << "the generator should hit some valid blocks";
}

TEST(KvStore, AppliesBlocksInOrderAndLaterSetsWin) {
  KvStore kv;
  EXPECT_EQ(kv.height(), 0u);
  EXPECT_EQ(kv.app_hash(), codec::Digest{});
  ASSERT_TRUE(kv.apply(1, encode_block(std::vector<Command>{{"a", "1"}, {"b", "2"}, {"a", "3"}})).ok());
  EXPECT_EQ(kv.get("a"), "3");
  EXPECT_EQ(kv.get("b"), "2");
  EXPECT_EQ(kv.get("c"), std::nullopt);
  EXPECT_EQ(kv.size(), 2u);
  EXPECT_EQ(kv.height(), 1u);
  ASSERT_TRUE(kv.apply(2, encode_block({})).ok());
  EXPECT_EQ(kv.height(), 2u);
  EXPECT_EQ(kv.size(), 2u);
}

TEST(KvStore, RefusesHeightsOutOfOrderWithoutChange) {
  KvStore kv;
  auto ahead = kv.apply(2, encode_block({}));
  ASSERT_FALSE(ahead.ok());
  EXPECT_EQ(ahead.error().code, Errc::too_far_ahead);
  auto zero = kv.apply(0, encode_block({}));
  ASSERT_FALSE(zero.ok());
  EXPECT_EQ(zero.error().code, Errc::stale_height);
  ASSERT_TRUE(kv.apply(1, encode_block({})).ok());
  const codec::Digest hash = kv.app_hash();
  auto again = kv.apply(1, encode_block(std::vector<Command>{{"x", "y"}}));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, Errc::stale_height);
  EXPECT_EQ(kv.height(), 1u);
  EXPECT_EQ(kv.app_hash(), hash);
  EXPECT_EQ(kv.get("x"), std::nullopt);
}

TEST(KvStore, AppHashIsTheDocumentedChain) {
  KvStore kv;
  const Value block = encode_block(std::vector<Command>{{"a", "1"}});
  ASSERT_TRUE(kv.apply(1, block).ok());
  Bytes input(32, 0);
  const Bytes height{1, 0, 0, 0, 0, 0, 0, 0};
  input.insert(input.end(), height.begin(), height.end());
  const codec::Digest block_hash = codec::sha256(block.bytes());
  input.insert(input.end(), block_hash.begin(), block_hash.end());
  EXPECT_EQ(kv.app_hash(), codec::sha256(input));
}

TEST(KvStore, DivergentHistoriesHaveDifferentHashesEqualOnesEqual) {
  KvStore a, b, c;
  const Value one = encode_block(std::vector<Command>{{"k", "1"}});
  const Value two = encode_block(std::vector<Command>{{"k", "2"}});
  ASSERT_TRUE(a.apply(1, one).ok());
  ASSERT_TRUE(b.apply(1, one).ok());
  ASSERT_TRUE(c.apply(1, two).ok());
  EXPECT_EQ(a.app_hash(), b.app_hash());
  EXPECT_NE(a.app_hash(), c.app_hash());
  // Same contents reached through different blocks still differ: the hash is of history.
  ASSERT_TRUE(a.apply(2, encode_block({})).ok());
  ASSERT_TRUE(c.apply(2, one).ok());
  EXPECT_EQ(a.get("k"), c.get("k"));
  EXPECT_NE(a.app_hash(), c.app_hash());
}

TEST(KvStore, UndecodableBlockIsANoOpThatStillAdvances) {
  KvStore kv, reference;
  ASSERT_TRUE(kv.apply(1, encode_block(std::vector<Command>{{"a", "1"}})).ok());
  ASSERT_TRUE(reference.apply(1, encode_block(std::vector<Command>{{"a", "1"}})).ok());
  const Value garbage = Value::from_text("not a block");
  ASSERT_TRUE(kv.apply(2, garbage).ok());
  ASSERT_TRUE(reference.apply(2, garbage).ok());
  EXPECT_EQ(kv.height(), 2u);
  EXPECT_EQ(kv.rejected_blocks(), 1u);
  EXPECT_EQ(kv.size(), 1u);
  EXPECT_EQ(kv.get("a"), "1");
  EXPECT_EQ(kv.app_hash(), reference.app_hash());
  KvStore other;
  ASSERT_TRUE(other.apply(1, encode_block(std::vector<Command>{{"a", "1"}})).ok());
  ASSERT_TRUE(other.apply(2, encode_block({})).ok());
  EXPECT_NE(other.app_hash(), kv.app_hash()) << "a rejected block is still part of the chain";
}

}  // namespace
}  // namespace bft::node
