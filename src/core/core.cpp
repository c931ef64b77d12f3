// The round state machine and driver: Algorithm 1 of Buchman, Kwon, Milosevic (2018),
// "The latest gossip on BFT consensus". Rule names (L22, L28, ...) are its line numbers.
#include "bft/core.hpp"

#include <algorithm>
#include <cassert>
#include <deque>
#include <map>
#include <type_traits>

#include "vote_keeper.hpp"

namespace bft {

using detail::RoundVotes;
using detail::SenderSet;
using detail::VoteOutcome;
using detail::VoteTally;

namespace {

std::string at(Height h, Round r) { return " at h=" + std::to_string(h) + " r=" + std::to_string(r); }

}  // namespace

class Core::Impl {
 public:
  Impl(Address self, Config config, std::unique_ptr<ProposerSelector> selector)
      : self_(std::move(self)), config_(config), selector_(std::move(selector)) {}

  Result<void> handle(Input&& input, std::vector<Output>& out) {
    touched_.clear();
    return std::visit([&](auto& in) { return apply(in, out); }, input);
  }

  Result<void> handle(const Vote& vote, std::vector<Output>& out) {
    touched_.clear();
    return apply(vote, out);
  }

  // ---- state, read by Core's accessors ----
  Address self_;
  Config config_;
  std::unique_ptr<ProposerSelector> selector_;
  ValidatorSet validators_;
  bool started_ = false;
  Height height_ = 0;
  Round round_ = 0;
  Step step_ = Step::propose;
  bool decided_ = false;
  std::optional<Value> locked_value_;
  Round locked_round_ = nil_round;
  std::optional<Value> valid_value_;
  Round valid_round_ = nil_round;

  std::size_t tracked_rounds() const noexcept { return rounds_.size(); }

  /// proposer(height_, round), cached in the round's state if the round has one. It
  /// never creates state: a flood of proposals for made-up rounds must cost no memory.
  std::optional<std::size_t> proposer_index(Round round) {
    auto select = [&] {
      auto index = selector_->select(validators_, height_, round);
      return index && *index < validators_.size() ? index : std::nullopt;
    };
    auto it = rounds_.find(round);
    if (it == rounds_.end()) return select();
    RoundState& rs = it->second;
    if (!rs.proposer_known) {
      rs.proposer = select();
      rs.proposer_known = true;
    }
    return rs.proposer;
  }

 private:
  struct StoredProposal {
    Proposal proposal;
    Validity validity;
  };

  struct RoundState {
    explicit RoundState(std::size_t validators) : votes(validators) {}
    RoundVotes votes;
    std::vector<StoredProposal> proposals;  // from proposer(h, r) only; > 1 = equivocation
    std::optional<std::size_t> proposal_sender;  // proposer(h, r) once a proposal is stored
    std::optional<std::size_t> proposer;
    bool proposer_known = false;
    bool proposed = false;                  // this node's proposal for the round is out
    bool prevote_timeout_scheduled = false; // L34 fired
    bool precommit_timeout_scheduled = false; // L47 fired
    bool polka_handled = false;             // L36 fired
    std::optional<Vote> own_prevote;
    std::optional<Vote> own_precommit;
  };

  /// The last decision, kept for laggard help after the height is over. The commit is
  /// kept as who precommitted (with the validators of the height, which the next height
  /// may change) and its votes are rebuilt when a laggard needs them, which is rare:
  /// copying them at every decision was a tenth of the core's work at 100 validators.
  struct Decision {
    Height height;
    Round round;
    Proposal proposal;
    ValidatorSet validators;
    SenderSet precommitters;

    std::vector<Vote> commit() const {
      std::vector<Vote> votes;
      votes.reserve(precommitters.count());
      const std::optional<Value> value = proposal.value;
      precommitters.for_each([&](std::size_t i) {
        votes.push_back(Vote{VoteType::precommit, height, round, value, validators[i].address});
      });
      return votes;
    }
  };

  struct Buffered {
    Height height;
    Address sender;
    Input input;
  };

  // ---- inputs ----

