// The mempool: opaque transactions held once by id, bounds, reaping the oldest within a
// budget, removing what committed wherever it is, and clients adding while it reaps.
#include <gtest/gtest.h>

#include <algorithm>
#include <list>
#include <random>
#include <string>
#include <thread>

#include "bft/node/mempool.hpp"

namespace bft::node {
namespace {

Tx tx(const std::string& text) { return Tx(text.begin(), text.end()); }

Result<void> add(Mempool& pool, Tx t) {
  const TxId id = tx_id(t);
  return pool.add(std::move(t), id);
}

std::vector<std::string> texts(const std::vector<Tx>& txs) {
  std::vector<std::string> out;
  for (const Tx& t : txs) out.emplace_back(t.begin(), t.end());
  return out;
}

TEST(Mempool, ReapsTheOldestFirstAndKeepsThemPooled) {
  Mempool pool;
  for (const char* t : {"a", "b", "c"}) ASSERT_TRUE(add(pool, tx(t)).ok());
  EXPECT_EQ(texts(pool.reap(2, 1000, 0)), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(pool.size(), 3u);
  EXPECT_EQ(pool.bytes(), 3u);
}

TEST(Mempool, AnIdIsTheSha256OfTheBytes) { EXPECT_EQ(tx_id(tx("abc")), codec::sha256(tx("abc"))); }

TEST(Mempool, ReapStopsAtTheByteBudgetCountingTheOverhead) {
  Mempool pool;
  for (const char* t : {"aaaa", "bb", "c"}) ASSERT_TRUE(add(pool, tx(t)).ok());
  // 4+4 fits in 10, 2+4 more does not: the order is kept, the smaller "c" waits too.
  EXPECT_EQ(texts(pool.reap(10, 10, 4)), (std::vector<std::string>{"aaaa"}));
  EXPECT_EQ(texts(pool.reap(10, 14, 4)), (std::vector<std::string>{"aaaa", "bb"}));
  EXPECT_TRUE(pool.reap(10, 3, 0).empty());
}

TEST(Mempool, ATransactionIsHeldOnce) {
  Mempool pool;
  ASSERT_TRUE(add(pool, tx("same")).ok());
  auto again = add(pool, tx("same"));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, Errc::duplicate);
  EXPECT_EQ(pool.size(), 1u);
}

TEST(Mempool, BoundsInCountBytesAndSize) {
  Mempool counted(MempoolLimits{.max_txs = 2, .max_bytes = 100, .max_tx_bytes = 10});
  ASSERT_TRUE(add(counted, tx("1")).ok());
  ASSERT_TRUE(add(counted, tx("2")).ok());
  EXPECT_EQ(add(counted, tx("3")).error().code, Errc::buffer_full);

  Mempool sized(MempoolLimits{.max_txs = 100, .max_bytes = 12, .max_tx_bytes = 10});
  ASSERT_TRUE(add(sized, tx("0123456789")).ok());
  EXPECT_EQ(add(sized, tx("abc")).error().code, Errc::buffer_full);
  EXPECT_EQ(add(sized, tx("01234567890")).error().code, Errc::too_large);
  EXPECT_EQ(add(sized, Tx{}).error().code, Errc::invalid_argument);
  EXPECT_EQ(sized.bytes(), 10u);
}

TEST(Mempool, RemovesCommittedTransactionsWhereverTheyAre) {
  Mempool pool;
  for (const char* t : {"a", "b", "c", "d"}) ASSERT_TRUE(add(pool, tx(t)).ok());
  // Another proposer's block: another order, one transaction this pool never held.
  const std::vector<Tx> block{tx("c"), tx("x"), tx("a")};
  pool.remove_committed(block);
  EXPECT_EQ(texts(pool.reap(10, 1000, 0)), (std::vector<std::string>{"b", "d"}));
  EXPECT_EQ(pool.bytes(), 2u);
  // Once removed, the same bytes may be pooled again (the engine decides whether to).
  EXPECT_TRUE(add(pool, tx("a")).ok());
}

TEST(Mempool, ClientsAddWhileTheNodeReapsAndRemoves) {
  Mempool pool(MempoolLimits{.max_txs = 1'000'000});
  constexpr int per_client = 2000;
  std::vector<std::thread> clients;
  for (int c = 0; c < 2; ++c)
    clients.emplace_back([&pool, c] {
      for (int i = 0; i < per_client; ++i) ASSERT_TRUE(add(pool, tx(std::to_string(c) + "-" + std::to_string(i))).ok());
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

TEST(Mempool, AgreesWithAListThroughAddsAndRemovalsInAnyOrder) {
  // Blocks of other proposers remove transactions from the middle of the pool: the pool
  // keeps its order and finds every transaction by bytes and by id while it drops what
  // was removed, whatever their number. The oldest transaction never commits, so what was
  // removed behind it piles up until the pool compacts.
  Mempool pool(MempoolLimits{.max_txs = 100'000});
  std::list<std::string> expected{"stuck"};
  ASSERT_TRUE(add(pool, tx("stuck")).ok());
  std::mt19937_64 random(5);
  int next = 0;
  for (int round = 0; round < 200; ++round) {
    const int adds = static_cast<int>(random() % 100);
    for (int i = 0; i < adds; ++i) {
      const std::string text = "tx-" + std::to_string(next++);
      ASSERT_TRUE(add(pool, tx(text)).ok());
      expected.push_back(text);
    }
    std::vector<Tx> block;
    for (auto it = std::next(expected.begin()); it != expected.end();) {
      if (random() % 3 == 0) {
        block.push_back(tx(*it));
        it = expected.erase(it);
      } else {
        ++it;
      }
    }
    std::shuffle(block.begin(), block.end(), random);
    pool.remove_committed(block);
    ASSERT_EQ(pool.size(), expected.size()) << "round " << round;
    ASSERT_EQ(texts(pool.reap(1'000'000, 1 << 30, 0)), std::vector<std::string>(expected.begin(), expected.end()))
        << "round " << round;
    for (const Tx& gone : block) {
      ASSERT_FALSE(pool.contains(gone));
      ASSERT_FALSE(pool.contains(tx_id(gone)));
    }
    for (const std::string& text : expected) {
      ASSERT_TRUE(pool.contains(tx(text))) << text;
      ASSERT_TRUE(pool.contains(tx_id(tx(text)))) << text;
    }
  }
  std::size_t bytes = 0;
  for (const std::string& text : expected) bytes += text.size();
  EXPECT_EQ(pool.bytes(), bytes);
}

TEST(Mempool, RemovingCommittedTransactionsGivesTheirIdsInBlockOrder) {
  Mempool pool;
  ASSERT_TRUE(add(pool, tx("a")).ok());
  const std::vector<Tx> block{tx("x"), tx("a")};
  EXPECT_EQ(pool.remove_committed(block), (std::vector<TxId>{tx_id(tx("x")), tx_id(tx("a"))}));
  EXPECT_FALSE(pool.contains(tx_id(tx("a"))));
}

TEST(Mempool, ABlockThatRepeatsATransactionRemovesItOnce) {
  // Only a faulty proposer makes such a block; the pool must stay whole.
  Mempool pool;
  for (const char* t : {"a", "b"}) ASSERT_TRUE(add(pool, tx(t)).ok());
  const std::vector<Tx> block{tx("a"), tx("a")};
  EXPECT_EQ(pool.remove_committed(block), (std::vector<TxId>{tx_id(tx("a")), tx_id(tx("a"))}));
  EXPECT_EQ(pool.size(), 1u);
  EXPECT_EQ(pool.bytes(), 1u);
  EXPECT_TRUE(pool.contains(tx("b")));
  EXPECT_TRUE(pool.contains(tx_id(tx("b"))));
  EXPECT_EQ(texts(pool.reap(10, 1000, 0)), (std::vector<std::string>{"b"}));
}

TEST(Mempool, KnowsItsTransactionsByIdAndByBytes) {
  Mempool pool;
  ASSERT_TRUE(add(pool, tx("a")).ok());
  EXPECT_TRUE(pool.contains(tx_id(tx("a"))));
  EXPECT_TRUE(pool.contains(tx("a")));
  EXPECT_FALSE(pool.contains(tx_id(tx("b"))));
  EXPECT_FALSE(pool.contains(tx("b")));
}

TEST(Mempool, RecheckDropsWhatIsRefusedNowAndKeepsTheOrder) {
  Mempool pool;
  for (const char* t : {"keep1", "drop1", "keep2", "drop2"}) ASSERT_TRUE(add(pool, tx(t)).ok());
  const std::size_t dropped = pool.recheck([](const Tx& t) { return t[0] == 'k'; });
  EXPECT_EQ(dropped, 2u);
  EXPECT_EQ(texts(pool.reap(10, 1000, 0)), (std::vector<std::string>{"keep1", "keep2"}));
  EXPECT_EQ(pool.bytes(), 10u);
  EXPECT_FALSE(pool.contains(tx_id(tx("drop1"))));
}

TEST(Mempool, RecheckLeavesATransactionRemovedMeanwhileRemoved) {
  Mempool pool;
  ASSERT_TRUE(add(pool, tx("a")).ok());
  ASSERT_TRUE(add(pool, tx("b")).ok());
  // A block commits "a" while the (slow) check runs without the lock.
  const std::size_t dropped = pool.recheck([&](const Tx& t) {
    if (t == tx("a")) pool.remove_committed(std::vector<Tx>{tx("a")});
    return false;
  });
  EXPECT_EQ(dropped, 1u);
  EXPECT_EQ(pool.size(), 0u);
}

}  // namespace
}  // namespace bft::node
