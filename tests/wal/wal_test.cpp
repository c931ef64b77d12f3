// CRC32C vectors, record encoding, framing, segments, torn-tail repair and corruption in
// the middle, over the in-memory disk and over real files in a fresh temp directory.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "bft/wal/crc32c.hpp"
#include "bft/wal/sign_guard.hpp"
#include "bft/wal/wal.hpp"

namespace bft::wal {
namespace {

std::span<const std::uint8_t> as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

TEST(Crc32c, StandardVectors) {
  // RFC 3720 appendix B.4 and the common check value.
  EXPECT_EQ(crc32c(as_bytes("123456789")), 0xE3069283u);
  EXPECT_EQ(crc32c(as_bytes("")), 0u);
  std::vector<std::uint8_t> buf(32, 0);
  EXPECT_EQ(crc32c(buf), 0x8A9136AAu);
  std::fill(buf.begin(), buf.end(), 0xFF);
  EXPECT_EQ(crc32c(buf), 0x62A8AB43u);
  for (std::size_t i = 0; i < 32; ++i) buf[i] = static_cast<std::uint8_t>(i);
  EXPECT_EQ(crc32c(buf), 0x46DD794Eu);
  for (std::size_t i = 0; i < 32; ++i) buf[i] = static_cast<std::uint8_t>(31 - i);
  EXPECT_EQ(crc32c(buf), 0x113FDB5Cu);
}

TEST(Crc32c, TheInstructionAndTheTablesAgree) {
  if (!detail::has_crc32c_instruction()) GTEST_SKIP() << "this CPU has no crc32 instruction";
  EXPECT_EQ(detail::crc32c_instruction(as_bytes("123456789"), 0), 0xE3069283u);
  std::mt19937_64 random(7);
  std::vector<std::uint8_t> buffer(600);
  for (auto& byte : buffer) byte = static_cast<std::uint8_t>(random());
  for (int i = 0; i < 5000; ++i) {
    // Lengths from 0 to hundreds of bytes, at every alignment, from any earlier CRC.
    const std::size_t offset = random() % 16;
    const std::size_t length = random() % (buffer.size() - offset);
    const auto bytes = std::span<const std::uint8_t>(buffer).subspan(offset, length);
    const auto seed = static_cast<std::uint32_t>(random());
    ASSERT_EQ(detail::crc32c_instruction(bytes, seed), detail::crc32c_tables(bytes, seed)) << offset << " " << length;
  }
}

TEST(Crc32c, ExtendsAcrossSplits) {
  const std::string text = "The quick brown fox jumps over the lazy dog, twice over.";
  const auto all = crc32c(as_bytes(text));
  for (std::size_t cut = 0; cut <= text.size(); ++cut)
    EXPECT_EQ(crc32c(as_bytes(text).subspan(cut), crc32c(as_bytes(text).first(cut))), all) << cut;
}

ValidatorSet validators() {
  std::vector<Validator> vs;
  for (int i = 0; i < 4; ++i) vs.push_back(Validator{Address::from_text("v" + std::to_string(i)), 1, 1});
  return *ValidatorSet::create(std::move(vs));
}

Vote vote(VoteType type, Height h, Round r, std::optional<std::string> value, int voter) {
  Vote v{type, h, r, std::nullopt, Address::from_text("v" + std::to_string(voter))};
  if (value) v.value = Value::from_text(*value);
  return v;
}

std::vector<Record> sample_records(Height h) {
  Proposal p{h, 1, Value::from_text("block"), 0, Address::from_text("v1"),
             {vote(VoteType::prevote, h, 0, "block", 2), vote(VoteType::prevote, h, 0, "block", 3)}};
  Config config;
  config.propose.base = Duration{77};
  return {
      StartHeight{h, validators(), config},
      ProposeValue{h, Round{2}, Value::from_text("mine")},
      ProposeValue{h, std::nullopt, Value::from_text("any")},
      ReceivedProposal{p, Validity::unknown},
      vote(VoteType::precommit, h, 3, std::nullopt, 2),
      Certificate{{vote(VoteType::precommit, h, 0, "block", 1), vote(VoteType::precommit, h, 0, "block", 2)}},
      TimeoutFired{TimeoutKind::prevote, h, 4},
      VerifyResult{h, 1, Value::from_text("block"), true},
      OwnProposal{p, Bytes(64, 7)},
      OwnVote{vote(VoteType::prevote, h, 1, "block", 0), {}},
      PeerSignatures{{vote(VoteType::prevote, h, 0, "block", 2), vote(VoteType::precommit, h, 0, std::nullopt, 3)},
                     {Bytes(64, 9), Bytes(64, 10)}},
  };
}

Bytes encoded(const Record& r) {
  Bytes out;
  encode_record(r, out);
  return out;
}

TEST(Record, RoundTripsEveryKind) {
  for (const Record& r : sample_records(5)) {
    const Bytes bytes = encoded(r);
    auto back = decode_record(bytes);
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(back->index(), r.index());
    EXPECT_EQ(encoded(*back), bytes);
  }
  auto start = decode_record(encoded(sample_records(5)[0]));
  ASSERT_TRUE(start);
  EXPECT_EQ(std::get<StartHeight>(*start).validators, validators());
  EXPECT_EQ(std::get<StartHeight>(*start).config->propose.base, Duration{77});
}

// An input is logged without first becoming a Record: the bytes must be the record's,
// values named by index included.
TEST(Record, AnInputEncodesAsItsRecordDoes) {
  std::vector<Record> records = sample_records(5);
  const std::string block(100, 'b');  // long enough to be named by index
  records.push_back(vote(VoteType::prevote, 5, 0, block, 1));
  records.push_back(VerifyResult{5, 0, Value::from_text(block), true});
  for (const Record& r : records) {
    const std::optional<Input> input = input_of(r);
    if (!input) continue;
    EXPECT_EQ(encoded(r), [&] {
      Bytes out;
      encode_input(*input, out);
      return out;
    }()) << r.index();
    SegmentValues as_record, as_input;
    Bytes with_values, input_with_values;
    for (int twice = 0; twice < 2; ++twice) {  // the second time, values are named by index
      encode_record(r, with_values, &as_record);
      as_record.commit();
      encode_input(*input, input_with_values, &as_input);
      as_input.commit();
    }
    EXPECT_EQ(with_values, input_with_values) << r.index();
  }
}

// append_input() is append() for an input: the same records, under the same policy.
TEST(Wal, AnAppendedInputReadsBackAsItsRecordUnderTheSyncPolicy) {
  for (SyncPolicy policy : {SyncPolicy::every_record, SyncPolicy::manual}) {
    MemoryStorage disk;
    auto opened = Wal::open(disk, WalOptions{policy});
    ASSERT_TRUE(opened);
    ASSERT_TRUE(opened->wal.append_input(StartHeight{1, validators()}));
    ASSERT_TRUE(opened->wal.append_input(vote(VoteType::prevote, 1, 0, "x", 2)));
    disk.crash();
    auto back = Wal::open(disk);
    ASSERT_TRUE(back);
    if (policy == SyncPolicy::manual) {
      EXPECT_TRUE(back->records.empty());
      continue;
    }
    ASSERT_EQ(back->records.size(), 2u);
    EXPECT_EQ(std::get<StartHeight>(back->records[0]).validators, validators());
    EXPECT_EQ(std::get<Vote>(back->records[1]), vote(VoteType::prevote, 1, 0, "x", 2));
  }
}

TEST(Record, RejectsMalformedPayloads) {
  Bytes bytes = encoded(sample_records(5)[4]);
  for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
    auto r = decode_record(std::span<const std::uint8_t>(bytes).first(cut));
    EXPECT_FALSE(r) << cut;
  }
  Bytes trailing = bytes;
  trailing.push_back(0);
  EXPECT_EQ(decode_record(trailing).error().code, Errc::malformed);
  Bytes version = bytes;
  version[0] = record_version + 1;
  EXPECT_EQ(decode_record(version).error().code, Errc::unsupported_version);
  version[0] = 0;
  EXPECT_EQ(decode_record(version).error().code, Errc::unsupported_version);
  Bytes kind = bytes;
  kind[1] = 42;
  EXPECT_EQ(decode_record(kind).error().code, Errc::malformed);
}

Bytes frames(const std::vector<Record>& records) {
  Bytes out;
  for (const Record& r : records) append_frame(encoded(r), out);
  return out;
}

TEST(Segment, TornTailOfEveryLengthIsCutBackToTheLastGoodRecord) {
  const auto records = sample_records(3);
  const Bytes whole = frames(records);
  // The offsets where each record ends.
  std::vector<std::size_t> ends;
  std::size_t pos = 0;
  for (const Record& r : records) {
    pos += frame_header_size + encoded(r).size();
    ends.push_back(pos);
  }
  for (std::size_t cut = 0; cut <= whole.size(); ++cut) {
    auto scanned = scan_segment(std::span<const std::uint8_t>(whole).first(cut), 1 << 20);
    ASSERT_TRUE(scanned) << cut << ": " << scanned.error().message;
    const std::size_t complete = static_cast<std::size_t>(std::upper_bound(ends.begin(), ends.end(), cut) - ends.begin());
    EXPECT_EQ(scanned->records.size(), complete) << cut;
    EXPECT_EQ(scanned->good_bytes, complete == 0 ? 0 : ends[complete - 1]) << cut;
    EXPECT_EQ(scanned->tail_reason.empty(), cut == scanned->good_bytes) << cut;
  }
}

TEST(Segment, GarbageOrZerosAfterTheLastRecordAreATornTail) {
  const auto records = sample_records(3);
  Bytes bytes = frames(records);
  const std::size_t good = bytes.size();
  bytes.resize(good + 300, 0);  // a file extended with zeros by a crash
  auto scanned = scan_segment(bytes, 1 << 20);
  ASSERT_TRUE(scanned);
  EXPECT_EQ(scanned->good_bytes, good);
  EXPECT_EQ(scanned->records.size(), records.size());
  // The last record's payload damaged in place (a torn overwrite): also a tail.
  Bytes last = frames(records);
  last[last.size() - 2] ^= 0x10;
  scanned = scan_segment(last, 1 << 20);
  ASSERT_TRUE(scanned);
  EXPECT_EQ(scanned->records.size(), records.size() - 1);
  EXPECT_EQ(scanned->tail_reason, "a checksum mismatch");
}

TEST(Segment, CorruptionInTheMiddleIsAnErrorAtEveryByte) {
  const auto records = sample_records(3);
  const Bytes whole = frames(records);
  const std::size_t last_start = whole.size() - frame_header_size - encoded(records.back()).size();
  for (std::size_t at = 0; at < last_start; ++at) {
    Bytes bytes = whole;
    bytes[at] ^= 0x01;
    auto scanned = scan_segment(bytes, 1 << 20);
    ASSERT_FALSE(scanned) << "flipped byte " << at << " was not reported";
    EXPECT_EQ(scanned.error().code, Errc::corrupt_log);
    EXPECT_NE(scanned.error().message.find("middle"), std::string::npos) << scanned.error().message;
  }
}

std::size_t count_segments(MemoryStorage& disk) {
  std::size_t n = 0;
  for (const auto& [name, file] : disk.files())
    if (name.ends_with(".wal")) ++n;
  return n;
}

TEST(Wal, RefusesRecordsBeforeTheFirstHeightAndBadOptions) {
  MemoryStorage disk;
  auto opened = Wal::open(disk);
  ASSERT_TRUE(opened);
  EXPECT_EQ(opened->wal.append(TimeoutFired{}).error().code, Errc::invalid_argument);
  EXPECT_FALSE(Wal::open(disk, WalOptions{SyncPolicy::before_send, 1}));
}

TEST(Wal, OwnMessagesAreDurableOthersAreBatchedAndSegmentsRotateAndPrune) {
  MemoryStorage disk;
  auto opened = Wal::open(disk, WalOptions{SyncPolicy::before_send, 2});
  ASSERT_TRUE(opened);
  Wal& wal = opened->wal;
  ASSERT_TRUE(wal.append(StartHeight{1, validators()}));
  ASSERT_TRUE(wal.append(vote(VoteType::prevote, 1, 0, "x", 1)));
  EXPECT_GT(wal.unsynced_bytes(), 0u);
  ASSERT_TRUE(wal.append(OwnVote{vote(VoteType::prevote, 1, 0, "x", 0), {}}));
  EXPECT_EQ(wal.unsynced_bytes(), 0u);
  ASSERT_TRUE(wal.append(vote(VoteType::prevote, 1, 0, "x", 2)));  // lost in the crash
  disk.crash();
  auto reopened = Wal::open(disk, WalOptions{SyncPolicy::before_send, 2});
  ASSERT_TRUE(reopened);
  EXPECT_EQ(reopened->records.size(), 3u);
  EXPECT_TRUE(std::holds_alternative<OwnVote>(reopened->records.back()));
  for (Height h = 2; h <= 5; ++h) ASSERT_TRUE(reopened->wal.append(StartHeight{h, validators()}));
  EXPECT_EQ(count_segments(disk), 3u);  // keep_heights 2, and the current one
  EXPECT_TRUE(disk.files().count(segment_name(5)));
  EXPECT_TRUE(disk.files().count(segment_name(4)));
  EXPECT_TRUE(disk.files().count(segment_name(3)));
}

// The core buffers messages up to Config::future_heights (2) ahead, so the replay of a
// height needs the segments of the two heights before it. A crash right after a rotation
// can lose the new segment's StartHeight (it is not synced yet): the last height the log
// then holds is the one before, and its buffered messages must still be there. (Found by
// bft-sim --validators 4 --heights 50 --seed 20 --crash-restart: the replay diverged.)
TEST(Wal, KeepsWhatWasBufferedForTheLastDurableHeight) {
  for (Height per_segment : {1, 2, 4}) {
    MemoryStorage disk;
    WalOptions options;
    options.heights_per_segment = per_segment;
    auto opened = Wal::open(disk, options);
    ASSERT_TRUE(opened);
    Wal& wal = opened->wal;
    const Height crash_at = 1 + 3 * per_segment;  // a height that starts a segment
    const Vote early = vote(VoteType::prevote, crash_at - 1, 0, std::nullopt, 1);
    for (Height h = 1; h < crash_at - 3; ++h) ASSERT_TRUE(wal.append(StartHeight{h, validators()}));
    ASSERT_TRUE(wal.append(StartHeight{crash_at - 3, validators()}));
    ASSERT_TRUE(wal.append(early));  // heard two heights before its own
    for (Height h = crash_at - 2; h <= crash_at; ++h) ASSERT_TRUE(wal.append(StartHeight{h, validators()}));
    disk.crash();  // the last StartHeight was never synced

    auto reopened = Wal::open(disk, options);
    ASSERT_TRUE(reopened);
    Height last = 0;
    bool has_early = false;
    for (const Record& record : reopened->records) {
      if (const auto* start = std::get_if<StartHeight>(&record)) last = start->height;
      if (const auto* v = std::get_if<Vote>(&record)) has_early = has_early || *v == early;
    }
    EXPECT_EQ(last, crash_at - 1) << per_segment << " heights per segment";
    EXPECT_TRUE(has_early) << per_segment << " heights per segment";
  }
}

TEST(Wal, SegmentsHoldManyHeightsAndGoWhenAllTheirHeightsAreOld) {
  MemoryStorage disk;
  WalOptions options;
  options.heights_per_segment = 4;
  auto opened = Wal::open(disk, options);
  ASSERT_TRUE(opened);
  for (Height h = 1; h <= 21; ++h) ASSERT_TRUE(opened->wal.append(StartHeight{h, validators()}));
  // Segments start at 1, 5, 9, 13, 17, 21; at 21 the heights from 18 on are kept.
  EXPECT_EQ(count_segments(disk), 2u);
  EXPECT_TRUE(disk.files().count(segment_name(17)));
  EXPECT_TRUE(disk.files().count(segment_name(21)));
  EXPECT_EQ(opened->wal.segment_height(), 21u);
  auto reopened = Wal::open(disk, options);
  ASSERT_TRUE(reopened);
  EXPECT_EQ(reopened->records.size(), 4u);  // StartHeight 17..20; 21's is still buffered
  WalOptions none;
  none.heights_per_segment = 0;
  EXPECT_EQ(Wal::open(disk, none).error().code, Errc::invalid_argument);
}

// Heights of large records end a segment early: a restart reads the kept heights'
// segments, not heights_per_segment heights of large records.
TEST(Wal, ASegmentFullOfBytesEndsAtTheNextHeight) {
  MemoryStorage disk;
  WalOptions options;
  options.heights_per_segment = 64;
  options.max_segment_bytes = 100'000;
  auto opened = Wal::open(disk, options);
  ASSERT_TRUE(opened);
  for (Height h = 1; h <= 40; ++h) {
    // Each height: a StartHeight and one large vote for a value of its own.
    const std::string block(30'000, static_cast<char>('a' + h % 26));
    ASSERT_TRUE(opened->wal.append(StartHeight{h, validators()}));
    ASSERT_TRUE(opened->wal.append(vote(VoteType::prevote, h, 0, block, 1)));
    ASSERT_TRUE(opened->wal.sync());
  }
  // Segments of four heights (the fourth vote passes 100 KB); the ones holding the last
  // three heights besides the current are kept.
  EXPECT_TRUE(disk.files().count(segment_name(37)));
  EXPECT_LE(count_segments(disk), 2u);
  auto reopened = Wal::open(disk, options);
  ASSERT_TRUE(reopened);
  EXPECT_LE(reopened->records.size(), 16u);
}

/// Records compare by their encodings, every value written out.
std::vector<Bytes> encodings(const std::vector<Record>& records) {
  std::vector<Bytes> out;
  for (const Record& r : records) out.push_back(encoded(r));
  return out;
}

// A height's records name one large value many times (a block, in a node): the segment
// holds its bytes once, and reads back the same records.
std::vector<Record> one_height_of(Height h, const std::string& block) {
  Proposal p{h, 0, Value::from_text(block), -1, Address::from_text("v1"), {}};
  std::vector<Record> records{StartHeight{h, validators()}, ReceivedProposal{p, Validity::unknown},
                              VerifyResult{h, 0, Value::from_text(block), true}};
  for (int voter = 0; voter < 4; ++voter) records.push_back(vote(VoteType::prevote, h, 0, block, voter));
  records.push_back(OwnVote{vote(VoteType::precommit, h, 0, block, 0), Bytes(64, 1)});
  records.push_back(Certificate{{vote(VoteType::precommit, h, 0, block, 1), vote(VoteType::precommit, h, 0, block, 2),
                                 vote(VoteType::precommit, h, 0, block, 3)}});
  return records;
}

TEST(Wal, ASegmentWritesEachLargeValueOnce) {
  MemoryStorage disk;
  auto opened = Wal::open(disk);
  ASSERT_TRUE(opened);
  const std::string block(20'000, 'x');
  const auto records = one_height_of(1, block);
  for (const Record& r : records) ASSERT_TRUE(opened->wal.append(r));
  ASSERT_TRUE(opened->wal.sync());
  const auto& segment = disk.files().at(segment_name(1)).data;
  EXPECT_GT(segment.size(), block.size());
  EXPECT_LT(segment.size(), block.size() + 2'000);
  auto reopened = Wal::open(disk);
  ASSERT_TRUE(reopened);
  EXPECT_EQ(encodings(reopened->records), encodings(records));
}

TEST(Wal, EverySegmentReadsOnItsOwn) {
  MemoryStorage disk;
  auto opened = Wal::open(disk);  // one height per segment
  ASSERT_TRUE(opened);
  const std::string block(5'000, 'y');
  for (Height h = 1; h <= 2; ++h)
    for (const Record& r : one_height_of(h, block)) ASSERT_TRUE(opened->wal.append(r));
  ASSERT_TRUE(opened->wal.sync());
  // Height 2 names the value height 1 wrote, and writes it out again in its own segment.
  auto scanned = scan_segment(disk.files().at(segment_name(2)).data, 1 << 20);
  ASSERT_TRUE(scanned) << scanned.error().message;
  EXPECT_EQ(encodings(scanned->records), encodings(one_height_of(2, block)));
  EXPECT_EQ(scanned->values.size(), 1u);
}

TEST(Wal, RecordsAppendedAfterARepairedTailNameTheValuesBeforeIt) {
  MemoryStorage disk;
  const std::string block(5'000, 'z');
  auto records = one_height_of(1, block);
  {
    auto opened = Wal::open(disk);
    ASSERT_TRUE(opened);
    for (const Record& r : records) ASSERT_TRUE(opened->wal.append(r));
    ASSERT_TRUE(opened->wal.sync());
    ASSERT_TRUE(opened->wal.append_unsynced(vote(VoteType::precommit, 1, 1, block, 3)));  // written, not synced
  }
  disk.crash(7);  // a torn tail
  auto reopened = Wal::open(disk);
  ASSERT_TRUE(reopened);
  EXPECT_TRUE(reopened->report.repaired);
  EXPECT_EQ(encodings(reopened->records), encodings(records));
  const Record later = vote(VoteType::precommit, 1, 2, block, 3);
  ASSERT_TRUE(reopened->wal.append(later));
  ASSERT_TRUE(reopened->wal.sync());
  const std::size_t size_before_later = disk.files().at(segment_name(1)).data.size();
  records.push_back(later);
  auto again = Wal::open(disk);
  ASSERT_TRUE(again);
  EXPECT_EQ(encodings(again->records), encodings(records));
  EXPECT_LT(size_before_later, 2 * block.size());  // named, not written out again
}

TEST(Wal, ARefusedRecordLeavesNoValueBehindForLaterRecordsToName) {
  MemoryStorage disk;
  WalOptions options;
  options.max_record_size = 30'000;
  auto opened = Wal::open(disk, options);
  ASSERT_TRUE(opened);
  ASSERT_TRUE(opened->wal.append(StartHeight{1, validators()}));
  const std::string block(20'000, 'w');
  // Two distinct large values: too large together, so the record is refused.
  const Certificate too_large{{vote(VoteType::precommit, 1, 0, block, 1),
                               vote(VoteType::precommit, 1, 0, std::string(20'000, 'v'), 2)}};
  EXPECT_EQ(opened->wal.append(too_large).error().code, Errc::too_large);
  const Record fits = vote(VoteType::prevote, 1, 0, block, 1);
  ASSERT_TRUE(opened->wal.append(fits));
  ASSERT_TRUE(opened->wal.sync());
  auto reopened = Wal::open(disk, options);
  ASSERT_TRUE(reopened) << reopened.error().message;
  ASSERT_EQ(reopened->records.size(), 2u);
  EXPECT_EQ(encoded(reopened->records[1]), encoded(fits));
}

TEST(WalRecord, AnIndexNamingNoValueIsMalformed) {
  SegmentValues values;
  Bytes payload;
  encode_record(vote(VoteType::prevote, 1, 0, std::string(100, 'a'), 1), payload, &values);
  values.commit();
  Bytes second;
  encode_record(vote(VoteType::prevote, 1, 0, std::string(100, 'a'), 2), second, &values);
  EXPECT_LT(second.size(), 60u);
  // Read without the segment's values, or with none: the index names nothing.
  EXPECT_EQ(decode_record(second).error().code, Errc::malformed);
  SegmentValues empty;
  EXPECT_EQ(decode_record(second, &empty).error().code, Errc::malformed);
  EXPECT_TRUE(decode_record(second, &values));
}

TEST(WalRecord, VersionOnePayloadsAreStillRead) {
  // u8 1 (version), u8 4 (vote), prevote, height 9, round 1, a value, voter "v2": the
  // layout before values could be named by index.
  Bytes payload{1, 4, 1, 9, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1};
  const std::string value(70, 'q');
  payload.insert(payload.end(), {70, 0, 0, 0});
  payload.insert(payload.end(), value.begin(), value.end());
  payload.insert(payload.end(), {2, 0, 0, 0, 'v', '2'});
  auto decoded = decode_record(payload);
  ASSERT_TRUE(decoded) << decoded.error().message;
  EXPECT_EQ(std::get<Vote>(*decoded), vote(VoteType::prevote, 9, 1, value, 2));
}

TEST(Wal, EveryRecordPolicySyncsEachAppendManualSyncsNone) {
  for (SyncPolicy policy : {SyncPolicy::every_record, SyncPolicy::manual}) {
    MemoryStorage disk;
    auto opened = Wal::open(disk, WalOptions{policy});
    ASSERT_TRUE(opened);
    ASSERT_TRUE(opened->wal.append(StartHeight{1, validators()}));
    ASSERT_TRUE(opened->wal.append(OwnVote{vote(VoteType::prevote, 1, 0, "x", 0), {}}));
    disk.crash();
    auto back = Wal::open(disk);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->records.size(), policy == SyncPolicy::every_record ? 2u : 0u);
  }
}

// append_unsynced() leaves an own message to the caller's sync(), whatever the policy.
TEST(Wal, AnUnsyncedOwnMessageIsDurableOnlyAfterSync) {
  for (SyncPolicy policy : {SyncPolicy::before_send, SyncPolicy::every_record}) {
    MemoryStorage disk;
    auto opened = Wal::open(disk, WalOptions{policy});
    ASSERT_TRUE(opened);
    Wal& wal = opened->wal;
    ASSERT_TRUE(wal.append(StartHeight{1, validators()}));
    ASSERT_TRUE(wal.sync());
    ASSERT_TRUE(wal.append_unsynced(OwnVote{vote(VoteType::prevote, 1, 0, "x", 0), {}}));
    EXPECT_GT(wal.unsynced_bytes(), 0u);
    disk.crash();
    auto lost = Wal::open(disk, WalOptions{policy});
    ASSERT_TRUE(lost);
    EXPECT_EQ(lost->records.size(), 1u);  // the StartHeight only
    ASSERT_TRUE(lost->wal.append_unsynced(OwnVote{vote(VoteType::prevote, 1, 0, "x", 0), {}}));
    ASSERT_TRUE(lost->wal.sync());
    EXPECT_EQ(lost->wal.unsynced_bytes(), 0u);
    disk.crash();
    auto kept = Wal::open(disk, WalOptions{policy});
    ASSERT_TRUE(kept);
    ASSERT_EQ(kept->records.size(), 2u);
    EXPECT_TRUE(std::holds_alternative<OwnVote>(kept->records.back()));
  }
}

TEST(Wal, RepairsATornTailDurablyAndReportsIt) {
  for (std::size_t torn = 1; torn < 40; ++torn) {
    MemoryStorage disk;
    auto opened = Wal::open(disk);
    ASSERT_TRUE(opened);
    ASSERT_TRUE(opened->wal.append(StartHeight{1, validators()}));
    ASSERT_TRUE(opened->wal.append(OwnVote{vote(VoteType::prevote, 1, 0, "x", 0), {}}));
    ASSERT_TRUE(opened->wal.append(vote(VoteType::prevote, 1, 0, "x", 1)));
    ASSERT_TRUE(opened->wal.sync());
    disk.fail_after_writes(1, torn);
    EXPECT_EQ(opened->wal.append(OwnVote{vote(VoteType::precommit, 1, 0, "x", 0), {}}).error().code, Errc::io_error);
    EXPECT_EQ(opened->wal.append(vote(VoteType::prevote, 1, 0, "x", 2)).error().code, Errc::io_error);  // closed
    disk.restart();
    auto back = Wal::open(disk);
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(back->records.size(), 3u);
    EXPECT_TRUE(back->report.repaired) << torn;
    EXPECT_EQ(back->report.bytes_removed, torn);
    // The cut is durable: a crash now changes nothing, and appending continues cleanly.
    disk.crash();
    auto again = Wal::open(disk);
    ASSERT_TRUE(again);
    EXPECT_FALSE(again->report.repaired);
    ASSERT_TRUE(again->wal.append(OwnVote{vote(VoteType::precommit, 1, 0, "x", 0), {}}));
    disk.crash();
    EXPECT_EQ(Wal::open(disk)->records.size(), 4u);
  }
}

// A failed fsync: the own vote is never durable, so never sent; the log stops (every
// later call fails) and after a restart holds what the last good sync made durable.
TEST(Wal, AFailedSyncStopsTheLogAndLosesOnlyWhatWasNotDurable) {
  MemoryStorage disk;
  auto opened = Wal::open(disk);
  ASSERT_TRUE(opened);
  ASSERT_TRUE(opened->wal.append(StartHeight{1, validators()}));
  ASSERT_TRUE(opened->wal.append(vote(VoteType::prevote, 1, 0, "x", 1)));
  ASSERT_TRUE(opened->wal.sync());
  disk.fail_next_sync();
  EXPECT_EQ(opened->wal.append(OwnVote{vote(VoteType::prevote, 1, 0, "x", 0), {}}).error().code, Errc::io_error);
  EXPECT_EQ(opened->wal.append(vote(VoteType::prevote, 1, 0, "x", 2)).error().code, Errc::io_error);
  EXPECT_TRUE(disk.crashed());
  disk.restart();
  auto back = Wal::open(disk);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->records.size(), 2u);
}

TEST(Wal, CorruptionInTheMiddleOrInAnOlderSegmentStopsTheOpen) {
  MemoryStorage disk;
  {
    auto opened = Wal::open(disk);
    ASSERT_TRUE(opened);
    for (Height h = 1; h <= 2; ++h)
      for (const Record& r : sample_records(h)) ASSERT_TRUE(opened->wal.append(r));
    ASSERT_TRUE(opened->wal.sync());
  }
  MemoryStorage middle = disk;
  middle.files()[segment_name(2)].data[20] ^= 0xFF;
  auto r = Wal::open(middle);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::corrupt_log);
  EXPECT_NE(r.error().message.find(segment_name(2)), std::string::npos);

  MemoryStorage older = disk;
  auto& data = older.files()[segment_name(1)].data;
  data.back() ^= 0xFF;  // the last record of a segment that was synced whole
  r = Wal::open(older);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::corrupt_log);
  EXPECT_NE(r.error().message.find("synced whole"), std::string::npos) << r.error().message;
}

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "bft-wal-test-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) std::abort();
    path_ = pattern;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(PosixWal, WritesSyncsReopensAndRepairsARealFile) {
  TempDir dir;
  auto storage = open_directory(dir.path() + "/wal");
  ASSERT_TRUE(storage) << storage.error().message;
  {
    auto opened = Wal::open(**storage);
    ASSERT_TRUE(opened);
    for (const Record& r : sample_records(1)) ASSERT_TRUE(opened->wal.append(r));
    ASSERT_TRUE(opened->wal.sync());
  }
  // A torn write at the end of the file.
  {
    auto file = (*storage)->open(segment_name(1), false);
    ASSERT_TRUE(file);
    const std::uint8_t partial[5] = {200, 0, 0, 0, 1};
    ASSERT_TRUE((*file)->append(partial));
  }
  auto back = Wal::open(**storage);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->records.size(), sample_records(1).size());
  EXPECT_TRUE(back->report.repaired);
  EXPECT_EQ(back->report.bytes_removed, 5u);
  EXPECT_EQ(std::filesystem::file_size(dir.path() + "/wal/" + segment_name(1)), frames(sample_records(1)).size());
  EXPECT_FALSE(open_directory(dir.path() + "/wal/" + segment_name(1)));  // not a directory
}

// Preallocated segments: records overwrite zeros written ahead; a sealed segment is cut
// to its records; the newest one's zeros are no damage after a crash, and appending
// continues where the records end.
TEST(PosixWal, PreallocatedSegmentsHoldTheSameRecords) {
  TempDir dir;
  auto storage = open_directory(dir.path() + "/wal");
  ASSERT_TRUE(storage) << storage.error().message;
  const auto path = [&](Height h) { return dir.path() + "/wal/" + segment_name(h); };
  WalOptions options;
  options.preallocate_bytes = 64 << 10;
  {
    auto opened = Wal::open(**storage, options);
    ASSERT_TRUE(opened);
    for (const Record& r : sample_records(1)) ASSERT_TRUE(opened->wal.append(r));
    ASSERT_TRUE(opened->wal.sync());
    EXPECT_EQ(std::filesystem::file_size(path(1)), 64u << 10);
    for (const Record& r : sample_records(2)) ASSERT_TRUE(opened->wal.append(r));
    ASSERT_TRUE(opened->wal.sync());
    EXPECT_EQ(std::filesystem::file_size(path(1)), frames(sample_records(1)).size());  // sealed
    EXPECT_EQ(std::filesystem::file_size(path(2)), 64u << 10);
  }
  // Reopened as after a crash: the zeros are cut, nothing is reported as repaired.
  {
    auto back = Wal::open(**storage, options);
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(back->records.size(), 2 * sample_records(1).size());
    EXPECT_FALSE(back->report.repaired);
    EXPECT_EQ(back->report.segments, 2u);
    ASSERT_TRUE(back->wal.append(vote(VoteType::prevote, 2, 5, "late", 1)));
    ASSERT_TRUE(back->wal.sync());
  }
  auto again = Wal::open(**storage, options);
  ASSERT_TRUE(again) << again.error().message;
  ASSERT_EQ(again->records.size(), 2 * sample_records(1).size() + 1);
  EXPECT_EQ(encoded(again->records.back()), encoded(vote(VoteType::prevote, 2, 5, "late", 1)));
  EXPECT_FALSE(again->report.repaired);
}

// The guard's preallocated files: a record durably signed survives a reopen, the zeros
// after it are no damage, and a conflicting message is still refused.
TEST(PosixWal, APreallocatedGuardFileRemembersWhatWasSigned) {
  TempDir dir;
  auto storage = open_directory(dir.path() + "/guard");
  ASSERT_TRUE(storage) << storage.error().message;
  const Vote signed_vote = vote(VoteType::precommit, 3, 0, "x", 0);
  Vote other = signed_vote;
  other.value = std::nullopt;
  {
    auto guard = SignGuard::open(**storage, SignGuard::default_keep_heights, 16 << 10);
    ASSERT_TRUE(guard);
    ASSERT_TRUE(guard->authorize(signed_vote));
  }
  std::uintmax_t preallocated = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path() + "/guard"))
    preallocated = std::max(preallocated, entry.file_size());
  EXPECT_GE(preallocated, 16u << 10);
  for (int reopen = 0; reopen < 2; ++reopen) {
    auto guard = SignGuard::open(**storage, SignGuard::default_keep_heights, 16 << 10);
    ASSERT_TRUE(guard) << guard.error().message;
    EXPECT_EQ(guard->authorize(other).error().code, Errc::already_signed);
    EXPECT_TRUE(guard->authorize(signed_vote));
    ASSERT_TRUE(guard->authorize(vote(VoteType::prevote, 4, reopen, "y", 0)));  // appends after a reopen
  }
  auto last = SignGuard::open(**storage);
  ASSERT_TRUE(last);
  EXPECT_EQ(last->authorize(vote(VoteType::prevote, 4, 1, std::nullopt, 0)).error().code, Errc::already_signed);
}

// Torn bytes before the zeros are still a repair, reported.
TEST(Wal, ATornRecordInPreallocatedSpaceIsStillReported) {
  MemoryStorage disk;
  {
    auto opened = Wal::open(disk);
    ASSERT_TRUE(opened);
    for (const Record& r : sample_records(1)) ASSERT_TRUE(opened->wal.append(r));
    ASSERT_TRUE(opened->wal.sync());
  }
  MemoryStorage::File& file = disk.files()[segment_name(1)];
  const std::size_t content = file.data.size();
  file.data.resize(content + 4096, 0);  // preallocated zeros
  file.synced = file.data.size();
  auto clean = Wal::open(disk);
  ASSERT_TRUE(clean);
  EXPECT_FALSE(clean->report.repaired);
  EXPECT_EQ(disk.files()[segment_name(1)].data.size(), content);

  MemoryStorage::File& again = disk.files()[segment_name(1)];
  again.data.resize(content + 4096, 0);
  again.data[content] = 200;  // the start of a record that never completed
  again.synced = again.data.size();
  auto torn = Wal::open(disk);
  ASSERT_TRUE(torn);
  EXPECT_TRUE(torn->report.repaired);
  EXPECT_EQ(torn->report.bytes_removed, 4096u);
}

}  // namespace
}  // namespace bft::wal