  Result<void> apply(StartHeight& start, std::vector<Output>& out) {
    if (started_ && start.height <= height_)
      return make_error(Errc::stale_height, "height " + std::to_string(start.height) +
                                                " does not follow " + std::to_string(height_));
    if (start.validators.empty()) return make_error(Errc::empty_validator_set, "no validators");
    if (start.config) {
      if (auto ok = start.config->validate(); !ok.ok()) return ok;
      config_ = *start.config;
    }

    const std::size_t n = start.validators.size();
    validators_ = std::move(start.validators);
    self_index_ = validators_.index_of(self_);
    started_ = true;
    height_ = start.height;
    round_ = 0;
    step_ = Step::propose;
    decided_ = false;
    locked_value_.reset();
    locked_round_ = nil_round;
    valid_value_.reset();
    valid_round_ = nil_round;
    rounds_.clear();
    current_ = nullptr;
    height_value_.reset();
    round_values_.clear();
    future_rounds_of_sender_.assign(n, 0);
    helped_round_.assign(n, nil_round);
    helped_commit_ = SenderSet(n);
    std::erase_if(pending_verdicts_, [&](const VerifyResult& v) { return v.height < height_; });

    start_round(0, out);
    replay_buffered(out);
    return {};
  }

  Result<void> apply(ProposeValue& feed, std::vector<Output>& out) {
    if (!started_) return make_error(Errc::not_started, "no height started");
    if (feed.height != height_ || decided_) {
      if (auto held = hold_for_later(feed.height, self_, feed, out); !held.ok()) return held;
      return {};
    }
    if (feed.round) {
      if (*feed.round < round_) return make_error(Errc::stale_round, "value for a past round" + at(height_, *feed.round));
      if (*feed.round > config_.max_round) return make_error(Errc::invalid_round, "round beyond max_round");
      round_values_.insert_or_assign(*feed.round, std::move(feed.value));
    } else {
      height_value_ = std::move(feed.value);
    }
    // A late value is still proposed, once, even after the propose step is over.
    if (is_own_round(round_) && !current_->proposed) propose(out);
    evaluate(out);
    return {};
  }

  Result<void> apply(ReceivedProposal& received, std::vector<Output>& out) {
    Proposal& p = received.proposal;
    if (!started_) return make_error(Errc::not_started, "no height started");
    if (p.height != height_ || decided_) {
      if (auto held = hold_for_later(p.height, p.proposer, received, out); !held.ok()) return held;
      return {};
    }
    if (!round_in_range(p.round)) return round_out_of_range(p.round);
    if (p.valid_round < nil_round || p.valid_round >= p.round)
      return make_error(Errc::invalid_round, "valid_round must be in [-1, round)" + at(p.height, p.round));
    const auto sender = validators_.index_of(p.proposer);
    if (!sender) return make_error(Errc::unknown_validator, p.proposer.to_string() + " is not a validator");
    if (proposer_index(p.round) != sender)
      return make_error(Errc::not_proposer, p.proposer.to_string() + " is not the proposer" + at(p.height, p.round));
    if (auto ok = check_lock_votes(p); !ok.ok()) return ok;
    if (p.round > round_ && !has_room_for_round(*sender, p.round))
      return make_error(Errc::too_many_future_rounds,
                        p.proposer.to_string() + " holds messages in too many future rounds");

    RoundState& rs = round_state(p.round);
    auto same = std::find_if(rs.proposals.begin(), rs.proposals.end(), [&](const StoredProposal& stored) {
      return stored.proposal.value == p.value && stored.proposal.valid_round == p.valid_round;
    });
    const bool repeat = same != rs.proposals.end();
    if (!repeat && rs.proposals.size() >= config_.max_proposals_per_round)
      return make_error(Errc::too_many_proposals, "proposer equivocated too often" + at(p.height, p.round));

    bool changed = false;
    // The proof is a polka certificate: its votes count for the value even where this
    // node first saw another prevote of an equivocating voter, and they count when the
    // proposal itself is a repeat (the proof may come late).
    for (const Vote& vote : p.lock_votes) changed = count_vote(vote, *validators_.index_of(vote.voter), true, out) || changed;
    if (changed) touch(p.valid_round);
    if (repeat) {
      if (same->validity == Validity::unknown && received.validity != Validity::unknown) {
        same->validity = received.validity;  // a verdict may come with the repeat
        touch(p.round);
        changed = true;
      }
    } else {
      if (!rs.proposals.empty()) out.push_back(Evidence{Evidence::Proposals{rs.proposals.front().proposal, p}});
      Validity validity = received.validity;
      if (auto verdict = take_pending_verdict(p.height, p.round, p.value)) validity = *verdict;
      if (p.round > round_ && !holds_round(rs, *sender)) ++future_rounds_of_sender_[*sender];
      rs.proposal_sender = sender;
      const Round round = p.round;
      rs.proposals.push_back(StoredProposal{std::move(p), validity});
      touch(round);
      changed = true;
    }
    if (changed) evaluate(out);
    return {};
  }

