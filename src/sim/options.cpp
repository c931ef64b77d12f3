#include "bft/sim/options.hpp"

#include <algorithm>
#include <functional>

namespace bft::sim {

std::string_view to_string(Fault fault) noexcept {
  switch (fault) {
    case Fault::equivocate: return "equivocate";
    case Fault::silent: return "silent";
    case Fault::random: return "random";
    case Fault::amnesia: return "amnesia";
  }
  return "?";
}

std::optional<Fault> parse_fault(std::string_view text) noexcept {
  for (Fault f : {Fault::equivocate, Fault::silent, Fault::random, Fault::amnesia})
    if (text == to_string(f)) return f;
  return std::nullopt;
}

std::string_view to_string(ProposerRule rule) noexcept {
  switch (rule) {
    case ProposerRule::round_robin: return "rr";
    case ProposerRule::weighted_round_robin: return "wrr";
    case ProposerRule::seed_pcg: return "seed-pcg";
  }
  return "?";
}

std::optional<ProposerRule> parse_proposer_rule(std::string_view text) noexcept {
  for (ProposerRule r : {ProposerRule::round_robin, ProposerRule::weighted_round_robin, ProposerRule::seed_pcg})
    if (text == to_string(r)) return r;
  return std::nullopt;
}

Config SimOptions::default_consensus() {
  Config config;
  config.propose = {Duration{500}, Duration{250}};
  config.prevote = {Duration{200}, Duration{100}};
  config.precommit = {Duration{200}, Duration{100}};
  return config;
}

Time SimOptions::effective_gossip_interval() const {
  if (gossip_interval > 0) return gossip_interval;
  return std::max(4 * network.max_delay(), from_ms(20));
}

Time SimOptions::effective_liveness_bound() const {
  if (liveness_bound > 0) return liveness_bound;
  // Five round-0 rounds per height (every timeout expiring plus three message delays),
  // plus two seconds for the cluster to resynchronise after the network heals. Generous
  // on purpose: the summary reports the time actually taken.
  auto ms = [](Duration d) { return from_ms(static_cast<std::uint64_t>(d.count())); };
  const Time round = ms(consensus.propose.base) + ms(consensus.prevote.base) + ms(consensus.precommit.base) +
                     3 * network.max_delay();
  return from_ms(2000) + heights * 5 * round;
}

Result<void> SimOptions::validate() const {
  auto bad = [](std::string message) { return make_error(Errc::invalid_argument, std::move(message)); };
  if (validators == 0) return bad("at least one validator is needed");
  if (validators > 100'000 || full_nodes > 100'000) return bad("at most 100000 validators and 100000 full nodes");
  if (heights == 0) return bad("at least one height is needed");
  if (!weights.empty() && weights.size() != validators)
    return bad("--weights lists " + std::to_string(weights.size()) + " weights for " + std::to_string(validators) +
               " validators");
  if (std::find(weights.begin(), weights.end(), 0) != weights.end()) return bad("weights must be positive");
  if (byzantine > validators) return bad("more Byzantine validators than validators");
  if (disk_faults && !crash_restart) return bad("--disk-faults needs --crash-restart");
  // A node lost to disk damage stops voting like a silent one.
  const std::size_t faulty_nodes = byzantine + (disk_faults ? 1 : 0);
  if (faulty_nodes > 0 && !allow_unsafe) {
    // Byzantine nodes are drawn per seed, so the bound must hold for the heaviest ones.
    std::vector<std::uint64_t> power(validators);
    for (std::size_t i = 0; i < validators; ++i) power[i] = weight(i);
    std::sort(power.begin(), power.end(), std::greater<>());
    std::uint64_t total = 0;
    std::uint64_t faulty = 0;
    for (std::size_t i = 0; i < validators; ++i) {
      total += power[i];
      if (i < faulty_nodes) faulty += power[i];
    }
    if (faulty * 3 >= total)
      return bad(std::to_string(byzantine) + " Byzantine validators" +
                 (disk_faults ? " and one node lost to disk damage" : "") + " may hold " + std::to_string(faulty) +
                 " of " + std::to_string(total) +
                 " power, not less than a third (n >= 3f + 1); pass --allow-unsafe to run it");
  }
  if (wipe_disks_on_crash && !crash_restart) return bad("--wipe-disks-on-crash needs --crash-restart");
  if (auto ok = consensus.validate(); !ok) return ok;
  if (auto ok = network.validate(validators); !ok) return ok;
  return {};
}

}  // namespace bft::sim
