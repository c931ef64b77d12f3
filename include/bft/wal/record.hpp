// What the WAL records: the core's inputs that matter for recovery, plus markers for the
// messages this node signed (its own proposals and votes, made durable before they are
// sent). Each record's payload has a small versioned encoding of its own:
//
//   payload      = u8 version (2)  u8 kind  body
//   kind 1 start_height   u64 height  validators  u8 has_config [config]
//   kind 2 propose_value  u64 height  u8 has_round [i64 round]  value
//   kind 3 proposal       u8 validity  proposal            (received, or own fed back)
//   kind 4 vote           vote                              (received, or own fed back)
//   kind 5 certificate    u32 count, count x vote
//   kind 6 timeout        u8 kind  u64 height  i64 round
//   kind 7 verify_result  u64 height  i64 round  value  u8 valid
//   kind 8 own_proposal   proposal  bytes signature        (signed by this node)
//   kind 9 own_vote       vote  bytes signature            (signed by this node)
//   kind 10 peer_signatures  u32 count, count x (vote  bytes signature)
//                                                           (peers' signatures of votes
//                                                            the core accepted)
//   vote         = u8 type  u64 height  i64 round  u8 has_value [value]  bytes voter
//   proposal     = u64 height  i64 round  i64 valid_round  value  bytes proposer
//                  u32 count, count x vote (lock votes)
//   value        = u8 0  bytes value           (written out)
//                | u8 1  u32 index             (the index-th value written out in this
//                                               segment, counting only those of at least
//                                               SegmentValues::min_indexed_size bytes)
//   validators   = u32 count, count x (bytes address  u64 power  u64 propose_weight)
//   config       = 6 x i64 ms (propose/prevote/precommit base, per_round)  i64 max_round
//                  u64 x 5 (max_future_rounds_per_sender, max_proposals_per_round,
//                  future_heights, max_buffered_per_sender, max_pending_verdicts)
//   bytes        = u32 length, length bytes; integers little-endian, fixed width.
//
// Why values by index: a node's value is a whole block, and the proposal, every vote of
// the round, the certificate and the verdict all name it; written out each time, the log
// held the block a dozen times per height. A segment writes each value out once and names
// it by index after that, so a segment reads on its own (the first value of a segment is
// always written out). Version 1 payloads (values always written out, no tag) are read
// too.
//
// The network's canonical codec (bft::codec) encodes *signed* messages with a fixed
// 64-byte signature and compresses lock votes to signatures; the WAL stores the core's
// unsigned inputs exactly as the core saw them, so it has this encoding of its own.
#pragma once

#include <optional>
#include <span>
#include <variant>
#include <vector>

#include "bft/bytes.hpp"
#include "bft/core.hpp"
#include "bft/result.hpp"

namespace bft::wal {

inline constexpr std::uint8_t record_version = 2;

/// The values one segment has written out so far, by index, for its records to name. A
/// record's new values are staged while it is encoded or decoded and join the table by
/// commit() once the record is in the segment (or read whole), or are dropped by
/// discard().
class SegmentValues {
 public:
  /// Smaller values are written out every time: an index would save little.
  static constexpr std::size_t min_indexed_size = 64;

  /// The index of a value equal to `value`, among those committed and staged.
  std::optional<std::uint32_t> find(const Value& value) const;
  /// The value of `index`, committed or staged; null if there is none.
  const Value* at(std::uint32_t index) const;
  /// Gives `value` the next index, if it is large enough to be named by one.
  void stage(const Value& value);
  void commit() noexcept { committed_ = values_.size(); }
  void discard() { values_.resize(committed_); }
  /// A new segment: no values yet.
  void clear() noexcept {
    values_.clear();
    committed_ = 0;
  }
  std::size_t size() const noexcept { return committed_; }

 private:
  std::vector<Value> values_;  // committed first, then staged
  std::size_t committed_ = 0;
};

/// A proposal this node signed (and is about to send). `signature` may be empty where the
/// caller does not sign (the simulator).
struct OwnProposal {
  Proposal proposal;
  Bytes signature;
  friend bool operator==(const OwnProposal&, const OwnProposal&) = default;
};

struct OwnVote {
  Vote vote;
  Bytes signature;
  friend bool operator==(const OwnVote&, const OwnVote&) = default;
};

/// Peers' signatures of votes the core accepted (a vote, a proposal's proof of lock, a
/// certificate's votes), logged after the input that brought them. The core's inputs
/// carry no signatures, so without these a restarted node would hold the votes that
/// decided a height or locked it on a value, but could not show them to anyone: it could
/// not build its commit certificate nor prove its lock, and a height only it decided
/// would wait for a certificate nobody has.
struct PeerSignatures {
  std::vector<Vote> votes;
  std::vector<Bytes> signatures;  // signatures[i] signs votes[i]
  friend bool operator==(const PeerSignatures&, const PeerSignatures&) = default;
};

using Record = std::variant<StartHeight, ProposeValue, ReceivedProposal, Vote, Certificate, TimeoutFired,
                            VerifyResult, OwnProposal, OwnVote, PeerSignatures>;

/// The record of a core input (every Input alternative has one).
Record record_of(Input input);
/// The input a record replays, or nullopt for an own-message marker or signatures.
std::optional<Input> input_of(const Record& record);
/// Whether the record marks a message this node signed (durable before it is sent).
bool is_own(const Record& record) noexcept;

/// With `values`, a value the segment holds is named by its index and new ones are staged
/// in it; without, every value is written out.
void encode_record(const Record& record, Bytes& out, SegmentValues* values = nullptr);
/// The bytes of record_of(input), without making that copy of the input.
void encode_input(const Input& input, Bytes& out, SegmentValues* values = nullptr);
/// `values`: the segment's values so far, where the record's new ones are staged. Errors:
/// unsupported_version, malformed (truncated, unknown kind, enum out of range, trailing
/// bytes, a validator set that does not validate, an index naming no value).
Result<Record> decode_record(std::span<const std::uint8_t> payload, SegmentValues* values = nullptr);

}  // namespace bft::wal