  Result<void> apply(const Vote& vote, std::vector<Output>& out) {
    if (!started_) return make_error(Errc::not_started, "no height started");
    if (vote.height != height_ || decided_) {
      if (auto held = hold_for_later(vote.height, vote.voter, vote, out); !held.ok()) return held;
      return {};
    }
    if (!round_in_range(vote.round)) return round_out_of_range(vote.round);
    const auto sender = validators_.index_of(vote.voter);
    if (!sender) return make_error(Errc::unknown_validator, vote.voter.to_string() + " is not a validator");
    if (vote.round > round_ && !has_room_for_round(*sender, vote.round))
      return make_error(Errc::too_many_future_rounds,
                        vote.voter.to_string() + " holds votes in too many future rounds");

    if (vote.round < round_) help_lower_round(*sender, out);
    if (count_vote(vote, *sender, false, out)) {
      touch(vote.round);
      evaluate(out);
    }
    return {};
  }

  Result<void> apply(Certificate& certificate, std::vector<Output>& out) {
    if (!started_) return make_error(Errc::not_started, "no height started");
    if (certificate.votes.empty()) return make_error(Errc::invalid_certificate, "certificate has no votes");
    const Vote& first = certificate.votes.front();
    if (first.height != height_ || decided_) {
      if (auto held = hold_for_later(first.height, first.voter, certificate, out); !held.ok()) return held;
      return {};
    }
    if (auto ok = check_round(first.round); !ok.ok()) return ok;
    if (auto ok = check_certificate(certificate); !ok.ok()) return ok;

    bool counted = false;
    for (const Vote& vote : certificate.votes)
      counted = count_vote(vote, *validators_.index_of(vote.voter), true, out) || counted;
    if (counted) {
      touch(first.round);
      evaluate(out);
    }
    return {};
  }

  Result<void> apply(TimeoutFired& timeout, std::vector<Output>& out) {
    if (!started_) return make_error(Errc::not_started, "no height started");
    // A timeout whose guard no longer holds is normal (it fired late): nothing to do.
    if (timeout.height != height_ || timeout.round != round_ || decided_) return {};
    switch (timeout.kind) {
      case TimeoutKind::propose:  // L57
        if (step_ != Step::propose) return {};
        cast_vote(VoteType::prevote, std::nullopt, out);
        step_ = Step::prevote;
        break;
      case TimeoutKind::prevote:  // L61
        if (step_ != Step::prevote) return {};
        cast_vote(VoteType::precommit, std::nullopt, out);
        step_ = Step::precommit;
        break;
      case TimeoutKind::precommit:  // L65
        if (round_ >= config_.max_round) return make_error(Errc::invalid_round, "max_round reached");
        start_round(round_ + 1, out);
        break;
    }
    evaluate(out);
    return {};
  }

  Result<void> apply(VerifyResult& verdict, std::vector<Output>& out) {
    if (!started_) return make_error(Errc::not_started, "no height started");
    if (verdict.height < height_) return make_error(Errc::stale_height, "verdict for a past height");
    if (auto ok = check_round(verdict.round); !ok.ok()) return ok;
    const Validity validity = verdict.valid ? Validity::valid : Validity::invalid;
    bool applied = false;
    if (verdict.height == height_) {
      if (auto it = rounds_.find(verdict.round); it != rounds_.end()) {
        for (auto& stored : it->second.proposals) {
          if (stored.proposal.value == verdict.value) {
            stored.validity = validity;
            applied = true;
          }
        }
      }
    }
    if (!applied) {
      // The proposal has not arrived yet: keep the verdict for it (bounded, oldest out).
      if (pending_verdicts_.size() >= config_.max_pending_verdicts) pending_verdicts_.erase(pending_verdicts_.begin());
      pending_verdicts_.push_back(std::move(verdict));
      return {};
    }
    touch(verdict.round);
    evaluate(out);
    return {};
  }

