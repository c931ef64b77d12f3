// The wire format: round trips, one fixed encoding, and rejection of everything else.
#include "bft/codec/codec.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <type_traits>

#include "bft/codec/sign_bytes.hpp"

namespace bft::codec {
namespace {

Signature signature_of(std::uint8_t fill) {
  Signature s;
  s.fill(fill);
  return s;
}

SignedVote sample_vote() {
  return SignedVote{Vote{VoteType::precommit, 7, 3, Value::from_text("block"), Address::from_text("alice")},
                    signature_of(0xab)};
}

SignatureSet signatures(std::initializer_list<const char*> voters) {
  std::vector<VoteSignature> items;
  std::uint8_t fill = 1;
  for (const char* voter : voters) items.push_back({Address::from_text(voter), signature_of(fill++)});
  return std::move(SignatureSet::create(std::move(items))).value();
}

SignedProposal sample_proposal() {
  return SignedProposal{9, 4, Value::from_text("block"), 2, Address::from_text("carol"),
                        signature_of(0xcd), signatures({"bob", "alice", "dave"})};
}

QuorumCertificate sample_certificate() {
  return QuorumCertificate{VoteType::precommit, 9, 4, Value::from_text("block"),
                           signatures({"dave", "bob", "alice"})};
}

Bytes with_trailing_byte(Bytes bytes) {
  bytes.push_back(0);
  return bytes;
}

void put_u32_at(Bytes& bytes, std::size_t offset, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) bytes[offset + i] = static_cast<std::uint8_t>(v >> (8 * i));
}

void put_u64_at(Bytes& bytes, std::size_t offset, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) bytes[offset + i] = static_cast<std::uint8_t>(v >> (8 * i));
}

// Offsets in the encoding of sample_vote(): version, kind, type, height, round, flag,
// value length, "block", voter length, "alice", signature.
constexpr std::size_t vote_type_at = 2, vote_round_at = 11, vote_flag_at = 19,
                      vote_value_size_at = 20, vote_voter_size_at = 29;

// Offsets in the encoding of sample_proposal().
constexpr std::size_t proposal_round_at = 10, proposal_valid_round_at = 18;

template <class T>
Errc error_of(const Result<T>& result) {
  EXPECT_FALSE(result.ok());
  return result.ok() ? Errc::invalid_argument : result.error().code;
}

TEST(Codec, VoteHasOneFixedEncoding) {
  // Changing this encoding is a wire-format change: bump format_version.
  const Bytes expected = [] {
    Bytes b{1, 2, 2, 7, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 1, 5, 0, 0, 0,
            'b', 'l', 'o', 'c', 'k', 5, 0, 0, 0, 'a', 'l', 'i', 'c', 'e'};
    b.insert(b.end(), 64, 0xab);
    return b;
  }();
  EXPECT_EQ(encode(sample_vote()), expected);
}

TEST(Codec, VoteRoundTrips) {
  for (auto value : {std::optional<Value>(Value::from_text("v")), std::optional<Value>(),
                     std::optional<Value>(Value())}) {
    SignedVote vote = sample_vote();
    vote.vote.value = value;
    auto decoded = decode_vote(encode(vote));
    ASSERT_TRUE(decoded.ok()) << decoded.error().message;
    EXPECT_EQ(*decoded, vote);
  }
}

TEST(Codec, ProposalRoundTripsWithAndWithoutProofOfLock) {
  SignedProposal with_lock = sample_proposal();
  SignedProposal fresh = sample_proposal();
  fresh.valid_round = nil_round;
  fresh.lock_votes = SignatureSet();
  for (const SignedProposal& proposal : {with_lock, fresh}) {
    auto decoded = decode_proposal(encode(proposal));
    ASSERT_TRUE(decoded.ok()) << decoded.error().message;
    EXPECT_EQ(*decoded, proposal);
  }
}

TEST(Codec, CertificateRoundTrips) {
  QuorumCertificate nil_polka{VoteType::prevote, 1, 0, std::nullopt, signatures({"a", "b"})};
  for (const QuorumCertificate& certificate : {sample_certificate(), nil_polka}) {
    auto decoded = decode_certificate(encode(certificate));
    ASSERT_TRUE(decoded.ok()) << decoded.error().message;
    EXPECT_EQ(*decoded, certificate);
  }
}

