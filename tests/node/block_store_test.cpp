// The block store on LevelDB: round trips, consecutive heights, bounded pruning that
// survives reopening, the old format and a second opener refused, damage found on read,
// readers on other threads while the node appends and prunes.
#include <gtest/gtest.h>
#include <leveldb/db.h>
#include <leveldb/env.h>
#include <leveldb/helpers/memenv.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "bft/node/block_store.hpp"
#include "bft/wal/crc32c.hpp"
#include "temp_dir.hpp"

namespace bft::node {
namespace {

namespace fs = std::filesystem;

/// A record's fixed fields, its results' two counts (none listed) and its CRC, as the
/// header documents them.
constexpr std::size_t record_overhead = 1 + 8 + 8 + 4 + 32 + 4 + 4 + 4 + 4;

StoredBlock block_at(Height h, std::size_t certificate_size = 16) {
  StoredBlock b;
  b.height = h;
  b.certificate.resize(certificate_size);
  for (std::size_t i = 0; i < certificate_size; ++i) b.certificate[i] = static_cast<std::uint8_t>(h * 31 + i);
  b.app_hash.fill(static_cast<std::uint8_t>(h));
  b.app_hash[0] = 0xa5;
  b.meta = BlockMeta{1'700'000'000'000 + h, static_cast<std::uint32_t>(100 + h)};
  return b;
}

/// The LevelDB key of a height, as the header documents it.
std::string key_of(Height h) {
  std::string key(1, 'b');
  for (int shift = 56; shift >= 0; shift -= 8) key.push_back(static_cast<char>(h >> shift));
  return key;
}

class BlockStoreTest : public ::testing::Test {
 protected:
  std::string dir() const { return dir_.string(); }

  BlockStore open_ok(BlockStoreOptions options = {}) {
    auto store = BlockStore::open(dir(), options);
    EXPECT_TRUE(store.ok()) << store.error().message;
    return std::move(store).value();
  }

  void fill(BlockStore& store, Height to) {
    for (Height h = store.tip() + 1; h <= to; ++h) ASSERT_TRUE(store.append(block_at(h)).ok()) << h;
  }

  /// Runs `edit` on the store's LevelDB directly, the store being closed.
  template <class Edit>
  void edit_database(Edit edit) {
    leveldb::DB* raw = nullptr;
    const leveldb::Status status = leveldb::DB::Open(leveldb::Options{}, dir(), &raw);
    ASSERT_TRUE(status.ok()) << status.ToString();
    const std::unique_ptr<leveldb::DB> db(raw);
    edit(*db);
  }

