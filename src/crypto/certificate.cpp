#include "bft/crypto/certificate.hpp"

#include <memory>
#include <vector>

namespace bft::crypto {

using codec::QuorumCertificate;
using codec::SignedVote;
using codec::VoteSignature;

namespace {

bool same_slot(const Vote& a, const Vote& b) {
  return a.type == b.type && a.height == b.height && a.round == b.round && a.value == b.value;
}

/// Requires a non-empty, uniform list; the signatures go through SignatureSet, which
/// rejects a repeated voter.
template <class Votes, class VoteOf, class SignatureOf>
Result<QuorumCertificate> build(const Votes& votes, VoteOf vote_of, SignatureOf signature_of) {
  if (votes.empty()) return make_error(Errc::invalid_certificate, "a certificate needs votes");
  const Vote& first = vote_of(votes.front());
  std::vector<VoteSignature> signatures;
  signatures.reserve(votes.size());
  for (const auto& item : votes) {
    const Vote& vote = vote_of(item);
    if (!same_slot(vote, first)) {
      return make_error(Errc::invalid_certificate,
                        "mixed votes: " + to_string(first) + " and " + to_string(vote));
    }
    const Signature* signature = signature_of(item);
    if (signature == nullptr) {
      return make_error(Errc::invalid_certificate, "no signature for " + to_string(vote));
    }
    signatures.push_back(VoteSignature{vote.voter, *signature});
  }
  auto set = codec::SignatureSet::create(std::move(signatures));
  if (!set) return set.error();
  return QuorumCertificate{first.type, first.height, first.round, first.value, std::move(*set)};
}

}  // namespace

Result<QuorumCertificate> make_certificate(std::span<const SignedVote> votes) {
  return build(
      votes, [](const SignedVote& v) -> const Vote& { return v.vote; },
      [](const SignedVote& v) { return &v.signature; });
}

Result<QuorumCertificate> make_certificate(std::span<const Vote> votes, const VoteBook& book) {
  return build(
      votes, [](const Vote& v) -> const Vote& { return v; },
      [&book](const Vote& v) { return book.find(v); });
}

Result<void> verify_certificate(const QuorumCertificate& certificate, const codec::ChainId& chain,
                                const ValidatorSet& validators, const KeyRing& keys,
                                BatchVerifier* batch) {
  // Membership and power first: they are cheap, and a certificate that fails them is
  // rejected without spending a signature verification on it.
  std::vector<const Verifier*> verifiers;
  verifiers.reserve(certificate.signatures.size());
  std::uint64_t power = 0;
  for (const VoteSignature& signature : certificate.signatures) {
    const auto index = validators.index_of(signature.voter);
    const Verifier* verifier = keys.find(signature.voter);
    if (!index || verifier == nullptr) {
      return make_error(Errc::unknown_validator,
                        "certificate voter " + signature.voter.to_string() +
                            (index ? " has no known key" : " is not a validator"));
    }
    // Voters are distinct (SignatureSet), so the sum stays within total_power (< 2^60).
    power += validators[*index].power;
    verifiers.push_back(verifier);
  }
  if (!validators.is_quorum(power)) {
    return make_error(Errc::invalid_certificate,
                      "certificate power " + std::to_string(power) + " of " +
                          std::to_string(validators.total_power()) + " is not a quorum");
  }

  // Every signature covers the same value: it is hashed once.
  codec::ValueDigests digests;
  std::vector<Bytes> messages;
  std::vector<SignatureCheck> checks;
  messages.reserve(verifiers.size());
  checks.reserve(verifiers.size());
  for (std::size_t i = 0; i < verifiers.size(); ++i) {
    const VoteSignature& signature = certificate.signatures.items()[i];
    messages.push_back(codec::vote_sign_bytes(chain, certificate.vote_of(signature), &digests));
    checks.push_back(SignatureCheck{verifiers[i], messages.back(), signature.signature});
  }
  const auto valid = std::make_unique<bool[]>(checks.size());
  const std::span<bool> verdicts(valid.get(), checks.size());
  if (batch != nullptr) {
    batch->verify(checks, verdicts);
  } else {
    for (std::size_t i = 0; i < checks.size(); ++i) {
      verdicts[i] = checks[i].verifier->verify(checks[i].message, checks[i].signature);
    }
  }
  for (std::size_t i = 0; i < checks.size(); ++i) {
    if (!verdicts[i]) {
      return make_error(Errc::bad_signature,
                        "certificate signature of " +
                            certificate.signatures.items()[i].voter.to_string() +
                            " does not verify");
    }
  }
  return {};
}

}  // namespace bft::crypto
