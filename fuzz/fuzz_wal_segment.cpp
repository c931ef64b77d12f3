// A WAL segment's bytes, as a crash or a bad disk may leave them: scanning never
// crashes, stops at damage, and what it accepts is exactly the frames it read.
#include <algorithm>

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
  bft::Bytes again;
  for (const bft::wal::Record& record : scanned->records) {
    bft::Bytes payload;
    bft::wal::encode_record(record, payload);
    bft::wal::append_frame(payload, again);
  }
  bft::fuzz::require(again.size() == scanned->good_bytes && std::equal(again.begin(), again.end(), data),
                     "the records re-frame to the good prefix");
  return 0;
}
