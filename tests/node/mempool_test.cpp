// The mempool: opaque transactions held once by id, bounds, reaping the oldest within a
// budget, removing what committed wherever it is, and clients adding while it reaps.
#include <gtest/gtest.h>

#include <string>
#include <thread>

#include "bft/node/mempool.hpp"

namespace bft::node {
namespace {

Tx tx(const std::string& text) { return Tx(text.begin(), text.end()); }

std::vector<std::string> texts(const std::vector<Tx>& txs) {
  std::vector<std::string> out;
  for (const Tx& t : txs) out.emplace_back(t.begin(), t.end());
  return out;
}

TEST(Mempool, ReapsTheOldestFirstAndKeepsThemPooled) {
  Mempool pool;
  for (const char* t : {"a", "b", "c"}) ASSERT_TRUE(pool.add(tx(t)).ok());
  EXPECT_EQ(texts(pool.reap(2, 1000, 0)), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(pool.size(), 3u);
  EXPECT_EQ(pool.bytes(), 3u);
}

TEST(Mempool, AnIdIsTheSha256OfTheBytes) { EXPECT_EQ(tx_id(tx("abc")), codec::sha256(tx("abc"))); }

TEST(Mempool, ReapStopsAtTheByteBudgetCountingTheOverhead) {
  Mempool pool;
  for (const char* t : {"aaaa", "bb", "c"}) ASSERT_TRUE(pool.add(tx(t)).ok());
  // 4+4 fits in 10, 2+4 more does not: the order is kept, the smaller "c" waits too.
  EXPECT_EQ(texts(pool.reap(10, 10, 4)), (std::vector<std::string>{"aaaa"}));
  EXPECT_EQ(texts(pool.reap(10, 14, 4)), (std::vector<std::string>{"aaaa", "bb"}));
  EXPECT_TRUE(pool.reap(10, 3, 0).empty());
}

TEST(Mempool, ATransactionIsHeldOnce) {
  Mempool pool;
  ASSERT_TRUE(pool.add(tx("same")).ok());
  auto again = pool.add(tx("same"));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, Errc::duplicate);
  EXPECT_EQ(pool.size(), 1u);
}

TEST(Mempool, BoundsInCountBytesAndSize) {
  Mempool counted(MempoolLimits{.max_txs = 2, .max_bytes = 100, .max_tx_bytes = 10});
  ASSERT_TRUE(counted.add(tx("1")).ok());
  ASSERT_TRUE(counted.add(tx("2")).ok());
  EXPECT_EQ(counted.add(tx("3")).error().code, Errc::buffer_full);

  Mempool sized(MempoolLimits{.max_txs = 100, .max_bytes = 12, .max_tx_bytes = 10});
  ASSERT_TRUE(sized.add(tx("0123456789")).ok());
  EXPECT_EQ(sized.add(tx("abc")).error().code, Errc::buffer_full);
  EXPECT_EQ(sized.add(tx("01234567890")).error().code, Errc::too_large);
  EXPECT_EQ(sized.add(Tx{}).error().code, Errc::invalid_argument);
  EXPECT_EQ(sized.bytes(), 10u);
}

TEST(Mempool, RemovesCommittedTransactionsWhereverTheyAre) {
  Mempool pool;
  for (const char* t : {"a", "b", "c", "d"}) ASSERT_TRUE(pool.add(tx(t)).ok());
  // Another proposer's block: another order, one transaction this pool never held.
  const std::vector<Tx> block{tx("c"), tx("x"), tx("a")};
  pool.remove_committed(block);
  EXPECT_EQ(texts(pool.reap(10, 1000, 0)), (std::vector<std::string>{"b", "d"}));
  EXPECT_EQ(pool.bytes(), 2u);
  // Once removed, the same bytes may be pooled again (the engine decides whether to).
  EXPECT_TRUE(pool.add(tx("a")).ok());
}

TEST(Mempool, ClientsAddWhileTheNodeReapsAndRemoves) {
  Mempool pool(MempoolLimits{.max_txs = 1'000'000});
  constexpr int per_client = 2000;
  std::vector<std::thread> clients;
  for (int c = 0; c < 2; ++c)
    clients.emplace_back([&pool, c] {
      for (int i = 0; i < per_client; ++i) ASSERT_TRUE(pool.add(tx(std::to_string(c) + "-" + std::to_string(i))).ok());
    });
  std::size_t removed = 0;
  while (removed < 2 * per_client) {
    const std::vector<Tx> block = pool.reap(100, 1 << 20, 4);
    pool.remove_committed(block);
    removed += block.size();
  }
  for (std::thread& client : clients) client.join();
  EXPECT_EQ(pool.size(), 0u);
  EXPECT_EQ(pool.bytes(), 0u);
}

}  // namespace
}  // namespace bft::node