  // ---- validation ----

  Result<void> check_round(Round round) const {
    if (!round_in_range(round)) return round_out_of_range(round);
    return {};
  }

  /// check_round() for the per-message path: a plain test, the error built only when
  /// the round is out of range (a Result per vote was a visible cost at 100 validators).
  bool round_in_range(Round round) const noexcept { return round >= 0 && round <= config_.max_round; }

  [[gnu::noinline, gnu::cold]] static Result<void> round_out_of_range(Round round) {
    return make_error(Errc::invalid_round, "round " + std::to_string(round) + " out of range");
  }

  Result<void> check_lock_votes(const Proposal& p) const {
    if (p.lock_votes.empty()) return {};
    if (p.valid_round == nil_round)
      return make_error(Errc::invalid_lock_votes, "lock votes without a valid_round");
    SenderSet seen(validators_.size());
    for (const Vote& vote : p.lock_votes) {
      const auto sender = validators_.index_of(vote.voter);
      if (vote.type != VoteType::prevote || vote.height != p.height || vote.round != p.valid_round ||
          vote.value != p.value || !sender || !seen.insert(*sender))
        return make_error(Errc::invalid_lock_votes, "lock vote does not match its proposal: " + to_string(vote));
    }
    return {};
  }

  /// Certificates come in the kinds Malachite names: a polka or commit certificate (a
  /// quorum for one type and value), a precommit-any certificate (a quorum of
  /// precommits, any values) and a skip certificate (more than a third of the power, any
  /// votes). Each is one height and round, one vote per voter and type, known voters,
  /// and more than a third of the power: weaker than that, it proves nothing.
  Result<void> check_certificate(const Certificate& certificate) const {
    const Vote& first = certificate.votes.front();
    const std::size_t n = validators_.size();
    SenderSet prevoters(n), precommitters(n), voters(n);
    std::uint64_t power = 0;
    for (const Vote& vote : certificate.votes) {
      if (vote.height != first.height || vote.round != first.round)
        return make_error(Errc::invalid_certificate, "certificate mixes heights or rounds: " + to_string(vote));
      const auto sender = validators_.index_of(vote.voter);
      if (!sender) return make_error(Errc::invalid_certificate, vote.voter.to_string() + " is not a validator");
      SenderSet& seen = vote.type == VoteType::prevote ? prevoters : precommitters;
      if (!seen.insert(*sender)) return make_error(Errc::invalid_certificate, vote.voter.to_string() + " votes twice");
      if (voters.insert(*sender)) power += validators_[*sender].power;
    }
    if (!validators_.is_honest(power))
      return make_error(Errc::invalid_certificate, "certificate power " + std::to_string(power) +
                                                       " is not more than a third of " +
                                                       std::to_string(validators_.total_power()));
    return {};
  }

  /// Whether `sender` already has a vote or a proposal in this round.
  static bool holds_round(const RoundState& rs, std::size_t sender) {
    return rs.votes.senders.contains(sender) || rs.proposal_sender == sender;
  }

  bool has_room_for_round(std::size_t sender, Round round) {
    auto it = rounds_.find(round);
    if (it != rounds_.end() && holds_round(it->second, sender)) return true;
    return future_rounds_of_sender_[sender] < config_.max_future_rounds_per_sender;
  }

  // ---- messages for other heights ----

  /// Buffers a message for a later height, answers one for a decided height with laggard
  /// help, and rejects the rest.
  template <class Message>
  Result<void> hold_for_later(Height height, const Address& sender, Message& message, std::vector<Output>& out) {
    if (height < height_ || (height == height_ && decided_)) {
      // A certificate names no sender to help, and a value comes from the application.
      if constexpr (std::is_same_v<std::remove_const_t<Message>, Vote> || std::is_same_v<Message, ReceivedProposal>)
        help_decided_height(height, sender, out);
      // Late messages are routine on a live network: short texts, no allocation.
      if (height == height_) return make_error(Errc::decided, "height decided");
      return make_error(Errc::stale_height, "past height");
    }
    if (height - height_ > config_.future_heights)
      return make_error(Errc::too_far_ahead, "height " + std::to_string(height) + " is too far ahead");
    const auto slot = buffer_slot(sender);
    if (!slot) return make_error(Errc::unknown_validator, sender.to_string() + " is not a validator");
    std::size_t& count = buffered_per_sender_[*slot];
    if (count >= config_.max_buffered_per_sender)
      return make_error(Errc::buffer_full, "too many buffered messages from " + sender.to_string());
    ++count;
    future_.push_back(Buffered{height, sender, Input{std::move(message)}});
    return {};
  }

