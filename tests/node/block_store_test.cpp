// The block store: durable appends read back after reopening, torn tails of every length
// cut back, corruption anywhere else reported, replay into the application.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <thread>
#include <fstream>
#include <iterator>

#include "bft/node/block_store.hpp"
#include "bft/node/kv.hpp"

namespace bft::node {
namespace {

namespace fs = std::filesystem;

Block block_at(Height h, std::size_t value_size = 10) {
  Block b;
  b.height = h;
  b.value = encode_block(std::vector<Command>{{"k" + std::to_string(h), std::string(value_size, 'v')}});
  b.certificate = Bytes{0xce, static_cast<std::uint8_t>(h), 0x00, 0xff};
  b.meta = BlockMeta{1'700'000'000'000 + h, static_cast<std::uint32_t>(100 + h)};
  return b;
}

class BlockStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "bft-block-store-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string dir() const { return dir_.string(); }
  fs::path file() const { return dir_ / BlockStore::file_name; }

  BlockStore open_ok() {
    auto store = BlockStore::open(dir());
    EXPECT_TRUE(store.ok()) << store.error().message;
    return std::move(store).value();
  }

  /// A store holding heights 1..n; returns the file size after each append.
  std::vector<std::uintmax_t> fill(Height n) {
    auto store = open_ok();
    std::vector<std::uintmax_t> sizes;
    for (Height h = 1; h <= n; ++h) {
      EXPECT_TRUE(store.append(block_at(h)).ok());
      sizes.push_back(fs::file_size(file()));
    }
    return sizes;
  }

