// The engine's block format: one encoding per block, and every malformed input an error.
#include "bft/node/block.hpp"

#include <gtest/gtest.h>

namespace bft::node {
namespace {

Tx tx(const std::string& text) { return Tx(text.begin(), text.end()); }

BlockHeader header() {
  BlockHeader h;
  h.height = 7;
  h.previous_block_hash.fill(0xaa);
  h.app_hash.fill(0xbb);
  h.proposer = Address::from_text("proposer-address");
  h.time_unix_ms = 1'700'000'000'000;
  return h;
}

TEST(Block, RoundTripsWithItsHeaderAndTransactions) {
  const std::vector<Tx> txs{tx("set a 1"), tx(""), Tx(1000, 0x00)};
  const Value encoded = encode_block(header(), txs);
  std::size_t tx_bytes = 0;
  for (const Tx& t : txs) tx_bytes += t.size();
  EXPECT_EQ(encoded.size(), block_overhead(header(), txs.size()) + tx_bytes);
  auto decoded = decode_block(encoded.bytes());
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(decoded->header, header());
  EXPECT_EQ(decoded->txs, txs);
  EXPECT_EQ(block_hash(encoded.bytes()), codec::sha256(encoded.bytes()));
}

TEST(Block, ASummaryReadsTheHeaderAndTheCountAlone) {
  const std::vector<Tx> txs{tx("set a 1"), tx("set b 2"), tx("set c 3")};
  const Value encoded = encode_block(header(), txs);
  auto summary = decode_block_summary(encoded.bytes());
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->header, header());
  EXPECT_EQ(summary->tx_count, 3u);
  Bytes version(encoded.bytes().begin(), encoded.bytes().end());
  version[0] = 1;
  EXPECT_EQ(decode_block_summary(version).error().code, Errc::unsupported_version);
  // A count the remaining bytes cannot hold is refused, as decode_block refuses it.
  const Bytes cut(encoded.bytes().begin(), encoded.bytes().begin() + block_overhead(header(), 0) + 4);
  EXPECT_EQ(decode_block_summary(cut).error().code, Errc::too_large);
  EXPECT_EQ(decode_block_summary(encoded.bytes(), BlockLimits{encoded.size() - 1}).error().code, Errc::too_large);
}

TEST(Block, AnEmptyBlockRoundTrips) {
  auto decoded = decode_block(encode_block(header(), {}).bytes());
  ASSERT_TRUE(decoded.ok());
  EXPECT_TRUE(decoded->txs.empty());
}

TEST(Block, MalformedInputIsAnError) {
  const std::vector<Tx> txs{tx("x"), tx("yz")};
  const Value encoded = encode_block(header(), txs);
  const Bytes good(encoded.bytes().begin(), encoded.bytes().end());
  for (std::size_t cut = 0; cut < good.size(); ++cut) {
    const Bytes truncated(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(cut));
    EXPECT_FALSE(decode_block(truncated).ok()) << "cut at " << cut;
  }
  Bytes trailing = good;
  trailing.push_back(0);
  EXPECT_EQ(decode_block(trailing).error().code, Errc::non_canonical);
  Bytes version = good;
  version[0] = 1;
  EXPECT_EQ(decode_block(version).error().code, Errc::unsupported_version);
  BlockHeader anonymous = header();
  anonymous.proposer = Address{};
  const Value unnamed = encode_block(anonymous, {});
  EXPECT_EQ(decode_block(unnamed.bytes()).error().code, Errc::malformed);
}

TEST(Block, LimitsAreEnforcedBeforeAllocating) {
  const std::vector<Tx> txs{tx("0123456789")};
  const Value encoded = encode_block(header(), txs);
  EXPECT_EQ(decode_block(encoded.bytes(), BlockLimits{.max_block_bytes = encoded.size() - 1}).error().code,
            Errc::too_large);
  EXPECT_EQ(decode_block(encoded.bytes(), BlockLimits{.max_txs = 0}).error().code, Errc::too_large);
  // A count claiming far more transactions than the bytes could hold.
  Bytes lying(encoded.bytes().begin(), encoded.bytes().end());
  const std::size_t count_at = block_overhead(header(), 0) - 4;
  lying[count_at + 3] = 0x7f;
  EXPECT_EQ(decode_block(lying).error().code, Errc::too_large);
}

}  // namespace
}  // namespace bft::node
