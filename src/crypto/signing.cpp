#include "bft/crypto/signing.hpp"

#include <string>
#include <vector>

namespace bft::crypto {

using codec::ChainId;
using codec::SignedProposal;
using codec::SignedVote;
using codec::VoteSignature;

namespace {

Result<void> check(const KeyRing& keys, const Address& signer, std::span<const std::uint8_t> bytes,
                   const Signature& signature, const char* what) {
  const Verifier* verifier = keys.find(signer);
  if (verifier == nullptr) {
    return make_error(Errc::unknown_validator,
                      std::string(what) + " signer " + signer.to_string() + " has no known key");
  }
  if (!verifier->verify(bytes, signature)) {
    return make_error(Errc::bad_signature,
                      std::string(what) + " signature of " + signer.to_string() + " does not verify");
  }
  return {};
}

}  // namespace

SignedVote sign_vote(const Signer& signer, const ChainId& chain, Vote vote, codec::ValueDigests* digests) {
  const Signature signature = signer.sign(codec::vote_sign_bytes(chain, vote, digests));
  return SignedVote{std::move(vote), signature};
}

Result<void> verify_vote(const SignedVote& vote, const ChainId& chain, const KeyRing& keys,
                         codec::ValueDigests* digests) {
  return check(keys, vote.vote.voter, codec::vote_sign_bytes(chain, vote.vote, digests), vote.signature,
               "vote");
}

Result<SignedProposal> sign_proposal(const Signer& signer, const ChainId& chain,
                                     const Proposal& proposal, const VoteBook& book,
                                     codec::ValueDigests* digests) {
  std::vector<VoteSignature> lock_votes;
  lock_votes.reserve(proposal.lock_votes.size());
  for (const Vote& vote : proposal.lock_votes) {
    const bool matches = vote.type == VoteType::prevote && vote.height == proposal.height &&
                         vote.round == proposal.valid_round && vote.value == proposal.value;
    if (!matches) {
      return make_error(Errc::invalid_lock_votes,
                        "lock vote " + to_string(vote) + " is not a prevote for the proposal's "
                        "height, valid round and value");
    }
    const Signature* signature = book.find(vote);
    if (signature == nullptr) {
      return make_error(Errc::invalid_lock_votes,
                        "no signature for lock vote " + to_string(vote));
    }
    lock_votes.push_back(VoteSignature{vote.voter, *signature});
  }
  auto lock_set = codec::SignatureSet::create(std::move(lock_votes));
  if (!lock_set) return make_error(Errc::invalid_lock_votes, lock_set.error().message);

  SignedProposal out{proposal.height, proposal.round,    proposal.value, proposal.valid_round,
                     proposal.proposer, Signature{}, std::move(*lock_set)};
  out.signature = signer.sign(codec::proposal_sign_bytes(chain, proposal, digests));
  return out;
}

Result<void> verify_proposal(const SignedProposal& proposal, const ChainId& chain,
                             const KeyRing& keys, codec::ValueDigests* digests) {
  // The lock votes name the proposal's value: one hash serves every signature.
  codec::ValueDigests local;
  if (digests == nullptr) digests = &local;
  if (auto ok = check(keys, proposal.proposer, codec::proposal_sign_bytes(chain, proposal, digests),
                      proposal.signature, "proposal");
      !ok) {
    return ok;
  }
  for (const VoteSignature& lock : proposal.lock_votes) {
    const Vote vote{VoteType::prevote, proposal.height, proposal.valid_round, proposal.value,
                    lock.voter};
    if (auto ok = check(keys, lock.voter, codec::vote_sign_bytes(chain, vote, digests), lock.signature,
                        "lock vote");
        !ok) {
      return ok;
    }
  }
  return {};
}

}  // namespace bft::crypto