  /// Buffer accounting is per validator of the current set, plus one slot for this node
  /// (its application's values) when it is not a validator.
  std::optional<std::size_t> buffer_slot(const Address& sender) const {
    if (auto index = validators_.index_of(sender)) return index;
    if (sender == self_) return validators_.size();
    return std::nullopt;
  }

  void replay_buffered(std::vector<Output>& out) {
    std::deque<Buffered> later;
    std::deque<Buffered> now;
    buffered_per_sender_.assign(validators_.size() + 1, 0);
    for (auto& item : future_) {
      const auto slot = buffer_slot(item.sender);
      if (!slot) continue;  // no longer a validator: its messages are dropped
      if (item.height == height_) {
        now.push_back(std::move(item));
      } else if (item.height > height_) {
        ++buffered_per_sender_[*slot];
        later.push_back(std::move(item));
      }
    }
    future_ = std::move(later);
    for (auto& item : now) {
      // Replayed through the normal path; a message that is invalid now is dropped, as
      // it would have been had it arrived now.
      touched_.clear();
      (void)std::visit([&](auto& in) { return apply(in, out); }, item.input);
    }
  }

  // ---- laggard help ----

  /// Sends the commit, once, to a peer heard at the height this node decided last. The
  /// core cannot tell a peer that decided at the same moment from one that precommitted
  /// but lost the other precommits and has no timeout left to move it; only the second
  /// needs help, so a network layer that knows the peer's height drops the rest.
  void help_decided_height(Height height, const Address& peer, std::vector<Output>& out) {
    if (!config_.laggard_help || !last_decision_ || last_decision_->height != height || peer == self_) return;
    const auto index = validators_.index_of(peer);
    if (!index || !helped_commit_.insert(*index)) return;
    out.push_back(Retransmit{peer, last_decision_->proposal, last_decision_->commit()});
  }

  /// This node's votes of the current round, only those that came back as inputs: an
  /// own vote the node never fed back may never have been signed or sent (its signer
  /// refused it, or the node crashed first), and must not leave as help either.
  void help_lower_round(std::size_t peer, std::vector<Output>& out) {
    if (!config_.laggard_help || !self_index_ || self_index_ == peer || helped_round_[peer] >= round_) return;
    RoundState& rs = *current_;
    Retransmit help{validators_[peer].address, std::nullopt, {}};
    for (const std::optional<Vote>* own : {&rs.own_prevote, &rs.own_precommit}) {
      if (!*own) continue;
      const VoteTally& tally = rs.votes.of((*own)->type);
      if (tally.has_voted(*self_index_) && tally.first_vote_of(*self_index_) == (*own)->value)
        help.votes.push_back(**own);
    }
    if (help.votes.empty()) return;
    helped_round_[peer] = round_;
    out.push_back(std::move(help));
  }

  // ---- bookkeeping ----

  RoundState& round_state(Round round) {
    return rounds_.try_emplace(round, validators_.size()).first->second;
  }

  void touch(Round round) {
    if (std::find(touched_.begin(), touched_.end(), round) == touched_.end()) touched_.push_back(round);
  }

  /// Adds a vote to its tally; true if it changed any count. Conflicts become evidence.
  bool count_vote(const Vote& vote, std::size_t sender, bool certified, std::vector<Output>& out) {
    // Most votes are of the current round: skip the map lookup for them.
    RoundState& rs = vote.round == round_ ? *current_ : round_state(vote.round);
    VoteTally& tally = rs.votes.of(vote.type);
    if (tally.has_voted(sender) && tally.first_vote_of(sender) != vote.value && tally.mark_reported(sender)) {
      Vote first{vote.type, vote.height, vote.round, tally.first_vote_of(sender), vote.voter};
      out.push_back(Evidence{Evidence::Votes{std::move(first), vote}});
    }
    const std::uint64_t power = validators_[sender].power;
    const VoteOutcome outcome = certified ? tally.add_certified(sender, power, vote.value)
                                          : tally.add(sender, power, vote.value);
    if (outcome != VoteOutcome::counted) return false;
    const bool held = vote.round > round_ && holds_round(rs, sender);
    if (rs.votes.senders.insert(sender)) {
      rs.votes.sender_power += power;
      if (vote.round > round_ && !held) ++future_rounds_of_sender_[sender];
    }
    return true;
  }

