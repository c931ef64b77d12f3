#include "bft/config.hpp"

#include <limits>

namespace bft {

Config Config::from_interval(Duration interval) {
  Config config;
  const Duration propose = interval * 24 / 30;
  const Duration vote_wait = interval / 30;
  config.propose = {propose, propose / 2};
  config.prevote = {vote_wait, vote_wait / 2};
  config.precommit = {vote_wait, vote_wait / 2};
  return config;
}

Duration Config::timeout(TimeoutKind kind, Round round) const noexcept {
  const TimeoutRule& rule = kind == TimeoutKind::propose   ? propose
                            : kind == TimeoutKind::prevote ? prevote
                                                           : precommit;
  // Saturate instead of overflowing: rounds are bounded by max_round, but a caller may
  // configure a very large per-round step.
  using Rep = Duration::rep;
  const Rep r = round < 0 ? 0 : round;
  const Rep step = rule.per_round.count();
  const Rep limit = std::numeric_limits<Rep>::max();
  if (step > 0 && r > (limit - rule.base.count()) / step) return Duration{limit};
  return Duration{rule.base.count() + r * step};
}

Result<void> Config::validate() const {
  for (const TimeoutRule* rule : {&propose, &prevote, &precommit}) {
    if (rule->base.count() < 0 || rule->per_round.count() < 0)
      return make_error(Errc::invalid_argument, "timeouts must not be negative");
  }
  if (max_round < 1) return make_error(Errc::invalid_argument, "max_round must be at least 1");
  if (max_future_rounds_per_sender == 0 || max_proposals_per_round == 0 ||
      max_buffered_per_sender == 0 || max_pending_verdicts == 0)
    return make_error(Errc::invalid_argument, "resource bounds must be at least 1");
  return {};
}

}  // namespace bft
