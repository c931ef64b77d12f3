// The bytes a signature covers. They are domain-separated (a tag per message kind and
// format version), bound to one chain, and fixed-size apart from the chain id and the
// signer's address, so a signature cannot be replayed as another message, on another
// chain, for another height, round, type or value, or on behalf of another validator.
//
//   vote:     u8 10 "bft-vote/1"     u8 len chain_id  u8 type  u64 height  u64 round
//             (u8 0 | u8 1 sha256(value)[32])  u32 len voter
//   proposal: u8 14 "bft-proposal/1" u8 len chain_id  u64 height  u64 round
//             i64 valid_round  sha256(value)[32]  u32 len proposer
//
// Integers are little-endian; the value enters only through its SHA-256.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>

#include "bft/bytes.hpp"
#include "bft/codec/hash.hpp"
#include "bft/codec/messages.hpp"
#include "bft/result.hpp"
#include "bft/types.hpp"

namespace bft::codec {

/// Names the chain (network) a signature is valid for.
class ChainId {
 public:
  static constexpr std::size_t max_size = 64;

  /// Errors: invalid_argument (empty, longer than max_size, or not printable ASCII).
  static Result<ChainId> create(std::string_view name);

  std::string_view view() const noexcept { return name_; }

  friend bool operator==(const ChainId&, const ChainId&) = default;

 private:
  explicit ChainId(std::string name) : name_(std::move(name)) {}
  std::string name_;
};

/// The SHA-256 of the last few distinct values, which is all of a value that a signature
/// covers: the proposal and every vote of a round name the same value (a whole block, in
/// a node), so a node that signs and checks them all hashes it once, not once per vote.
/// One per thread: it is not synchronized.
class ValueDigests {
 public:
  const Digest& of(const Value& value);
  /// A value of these bytes: a copy of a cached one (sharing its buffer) when they are
  /// equal. A decoder that takes its values from here allocates a round's block once, not
  /// once per vote, and the core's comparisons of those values are pointer comparisons.
  Value intern(std::span<const std::uint8_t> bytes) const;

 private:
  struct Entry {
    Value value;
    Digest digest{};
  };
  static constexpr std::size_t capacity = 4;
  std::array<Entry, capacity> entries_;
  std::size_t filled_ = 0;
  std::size_t next_ = 0;  // the slot the next new value takes: the oldest
};

/// `digests`, when given, supplies the value's hash.
Bytes vote_sign_bytes(const ChainId& chain, const Vote& vote, ValueDigests* digests = nullptr);
/// Lock votes are not covered: each carries its own voter's signature.
Bytes proposal_sign_bytes(const ChainId& chain, const Proposal& proposal, ValueDigests* digests = nullptr);
Bytes proposal_sign_bytes(const ChainId& chain, const SignedProposal& proposal, ValueDigests* digests = nullptr);

}  // namespace bft::codec
