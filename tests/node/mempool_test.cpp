// The mempool: bounds, all-or-nothing adds, proposing a prefix, removing what committed.
#include <gtest/gtest.h>

#include "bft/node/mempool.hpp"

namespace bft::node {
namespace {

Command cmd(const std::string& key, const std::string& value = "v") { return Command{key, value}; }

std::vector<Command> proposed(const Mempool& pool, std::size_t max_commands, std::size_t max_bytes) {
  auto decoded = decode_block(pool.propose(max_commands, max_bytes).bytes());
  EXPECT_TRUE(decoded.ok());
  return decoded.ok() ? *decoded : std::vector<Command>{};
}

TEST(Mempool, FifoProposalOfAPrefixThatStaysPooled) {
  Mempool pool;
  ASSERT_TRUE(pool.add({cmd("a"), cmd("b")}).ok());
  ASSERT_TRUE(pool.add({cmd("c")}).ok());
  EXPECT_EQ(pool.size(), 3u);
  EXPECT_EQ(proposed(pool, 2, max_block_size), (std::vector<Command>{cmd("a"), cmd("b")}));
  EXPECT_EQ(proposed(pool, 10, max_block_size), (std::vector<Command>{cmd("a"), cmd("b"), cmd("c")}));
  EXPECT_EQ(pool.size(), 3u) << "propose must not remove";
  EXPECT_TRUE(proposed(Mempool{}, 10, max_block_size).empty()) << "an empty pool proposes an empty block";
}

TEST(Mempool, ProposalRespectsTheByteBudget) {
  Mempool pool;
  ASSERT_TRUE(pool.add({cmd("a", "12345"), cmd("b", "12345"), cmd("c")}).ok());
  const std::size_t one = cmd("a", "12345").encoded_size();  // 4 + 1 + 5
  EXPECT_EQ(proposed(pool, 10, block_header_size + 2 * one).size(), 2u);
  EXPECT_EQ(proposed(pool, 10, block_header_size + 2 * one - 1).size(), 1u);
  EXPECT_EQ(proposed(pool, 10, 0).size(), 0u);
  // FIFO: a small command behind a large one waits its turn.
  EXPECT_EQ(proposed(pool, 10, block_header_size + one - 1).size(), 0u);
  const Value block = pool.propose(10, block_header_size + 2 * one);
  EXPECT_EQ(block.size(), block_header_size + 2 * one);
}

TEST(Mempool, BoundsRefuseWholeBatches) {
  Mempool pool(MempoolLimits{3, 1000});
  ASSERT_TRUE(pool.add({cmd("a"), cmd("b")}).ok());
  auto over = pool.add({cmd("c"), cmd("d")});
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().code, Errc::buffer_full);
  EXPECT_EQ(pool.size(), 2u) << "nothing of a refused batch is added";
  ASSERT_TRUE(pool.add({cmd("c")}).ok());
  EXPECT_FALSE(pool.add({cmd("d")}).ok());

  Mempool small(MempoolLimits{100, 20});
  ASSERT_TRUE(small.add({cmd("k", std::string(14, 'v'))}).ok());  // 4 + 1 + 14 = 19 bytes
  EXPECT_EQ(small.bytes(), 19u);
  auto bytes_over = small.add({cmd("k", "vv")});
  ASSERT_FALSE(bytes_over.ok());
  EXPECT_EQ(bytes_over.error().code, Errc::buffer_full);
  EXPECT_FALSE(small.add({Command{"", ""}}).ok()) << "an invalid command is refused even with room";
}

TEST(Mempool, RefusesInvalidCommands) {
  Mempool pool;
  auto bad = pool.add({cmd("ok"), cmd("bad key")});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, Errc::invalid_argument);
  EXPECT_EQ(pool.size(), 0u);
}

TEST(Mempool, RemovesOwnCommittedPrefix) {
  Mempool pool;
  ASSERT_TRUE(pool.add({cmd("a"), cmd("b"), cmd("c")}).ok());
  auto block = decode_block(pool.propose(2, max_block_size).bytes());
  ASSERT_TRUE(block.ok());
  pool.remove_committed(*block);
  EXPECT_EQ(pool.size(), 1u);
  EXPECT_EQ(proposed(pool, 10, max_block_size), std::vector<Command>{cmd("c")});
  EXPECT_EQ(pool.bytes(), cmd("c").encoded_size());
}

TEST(Mempool, RemovesByMultisetWhereverTheCommandsAre) {
  Mempool pool;
  ASSERT_TRUE(pool.add({cmd("a"), cmd("b"), cmd("a"), cmd("c"), cmd("a")}).ok());
  // Another proposer's block: different order, commands we never had, one duplicate.
  pool.remove_committed({cmd("c"), cmd("x"), cmd("a"), cmd("a")});
  EXPECT_EQ(proposed(pool, 10, max_block_size), (std::vector<Command>{cmd("b"), cmd("a")}))
      << "each committed command removes the oldest identical one, once";
  EXPECT_EQ(pool.bytes(), cmd("b").encoded_size() + cmd("a").encoded_size());
  pool.remove_committed({cmd("b", "other value")});
  EXPECT_EQ(pool.size(), 2u) << "same key, different value is a different command";
  pool.remove_committed({});
  EXPECT_EQ(pool.size(), 2u);
}

TEST(Mempool, PrefixThenMultisetInOneBlock) {
  Mempool pool;
  ASSERT_TRUE(pool.add({cmd("a"), cmd("b"), cmd("c"), cmd("d")}).ok());
  pool.remove_committed({cmd("a"), cmd("d")});
  EXPECT_EQ(proposed(pool, 10, max_block_size), (std::vector<Command>{cmd("b"), cmd("c")}));
}

}  // namespace
}  // namespace bft::node