TEST(Codec, EnvelopeIsTheMessageEncoding) {
  const Message messages[] = {sample_proposal(), sample_vote(), sample_certificate()};
  for (const Message& message : messages) {
    const Bytes bytes = encode(message);
    std::visit([&](const auto& m) { EXPECT_EQ(bytes, encode(m)); }, message);
    auto decoded = decode_message(bytes);
    ASSERT_TRUE(decoded.ok()) << decoded.error().message;
    EXPECT_EQ(*decoded, message);
  }
}

TEST(Codec, DecodedValuesShareTheBufferOfAKnownEqualValue) {
  // A round's block arrives in the proposal and again in every vote.
  const Value block(Bytes(3000, 0x5a));
  ValueDigests known;
  known.of(block);
  SignedVote vote = sample_vote();
  vote.vote.value = block;
  SignedProposal proposal = sample_proposal();
  proposal.value = block;
  QuorumCertificate certificate = sample_certificate();
  certificate.value = block;
  const Message messages[] = {proposal, vote, certificate};
  for (const Message& message : messages) {
    auto decoded = decode_message(encode(message), {}, &known);
    ASSERT_TRUE(decoded.ok()) << decoded.error().message;
    EXPECT_EQ(*decoded, message);
    const Value* value = std::visit(
        [](const auto& m) -> const Value* {
          using M = std::decay_t<decltype(m)>;
          if constexpr (std::is_same_v<M, SignedVote>) return &*m.vote.value;
          else if constexpr (std::is_same_v<M, SignedProposal>) return &m.value;
          else return &*m.value;
        },
        *decoded);
    EXPECT_EQ(value->data(), block.data());
  }
  // Without them, or for another value, the decoder copies.
  vote.vote.value = Value(Bytes(3000, 0x5b));
  const auto copied = decode_message(encode(vote), {}, &known);
  ASSERT_TRUE(copied.ok());
  EXPECT_EQ(std::get<SignedVote>(*copied), vote);
  EXPECT_NE(std::get<SignedVote>(*copied).vote.value->data(), vote.vote.value->data());
}

TEST(Codec, EncodeToAppends) {
  Bytes buffer{0xee};
  encode_to(sample_vote(), buffer);
  Bytes expected{0xee};
  const Bytes vote = encode(sample_vote());
  expected.insert(expected.end(), vote.begin(), vote.end());
  EXPECT_EQ(buffer, expected);
}

TEST(Codec, ProposalExpandsItsLockVotesForTheCore) {
  const Proposal proposal = sample_proposal().proposal();
  ASSERT_EQ(proposal.lock_votes.size(), 3u);
  for (const Vote& vote : proposal.lock_votes) {
    EXPECT_EQ(vote.type, VoteType::prevote);
    EXPECT_EQ(vote.height, 9u);
    EXPECT_EQ(vote.round, 2);
    EXPECT_EQ(vote.value, Value::from_text("block"));
  }
  EXPECT_EQ(proposal.lock_votes[0].voter, Address::from_text("alice"));
}

TEST(Codec, CertificateExpandsToTheCoresInput) {
  const Certificate certificate = sample_certificate().certificate();
  ASSERT_EQ(certificate.votes.size(), 3u);
  EXPECT_EQ(certificate.votes[2],
            (Vote{VoteType::precommit, 9, 4, Value::from_text("block"), Address::from_text("dave")}));
}

TEST(SignatureSet, SortsByVoterAndRejectsARepeatedVoter) {
  const SignatureSet set = signatures({"c", "a", "b"});
  EXPECT_EQ(set.items()[0].voter, Address::from_text("a"));
  EXPECT_EQ(set.items()[2].voter, Address::from_text("c"));
  auto repeated = SignatureSet::create({{Address::from_text("a"), signature_of(1)},
                                        {Address::from_text("a"), signature_of(2)}});
  EXPECT_EQ(error_of(repeated), Errc::invalid_certificate);
}

