#include "bft/wal/replay.hpp"

#include <algorithm>

namespace bft::wal {

namespace {

using Own = std::variant<Proposal, Vote>;

bool same_slot(const Own& a, const Own& b) {
  if (a.index() != b.index()) return false;
  if (const auto* va = std::get_if<Vote>(&a)) {
    const Vote& vb = std::get<Vote>(b);
    return va->type == vb.type && va->height == vb.height && va->round == vb.round;
  }
  const Proposal& pa = std::get<Proposal>(a);
  const Proposal& pb = std::get<Proposal>(b);
  return pa.height == pb.height && pa.round == pb.round;
}

Height height_of(const Own& own) {
  return std::visit([](const auto& m) { return m.height; }, own);
}

std::string describe(const Own& own) {
  return std::visit([](const auto& m) { return to_string(m); }, own);
}

}  // namespace

Result<ReplayResult> replay(Core& core, std::span<const Record> records,
                            const std::function<void(const Input&)>& observe) {
  ReplayResult result;
  // The height the log ends at: own-message checks are strict there.
  Height last_height = 0;
  for (const Record& r : records)
    if (const auto* s = std::get_if<StartHeight>(&r)) last_height = std::max(last_height, s->height);

  std::vector<Own> produced;                // own broadcasts of the replay not matched yet
  std::vector<std::pair<Own, bool>> logged;  // own messages of the log, fed back yet?
  std::vector<Output> outputs;
  for (const Record& record : records) {
    if (std::holds_alternative<PeerSignatures>(record)) continue;  // for the host, not the core
    if (const auto* ov = std::get_if<OwnVote>(&record); ov || std::holds_alternative<OwnProposal>(record)) {
      const Own own = ov ? Own{ov->vote} : Own{std::get<OwnProposal>(record).proposal};
      if (ov)
        result.own_votes.push_back(ov->vote);
      else
        result.own_proposals.push_back(std::get<OwnProposal>(record).proposal);
      logged.emplace_back(own, false);
      auto match = std::find(produced.begin(), produced.end(), own);
      if (match != produced.end()) {
        produced.erase(match);
        continue;
      }
      if (height_of(own) < last_height) {
        ++result.old_mismatches;
        continue;
      }
      auto conflict = std::find_if(produced.begin(), produced.end(), [&](const Own& p) { return same_slot(p, own); });
      if (conflict != produced.end())
        return make_error(Errc::replay_diverged, "wal replay: the core now signs " + describe(*conflict) +
                                                     " where the log holds " + describe(own));
      return make_error(Errc::replay_diverged,
                        "wal replay: the log holds own message " + describe(own) + " that the core did not produce");
    }
    Input input = *input_of(record);
    // An own message coming back as an input.
    if (const auto* v = std::get_if<Vote>(&input); v && v->voter == core.self()) {
      for (auto& [own, fed] : logged)
        if (!fed && own == Own{*v}) fed = true;
    } else if (const auto* p = std::get_if<ReceivedProposal>(&input); p && p->proposal.proposer == core.self()) {
      for (auto& [own, fed] : logged)
        if (!fed && own == Own{p->proposal}) fed = true;
    }
    if (observe) observe(input);
    outputs.clear();
    ++result.inputs;
    if (!core.handle(std::move(input), outputs)) ++result.rejected;
    for (Output& out : outputs) {
      if (auto* bv = std::get_if<BroadcastVote>(&out))
        produced.emplace_back(std::move(bv->vote));
      else if (auto* bp = std::get_if<BroadcastProposal>(&out))
        produced.emplace_back(std::move(bp->proposal));
      else
        result.local.push_back(std::move(out));
    }
  }
  for (Own& own : produced) {
    if (auto* v = std::get_if<Vote>(&own))
      result.unsent.emplace_back(BroadcastVote{std::move(*v)});
    else
      result.unsent.emplace_back(BroadcastProposal{std::move(std::get<Proposal>(own))});
  }
  for (auto& [own, fed] : logged) {
    if (fed) continue;
    if (const auto* v = std::get_if<Vote>(&own))
      result.not_fed_back.emplace_back(*v);
    else
      result.not_fed_back.emplace_back(ReceivedProposal{std::get<Proposal>(own), Validity::valid});
  }
  return result;
}

}  // namespace bft::wal
