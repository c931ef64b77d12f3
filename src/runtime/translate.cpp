#include "translate.hpp"

#include <limits>
#include <string>
#include <utility>

namespace bft::runtime::detail {

bft::Vote to_core(Vote&& vote) {
  return bft::Vote{vote.vote_type, vote.height, vote.round, std::move(vote.proposal), std::move(vote.voter)};
}

Vote from_core(bft::Vote&& vote) {
  return Vote{vote.type, vote.height, vote.round, std::move(vote.value), std::move(vote.voter)};
}

bft::Proposal to_core(Proposal&& proposal) {
  std::vector<bft::Vote> lock_votes;
  lock_votes.reserve(proposal.lock_votes.size());
  for (auto& vote : proposal.lock_votes) lock_votes.push_back(to_core(std::move(vote)));
  return bft::Proposal{proposal.height,
                       proposal.round,
                       std::move(proposal.content),
                       proposal.lock_round.value_or(nil_round),
                       std::move(proposal.proposer),
                       std::move(lock_votes)};
}

Proposal from_core(bft::Proposal&& proposal) {
  std::vector<Vote> lock_votes;
  lock_votes.reserve(proposal.lock_votes.size());
  for (auto& vote : proposal.lock_votes) lock_votes.push_back(from_core(std::move(vote)));
  std::optional<Round> lock_round;
  if (proposal.valid_round != nil_round) lock_round = proposal.valid_round;
  return Proposal{proposal.height, proposal.round, std::move(proposal.value), lock_round,
                  std::move(lock_votes), std::move(proposal.proposer)};
}

Commit from_core(Decide&& decide, const Address& self) {
  std::vector<Vote> precommits;
  precommits.reserve(decide.commit.size());
  for (auto& vote : decide.commit) precommits.push_back(from_core(std::move(vote)));
  return Commit{decide.height, decide.round, std::move(decide.value), std::move(precommits), self};
}

GetProposalRequest from_core(const GetValue& request) {
  return GetProposalRequest{request.height, request.round};
}

Retransmit from_core(bft::Retransmit&& retransmit) {
  std::optional<Proposal> proposal;
  if (retransmit.proposal) proposal = from_core(std::move(*retransmit.proposal));
  std::vector<Vote> votes;
  votes.reserve(retransmit.votes.size());
  for (auto& vote : retransmit.votes) votes.push_back(from_core(std::move(vote)));
  return Retransmit{std::move(retransmit.to), std::move(proposal), std::move(votes)};
}

Result<NewHeight> to_new_height(Status&& status) {
  if (status.height == std::numeric_limits<Height>::max())
    return make_error(Errc::invalid_argument, "Status height " + std::to_string(status.height) + " has no next height");
  if (status.interval && status.interval->count() <= 0)
    return make_error(Errc::invalid_argument, "Status interval must be positive, got " +
                                                  std::to_string(status.interval->count()) + " ms");
  std::vector<Validator> validators;
  validators.reserve(status.authority_list.size());
  for (auto& node : status.authority_list)
    validators.push_back(Validator{std::move(node.address), node.vote_weight, node.propose_weight});
  auto set = ValidatorSet::create(std::move(validators));
  if (!set) return set.error();
  return NewHeight{status.height + 1, std::move(*set), status.interval};
}

Result<void> check_commit(const Commit& commit) {
  for (const Vote& vote : commit.lock_votes) {
    if (vote.vote_type != VoteType::precommit || vote.height != commit.height || vote.round != commit.round ||
        vote.proposal != commit.proposal)
      return make_error(Errc::invalid_argument,
                        "Commit lock vote from " + vote.voter.to_string() + " is not a precommit for its proposal at h=" +
                            std::to_string(commit.height) + " r=" + std::to_string(commit.round));
  }
  return {};
}

Config with_interval(Config base, Duration interval) {
  const Config derived = Config::from_interval(interval);
  base.propose = derived.propose;
  base.prevote = derived.prevote;
  base.precommit = derived.precommit;
  return base;
}

}  // namespace bft::runtime::detail