TEST(Decode, EveryTruncationIsMalformed) {
  const Message messages[] = {sample_proposal(), sample_vote(), sample_certificate()};
  for (const Message& message : messages) {
    const Bytes bytes = encode(message);
    for (std::size_t size = 0; size < bytes.size(); ++size) {
      auto decoded = decode_message(std::span(bytes).first(size));
      EXPECT_EQ(error_of(decoded), Errc::malformed) << "prefix of " << size;
    }
  }
}

TEST(Decode, TrailingBytesAreNonCanonical) {
  EXPECT_EQ(error_of(decode_vote(with_trailing_byte(encode(sample_vote())))), Errc::non_canonical);
  EXPECT_EQ(error_of(decode_proposal(with_trailing_byte(encode(sample_proposal())))),
            Errc::non_canonical);
  EXPECT_EQ(error_of(decode_certificate(with_trailing_byte(encode(sample_certificate())))),
            Errc::non_canonical);
  EXPECT_EQ(error_of(decode_message(with_trailing_byte(encode(sample_vote())))),
            Errc::non_canonical);
}

TEST(Decode, UnknownVersionIsRejected) {
  Bytes bytes = encode(sample_vote());
  for (std::uint8_t version : {std::uint8_t{0}, std::uint8_t{2}, std::uint8_t{255}}) {
    bytes[0] = version;
    auto decoded = decode_vote(bytes);
    EXPECT_EQ(error_of(decoded), Errc::unsupported_version);
    EXPECT_NE(decoded.error().message.find("version"), std::string::npos);
  }
}

TEST(Decode, UnknownOrUnexpectedKindIsMalformed) {
  Bytes bytes = encode(sample_vote());
  for (std::uint8_t kind : {std::uint8_t{0}, std::uint8_t{4}, std::uint8_t{200}}) {
    bytes[1] = kind;
    EXPECT_EQ(error_of(decode_message(bytes)), Errc::malformed);
  }
  EXPECT_EQ(error_of(decode_proposal(encode(sample_vote()))), Errc::malformed);
  EXPECT_EQ(error_of(decode_vote(encode(sample_certificate()))), Errc::malformed);
  EXPECT_EQ(error_of(decode_certificate(encode(sample_proposal()))), Errc::malformed);
}

TEST(Decode, OutOfRangeEnumsAndFlagsAreMalformed) {
  for (std::uint8_t type : {std::uint8_t{0}, std::uint8_t{3}, std::uint8_t{255}}) {
    Bytes bytes = encode(sample_vote());
    bytes[vote_type_at] = type;
    EXPECT_EQ(error_of(decode_vote(bytes)), Errc::malformed);
  }
  Bytes bytes = encode(sample_vote());
  bytes[vote_flag_at] = 2;
  EXPECT_EQ(error_of(decode_vote(bytes)), Errc::malformed);
}

TEST(Decode, RoundsOutOfRangeAreMalformed) {
  Bytes vote = encode(sample_vote());
  put_u64_at(vote, vote_round_at, std::uint64_t{1} << 63);
  EXPECT_EQ(error_of(decode_vote(vote)), Errc::malformed);

  for (Round valid_round : {Round{4}, Round{5}, Round{-2}, std::numeric_limits<Round>::min()}) {
    Bytes proposal = encode(sample_proposal());  // round 4
    put_u64_at(proposal, proposal_valid_round_at, static_cast<std::uint64_t>(valid_round));
    EXPECT_EQ(error_of(decode_proposal(proposal)), Errc::malformed) << valid_round;
  }
  Bytes proposal = encode(sample_proposal());
  put_u64_at(proposal, proposal_round_at, std::uint64_t{1} << 63);
  EXPECT_EQ(error_of(decode_proposal(proposal)), Errc::malformed);
}

