#include "bft/codec/messages.hpp"

#include <algorithm>
#include <string>

namespace bft::codec {

Result<SignatureSet> SignatureSet::create(std::vector<VoteSignature> signatures) {
  std::sort(signatures.begin(), signatures.end(),
            [](const VoteSignature& a, const VoteSignature& b) { return a.voter < b.voter; });
  auto repeated = std::adjacent_find(
      signatures.begin(), signatures.end(),
      [](const VoteSignature& a, const VoteSignature& b) { return a.voter == b.voter; });
  if (repeated != signatures.end()) {
    return make_error(Errc::invalid_certificate,
                      "two signatures of voter " + repeated->voter.to_string());
  }
  return SignatureSet(std::move(signatures));
}

Proposal SignedProposal::proposal() const {
  Proposal out{height, round, value, valid_round, proposer, {}};
  out.lock_votes.reserve(lock_votes.size());
  for (const VoteSignature& lock : lock_votes) {
    out.lock_votes.push_back(Vote{VoteType::prevote, height, valid_round, value, lock.voter});
  }
  return out;
}

Vote QuorumCertificate::vote_of(const VoteSignature& signature) const {
  return Vote{type, height, round, value, signature.voter};
}

Certificate QuorumCertificate::certificate() const {
  Certificate out;
  out.votes.reserve(signatures.size());
  for (const VoteSignature& signature : signatures) out.votes.push_back(vote_of(signature));
  return out;
}

}  // namespace bft::codec
