// The canonical wire format, version 1. Every message has exactly one encoding; the
// decoder accepts that encoding and nothing else, so the bytes that are signed, stored
// and hashed are well defined.
//
//   envelope    = u8 version (1)  u8 kind (1 proposal, 2 vote, 3 certificate)  body
//   vote        = u8 type (1 prevote, 2 precommit)  u64 height  u64 round  opt_value
//                 bytes voter  sig
//   proposal    = u64 height  u64 round  i64 valid_round  bytes value  bytes proposer  sig
//                 signatures (prevotes for (height, valid_round, value); none if
//                 valid_round = -1)
//   certificate = u8 type  u64 height  u64 round  opt_value  signatures
//   opt_value   = u8 0 (nil) | u8 1 bytes
//   signatures  = u32 count, count x (bytes voter  sig), voters strictly ascending
//   bytes       = u32 length, length bytes;  sig = 64 bytes
//
// Integers are fixed-width little-endian (so every number has one form); rounds are
// in [0, 2^63), valid_round in [-1, round). Each standalone message encodes as its
// envelope, so encode(vote) == encode(Message{vote}).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "bft/bytes.hpp"
#include "bft/codec/messages.hpp"
#include "bft/result.hpp"

namespace bft::codec {

class ValueDigests;  // sign_bytes.hpp

inline constexpr std::uint8_t format_version = 1;

enum class MessageKind : std::uint8_t { proposal = 1, vote = 2, certificate = 3 };

/// Bounds on every variable-length field the decoder accepts, so that a peer cannot make
/// a node allocate more than it chose to.
struct Limits {
  std::size_t max_value_size = std::size_t{1} << 20;
  std::size_t max_address_size = 64;
  /// Signatures in a certificate or a proposal's proof of lock: at least the largest
  /// validator set the node runs with.
  std::size_t max_signatures = 10'000;
};

/// Appends the encoding to `out`, so that one buffer can serve many messages.
void encode_to(const SignedVote& vote, Bytes& out);
void encode_to(const SignedProposal& proposal, Bytes& out);
void encode_to(const QuorumCertificate& certificate, Bytes& out);
void encode_to(const Message& message, Bytes& out);

Bytes encode(const SignedVote& vote);
Bytes encode(const SignedProposal& proposal);
Bytes encode(const QuorumCertificate& certificate);
Bytes encode(const Message& message);

/// Each decoder takes exactly one encoded message. Errors: unsupported_version,
/// malformed (truncated, another message kind, an enum or field out of range),
/// too_large (a length or count above `limits`), non_canonical (trailing bytes, voters
/// out of order or repeated). The message says what and at which byte offset.
Result<SignedVote> decode_vote(std::span<const std::uint8_t> bytes, const Limits& limits = {});
Result<SignedProposal> decode_proposal(std::span<const std::uint8_t> bytes,
                                       const Limits& limits = {});
Result<QuorumCertificate> decode_certificate(std::span<const std::uint8_t> bytes,
                                             const Limits& limits = {});
/// `known`, when given, supplies values: a decoded value equal to one it holds shares its
/// buffer instead of being copied.
Result<Message> decode_message(std::span<const std::uint8_t> bytes, const Limits& limits = {},
                               const ValueDigests* known = nullptr);

}  // namespace bft::codec