TEST(Decode, LengthsBeyondTheirLimitsAreTooLarge) {
  Limits limits;
  limits.max_value_size = 4;  // "block" has 5 bytes
  EXPECT_EQ(error_of(decode_vote(encode(sample_vote()), limits)), Errc::too_large);
  limits = Limits{};
  limits.max_address_size = 4;  // "alice" has 5
  EXPECT_EQ(error_of(decode_vote(encode(sample_vote()), limits)), Errc::too_large);
  limits = Limits{};
  limits.max_signatures = 2;  // the proof of lock has 3
  EXPECT_EQ(error_of(decode_proposal(encode(sample_proposal()), limits)), Errc::too_large);
  EXPECT_EQ(error_of(decode_certificate(encode(sample_certificate()), limits)), Errc::too_large);

  // A length that claims more than the message holds, within the limit: truncated.
  Bytes bytes = encode(sample_vote());
  put_u32_at(bytes, vote_value_size_at, 1000);
  EXPECT_EQ(error_of(decode_vote(bytes)), Errc::malformed);
  // A length beyond any limit: rejected before anything is allocated for it.
  put_u32_at(bytes, vote_value_size_at, 0xffffffff);
  auto decoded = decode_vote(bytes);
  EXPECT_EQ(error_of(decoded), Errc::too_large);
  EXPECT_NE(decoded.error().message.find("value of 4294967295 bytes"), std::string::npos)
      << decoded.error().message;
}

TEST(Decode, EmptyAddressIsMalformed) {
  SignedVote vote = sample_vote();
  vote.vote.voter = Address();
  EXPECT_EQ(error_of(decode_vote(encode(vote))), Errc::malformed);
  Bytes bytes = encode(sample_vote());
  EXPECT_EQ(bytes[vote_voter_size_at], 5);
}

TEST(Decode, VotersMustBeStrictlyAscending) {
  // Swap the first two entries of a certificate ("alice", "bob"): same set, other order.
  const Bytes canonical = encode(sample_certificate());
  const std::size_t first = canonical.size() - 3 * (4 + 64) - (5 + 3 + 4);
  ASSERT_EQ(canonical[first], 5);  // "alice"
  Bytes swapped(canonical.begin(), canonical.begin() + static_cast<std::ptrdiff_t>(first));
  const auto entry = [&](std::size_t at, std::size_t name) {
    swapped.insert(swapped.end(), canonical.begin() + static_cast<std::ptrdiff_t>(at),
                   canonical.begin() + static_cast<std::ptrdiff_t>(at + 4 + name + 64));
  };
  const std::size_t bob = first + 4 + 5 + 64;
  const std::size_t dave = bob + 4 + 3 + 64;
  entry(bob, 3);
  entry(first, 5);
  entry(dave, 4);
  ASSERT_EQ(swapped.size(), canonical.size());
  auto decoded = decode_certificate(swapped);
  EXPECT_EQ(error_of(decoded), Errc::non_canonical);

  // The same voter twice.
  Bytes repeated(canonical.begin(), canonical.begin() + static_cast<std::ptrdiff_t>(bob));
  repeated.insert(repeated.end(), canonical.begin() + static_cast<std::ptrdiff_t>(first),
                  canonical.begin() + static_cast<std::ptrdiff_t>(bob));
  repeated.insert(repeated.end(), canonical.begin() + static_cast<std::ptrdiff_t>(dave),
                  canonical.end());
  decoded = decode_certificate(repeated);
  EXPECT_EQ(error_of(decoded), Errc::non_canonical);
  EXPECT_NE(decoded.error().message.find("repeated"), std::string::npos);
}

TEST(Decode, LockVotesNeedAValidRound) {
  SignedProposal proposal = sample_proposal();
  proposal.valid_round = nil_round;
  EXPECT_EQ(error_of(decode_proposal(encode(proposal))), Errc::malformed);
}

TEST(Decode, ACountBeyondTheInputIsMalformedNotAnAllocation) {
  Bytes bytes = encode(sample_certificate());
  const std::size_t count_at = bytes.size() - 3 * (4 + 64) - (5 + 3 + 4) - 4;
  put_u32_at(bytes, count_at, 10'000);
  EXPECT_EQ(error_of(decode_certificate(bytes)), Errc::malformed);
}

TEST(Decode, ErrorsNameTheOffset) {
  Bytes bytes = encode(sample_vote());
  bytes[vote_type_at] = 9;
  auto decoded = decode_vote(bytes);
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.error().message, "vote type 9 out of range (at byte 3)");
}

}  // namespace
}  // namespace bft::codec