  void recount_future_rounds() {
    std::fill(future_rounds_of_sender_.begin(), future_rounds_of_sender_.end(), 0);
    for (auto it = rounds_.upper_bound(round_); it != rounds_.end(); ++it) {
      const RoundState& rs = it->second;
      rs.votes.senders.for_each([&](std::size_t sender) { ++future_rounds_of_sender_[sender]; });
      if (rs.proposal_sender && !rs.votes.senders.contains(*rs.proposal_sender)) ++future_rounds_of_sender_[*rs.proposal_sender];
    }
  }

  std::optional<Validity> take_pending_verdict(Height height, Round round, const Value& value) {
    std::optional<Validity> verdict;
    std::erase_if(pending_verdicts_, [&](const VerifyResult& v) {
      if (v.height != height || v.round != round || v.value != value) return false;
      verdict = v.valid ? Validity::valid : Validity::invalid;
      return true;
    });
    return verdict;
  }

  bool is_own_round(Round round) { return self_index_ && proposer_index(round) == self_index_; }

  // ---- actions ----

  void start_round(Round round, std::vector<Output>& out) {  // L11
    round_ = round;
    step_ = Step::propose;
    current_ = &round_state(round);  // std::map nodes stay put until the height ends
    recount_future_rounds();
    if (is_own_round(round) && !propose(out)) out.push_back(GetValue{height_, round});
    // Scheduled by the proposer too, so a slow application cannot stall the round.
    out.push_back(ScheduleTimeout{TimeoutKind::propose, height_, round, config_.timeout(TimeoutKind::propose, round)});
  }

  /// Proposes validValue if there is one, else the application's value; false if the
  /// application has not supplied a value yet.
  bool propose(std::vector<Output>& out) {
    RoundState& rs = *current_;
    assert(!rs.proposed);
    Proposal proposal{height_, round_, Value{}, nil_round, self_, {}};
    if (valid_value_) {
      proposal.value = *valid_value_;
      proposal.valid_round = valid_round_;
      // The proof of the valid round travels with the proposal (the seed's lock_votes).
      if (auto it = rounds_.find(valid_round_); it != rounds_.end()) {
        if (const auto* polka = it->second.votes.prevotes.find(valid_value_)) {
          polka->senders.for_each([&](std::size_t i) {
            proposal.lock_votes.push_back(Vote{VoteType::prevote, height_, valid_round_, valid_value_, validators_[i].address});
          });
        }
      }
    } else if (auto it = round_values_.find(round_); it != round_values_.end()) {
      proposal.value = it->second;
    } else if (height_value_) {
      proposal.value = *height_value_;
    } else {
      return false;
    }
    rs.proposed = true;
    out.push_back(BroadcastProposal{std::move(proposal)});
    return true;
  }

  void cast_vote(VoteType type, std::optional<Value> value, std::vector<Output>& out) {
    if (!self_index_) return;  // an observer follows but never votes
    RoundState& rs = *current_;
    auto& own = type == VoteType::prevote ? rs.own_prevote : rs.own_precommit;
    // The step machine moves forward only, so a second vote here would be a core bug.
    assert(!own && "the core never signs two votes for one (height, round, type)");
    own = Vote{type, height_, round_, std::move(value), self_};
    out.push_back(BroadcastVote{*own});
  }

  void schedule(TimeoutKind kind, std::vector<Output>& out) {
    out.push_back(ScheduleTimeout{kind, height_, round_, config_.timeout(kind, round_)});
  }

  void decide(Round round, const Proposal& proposal, std::vector<Output>& out) {
    // try_decide saw a quorum of precommits for the value, so its tally exists.
    const auto* tally = rounds_.at(round).votes.precommits.find(proposal.value);
    assert(tally);
    decided_ = true;
    step_ = Step::commit;
    last_decision_ = Decision{height_, round, proposal, validators_, tally->senders};
    helped_commit_ = SenderSet(validators_.size());
    out.push_back(Decide{height_, round, proposal.value, last_decision_->commit()});
  }

