#include "bft/codec/sign_bytes.hpp"

#include <algorithm>
#include <string_view>

#include "bft/codec/hash.hpp"
#include "wire.hpp"

namespace bft::codec {

namespace {

constexpr std::string_view vote_tag = "bft-vote/1";
constexpr std::string_view proposal_tag = "bft-proposal/1";

void put_short_text(Bytes& out, std::string_view text) {
  wire::put_u8(out, static_cast<std::uint8_t>(text.size()));
  out.insert(out.end(), text.begin(), text.end());
}

Digest digest_of(const Value& value, ValueDigests* digests) {
  return digests ? digests->of(value) : sha256(value.bytes());
}

Bytes proposal_bytes(const ChainId& chain, Height height, Round round, Round valid_round,
                     const Value& value, const Address& proposer, ValueDigests* digests) {
  Bytes out;
  out.reserve(1 + proposal_tag.size() + 1 + chain.view().size() + 8 + 8 + 8 + 32 + 4 +
              proposer.size());
  put_short_text(out, proposal_tag);
  put_short_text(out, chain.view());
  wire::put_u64(out, height);
  wire::put_u64(out, static_cast<std::uint64_t>(round));
  wire::put_u64(out, static_cast<std::uint64_t>(valid_round));
  wire::put_raw(out, digest_of(value, digests));
  wire::put_sized(out, proposer.bytes());
  return out;
}

}  // namespace

const Digest& ValueDigests::of(const Value& value) {
  for (std::size_t i = 0; i < filled_; ++i)
    if (entries_[i].value == value) return entries_[i].digest;
  Entry& slot = entries_[next_];
  slot.value = value;
  slot.digest = sha256(value.bytes());
  next_ = (next_ + 1) % capacity;
  if (filled_ < capacity) ++filled_;
  return slot.digest;
}

Value ValueDigests::intern(std::span<const std::uint8_t> bytes) const {
  for (std::size_t i = 0; i < filled_; ++i) {
    const Value& cached = entries_[i].value;
    if (std::equal(bytes.begin(), bytes.end(), cached.bytes().begin(), cached.bytes().end())) return cached;
  }
  return Value(bytes);
}

Result<ChainId> ChainId::create(std::string_view name) {
  if (name.empty() || name.size() > max_size) {
    return make_error(Errc::invalid_argument, "chain id must have 1 to " +
                                                  std::to_string(max_size) + " characters");
  }
  if (!std::all_of(name.begin(), name.end(), [](char c) { return c > 0x20 && c < 0x7f; })) {
    return make_error(Errc::invalid_argument,
                      "chain id must be printable ASCII without spaces");
  }
  return ChainId(std::string(name));
}

Bytes vote_sign_bytes(const ChainId& chain, const Vote& vote, ValueDigests* digests) {
  Bytes out;
  out.reserve(1 + vote_tag.size() + 1 + chain.view().size() + 1 + 8 + 8 + 1 + 32 + 4 +
              vote.voter.size());
  put_short_text(out, vote_tag);
  put_short_text(out, chain.view());
  wire::put_u8(out, static_cast<std::uint8_t>(vote.type));
  wire::put_u64(out, vote.height);
  wire::put_u64(out, static_cast<std::uint64_t>(vote.round));
  if (vote.value) {
    wire::put_u8(out, 1);
    wire::put_raw(out, digest_of(*vote.value, digests));
  } else {
    wire::put_u8(out, 0);
  }
  wire::put_sized(out, vote.voter.bytes());
  return out;
}

Bytes proposal_sign_bytes(const ChainId& chain, const Proposal& proposal, ValueDigests* digests) {
  return proposal_bytes(chain, proposal.height, proposal.round, proposal.valid_round,
                        proposal.value, proposal.proposer, digests);
}

Bytes proposal_sign_bytes(const ChainId& chain, const SignedProposal& proposal, ValueDigests* digests) {
  return proposal_bytes(chain, proposal.height, proposal.round, proposal.valid_round,
                        proposal.value, proposal.proposer, digests);
}

}  // namespace bft::codec