  Bytes read_file() const {
    std::ifstream in(file(), std::ios::binary);
    return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  void write_file(const Bytes& bytes) const {
    std::ofstream out(file(), std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  }

  fs::path dir_;
};

TEST_F(BlockStoreTest, AppendsAndReadsBackAfterReopen) {
  {
    auto store = open_ok();
    EXPECT_EQ(store.tip(), 0u);
    for (Height h = 1; h <= 3; ++h) ASSERT_TRUE(store.append(block_at(h)).ok());
    EXPECT_EQ(store.tip(), 3u);
    auto second = store.get(2);
    ASSERT_TRUE(second.ok());
    EXPECT_EQ(*second, block_at(2));
  }
  auto store = open_ok();
  EXPECT_EQ(store.tip(), 3u);
  EXPECT_FALSE(store.recovery().repaired);
  EXPECT_EQ(store.recovery().blocks, 3u);
  for (Height h = 1; h <= 3; ++h) {
    auto got = store.get(h);
    ASSERT_TRUE(got.ok()) << got.error().message;
    ASSERT_TRUE(got->has_value());
    EXPECT_EQ(**got, block_at(h));
  }
  for (Height absent : {Height{0}, Height{4}, Height{1000}}) {
    auto got = store.get(absent);
    ASSERT_TRUE(got.ok());
    EXPECT_FALSE(got->has_value());
  }
  ASSERT_TRUE(store.append(block_at(4)).ok()) << "appending continues after reopen";
  EXPECT_EQ(**store.get(4), block_at(4));
}

TEST_F(BlockStoreTest, ReadersOnAnotherThreadSeeEveryAppendedBlockIntact) {
  auto store = open_ok();
  std::atomic<bool> done{false};
  std::atomic<int> bad{0};
  std::thread reader([&] {
    while (!done.load()) {
      const Height tip = store.tip();
      if (tip == 0) continue;
      auto block = store.get(tip);
      if (!block.ok() || !*block || **block != block_at(tip)) ++bad;
      auto range = store.read_range(tip > 5 ? tip - 5 : 1, 10, SIZE_MAX);
      if (!range.ok() || range->empty()) ++bad;
    }
  });
  for (Height h = 1; h <= 300; ++h) ASSERT_TRUE(store.append(block_at(h)).ok());
  done = true;
  reader.join();
  EXPECT_EQ(bad.load(), 0);
}

TEST_F(BlockStoreTest, EmptyValuesCertificatesAndLargeValues) {
  Block empty{1, Value{}, Bytes{}, BlockMeta{}};
  Block large = block_at(2, 4000);
  large.certificate = Bytes(100'000, 0x5a);
  {
    auto store = open_ok();
    ASSERT_TRUE(store.append(empty).ok());
    ASSERT_TRUE(store.append(large).ok());
  }
  auto reopened = open_ok();
  EXPECT_EQ(**reopened.get(1), empty);
  EXPECT_EQ(**reopened.get(2), large);
}

TEST_F(BlockStoreTest, HeightsMustBeConsecutiveFromOne) {
  auto store = open_ok();
  auto skip = store.append(block_at(2));
  EXPECT_EQ(fs::file_size(file()), 0u) << "a refused append writes nothing";
  ASSERT_FALSE(skip.ok());
  EXPECT_EQ(skip.error().code, Errc::invalid_argument);
  ASSERT_TRUE(store.append(block_at(1)).ok());
  EXPECT_FALSE(store.append(block_at(1)).ok());
  EXPECT_FALSE(store.append(block_at(3)).ok());
  EXPECT_EQ(store.tip(), 1u);
}

TEST_F(BlockStoreTest, RefusesRecordsAboveTheLimit) {
  auto store = BlockStore::open(dir(), BlockStoreOptions{200});
  ASSERT_TRUE(store.ok());
  auto big = store->append(block_at(1, 300));
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.error().code, Errc::too_large);
  EXPECT_TRUE(store->append(block_at(1, 10)).ok());
  EXPECT_FALSE(BlockStore::open(dir() + "/other", BlockStoreOptions{3}).ok()) << "a limit below a record's fixed part";
}

TEST_F(BlockStoreTest, SecondOpenOfTheSameStoreIsRefused) {
  auto first = open_ok();
  auto second = BlockStore::open(dir());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, Errc::io_error);
}

TEST_F(BlockStoreTest, IteratesFromAHeightAndStopsAtTheVisitorsError) {
  fill(5);
  auto store = open_ok();
  std::vector<Height> seen;
  ASSERT_TRUE(store.for_each_from(3, [&](const Block& b) -> Result<void> {
                     seen.push_back(b.height);
                     EXPECT_EQ(b, block_at(b.height));
                     return {};
                   }).ok());
  EXPECT_EQ(seen, (std::vector<Height>{3, 4, 5}));
  seen.clear();
  auto stopped = store.for_each_from(0, [&](const Block& b) -> Result<void> {
    seen.push_back(b.height);
    if (b.height == 2) return make_error(Errc::invalid_argument, "stop here");
    return {};
  });
  ASSERT_FALSE(stopped.ok());
  EXPECT_EQ(stopped.error().message, "stop here");
  EXPECT_EQ(seen, (std::vector<Height>{1, 2}));
  EXPECT_TRUE(store.for_each_from(6, [](const Block&) -> Result<void> { return make_error(Errc::invalid_argument, "none"); }).ok());
}

TEST_F(BlockStoreTest, ReadRangeHonoursCountAndBytes) {
  fill(5);
  auto store = open_ok();
  auto range = store.read_range(2, 2, 1 << 20);
  ASSERT_TRUE(range.ok());
  ASSERT_EQ(range->size(), 2u);
  EXPECT_EQ((*range)[0], block_at(2));
  EXPECT_EQ((*range)[1], block_at(3));
  const std::size_t one = block_at(1).value.size() + block_at(1).certificate.size();
  EXPECT_EQ(store.read_range(1, 100, 2 * one)->size(), 2u);
  EXPECT_EQ(store.read_range(1, 100, 0)->size(), 1u) << "the first block always goes, or sync would stall";
  EXPECT_EQ(store.read_range(4, 100, 1 << 20)->size(), 2u);
  EXPECT_TRUE(store.read_range(6, 100, 1 << 20)->empty());
}

TEST_F(BlockStoreTest, ReplayRebuildsTheApplication) {
  KvStore live;
  {
    auto store = open_ok();
    for (Height h = 1; h <= 20; ++h) {
      ASSERT_TRUE(store.append(block_at(h)).ok());
      ASSERT_TRUE(live.apply(h, block_at(h).value).ok());
    }
  }
  KvStore replayed;
  auto store = open_ok();
  ASSERT_TRUE(store.for_each_from(1, [&](const Block& b) { return replayed.apply(b.height, b.value); }).ok());
  EXPECT_EQ(replayed.height(), 20u);
  EXPECT_EQ(replayed.app_hash(), live.app_hash());
  EXPECT_EQ(replayed.get("k7"), live.get("k7"));
}

TEST_F(BlockStoreTest, TornTailOfEveryLengthIsCutBack) {
  const auto sizes = fill(3);
  const Bytes full = read_file();
  const std::uintmax_t two = sizes[1];
  for (std::uintmax_t keep = two + 1; keep < sizes[2]; ++keep) {
    write_file(Bytes(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(keep)));
    auto store = BlockStore::open(dir());
    ASSERT_TRUE(store.ok()) << "kept " << keep << ": " << store.error().message;
    EXPECT_EQ(store->tip(), 2u) << keep;
    EXPECT_TRUE(store->recovery().repaired);
    EXPECT_EQ(store->recovery().repaired_at, two);
    EXPECT_EQ(store->recovery().bytes_removed, keep - two);
    EXPECT_FALSE(store->recovery().reason.empty());
    EXPECT_EQ(fs::file_size(file()), two) << "the cut is made on disk";
    ASSERT_TRUE(store->append(block_at(3)).ok());
  }
  EXPECT_EQ(read_file(), full) << "after every cut, the re-appended block restores the same bytes";
}

TEST_F(BlockStoreTest, TornTailWithGarbageOfFullLengthIsCutBack) {
  const auto sizes = fill(3);
  Bytes bytes = read_file();
  std::fill(bytes.begin() + static_cast<std::ptrdiff_t>(sizes[1]) + 8, bytes.end(), std::uint8_t{0});
  write_file(bytes);
  {
    auto store = open_ok();
    EXPECT_EQ(store.tip(), 2u);
    EXPECT_EQ(store.recovery().reason, "a checksum mismatch");
  }
  // Zeros only, where not even the header reached the disk.
  Bytes zero_tail = read_file();
  zero_tail.resize(zero_tail.size() + 40, 0);
  write_file(zero_tail);
  auto zeros = open_ok();
  EXPECT_EQ(zeros.tip(), 2u);
  EXPECT_EQ(zeros.recovery().bytes_removed, 40u);
}

TEST_F(BlockStoreTest, DamageFollowedByAnIntactRecordIsCorruption) {
  const auto sizes = fill(3);
  const Bytes full = read_file();
  // Every single byte of the first two records, flipped, makes the store refuse to open.
  for (std::uintmax_t at = 0; at < sizes[1]; ++at) {
    Bytes bytes = full;
    bytes[at] ^= 0x40;
    write_file(bytes);
    auto store = BlockStore::open(dir());
    ASSERT_FALSE(store.ok()) << "flipped byte " << at;
    EXPECT_EQ(store.error().code, Errc::corrupt_log) << at << ": " << store.error().message;
  }
  write_file(full);
  EXPECT_EQ(open_ok().tip(), 3u);
}

TEST_F(BlockStoreTest, IntactRecordWithTheWrongHeightIsCorruption) {
  const auto sizes = fill(1);
  Bytes bytes = read_file();
  bytes.insert(bytes.end(), bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(sizes[0]));
  write_file(bytes);
  auto store = BlockStore::open(dir());
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code, Errc::corrupt_log);
  EXPECT_NE(store.error().message.find("expected 2"), std::string::npos) << store.error().message;
}

TEST_F(BlockStoreTest, DamageAfterOpenIsReportedOnRead) {
  fill(2);
  auto store = open_ok();
  Bytes bytes = read_file();
  bytes[bytes.size() - 1] ^= 1;
  {
    // Rewrite in place (same inode), as bit rot would.
    std::fstream out(file(), std::ios::binary | std::ios::in | std::ios::out);
    out.seekp(static_cast<std::streamoff>(bytes.size() - 1));
    out.put(static_cast<char>(bytes.back()));
  }
  auto damaged = store.get(2);
  ASSERT_FALSE(damaged.ok());
  EXPECT_EQ(damaged.error().code, Errc::corrupt_log);
  EXPECT_TRUE(store.get(1).ok());
  EXPECT_FALSE(store.for_each_from(1, [](const Block&) -> Result<void> { return {}; }).ok());
}

}  // namespace
}  // namespace bft::node
