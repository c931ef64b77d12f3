// The index of committed transactions: lookups by id, its bound, and the waits of clients
// for their transactions to commit (completed by the block that commits the last one,
// cancelled at a timeout, bounded in number).
#include <gtest/gtest.h>

#include <deque>
#include <map>
#include <random>
#include <string>

#include "bft/node/tx_index.hpp"

namespace bft::node {
namespace {

TxId id_of(const std::string& text) { return tx_id(std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size())); }

std::vector<TxResult> results(std::size_t count, std::uint32_t code = code_ok) {
  return std::vector<TxResult>(count, TxResult{code, code == code_ok ? "" : "refused", {}});
}

TEST(TxIndex, FindsCommittedTransactionsWithTheirPlaceAndResult) {
  TxIndex index;
  const std::vector<TxId> ids{id_of("a"), id_of("b")};
  index.record(7, ids, std::vector<TxResult>{{code_ok, "", {}}, {3, "no funds", {}}});
  EXPECT_EQ(index.find(id_of("a")), (CommittedTx{7, 0, code_ok, ""}));
  EXPECT_EQ(index.find(id_of("b")), (CommittedTx{7, 1, 3, "no funds"}));
  EXPECT_FALSE(index.find(id_of("c")));
}

TEST(TxIndex, ForgetsTheOldestBeyondItsCapacity) {
  TxIndex index(3);
  index.record(1, std::vector<TxId>{id_of("a"), id_of("b")}, results(2));
  index.record(2, std::vector<TxId>{id_of("c"), id_of("d")}, results(2));
  EXPECT_EQ(index.size(), 3u);
  EXPECT_FALSE(index.find(id_of("a")));
  EXPECT_TRUE(index.find(id_of("b")));
  EXPECT_TRUE(index.find(id_of("d")));
}

TEST(TxIndex, AgreesWithAPlainMapThroughEvictionsRepeatsAndBlocksBeyondItsCapacity) {
  // The index's own table (open addressing, deletion by backward shift) against a map, on
  // blocks of 0 to 60 transactions (some larger than the capacity: the table grows for a
  // moment), with repeats of recent ids.
  constexpr std::size_t capacity = 37;
  TxIndex index(capacity);
  std::map<TxId, CommittedTx> expected;
  std::deque<TxId> order;
  std::vector<TxId> all;
  std::mt19937_64 random(7);
  std::uint64_t next = 0;
  for (Height height = 1; height <= 300; ++height) {
    std::vector<TxId> ids;
    const std::size_t count = random() % 61;
    for (std::size_t i = 0; i < count; ++i) {
      if (!all.empty() && random() % 5 == 0)
        ids.push_back(all[all.size() - 1 - random() % std::min<std::size_t>(all.size(), 50)]);
      else
        ids.push_back(id_of(std::to_string(next++)));
    }
    index.record(height, ids, results(ids.size()));
    for (std::size_t i = 0; i < ids.size(); ++i) {
      if (expected.count(ids[i])) continue;
      expected[ids[i]] = CommittedTx{height, static_cast<std::uint32_t>(i), code_ok, ""};
      order.push_back(ids[i]);
      all.push_back(ids[i]);
    }
    while (order.size() > capacity) {
      expected.erase(order.front());
      order.pop_front();
    }
    ASSERT_EQ(index.size(), expected.size()) << "height " << height;
    for (std::size_t i = all.size() > 200 ? all.size() - 200 : 0; i < all.size(); ++i) {
      const auto found = expected.find(all[i]);
      ASSERT_EQ(index.find(all[i]), found == expected.end() ? std::nullopt : std::optional(found->second))
          << "height " << height << ", id " << i;
    }
  }
}

TEST(TxIndex, ATransactionCommittedAgainKeepsItsFirstPlace) {
  TxIndex index;
  index.record(1, std::vector<TxId>{id_of("a")}, results(1));
  index.record(2, std::vector<TxId>{id_of("a")}, results(1));
  EXPECT_EQ(index.find(id_of("a"))->height, 1u);
  EXPECT_EQ(index.size(), 1u);
}

TEST(TxIndex, AWaitEndsWithTheBlockThatCommitsItsLastTransaction) {
  TxIndex index;
  std::vector<TxOutcome> seen;
  int calls = 0;
  auto wait = index.wait({id_of("a"), id_of("b")}, [&](std::vector<TxOutcome> outcomes) {
    ++calls;
    seen = std::move(outcomes);
  });
  ASSERT_TRUE(wait.ok());
  ASSERT_TRUE(*wait);
  EXPECT_EQ(index.waiting(), 1u);
  index.record(1, std::vector<TxId>{id_of("b")}, results(1));
  EXPECT_EQ(calls, 0);
  index.record(2, std::vector<TxId>{id_of("x"), id_of("a")}, results(2));
  ASSERT_EQ(calls, 1);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].id, id_of("a"));
  EXPECT_EQ(seen[0].committed, (CommittedTx{2, 1, code_ok, ""}));
  EXPECT_EQ(seen[1].committed->height, 1u);
  EXPECT_EQ(index.waiting(), 0u);
  EXPECT_FALSE(index.cancel(*wait)) << "a finished wait cannot be cancelled";
}

TEST(TxIndex, AWaitForCommittedTransactionsEndsAtOnce) {
  TxIndex index;
  index.record(4, std::vector<TxId>{id_of("a")}, results(1));
  int calls = 0;
  auto wait = index.wait({id_of("a")}, [&](std::vector<TxOutcome> outcomes) {
    ++calls;
    EXPECT_EQ(outcomes.at(0).committed->height, 4u);
  });
  ASSERT_TRUE(wait.ok());
  EXPECT_FALSE(*wait);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(index.waiting(), 0u);
}

TEST(TxIndex, ACancelledWaitTellsWhatIsStillPendingAndIsNeverCalled) {
  TxIndex index;
  int calls = 0;
  auto wait = index.wait({id_of("a"), id_of("b")}, [&](std::vector<TxOutcome>) { ++calls; });
  ASSERT_TRUE(wait.ok());
  index.record(1, std::vector<TxId>{id_of("a")}, results(1));
  const auto outcomes = index.cancel(*wait);
  ASSERT_TRUE(outcomes);
  EXPECT_TRUE((*outcomes)[0].committed);
  EXPECT_FALSE((*outcomes)[1].committed);
  EXPECT_EQ(index.waiting(), 0u);
  index.record(2, std::vector<TxId>{id_of("b")}, results(1));
  EXPECT_EQ(calls, 0);
  EXPECT_FALSE(index.cancel(*wait));
}

TEST(TxIndex, WaitsAreBounded) {
  TxIndex index(100, 2);
  const auto ignore = [](std::vector<TxOutcome>) {};
  auto first = index.wait({id_of("a")}, ignore);
  auto second = index.wait({id_of("b")}, ignore);
  ASSERT_TRUE(first.ok() && second.ok());
  auto third = index.wait({id_of("c")}, ignore);
  ASSERT_FALSE(third.ok());
  EXPECT_EQ(third.error().code, Errc::buffer_full);
  // Room again once one ends.
  index.record(1, std::vector<TxId>{id_of("a")}, results(1));
  EXPECT_TRUE(index.wait({id_of("c")}, ignore).ok());
}

}  // namespace
}  // namespace bft::node