  // ---- the rules ----

  /// Fires enabled rules in a fixed priority until none is enabled: the decision (L49)
  /// first, then the round skip (L55), then the current round's rules in line order. The
  /// two timeout schedules only advise, so they go before the step changes that would
  /// disable their guards.
  void evaluate(std::vector<Output>& out) {
    while (!decided_) {
      if (try_decide(out)) return;
      if (try_skip_round(out)) continue;
      RoundState& rs = *current_;
      if (try_schedule_precommit_timeout(rs, out)) continue;
      if (try_schedule_prevote_timeout(rs, out)) continue;
      if (try_prevote_on_proposal(rs, out)) continue;
      if (try_prevote_on_proof_of_lock(rs, out)) continue;
      if (try_precommit_on_polka(rs, out)) continue;
      if (try_precommit_nil(rs, out)) continue;
      return;
    }
  }

  // L49: a proposal and a quorum of precommits for its value, in any round. Only a new
  // proposal, precommit or verdict enables it, so only the rounds they touched are seen.
  bool try_decide(std::vector<Output>& out) {
    for (Round round : touched_) {
      // Most inputs touch only the current round: skip the map lookup for it.
      const RoundState* rs = round == round_ ? current_ : nullptr;
      if (!rs) {
        auto it = rounds_.find(round);
        if (it == rounds_.end()) continue;
        rs = &it->second;
      }
      for (const auto& stored : rs->proposals) {
        if (stored.validity == Validity::valid &&
            validators_.is_quorum(rs->votes.precommits.power_for(stored.proposal.value))) {
          decide(round, stored.proposal, out);
          return true;
        }
      }
    }
    return false;
  }

  // L55: more than a third of the power is already in a later round: join it.
  bool try_skip_round(std::vector<Output>& out) {
    Round target = round_;
    for (Round round : touched_) {
      if (round <= target) continue;
      auto it = rounds_.find(round);
      if (it != rounds_.end() && validators_.is_honest(it->second.votes.sender_power)) target = round;
    }
    if (target == round_) return false;
    start_round(target, out);
    return true;
  }

  // L47
  bool try_schedule_precommit_timeout(RoundState& rs, std::vector<Output>& out) {
    if (rs.precommit_timeout_scheduled || !validators_.is_quorum(rs.votes.precommits.any_power())) return false;
    rs.precommit_timeout_scheduled = true;
    schedule(TimeoutKind::precommit, out);
    return true;
  }

  // L34
  bool try_schedule_prevote_timeout(RoundState& rs, std::vector<Output>& out) {
    if (step_ != Step::prevote || rs.prevote_timeout_scheduled ||
        !validators_.is_quorum(rs.votes.prevotes.any_power()))
      return false;
    rs.prevote_timeout_scheduled = true;
    schedule(TimeoutKind::prevote, out);
    return true;
  }

  // L22: a fresh proposal (no valid round). Waits while its validity is unknown.
  bool try_prevote_on_proposal(RoundState& rs, std::vector<Output>& out) {
    if (step_ != Step::propose) return false;
    for (const auto& stored : rs.proposals) {
      const Proposal& p = stored.proposal;
      if (p.valid_round != nil_round || stored.validity == Validity::unknown) continue;
      const bool acceptable = stored.validity == Validity::valid &&
                              (locked_round_ == nil_round || locked_value_ == p.value);
      cast_vote(VoteType::prevote, acceptable ? std::optional<Value>(p.value) : std::nullopt, out);
      step_ = Step::prevote;
      return true;
    }
    return false;
  }

  // L28: a re-proposal with a quorum of prevotes from its valid round.
  bool try_prevote_on_proof_of_lock(RoundState& rs, std::vector<Output>& out) {
    if (step_ != Step::propose) return false;
    for (const auto& stored : rs.proposals) {
      const Proposal& p = stored.proposal;
      const Round vr = p.valid_round;
      if (vr == nil_round || vr >= round_ || stored.validity == Validity::unknown) continue;
      auto it = rounds_.find(vr);
      if (it == rounds_.end() || !validators_.is_quorum(it->second.votes.prevotes.power_for(p.value))) continue;
      const bool acceptable = stored.validity == Validity::valid && (locked_round_ <= vr || locked_value_ == p.value);
      cast_vote(VoteType::prevote, acceptable ? std::optional<Value>(p.value) : std::nullopt, out);
      step_ = Step::prevote;
      return true;
    }
    return false;
  }

