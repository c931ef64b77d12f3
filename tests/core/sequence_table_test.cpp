// The table the mempool and the transaction index find their entries with: lookups by a
// hash and an equality the caller supplies, deletion by backward shift, growth, and
// sequence numbers told apart by their low 32 bits only.
#include <gtest/gtest.h>

#include <cstdint>
#include <deque>
#include <map>
#include <random>

#include "bft/sequence_table.hpp"

namespace bft {
namespace {

// Entries in order, numbered from `first`, each with a key; the table finds them by key.
struct Model {
  std::uint64_t first = 0;
  std::deque<std::uint64_t> keys;  // entry i is numbered first + i
  SequenceTable table;

  static std::uint64_t hash(std::uint64_t key) { return key % 997; }  // shared hashes: probe runs

  std::size_t find(std::uint64_t key) const {
    return table.find(hash(key), first, [&](std::uint64_t sequence) { return keys[sequence - first] == key; });
  }
  void push(std::uint64_t key, std::size_t entries) {
    keys.push_back(key);
    table.insert(hash(key), first + keys.size() - 1, entries);
  }
};

TEST(SequenceTable, FindsEachEntryByItsKeyAmongCollidingHashes) {
  Model model;
  for (std::uint64_t key = 100; key < 140; ++key) model.push(key, model.keys.size() + 1);
  for (std::uint64_t key = 100; key < 140; ++key) {
    const std::size_t at = model.find(key);
    ASSERT_NE(at, SequenceTable::npos) << key;
    EXPECT_EQ(model.table.sequence_at(at, model.first), key - 100);
  }
  EXPECT_EQ(model.find(99), SequenceTable::npos);
  EXPECT_EQ(model.find(140), SequenceTable::npos);
}

TEST(SequenceTable, AgreesWithAMapThroughInsertsAndDeletionsAnywhere) {
  // Deletions from the front and from the middle, while sequence numbers pass 2^32: the
  // table keeps only their low 32 bits.
  Model model;
  model.first = (std::uint64_t{1} << 32) - 500;
  std::map<std::uint64_t, std::uint64_t> live;  // key -> sequence
  std::mt19937_64 random(11);
  std::uint64_t next_key = 0;
  for (int step = 0; step < 20'000; ++step) {
    if (random() % 3 != 0 || live.empty()) {
      const std::uint64_t key = next_key++;
      live[key] = model.first + model.keys.size();
      model.push(key, live.size());
    } else {
      auto victim = live.lower_bound(random() % next_key);
      if (victim == live.end()) victim = live.begin();
      const std::size_t at = model.find(victim->first);
      ASSERT_NE(at, SequenceTable::npos);
      ASSERT_EQ(model.table.sequence_at(at, model.first), victim->second);
      model.table.erase_at(at);
      live.erase(victim);
      // Entries no table slot names leave the front, as the mempool's removed ones do.
      while (!model.keys.empty() && !live.count(model.keys.front())) {
        model.keys.pop_front();
        ++model.first;
      }
    }
    if (step % 1000 == 0) {
      for (std::uint64_t key = 0; key < next_key; ++key) {
        const auto found = live.find(key);
        const std::size_t at = model.find(key);
        if (found == live.end()) {
          ASSERT_EQ(at, SequenceTable::npos) << "key " << key << " at step " << step;
        } else {
          ASSERT_NE(at, SequenceTable::npos) << "key " << key << " at step " << step;
          ASSERT_EQ(model.table.sequence_at(at, model.first), found->second);
        }
      }
    }
  }
  EXPECT_GT(model.first, std::uint64_t{1} << 32);
}

TEST(SequenceTable, ClearForgetsEverything) {
  Model model;
  for (std::uint64_t key = 0; key < 100; ++key) model.push(key, model.keys.size() + 1);
  model.table.clear();
  for (std::uint64_t key = 0; key < 100; ++key) EXPECT_EQ(model.find(key), SequenceTable::npos);
}

}  // namespace
}  // namespace bft
