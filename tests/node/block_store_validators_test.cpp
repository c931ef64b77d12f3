// The block store's validator set changes: written with their block, read back on open,
// never pruned, and damage found, never skipped.
#include <gtest/gtest.h>
#include <leveldb/db.h>

#include <memory>

#include "bft/crypto/ed25519.hpp"
#include "bft/node/block_store.hpp"
#include "temp_dir.hpp"

namespace bft::node {
namespace {

StoredBlock block_at(Height height) {
  StoredBlock block;
  block.height = height;
  block.certificate = Bytes{1, 2, static_cast<std::uint8_t>(height)};
  return block;
}

ValidatorSetChange change_at(Height height, std::size_t validators) {
  ValidatorSetChange change{height, {}};
  for (std::size_t i = 0; i < validators; ++i) {
    crypto::Seed seed{};
    seed[0] = static_cast<std::uint8_t>(i + 1);
    seed[1] = static_cast<std::uint8_t>(height);
    change.validators.push_back({crypto::Ed25519Signer::from_seed(seed).public_key(), 10 + i});
  }
  return change;
}

/// The LevelDB key of a change, as the header documents it.
std::string change_key(Height height) {
  std::string key(1, 'v');
  for (int shift = 56; shift >= 0; shift -= 8) key.push_back(static_cast<char>(height >> shift));
  return key;
}

class BlockStoreValidatorsTest : public ::testing::Test {
 protected:
  BlockStore open_ok() {
    auto store = BlockStore::open(temp_.path().string());
    EXPECT_TRUE(store.ok()) << store.error().message;
    return std::move(store).value();
  }

  testing::TempDir temp_{"bft-block-store-validators"};
};

TEST_F(BlockStoreValidatorsTest, ChangesAreStoredWithTheirBlockAndOutlivePruning) {
  {
    BlockStore store = open_ok();
    ASSERT_TRUE(store.append(block_at(1)).ok());
    ASSERT_TRUE(store.append(block_at(2), change_at(4, 3)).ok());
    ASSERT_TRUE(store.append(block_at(3)).ok());
    ASSERT_TRUE(store.append(block_at(4), change_at(6, 5)).ok());
    // A change is in force two heights after its block: any other height is a caller's bug.
    auto misplaced = store.append(block_at(5), change_at(6, 2));
    ASSERT_FALSE(misplaced.ok());
    EXPECT_EQ(misplaced.error().code, Errc::invalid_argument);
    EXPECT_EQ(store.tip(), 4u);
    ASSERT_TRUE(store.prune_below(4).ok());
    EXPECT_EQ(store.base(), 4u);
  }
  BlockStore store = open_ok();
  auto changes = store.validator_changes();
  ASSERT_TRUE(changes.ok()) << changes.error().message;
  EXPECT_EQ(*changes, (std::vector<ValidatorSetChange>{change_at(4, 3), change_at(6, 5)}));
}

TEST_F(BlockStoreValidatorsTest, ADamagedChangeIsCorruptLog) {
  {
    BlockStore store = open_ok();
    ASSERT_TRUE(store.append(block_at(1), change_at(3, 4)).ok());
  }
  const auto edit = [&](auto change) {
    leveldb::DB* raw = nullptr;
    ASSERT_TRUE(leveldb::DB::Open(leveldb::Options{}, temp_.path().string(), &raw).ok());
    const std::unique_ptr<leveldb::DB> db(raw);
    change(*db);
  };
  std::string intact;
  edit([&](leveldb::DB& db) { ASSERT_TRUE(db.Get(leveldb::ReadOptions{}, change_key(3), &intact).ok()); });
  std::string flipped = intact;
  flipped[20] = static_cast<char>(flipped[20] ^ 0x04);
  // A flipped bit; an intact record under another height's key; one cut short.
  for (const auto& [key, value] : std::vector<std::pair<std::string, std::string>>{
           {change_key(3), flipped}, {change_key(5), intact}, {change_key(3), intact.substr(0, 12)}}) {
    edit([&](leveldb::DB& db) {
      ASSERT_TRUE(db.Delete(leveldb::WriteOptions{}, change_key(3)).ok());
      ASSERT_TRUE(db.Put(leveldb::WriteOptions{}, key, value).ok());
    });
    {
      BlockStore store = open_ok();
      auto changes = store.validator_changes();
      ASSERT_FALSE(changes.ok());
      EXPECT_EQ(changes.error().code, Errc::corrupt_log) << changes.error().message;
    }
    edit([&](leveldb::DB& db) {
      ASSERT_TRUE(db.Delete(leveldb::WriteOptions{}, key).ok());
      ASSERT_TRUE(db.Put(leveldb::WriteOptions{}, change_key(3), intact).ok());
    });
  }
  BlockStore store = open_ok();
  EXPECT_TRUE(store.validator_changes().ok());
}

}  // namespace
}  // namespace bft::node