  testing::TempDir temp_{"bft-block-store"};
  fs::path dir_ = temp_.path();
};

void expect_error(const Error& error, Errc code, const std::string& in_message) {
  EXPECT_EQ(error.code, code) << error.message;
  EXPECT_NE(error.message.find(in_message), std::string::npos) << error.message;
}

TEST_F(BlockStoreTest, AppendsAndReadsBack) {
  auto store = open_ok();
  EXPECT_EQ(store.base(), 0u);
  EXPECT_EQ(store.tip(), 0u);
  EXPECT_EQ(store.directory(), dir());
  const std::vector<StoredBlock> blocks{block_at(1), block_at(2, 0), block_at(3, 1 << 20), block_at(4)};
  std::uint64_t record_bytes = 0;
  for (const auto& block : blocks) {
    ASSERT_TRUE(store.append(block).ok());
    record_bytes += record_overhead + block.certificate.size();
  }
  EXPECT_EQ(store.base(), 1u);
  EXPECT_EQ(store.tip(), 4u);
  EXPECT_EQ(store.bytes_written(), record_bytes);
  for (const auto& block : blocks) {
    auto got = store.get(block.height);
    ASSERT_TRUE(got.ok()) << got.error().message;
    ASSERT_TRUE(got->has_value());
    EXPECT_EQ(**got, block);
  }
  for (Height outside : {Height{0}, Height{5}, Height{1000}}) {
    auto got = store.get(outside);
    ASSERT_TRUE(got.ok());
    EXPECT_FALSE(got->has_value()) << outside;
  }
  auto all = store.read_range(0, 100, std::size_t{4} << 20);
  ASSERT_TRUE(all.ok()) << all.error().message;
  EXPECT_EQ(*all, blocks);
}

// The simulator keeps each node's store in memory: LevelDB's MemEnv, whose files outlive
// the store that wrote them, as a disk's do.
TEST_F(BlockStoreTest, KeepsItsFilesWhereItsEnvironmentSays) {
  const std::unique_ptr<leveldb::Env> memory(leveldb::NewMemEnv(leveldb::Env::Default()));
  const std::string nowhere = (dir_ / "in-memory").string();
  BlockStoreOptions options;
  options.env = memory.get();
  {
    auto store = BlockStore::open(nowhere, options);
    ASSERT_TRUE(store) << store.error().message;
    fill(*store, 5);
  }
  EXPECT_FALSE(fs::exists(nowhere));
  auto reopened = BlockStore::open(nowhere, options);
  ASSERT_TRUE(reopened) << reopened.error().message;
  EXPECT_EQ(reopened->tip(), 5u);
  const auto read = reopened->get(3);
  ASSERT_TRUE(read && *read);
  EXPECT_EQ(**read, block_at(3));
  auto on_disk = BlockStore::open(nowhere);  // the file system holds none of it
  ASSERT_TRUE(on_disk) << on_disk.error().message;
  EXPECT_EQ(on_disk->tip(), 0u);
}

TEST_F(BlockStoreTest, ReadRangeHonoursCountAndBytes) {
  auto store = open_ok();
  fill(store, 10);  // certificates of 16 bytes
  const auto heights = [&](Height from, std::size_t max_blocks, std::size_t max_bytes) {
    auto range = store.read_range(from, max_blocks, max_bytes);
    EXPECT_TRUE(range.ok()) << range.error().message;
    std::vector<Height> out;
    for (const auto& block : *range) {
      EXPECT_EQ(block, block_at(block.height));
      out.push_back(block.height);
    }
    return out;
  };
  EXPECT_EQ(heights(3, 4, 1000), (std::vector<Height>{3, 4, 5, 6}));
  EXPECT_EQ(heights(8, 100, 1000), (std::vector<Height>{8, 9, 10}));
  EXPECT_EQ(heights(2, 100, 48), (std::vector<Height>{2, 3, 4}));
  EXPECT_EQ(heights(2, 100, 47), (std::vector<Height>{2, 3}));
  EXPECT_EQ(heights(5, 100, 0), (std::vector<Height>{5}));  // the first always fits
  EXPECT_TRUE(heights(11, 100, 1000).empty());
  EXPECT_TRUE(heights(1, 0, 1000).empty());
}

TEST_F(BlockStoreTest, HeightsMustBeConsecutiveFromOne) {
  auto store = open_ok();
  expect_error(store.append(block_at(2)).error(), Errc::invalid_argument, "expected 1");
  expect_error(store.append(block_at(0)).error(), Errc::invalid_argument, "expected 1");
  ASSERT_TRUE(store.append(block_at(1)).ok());
  expect_error(store.append(block_at(1)).error(), Errc::invalid_argument, "expected 2");
  expect_error(store.append(block_at(3)).error(), Errc::invalid_argument, "expected 2");
  ASSERT_TRUE(store.append(block_at(2)).ok());
  EXPECT_EQ(store.tip(), 2u);
}

TEST_F(BlockStoreTest, RecordsAboveTheLimitAreRefusedAndTheStoreGoesOn) {
  BlockStoreOptions options;
  options.max_record_size = record_overhead + 100;
  auto store = open_ok(options);
  ASSERT_TRUE(store.append(block_at(1, 100)).ok());
  expect_error(store.append(block_at(2, 101)).error(), Errc::too_large, "height 2");
  EXPECT_EQ(store.tip(), 1u);
  EXPECT_TRUE(store.append(block_at(2, 100)).ok());
}

TEST_F(BlockStoreTest, BadOptionsAreRefused) {
  BlockStoreOptions no_pruning;
  no_pruning.max_prune_per_call = 0;
  EXPECT_EQ(BlockStore::open(dir(), no_pruning).error().code, Errc::invalid_argument);
  BlockStoreOptions tiny_records;
  tiny_records.max_record_size = 10;
  EXPECT_EQ(BlockStore::open(dir(), tiny_records).error().code, Errc::invalid_argument);
}

TEST_F(BlockStoreTest, ReopenKeepsTipAndBase) {
  {
    auto store = open_ok();
    fill(store, 7);
  }
  auto store = open_ok();
  EXPECT_EQ(store.base(), 1u);
  EXPECT_EQ(store.tip(), 7u);
  auto seventh = store.get(7);
  ASSERT_TRUE(seventh.ok());
  EXPECT_EQ(**seventh, block_at(7));
  EXPECT_EQ(store.bytes_written(), 0u);  // counts this instance's appends
  expect_error(store.append(block_at(7)).error(), Errc::invalid_argument, "expected 8");
  EXPECT_TRUE(store.append(block_at(8)).ok());
}

TEST_F(BlockStoreTest, PruneIsBoundedPerCallAndNeverDeletesTheTip) {
  BlockStoreOptions options;
  options.max_prune_per_call = 10;
  auto store = open_ok(options);
  fill(store, 25);
  for (auto [expected_deleted, expected_base] : {std::pair<Height, Height>{10, 11}, {10, 21}, {4, 25}}) {
    auto deleted = store.prune_below(1000);
    ASSERT_TRUE(deleted.ok()) << deleted.error().message;
    EXPECT_EQ(*deleted, expected_deleted);
    EXPECT_EQ(store.base(), expected_base);
  }
  EXPECT_EQ(*store.prune_below(1000), 0u);
  EXPECT_EQ(store.base(), 25u);
  EXPECT_EQ(store.tip(), 25u);
  EXPECT_FALSE(store.get(24)->has_value());
  auto tip = store.get(25);
  ASSERT_TRUE(tip.ok());
  EXPECT_EQ(**tip, block_at(25));
  EXPECT_TRUE(store.append(block_at(26)).ok());
  EXPECT_EQ(store.base(), 25u);
}

TEST_F(BlockStoreTest, PruneKeepsTheRetainHeightAndItsBaseSurvivesReopen) {
  {
    auto store = open_ok();
    fill(store, 10);
    EXPECT_EQ(*store.prune_below(5), 4u);
    EXPECT_EQ(*store.prune_below(5), 0u);
    EXPECT_EQ(*store.prune_below(3), 0u);
    EXPECT_EQ(store.base(), 5u);
  }
  auto store = open_ok();
  EXPECT_EQ(store.base(), 5u);
  EXPECT_EQ(store.tip(), 10u);
  for (Height h = 1; h < 5; ++h) {
    auto got = store.get(h);
    ASSERT_TRUE(got.ok()) << got.error().message;
    EXPECT_FALSE(got->has_value()) << h;
  }
  auto fifth = store.get(5);
  ASSERT_TRUE(fifth.ok());
  EXPECT_EQ(**fifth, block_at(5));
  auto range = store.read_range(1, 3, 1000);
  ASSERT_TRUE(range.ok()) << range.error().message;
  EXPECT_EQ(*range, (std::vector<StoredBlock>{block_at(5), block_at(6), block_at(7)}));
  EXPECT_TRUE(store.append(block_at(11)).ok());
  EXPECT_EQ(store.base(), 5u);
}

TEST_F(BlockStoreTest, AnEmptyStoreHasNothingToReadOrPrune) {
  auto store = open_ok();
  EXPECT_EQ(*store.prune_below(100), 0u);
  EXPECT_FALSE(store.get(1)->has_value());
  EXPECT_TRUE(store.read_range(0, 10, 1000)->empty());
  EXPECT_EQ(store.base(), 0u);
  EXPECT_EQ(store.tip(), 0u);
}

TEST_F(BlockStoreTest, OldFormatDirectoryIsRefusedAndLeftAlone) {
  const fs::path old_log = dir_ / "blocks.log";
  { std::ofstream(old_log, std::ios::binary) << "old records"; }
  auto store = BlockStore::open(dir());
  ASSERT_FALSE(store.ok());
  expect_error(store.error(), Errc::invalid_argument, "older bftcore format");
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 1);
  std::ifstream in(old_log, std::ios::binary);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()), "old records");
}