  // L36: a valid proposal with a quorum of prevotes in this round: lock (if still in
  // prevote) and remember it as the valid value.
  bool try_precommit_on_polka(RoundState& rs, std::vector<Output>& out) {
    if ((step_ != Step::prevote && step_ != Step::precommit) || rs.polka_handled) return false;
    for (const auto& stored : rs.proposals) {
      const Proposal& p = stored.proposal;
      if (stored.validity != Validity::valid || !validators_.is_quorum(rs.votes.prevotes.power_for(p.value))) continue;
      rs.polka_handled = true;
      if (step_ == Step::prevote) {
        locked_value_ = p.value;
        locked_round_ = round_;
        cast_vote(VoteType::precommit, p.value, out);
        step_ = Step::precommit;
      }
      valid_value_ = p.value;
      valid_round_ = round_;
      return true;
    }
    return false;
  }

  // L44
  bool try_precommit_nil(RoundState& rs, std::vector<Output>& out) {
    if (step_ != Step::prevote || !validators_.is_quorum(rs.votes.prevotes.power_for(std::nullopt))) return false;
    cast_vote(VoteType::precommit, std::nullopt, out);
    step_ = Step::precommit;
    return true;
  }

  std::optional<std::size_t> self_index_;
  std::map<Round, RoundState> rounds_;
  RoundState* current_ = nullptr;  // rounds_[round_]
  std::vector<Round> touched_;  // rounds whose messages changed during the current input
  std::vector<std::size_t> future_rounds_of_sender_;
  std::optional<Value> height_value_;
  std::map<Round, Value> round_values_;
  std::vector<VerifyResult> pending_verdicts_;
  std::optional<Decision> last_decision_;
  std::vector<Round> helped_round_;
  SenderSet helped_commit_;
  std::deque<Buffered> future_;
  std::vector<std::size_t> buffered_per_sender_;  // by buffer_slot()
};

// ---- Core -----------------------------------------------------------------------------

Result<Core> Core::create(Address self, Config config, std::unique_ptr<ProposerSelector> proposer) {
  if (auto ok = config.validate(); !ok.ok()) return ok.error();
  if (!proposer) return make_error(Errc::invalid_argument, "a proposer selector is required");
  return Core(std::make_unique<Impl>(std::move(self), config, std::move(proposer)));
}

Core::Core(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Core::Core(Core&&) noexcept = default;
Core& Core::operator=(Core&&) noexcept = default;
Core::~Core() = default;

Result<void> Core::handle(Input input, std::vector<Output>& outputs) {
  return impl_->handle(std::move(input), outputs);
}

Result<void> Core::handle(const Vote& vote, std::vector<Output>& outputs) { return impl_->handle(vote, outputs); }

bool Core::started() const noexcept { return impl_->started_; }
Height Core::height() const noexcept { return impl_->height_; }
Round Core::round() const noexcept { return impl_->round_; }
Step Core::step() const noexcept { return impl_->step_; }
bool Core::decided() const noexcept { return impl_->decided_; }
const std::optional<Value>& Core::locked_value() const noexcept { return impl_->locked_value_; }
Round Core::locked_round() const noexcept { return impl_->locked_round_; }
const std::optional<Value>& Core::valid_value() const noexcept { return impl_->valid_value_; }
Round Core::valid_round() const noexcept { return impl_->valid_round_; }
const ValidatorSet& Core::validators() const noexcept { return impl_->validators_; }
const Config& Core::config() const noexcept { return impl_->config_; }
const Address& Core::self() const noexcept { return impl_->self_; }
std::size_t Core::tracked_rounds() const noexcept { return impl_->tracked_rounds(); }

std::optional<Address> Core::proposer(Round round) const {
  if (!impl_->started_ || round < 0) return std::nullopt;
  auto index = impl_->selector_->select(impl_->validators_, impl_->height_, round);
  if (!index || *index >= impl_->validators_.size()) return std::nullopt;
  return impl_->validators_[*index].address;
}

}  // namespace bft
