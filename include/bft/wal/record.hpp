// What the WAL records: the core's inputs that matter for recovery, plus markers for the
// messages this node signed (its own proposals and votes, made durable before they are
// sent). Each record's payload has a small versioned encoding of its own:
//
//   payload      = u8 version (1)  u8 kind  body
//   kind 1 start_height   u64 height  validators  u8 has_config [config]
//   kind 2 propose_value  u64 height  u8 has_round [i64 round]  bytes value
//   kind 3 proposal       u8 validity  proposal            (received, or own fed back)
//   kind 4 vote           vote                              (received, or own fed back)
//   kind 5 certificate    u32 count, count x vote
//   kind 6 timeout        u8 kind  u64 height  i64 round
//   kind 7 verify_result  u64 height  i64 round  bytes value  u8 valid
//   kind 8 own_proposal   proposal  bytes signature        (signed by this node)
//   kind 9 own_vote       vote  bytes signature            (signed by this node)
//   vote         = u8 type  u64 height  i64 round  u8 has_value [bytes value]  bytes voter
//   proposal     = u64 height  i64 round  i64 valid_round  bytes value  bytes proposer
//                  u32 count, count x vote (lock votes)
//   validators   = u32 count, count x (bytes address  u64 power  u64 propose_weight)
//   config       = 6 x i64 ms (propose/prevote/precommit base, per_round)  i64 max_round
//                  u64 x 5 (max_future_rounds_per_sender, max_proposals_per_round,
//                  future_heights, max_buffered_per_sender, max_pending_verdicts)
//   bytes        = u32 length, length bytes; integers little-endian, fixed width.
//
// The network's canonical codec (bft::codec) encodes *signed* messages with a fixed
// 64-byte signature and compresses lock votes to signatures; the WAL stores the core's
// unsigned inputs exactly as the core saw them, so it has this encoding of its own.
#pragma once

#include <span>
#include <variant>

#include "bft/bytes.hpp"
#include "bft/core.hpp"
#include "bft/result.hpp"

namespace bft::wal {

inline constexpr std::uint8_t record_version = 1;

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

using Record = std::variant<StartHeight, ProposeValue, ReceivedProposal, Vote, Certificate, TimeoutFired,
                            VerifyResult, OwnProposal, OwnVote>;

/// The record of a core input (every Input alternative has one).
Record record_of(Input input);
/// The input a record replays, or nullopt for an own-message marker.
std::optional<Input> input_of(const Record& record);
/// Whether the record marks a message this node signed (durable before it is sent).
bool is_own(const Record& record) noexcept;

void encode_record(const Record& record, Bytes& out);
/// Errors: unsupported_version, malformed (truncated, unknown kind, enum out of range,
/// trailing bytes, a validator set that does not validate).
Result<Record> decode_record(std::span<const std::uint8_t> payload);

}  // namespace bft::wal
