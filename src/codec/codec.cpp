#include "bft/codec/codec.hpp"

#include <algorithm>
#include <limits>
#include <string>
#include <tuple>
#include <variant>

#include "bft/codec/sign_bytes.hpp"
#include "wire.hpp"

namespace bft::codec {

namespace {

constexpr std::size_t signature_size = std::tuple_size_v<Signature>;
constexpr std::uint64_t max_round = static_cast<std::uint64_t>(std::numeric_limits<Round>::max());

// ---- encoding -------------------------------------------------------------------------

void put_header(Bytes& out, MessageKind kind) {
  wire::put_u8(out, format_version);
  wire::put_u8(out, static_cast<std::uint8_t>(kind));
}

void put_optional_value(Bytes& out, const std::optional<Value>& value) {
  wire::put_u8(out, value ? 1 : 0);
  if (value) wire::put_sized(out, value->bytes());
}

void put_signatures(Bytes& out, const SignatureSet& signatures) {
  wire::put_u32(out, static_cast<std::uint32_t>(signatures.size()));
  for (const VoteSignature& s : signatures) {  // already in ascending voter order
    wire::put_sized(out, s.voter.bytes());
    wire::put_raw(out, s.signature);
  }
}

std::size_t signatures_size(const SignatureSet& signatures) {
  std::size_t size = 4;
  for (const VoteSignature& s : signatures) size += 4 + s.voter.size() + signature_size;
  return size;
}

std::size_t optional_value_size(const std::optional<Value>& value) {
  return 1 + (value ? 4 + value->size() : 0);
}

void put_body(Bytes& out, const SignedVote& signed_vote) {
  const Vote& vote = signed_vote.vote;
  wire::put_u8(out, static_cast<std::uint8_t>(vote.type));
  wire::put_u64(out, vote.height);
  wire::put_u64(out, static_cast<std::uint64_t>(vote.round));
  put_optional_value(out, vote.value);
  wire::put_sized(out, vote.voter.bytes());
  wire::put_raw(out, signed_vote.signature);
}

void put_body(Bytes& out, const SignedProposal& proposal) {
  wire::put_u64(out, proposal.height);
  wire::put_u64(out, static_cast<std::uint64_t>(proposal.round));
  wire::put_u64(out, static_cast<std::uint64_t>(proposal.valid_round));
  wire::put_sized(out, proposal.value.bytes());
  wire::put_sized(out, proposal.proposer.bytes());
  wire::put_raw(out, proposal.signature);
  put_signatures(out, proposal.lock_votes);
}

void put_body(Bytes& out, const QuorumCertificate& certificate) {
  wire::put_u8(out, static_cast<std::uint8_t>(certificate.type));
  wire::put_u64(out, certificate.height);
  wire::put_u64(out, static_cast<std::uint64_t>(certificate.round));
  put_optional_value(out, certificate.value);
  put_signatures(out, certificate.signatures);
}

std::size_t body_size(const SignedVote& v) {
  return 1 + 8 + 8 + optional_value_size(v.vote.value) + 4 + v.vote.voter.size() +
         signature_size;
}

std::size_t body_size(const SignedProposal& p) {
  return 8 + 8 + 8 + 4 + p.value.size() + 4 + p.proposer.size() + signature_size +
         signatures_size(p.lock_votes);
}

std::size_t body_size(const QuorumCertificate& c) {
  return 1 + 8 + 8 + optional_value_size(c.value) + signatures_size(c.signatures);
}

constexpr MessageKind kind_of(const SignedProposal&) { return MessageKind::proposal; }
constexpr MessageKind kind_of(const SignedVote&) { return MessageKind::vote; }
constexpr MessageKind kind_of(const QuorumCertificate&) { return MessageKind::certificate; }

template <class M>
void append(const M& message, Bytes& out) {
  out.reserve(out.size() + 2 + body_size(message));
  put_header(out, kind_of(message));
  put_body(out, message);
}

template <class M>
Bytes encode_one(const M& message) {
  Bytes out;
  append(message, out);
  return out;
}

// ---- decoding -------------------------------------------------------------------------

std::string_view kind_name(MessageKind kind) {
  switch (kind) {
    case MessageKind::proposal: return "a proposal";
    case MessageKind::vote: return "a vote";
    case MessageKind::certificate: return "a certificate";
  }
  return "?";
}

bool read_kind(wire::Reader& r, MessageKind& kind) {
  std::uint8_t version = 0;
  std::uint8_t tag = 0;
  if (!r.u8(version)) return false;
  if (version != format_version) {
    return r.fail(Errc::unsupported_version,
                  "format version " + std::to_string(version) + " is not supported (this "
                  "build reads version " + std::to_string(format_version) + ")");
  }
  if (!r.u8(tag)) return false;
  if (tag < static_cast<std::uint8_t>(MessageKind::proposal) ||
      tag > static_cast<std::uint8_t>(MessageKind::certificate)) {
    return r.fail(Errc::malformed, "unknown message kind " + std::to_string(tag));
  }
  kind = static_cast<MessageKind>(tag);
  return true;
}

bool read_header(wire::Reader& r, MessageKind expected) {
  MessageKind kind{};
  if (!read_kind(r, kind)) return false;
  if (kind != expected) {
    return r.fail(Errc::malformed, std::string("expected ") + std::string(kind_name(expected)) +
                                       ", found " + std::string(kind_name(kind)));
  }
  return true;
}

bool read_vote_type(wire::Reader& r, VoteType& type) {
  std::uint8_t raw = 0;
  if (!r.u8(raw)) return false;
  if (raw != static_cast<std::uint8_t>(VoteType::prevote) &&
      raw != static_cast<std::uint8_t>(VoteType::precommit)) {
    return r.fail(Errc::malformed, "vote type " + std::to_string(raw) + " out of range");
  }
  type = static_cast<VoteType>(raw);
  return true;
}

bool read_round(wire::Reader& r, Round& round) {
  std::uint64_t raw = 0;
  if (!r.u64(raw)) return false;
  if (raw > max_round) return r.fail(Errc::malformed, "round " + std::to_string(raw) + " out of range");
  round = static_cast<Round>(raw);
  return true;
}

/// valid_round is nil_round or an earlier round than the proposal's own.
bool read_valid_round(wire::Reader& r, Round round, Round& valid_round) {
  std::uint64_t raw = 0;
  if (!r.u64(raw)) return false;
  const auto candidate = static_cast<Round>(raw);
  if (candidate < nil_round || candidate >= round) {
    return r.fail(Errc::malformed, "valid round " + std::to_string(candidate) +
                                       " is outside [-1, " + std::to_string(round) + ")");
  }
  valid_round = candidate;
  return true;
}

bool read_value(wire::Reader& r, const Limits& limits, const ValueDigests* known, Value& value) {
  std::span<const std::uint8_t> bytes;
  if (!r.sized("value", 0, limits.max_value_size, bytes)) return false;
  value = known ? known->intern(bytes) : Value(bytes);
  return true;
}

bool read_optional_value(wire::Reader& r, const Limits& limits, const ValueDigests* known, std::optional<Value>& value) {
  std::uint8_t present = 0;
  if (!r.u8(present)) return false;
  if (present > 1) {
    return r.fail(Errc::malformed, "value presence flag " + std::to_string(present) +
                                       " is neither 0 nor 1");
  }
  if (present == 0) {
    value.reset();
    return true;
  }
  return read_value(r, limits, known, value.emplace());
}

bool read_address(wire::Reader& r, const Limits& limits, const char* field, Address& address) {
  std::span<const std::uint8_t> bytes;
  if (!r.sized(field, 1, limits.max_address_size, bytes)) return false;
  address = Address(bytes);
  return true;
}

bool read_signatures(wire::Reader& r, const Limits& limits, SignatureSet& set) {
  std::uint32_t count = 0;
  if (!r.u32(count)) return false;
  if (count > limits.max_signatures) {
    return r.fail(Errc::too_large, std::to_string(count) + " signatures exceed the limit of " +
                                       std::to_string(limits.max_signatures));
  }
  // Reserve no more than the remaining input could hold, so a forged count cannot make
  // a short message allocate much.
  constexpr std::size_t min_entry = 4 + 1 + signature_size;
  std::vector<VoteSignature> items;
  items.reserve(std::min<std::size_t>(count, r.remaining() / min_entry));
  for (std::uint32_t i = 0; i < count; ++i) {
    VoteSignature& item = items.emplace_back();
    if (!read_address(r, limits, "voter", item.voter) || !r.raw(item.signature)) return false;
    if (i > 0 && !(items[i - 1].voter < item.voter)) {
      return r.fail(Errc::non_canonical, items[i - 1].voter == item.voter
                                             ? "voter " + item.voter.to_string() + " repeated"
                                             : "voters not in ascending order");
    }
  }
  // Sorted and distinct, as checked above, so this cannot fail.
  set = std::move(SignatureSet::create(std::move(items))).value();
  return true;
}

bool read_body(wire::Reader& r, const Limits& limits, const ValueDigests* known, SignedVote& out) {
  Vote& vote = out.vote;
  return read_vote_type(r, vote.type) && r.u64(vote.height) && read_round(r, vote.round) &&
         read_optional_value(r, limits, known, vote.value) &&
         read_address(r, limits, "voter", vote.voter) && r.raw(out.signature);
}

bool read_body(wire::Reader& r, const Limits& limits, const ValueDigests* known, SignedProposal& out) {
  if (!r.u64(out.height) || !read_round(r, out.round) ||
      !read_valid_round(r, out.round, out.valid_round) || !read_value(r, limits, known, out.value) ||
      !read_address(r, limits, "proposer", out.proposer) || !r.raw(out.signature) ||
      !read_signatures(r, limits, out.lock_votes)) {
    return false;
  }
  if (out.valid_round == nil_round && !out.lock_votes.empty()) {
    return r.fail(Errc::malformed, "lock votes without a valid round");
  }
  return true;
}

bool read_body(wire::Reader& r, const Limits& limits, const ValueDigests* known, QuorumCertificate& out) {
  return read_vote_type(r, out.type) && r.u64(out.height) && read_round(r, out.round) &&
         read_optional_value(r, limits, known, out.value) && read_signatures(r, limits, out.signatures);
}

template <class M>
Result<M> decode_one(std::span<const std::uint8_t> bytes, const Limits& limits) {
  wire::Reader r(bytes);
  M message;
  if (!read_header(r, kind_of(message)) || !read_body(r, limits, nullptr, message) || !r.finish()) {
    return r.take_error();
  }
  return message;
}

template <class M>
Result<Message> decode_as_message(wire::Reader& r, const Limits& limits, const ValueDigests* known) {
  M message;
  if (!read_body(r, limits, known, message) || !r.finish()) return r.take_error();
  return Message(std::move(message));
}

}  // namespace

void encode_to(const SignedVote& vote, Bytes& out) { append(vote, out); }
void encode_to(const SignedProposal& proposal, Bytes& out) { append(proposal, out); }
void encode_to(const QuorumCertificate& certificate, Bytes& out) { append(certificate, out); }
void encode_to(const Message& message, Bytes& out) {
  std::visit([&out](const auto& m) { append(m, out); }, message);
}

Bytes encode(const SignedVote& vote) { return encode_one(vote); }
Bytes encode(const SignedProposal& proposal) { return encode_one(proposal); }
Bytes encode(const QuorumCertificate& certificate) { return encode_one(certificate); }
Bytes encode(const Message& message) {
  return std::visit([](const auto& m) { return encode_one(m); }, message);
}

Result<SignedVote> decode_vote(std::span<const std::uint8_t> bytes, const Limits& limits) {
  return decode_one<SignedVote>(bytes, limits);
}

Result<SignedProposal> decode_proposal(std::span<const std::uint8_t> bytes,
                                       const Limits& limits) {
  return decode_one<SignedProposal>(bytes, limits);
}

Result<QuorumCertificate> decode_certificate(std::span<const std::uint8_t> bytes,
                                             const Limits& limits) {
  return decode_one<QuorumCertificate>(bytes, limits);
}

Result<Message> decode_message(std::span<const std::uint8_t> bytes, const Limits& limits, const ValueDigests* known) {
  wire::Reader r(bytes);
  MessageKind kind{};
  if (!read_kind(r, kind)) return r.take_error();
  switch (kind) {
    case MessageKind::proposal: return decode_as_message<SignedProposal>(r, limits, known);
    case MessageKind::vote: return decode_as_message<SignedVote>(r, limits, known);
    case MessageKind::certificate: break;
  }
  return decode_as_message<QuorumCertificate>(r, limits, known);
}

}  // namespace bft::codec