TEST_F(BlockStoreTest, SecondOpenOfTheSameStoreIsRefused) {
  {
    auto first = open_ok();
    fill(first, 2);
    auto second = BlockStore::open(dir());
    ASSERT_FALSE(second.ok());
    expect_error(second.error(), Errc::io_error, "already open");
    EXPECT_EQ(first.tip(), 2u);  // the refused opener changed nothing
    EXPECT_TRUE(first.append(block_at(3)).ok());
  }
  EXPECT_EQ(open_ok().tip(), 3u);  // closing released the lock
}

TEST_F(BlockStoreTest, DamagedRecordIsCorruptLogNamingTheHeight) {
  {
    auto store = open_ok();
    fill(store, 3);
  }
  edit_database([](leveldb::DB& db) {
    std::string value;
    ASSERT_TRUE(db.Get(leveldb::ReadOptions{}, key_of(2), &value).ok());
    value[value.size() / 2] = static_cast<char>(value[value.size() / 2] ^ 0x01);
    ASSERT_TRUE(db.Put(leveldb::WriteOptions{}, key_of(2), value).ok());
  });
  auto store = open_ok();
  EXPECT_TRUE(store.get(1).ok());
  auto damaged = store.get(2);
  ASSERT_FALSE(damaged.ok());
  expect_error(damaged.error(), Errc::corrupt_log, "height 2");
  expect_error(damaged.error(), Errc::corrupt_log, "checksum");
  auto range = store.read_range(1, 10, 1000);
  ASSERT_FALSE(range.ok());
  expect_error(range.error(), Errc::corrupt_log, "height 2");
}

