// A WAL segment's bytes, as a crash or a bad disk may leave them: scanning never
// crashes, stops at damage, and the records it accepts, written again, read back the same.
#include "bft/codec/codec.hpp"
#include "bft/wal/record.hpp"
#include "bft/wal/wal.hpp"
#include "fixture.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> input(data, size);
  const auto scanned = bft::wal::scan_segment(input, 1 << 20);
  if (!scanned.ok()) return 0;
  bft::fuzz::require(scanned->good_bytes <= size, "the good prefix lies within the input");
  bft::fuzz::require(scanned->tail_reason.empty() == (scanned->good_bytes == size),
                     "a damaged tail is reported exactly when bytes were left over");
  // Written again as a segment, the records read back the same (the bytes may differ: an
  // input may be of version 1, or write out a value it could have named by index).
  bft::Bytes again;
  bft::wal::SegmentValues values;
  for (const bft::wal::Record& record : scanned->records) {
    bft::Bytes payload;
    bft::wal::encode_record(record, payload, &values);
    values.commit();
    bft::wal::append_frame(payload, again);
  }
  const auto rescanned = bft::wal::scan_segment(again, 1 << 20);
  bft::fuzz::require(rescanned.ok() && rescanned->tail_reason.empty() &&
                         rescanned->records.size() == scanned->records.size(),
                     "the records, written again, read back whole");
  for (std::size_t i = 0; i < scanned->records.size(); ++i) {
    bft::Bytes original;
    bft::Bytes reread;
    bft::wal::encode_record(scanned->records[i], original);
    bft::wal::encode_record(rescanned->records[i], reread);
    bft::fuzz::require(original == reread, "each record reads back as it was");
  }
  return 0;
}
