// Between the seed's vocabulary (bft::runtime messages) and the core's (bft::Input,
// bft::Output). Pure functions: the runtime's only knowledge of either side's shapes.
#pragma once

#include <optional>

#include "bft/config.hpp"
#include "bft/core.hpp"
#include "bft/result.hpp"
#include "bft/runtime/messages.hpp"
#include "bft/validator_set.hpp"

namespace bft::runtime::detail {

bft::Vote to_core(Vote&& vote);
bft::Proposal to_core(Proposal&& proposal);

Vote from_core(bft::Vote&& vote);
Proposal from_core(bft::Proposal&& proposal);
Commit from_core(Decide&& decide, const Address& self);
GetProposalRequest from_core(const GetValue& request);
Retransmit from_core(bft::Retransmit&& retransmit);

/// A Status checked for use: the height it starts and its validators.
struct NewHeight {
  Height height = 0;  // the height to start: Status::height + 1
  ValidatorSet validators;
  std::optional<Duration> interval;
};

/// Errors: invalid_argument (no next height, non-positive interval) and those of
/// ValidatorSet::create.
Result<NewHeight> to_new_height(Status&& status);

/// Errors: invalid_argument for a lock vote that is not a precommit for the Commit's own
/// (height, round, proposal). Quorum and voters are the core's to check.
Result<void> check_commit(const Commit& commit);

/// `base` with the timeouts the seed derives from `interval`; its bounds are kept.
Config with_interval(Config base, Duration interval);

}  // namespace bft::runtime::detail