TEST_F(BlockStoreTest, KeepsEachTransactionsCodeAndLogListingOnlyThoseThatSaySomething) {
  auto store = open_ok();
  StoredBlock plain = block_at(1);
  plain.tx_results = std::vector<TxResult>(3);
  StoredBlock mixed = block_at(2);
  mixed.tx_results = std::vector<TxResult>{{}, {5, "no funds", {}}, {}, {code_ok, "noted", {9, 9}}, {code_ok, "", {7}}};
  ASSERT_TRUE(store.append(plain).ok());
  const std::uint64_t after_plain = store.bytes_written();
  EXPECT_EQ(after_plain, record_overhead + plain.certificate.size()) << "results of code 0 take no room";
  ASSERT_TRUE(store.append(mixed).ok());
  EXPECT_EQ(store.bytes_written() - after_plain, record_overhead + mixed.certificate.size() + (12 + 8) + (12 + 5));
  auto got = store.get(1);
  ASSERT_TRUE(got.ok() && *got);
  EXPECT_EQ(**got, plain);
  got = store.get(2);
  ASSERT_TRUE(got.ok() && *got);
  // The data is not kept: GET /tx/<id> answers codes and logs.
  EXPECT_EQ((*got)->tx_results,
            (std::vector<TxResult>{{}, {5, "no funds", {}}, {}, {code_ok, "noted", {}}, {}}));
}

TEST_F(BlockStoreTest, LogsThatWouldNotFitAreDroppedNotTheBlock) {
  BlockStoreOptions options;
  options.max_record_size = record_overhead + 16 + 12 + 100;
  auto store = open_ok(options);
  StoredBlock block = block_at(1);
  block.tx_results = std::vector<TxResult>{{4, std::string(200, 'x'), {}}};
  ASSERT_TRUE(store.append(block).ok());
  auto got = store.get(1);
  ASSERT_TRUE(got.ok() && *got);
  EXPECT_EQ((*got)->tx_results, (std::vector<TxResult>{{4, "", {}}})) << "the code stays";
}

/// `record` with its CRC32C recomputed: damage the checksum does not catch.
std::string with_crc(std::string record) {
  record.resize(record.size() - 4);
  const std::uint32_t crc =
      wal::crc32c(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(record.data()), record.size()));
  for (int i = 0; i < 4; ++i) record.push_back(static_cast<char>(crc >> (8 * i)));
  return record;
}

TEST_F(BlockStoreTest, ARecordOfVersionOneHasNoResults) {
  {
    auto store = open_ok();
    fill(store, 2);
  }
  // Version 1: the same record without the results after the certificate.
  edit_database([](leveldb::DB& db) {
    std::string record;
    ASSERT_TRUE(db.Get(leveldb::ReadOptions{}, key_of(2), &record).ok());
    record.erase(record.size() - 4 - 8, 8);
    record[0] = 1;
    ASSERT_TRUE(db.Put(leveldb::WriteOptions{}, key_of(2), with_crc(record)).ok());
  });
  auto store = open_ok();
  auto got = store.get(2);
  ASSERT_TRUE(got.ok() && *got) << (got.ok() ? "missing" : got.error().message);
  StoredBlock expected = block_at(2);
  expected.tx_results.reset();
  EXPECT_EQ(**got, expected);
}

TEST_F(BlockStoreTest, ResultsThatDoNotAddUpAreCorruptLog) {
  {
    auto store = open_ok();
    StoredBlock block = block_at(1);
    block.tx_results = std::vector<TxResult>{{}, {5, "no", {}}};
    ASSERT_TRUE(store.append(block).ok());
  }
  std::string intact;
  edit_database([&](leveldb::DB& db) { ASSERT_TRUE(db.Get(leveldb::ReadOptions{}, key_of(1), &intact).ok()); });
  // The results start after the fixed fields and the certificate of 16 bytes; the listed
  // result is index, code, log length, log.
  const std::size_t results_at = record_overhead - 4 - 8 + 16;
  const auto damaged_with = [&](std::size_t at, std::uint8_t byte, const std::string& why) {
    std::string record = intact;
    record[at] = static_cast<char>(byte);
    edit_database([&](leveldb::DB& db) { ASSERT_TRUE(db.Put(leveldb::WriteOptions{}, key_of(1), with_crc(record)).ok()); });
    auto store = open_ok();
    auto got = store.get(1);
    ASSERT_FALSE(got.ok()) << why;
    expect_error(got.error(), Errc::corrupt_log, "height 1");
  };
  damaged_with(results_at, 0xff, "more results than the block can hold");
  damaged_with(results_at + 4, 2, "more listed results than there are");
  damaged_with(results_at + 8, 7, "a listed index beyond the block");
  damaged_with(results_at + 16, 60, "a log longer than the record");
  damaged_with(results_at + 16, 1, "bytes after the last result");
}

TEST_F(BlockStoreTest, IntactRecordUnderTheWrongHeightIsCorruptLog) {
  {
    auto store = open_ok();
    fill(store, 3);
  }
  edit_database([](leveldb::DB& db) {
    std::string third;
    ASSERT_TRUE(db.Get(leveldb::ReadOptions{}, key_of(3), &third).ok());
    ASSERT_TRUE(db.Put(leveldb::WriteOptions{}, key_of(2), third).ok());
  });
  auto store = open_ok();
  auto moved = store.get(2);
  ASSERT_FALSE(moved.ok());
  expect_error(moved.error(), Errc::corrupt_log, "holds height 3");
}

TEST_F(BlockStoreTest, MissingRecordInsideTheRangeIsCorruptLog) {
  {
    auto store = open_ok();
    fill(store, 3);
  }
  edit_database([](leveldb::DB& db) { ASSERT_TRUE(db.Delete(leveldb::WriteOptions{}, key_of(2)).ok()); });
  auto store = open_ok();
  expect_error(store.get(2).error(), Errc::corrupt_log, "height 2");
  expect_error(store.read_range(1, 10, 1000).error(), Errc::corrupt_log, "height 2");
}

TEST_F(BlockStoreTest, DamagedOrNewerBookkeepingIsRefusedOnOpen) {
  {
    auto store = open_ok();
    fill(store, 3);
  }
  std::string bookkeeping;
  edit_database([&](leveldb::DB& db) {
    ASSERT_TRUE(db.Get(leveldb::ReadOptions{}, "m", &bookkeeping).ok());
    std::string damaged = bookkeeping;
    damaged[5] = static_cast<char>(damaged[5] ^ 0x40);
    ASSERT_TRUE(db.Put(leveldb::WriteOptions{}, "m", damaged).ok());
  });
  expect_error(BlockStore::open(dir()).error(), Errc::corrupt_log, "bookkeeping");
  edit_database([&](leveldb::DB& db) {
    std::string newer = bookkeeping;
    newer[0] = 2;
    ASSERT_TRUE(db.Put(leveldb::WriteOptions{}, "m", newer).ok());
  });
  expect_error(BlockStore::open(dir()).error(), Errc::unsupported_version, "format 2");
}

/// The log LevelDB appends to: the newest *.log file.
fs::path newest_log(const fs::path& dir) {
  fs::path newest;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.path().extension() == ".log" && entry.path().filename() > newest.filename()) newest = entry.path();
  return newest;
}

TEST_F(BlockStoreTest, AppendCutShortInLevelDbsLogIsDroppedWhole) {
  {
    auto store = open_ok();
    fill(store, 3);
  }
  const fs::path log = newest_log(dir_);
  ASSERT_FALSE(log.empty());
  fs::resize_file(log, fs::file_size(log) - 1);
  auto store = open_ok();
  EXPECT_EQ(store.tip(), 2u);  // the record and its bookkeeping went together
  EXPECT_EQ(**store.get(2), block_at(2));
  EXPECT_TRUE(store.append(block_at(3)).ok());
}

// paranoid_checks: a log record of full length whose checksum fails is not skipped.
TEST_F(BlockStoreTest, DamagedRecordInLevelDbsLogFailsTheOpen) {
  {
    auto store = open_ok();
    fill(store, 3);
  }
  const fs::path log = newest_log(dir_);
  ASSERT_FALSE(log.empty());
  {
    std::fstream file(log, std::ios::in | std::ios::out | std::ios::binary);
    file.seekg(-1, std::ios::end);
    const char last = static_cast<char>(file.get());
    file.seekp(-1, std::ios::end);
    file.put(static_cast<char>(last ^ 0x01));
  }
  auto store = BlockStore::open(dir());
  ASSERT_FALSE(store.ok());
  expect_error(store.error(), Errc::corrupt_log, dir());
}

// Clients read on their own threads while the node appends and prunes: every block they
// get is intact and every range is consecutive, whatever the interleaving.
TEST_F(BlockStoreTest, ReadersOnOtherThreadsWhileAppendingAndPruning) {
  constexpr Height blocks = 2000;
  BlockStoreOptions options;
  options.max_prune_per_call = 25;
  auto store = open_ok(options);
  std::atomic<bool> done{false};
  std::atomic<std::uint64_t> reads{0};
  const auto reader = [&](unsigned seed) {
    std::uint64_t state = seed;
    while (!done.load()) {
      const Height tip = store.tip();
      if (tip == 0) continue;
      auto latest = store.get(tip);
      ASSERT_TRUE(latest.ok()) << latest.error().message;
      ASSERT_TRUE(latest->has_value()) << tip;
      ASSERT_EQ(**latest, block_at(tip));
      state = state * 6364136223846793005u + 1442695040888963407u;
      const Height any = 1 + (state >> 33) % tip;  // may be pruned meanwhile: nullopt then
      auto older = store.get(any);
      ASSERT_TRUE(older.ok()) << older.error().message;
      if (older->has_value()) {
        ASSERT_EQ(**older, block_at(any));
      }
      auto range = store.read_range(any, 20, 1 << 20);
      ASSERT_TRUE(range.ok()) << range.error().message;
      ASSERT_FALSE(range->empty());
      ASSERT_GE(range->front().height, any);
      for (std::size_t i = 0; i < range->size(); ++i) ASSERT_EQ((*range)[i], block_at(range->front().height + i));
      reads.fetch_add(1);
    }
  };
  std::thread first(reader, 1);
  std::thread second(reader, 2);
  for (Height h = 1; h <= blocks; ++h) {
    if (!store.append(block_at(h)).ok()) {
      ADD_FAILURE() << "append " << h;
      break;
    }
    if (h % 10 == 0 && h > 100) {
      EXPECT_TRUE(store.prune_below(h - 100).ok()) << h;
    }
  }
  done.store(true);
  first.join();
  second.join();
  EXPECT_GT(reads.load(), 0u);
  EXPECT_EQ(store.tip(), blocks);
  EXPECT_EQ(store.base(), blocks - 100);  // 25 per call keeps up with 10 new heights
}

}  // namespace
}  // namespace bft::node
