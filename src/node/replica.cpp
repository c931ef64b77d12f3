#include "bft/node/replica.hpp"

#include <algorithm>
#include <deque>
#include <map>
#include <unordered_map>

#include "bft/address_map.hpp"
#include "bft/codec/codec.hpp"
#include "bft/core.hpp"
#include "bft/crypto/certificate.hpp"
#include "bft/crypto/key_file.hpp"
#include "bft/crypto/key_ring.hpp"
#include "bft/crypto/signing.hpp"
#include "bft/crypto/vote_book.hpp"
#include "bft/net/log_limiter.hpp"
#include "bft/node/wire.hpp"
#include "bft/proposer.hpp"
#include "bft/core_driver.hpp"
#include "bft/validator_set.hpp"
#include "bft/wal/record.hpp"
#include "bft/wal/replay.hpp"
#include "bft/wal/sign_guard.hpp"

namespace bft::node {
namespace {

/// Commit certificates kept for heights this node has not reached yet.
constexpr std::size_t max_fetched_blocks = 256;
/// Signed proposals kept per height (several rounds, and an equivocating proposer's).
constexpr std::size_t max_proposals_kept = 64;

/// The first four bytes, enough to tell validators apart in a log line.
std::string short_hex(const Address& address) {
  return crypto::to_hex(address.bytes().first(std::min<std::size_t>(address.size(), 4)));
}

std::shared_ptr<const Bytes> frame_of(const WireMessage& message) {
  return std::make_shared<const Bytes>(encode_frame(message));
}

/// An input on its way into the core. A peer's vote, or a proposal's proof of lock,
/// brings the verified signed votes, kept once the core accepts the input: they can then
/// travel again in a certificate, and a repeat of them is known to be one.
struct Pending {
  Input input;
  std::vector<codec::SignedVote> proven = {};
  /// A peer's proposal as signed: kept once accepted, for help and to know repeats.
  std::optional<codec::SignedProposal> signed_proposal = std::nullopt;
  /// The last input of a fetched block: the proposal follows if the core still lacks it.
  bool completes_fetch = false;
};

/// What the replica measures, registered once into the node's registry.
struct ReplicaMetrics {
  explicit ReplicaMetrics(metrics::Registry& registry)
      : commit_latency(registry.histogram("bftcore_consensus_commit_latency_seconds",
                                          "Time from a height's start to its decision.",
                                          metrics::exponential_buckets(0.001, 2, 14))),
        rounds(registry.histogram("bftcore_consensus_rounds_per_height", "Rounds a height took to decide.",
                                  {1, 2, 3, 4, 6, 8, 16})),
        step_seconds(registry.histogram_family("bftcore_consensus_step_duration_seconds",
                                               "Time spent in each step of a round.", {"step"},
                                               metrics::exponential_buckets(0.0005, 2, 14))),
        received(registry.counter_family("bftcore_consensus_messages_received_total",
                                         "Signed proposals, votes and commit certificates received from peers.",
                                         {"type"})),
        rejected(registry.counter_family("bftcore_consensus_messages_rejected_total",
                                         "Frames from peers refused (undecodable, bad signature, unknown signer, "
                                         "...), by reason.",
                                         {"reason"})),
        proposals_received(received.with({"proposal"})),
        votes_received(received.with({"vote"})),
        certificates_received(received.with({"certificate"})) {}

  metrics::Histogram& commit_latency;
  metrics::Histogram& rounds;
  metrics::Family<metrics::Histogram>& step_seconds;
  metrics::Family<metrics::Counter>& received;
  metrics::Family<metrics::Counter>& rejected;
  metrics::Counter& proposals_received;
  metrics::Counter& votes_received;
  metrics::Counter& certificates_received;
};

double seconds_between(TimePoint from, TimePoint to) { return std::chrono::duration<double>(to - from).count(); }

}  // namespace

class Replica::Impl {
 public:
  Impl(ReplicaOptions options, const crypto::Signer& signer, Ledger& ledger, Network& network,
       const Logger& logger, wal::Wal wal, wal::SignGuard guard, Core core, TimePoint now)
      : options_(std::move(options)),
        signer_(signer),
        ledger_(ledger),
        net_(network),
        log_(logger),
        wal_(std::move(wal)),
        guard_(std::move(guard)),
        core_(std::move(core)),
        now_(now),
        height_started_(now),
        next_gossip_(now + options_.gossip_interval) {}

  // ---- recovery ----

  Result<void> recover(std::vector<wal::Record> records, const wal::RecoveryReport& report) {
    recovery_.wal = report;
    if (report.repaired)
      log_.log(LogLevel::warn, "wal_torn_tail_repaired",
               field("segment", report.repaired_segment) + field("bytes_removed", report.bytes_removed) +
                   field("reason", report.reason));
    auto replayed = wal::replay(core_, records);
    if (!replayed) return replayed.error();
    recovery_.replayed_inputs = replayed->inputs;
    recovery_.unsent_own_messages = replayed->unsent.size();

    const Height committed = ledger_.committed_height();
    if (!core_.started() || core_.height() <= committed) {
      // Nothing of the next height was logged (or the log ended before its start).
      driver_.push({start_height(committed + 1)});
    } else if (core_.height() == committed + 1) {
      restore_peer_signatures(records);
      restore_own_messages(*replayed);
      for (Input& input : replayed->not_fed_back) driver_.push({std::move(input)});
      // Signed before the crash but never durable, so never sent: signed again (the guard
      // still judges each), as they would have been without the crash. Left unsent, the
      // node would be silent in those slots, and the others may wait for exactly them.
      for (Output& output : replayed->unsent)
        if (own_message_height(output) == core_.height()) driver_.emit(output, *this, now_);
      for (Output& output : replayed->local) resume(output);
    } else {
      return make_error(Errc::invalid_argument,
                        "the write-ahead log is at height " + std::to_string(core_.height()) +
                            " but the ledger has committed only up to " + std::to_string(committed) +
                            ": the data directory is inconsistent");
    }
    drain();
    flush();
    recovery_.resumed_height = core_.height();
    recovery_.resumed_round = core_.round();
    if (records.empty()) return {};
    log_.log(LogLevel::info, "recovered",
             field("height", core_.height()) + field("round", static_cast<std::uint64_t>(std::max<Round>(core_.round(), 0))) +
                 field("replayed", replayed->inputs) + field("unsent_signed_again", replayed->unsent.size()));
    return {};
  }

  static Height own_message_height(const Output& output) {
    if (const auto* vote = std::get_if<BroadcastVote>(&output)) return vote->vote.height;
    return std::get<BroadcastProposal>(output).proposal.height;
  }

  /// Peers' signatures of the current height's votes the core accepted before the crash:
  /// what lets this node build its commit certificate, prove its lock and help peers as
  /// if it had not restarted. The log holds only signatures verified when they came.
  void restore_peer_signatures(const std::vector<wal::Record>& records) {
    for (const wal::Record& record : records) {
      const auto* logged = std::get_if<wal::PeerSignatures>(&record);
      if (!logged) continue;
      for (std::size_t i = 0; i < logged->votes.size(); ++i) {
        const Vote& vote = logged->votes[i];
        const Bytes& bytes = logged->signatures[i];
        codec::SignedVote signed_vote{vote, {}};
        if (vote.height != core_.height() || bytes.size() != signed_vote.signature.size()) continue;
        std::copy(bytes.begin(), bytes.end(), signed_vote.signature.begin());
        book_.add(signed_vote);
      }
    }
  }

  /// Own messages the log holds may have been sent before the crash: sign them again
  /// (ed25519 is deterministic, so the bytes are those sent) for gossip and
  /// certificates. The guard is asked again first: a segment's seal can make the log
  /// durable before the guard's flush at the end of the call, and the guard must know
  /// every message that leaves.
  void restore_own_messages(const wal::ReplayResult& replayed) {
    for (const Vote& vote : replayed.own_votes) {
      if (vote.height != core_.height() || !reserve(vote)) continue;
      own_unsynced_ = true;
      const codec::SignedVote signed_vote = crypto::sign_vote(signer_, options_.chain, vote, &digests_);
      book_.add(signed_vote);
      own_votes_.push_back(signed_vote);
    }
    for (const Proposal& proposal : replayed.own_proposals) {
      if (proposal.height != core_.height() || !reserve(proposal)) continue;
      own_unsynced_ = true;
      if (auto signed_proposal = crypto::sign_proposal(signer_, options_.chain, proposal, book_, &digests_))
        keep_proposal(*signed_proposal);
    }
  }

  /// Acts on what the replay produced locally that still matters at the current height.
  void resume(Output& output) {
    if (auto* timeout = std::get_if<ScheduleTimeout>(&output)) {
      if (timeout->height == core_.height()) driver_.schedule(*timeout, now_);
    } else if (auto* request = std::get_if<GetValue>(&output)) {
      if (request->height == core_.height() && request->round == core_.round() && core_.step() == Step::propose)
        driver_.push({ProposeValue{request->height, request->round, ledger_.propose(request->height)}});
    } else if (auto* decide = std::get_if<Decide>(&output)) {
      if (decide->height == core_.height()) on_decide(*decide);
    }
  }

  // ---- inputs from outside ----

  void on_frame(const Address& from, std::span<const std::uint8_t> frame, TimePoint now) {
    if (fatal_) return;
    now_ = std::max(now_, now);
    drain();  // a height waiting to start starts before anything is judged against it
    ++stats_.frames_received;
    auto message = decode_frame(frame, options_.limits, {}, &digests_);
    if (!message) return reject(from, message.error());
    if (auto* consensus = std::get_if<codec::Message>(&*message)) {
      std::visit([&](auto& m) { receive(from, m); }, *consensus);
    } else if (const auto* status = std::get_if<PeerStatus>(&*message)) {
      on_status(from, *status);
    } else if (const auto* request = std::get_if<SyncRequest>(&*message)) {
      serve_sync(from, request->from);
    } else if (const auto* pruned = std::get_if<PrunedBelow>(&*message)) {
      on_pruned(from, *pruned);
    } else {
      // Transaction gossip is the node's (TxGossip), not consensus: a host routes it there.
      return reject(from, make_error(Errc::malformed, "mempool gossip sent to consensus"));
    }
    drain();
    maybe_sync();
    flush();
  }

  void on_peer_connected(const Address& peer, TimePoint now) {
    if (fatal_) return;
    now_ = std::max(now_, now);
    drain();
    send_own_messages(&peer, true);
    flush();
  }

  void on_verdict(Height height, Round round, const Value& value, bool valid, TimePoint now) {
    if (fatal_) return;
    now_ = std::max(now_, now);
    drain();  // the height the proposal is for may be waiting to start
    if (height == core_.height() && !core_.decided()) driver_.push({VerifyResult{height, round, value, valid}});
    drain();
    flush();
  }

  void on_time(TimePoint now) {
    if (fatal_) return;
    now_ = std::max(now_, now);
    driver_.queue_due_timers(now_);
    drain();
    help_those_still_behind();
    if (now_ >= next_gossip_) {
      next_gossip_ = now_ + options_.gossip_interval;
      // Own messages are repeated only for a height that has lasted a whole interval: on a
      // network that delivers, a height decides sooner and repeats are all duplicates (n
      // peers, n² of them each tick). A peer that missed one of a height that decided
      // anyway gets the certificate (help); one whose height stalls gets them here.
      const bool stalled = core_.height() == gossiped_height_;
      gossiped_height_ = core_.height();
      send_own_messages(nullptr, stalled);
      if (auto summary = rejection_log_.flush(now_)) log_rejection_line(*summary, {});
    }
    maybe_sync();
    flush();
  }

  TimePoint next_deadline() const {
    if (driver_.has_queued()) return now_;  // a height waits to start
    TimePoint next = next_gossip_;
    if (const auto due = driver_.next_timer()) next = std::min(next, *due);
    if (!help_due_.empty()) next = std::min(next, help_due_.front().due);
    if (sync_wanted()) next = std::min(next, std::max(next_sync_, ahead_since_ + options_.sync_patience));
    return next;
  }

  const std::optional<Error>& fatal() const noexcept { return fatal_; }
  Height height() const noexcept { return start_pending_ ? core_.height() + 1 : core_.height(); }
  Round round() const noexcept { return start_pending_ ? 0 : core_.round(); }
  Step step() const noexcept { return start_pending_ ? Step::propose : core_.step(); }
  const ReplicaStats& stats() const noexcept { return stats_; }
  const RecoveryInfo& recovery() const noexcept { return recovery_; }

 private:
  // ---- receiving ----

  /// Counted always; logged within the limiter's budget, since a faulty or hostile peer
  /// can send rejectable frames as fast as the link carries them.
  void reject(const Address& from, const Error& error) {
    ++stats_.frames_rejected;
    if (metrics_) metrics_->rejected.with({to_string(error.code)}).inc();
    const std::string fields =
        field("from", short_hex(from)) + field("code", to_string(error.code)) + field("detail", error.message);
    for (const std::string& line : rejection_log_.note(to_string(error.code), fields, now_))
      log_rejection_line(line, fields);
  }

  /// The validators of a height are decided two heights before it: a message of a later
  /// height may be signed by a validator this node does not know yet, or a certificate by
  /// a quorum of a set it has yet to learn. Such a message is dropped unjudged (counted
  /// apart); the sender repeats it, and sync fetches it, once this node can judge it.
  void reject_unless_set_undecided(const Address& from, Height height, const Error& error) {
    if (height <= ledger_.committed_height() + 2) return reject(from, error);
    ++stats_.set_undecided_ignored;
  }

  void log_rejection_line(const std::string& line, const std::string& fields) const {
    if (line == fields) return log_.log(LogLevel::warn, "frame_rejected", fields);
    log_.log(LogLevel::warn, "frames_rejected_suppressed", field("summary", line));
  }

  void heard_at(const Address& peer, Height height) {
    Height& known = peer_heights_[peer];
    if (height <= known) return;
    known = height;
    furthest_peer_height_ = std::max(furthest_peer_height_, height);
    if (height > core_.height() && ahead_since_ == TimePoint{}) ahead_since_ = now_;
  }

  void receive(const Address& from, codec::SignedVote& vote) {
    if (metrics_) metrics_->votes_received.inc();
    // Gossip repeats what peers may have missed. A vote the core holds already (checked
    // when it came first) needs no signature check, no core and no WAL record.
    if (book_.find(vote.vote)) {
      ++stats_.duplicates_ignored;
      return;
    }
    // A vote of a decided height (the last precommit of a height, typically) changes
    // nothing here, so it is not worth a signature check. Whether its voter is behind
    // is for the voter's own status to say (see on_status).
    if (vote.vote.height < core_.height()) {
      ++stats_.stale_ignored;
      return;
    }
    if (auto verified = crypto::verify_vote(vote, options_.chain, ledger_.validators().keys(), &digests_); !verified)
      return reject_unless_set_undecided(from, vote.vote.height, verified.error());
    heard_at(vote.vote.voter, vote.vote.height);
    Vote core_view = vote.vote;
    driver_.push({std::move(core_view), {std::move(vote)}});
  }

  void receive(const Address& from, codec::SignedProposal& proposal) {
    if (metrics_) metrics_->proposals_received.inc();
    Proposal core_view = proposal.proposal();
    if (find_proposal(core_view)) {
      ++stats_.duplicates_ignored;
      return;
    }
    if (proposal.height < core_.height()) {
      ++stats_.stale_ignored;
      return;
    }
    if (auto verified = crypto::verify_proposal(proposal, options_.chain, ledger_.validators().keys(), &digests_);
        !verified)
      return reject_unless_set_undecided(from, proposal.height, verified.error());
    heard_at(proposal.proposer, proposal.height);
    const Validity validity = ledger_.check_proposal(proposal.height, proposal.round, proposal.value, proposal.proposer,
                                                     proposal.valid_round);
    if (validity == Validity::unknown) await_verdict(core_view);
    // The proof of lock is a set of prevotes: kept with their signatures like any vote.
    std::vector<codec::SignedVote> lock_votes;
    for (const Vote& lock_vote : core_view.lock_votes)
      for (const codec::VoteSignature& signature : proposal.lock_votes)
        if (signature.voter == lock_vote.voter) lock_votes.push_back({lock_vote, signature.signature});
    driver_.push({ReceivedProposal{std::move(core_view), validity}, std::move(lock_votes), std::move(proposal)});
  }

  /// A commit certificate: a block for a peer behind, or the answer to a sync request.
  void receive(const Address& from, codec::QuorumCertificate& commit) {
    if (metrics_) metrics_->certificates_received.inc();
    if (commit.type != VoteType::precommit || !commit.value)
      return reject(from, make_error(Errc::invalid_certificate, "a certificate that decides nothing"));
    if (commit.height < core_.height() || (commit.height == core_.height() && core_.decided() && !awaiting_commit_))
      return;
    if (commit.height > core_.height() + max_fetched_blocks || fetched_.contains(commit.height)) return;
    // The set of a height is decided two heights before it. A certificate beyond that is
    // checked against the newest set, and again when its height comes if a change made
    // the set of its height another; one the newest set does not carry is dropped
    // unjudged (a sync crossing a change asks for it again once the change is known).
    const ValidatorEpoch& epoch = ledger_.validators().at(commit.height);
    if (auto verified = crypto::verify_certificate(commit, options_.chain, epoch.set, ledger_.validators().keys());
        !verified)
      return reject_unless_set_undecided(from, commit.height, verified.error());
    const Height height = commit.height;
    heard_at(from, height + 1);
    fetched_.emplace(height, Fetched{std::move(commit), from, &epoch});
    // The last block asked for came: the next request need not wait. (Not on every block
    // of an answer, or each would trigger a request for the same range.)
    if (height >= sync_asked_until_) next_sync_ = TimePoint{};
    apply_fetched();
  }

  void on_status(const Address& from, const PeerStatus& status) {
    heard_at(from, status.height);
    if (status.height + 1 != core_.height()) return;
    Height& scheduled = help_scheduled_[from];
    if (scheduled >= status.height) return;
    scheduled = status.height;
    help_due_.push_back({from, status.height, now_ + options_.help_delay});
  }

  /// Helps the peers whose help is due, if they are still at the height they were heard at.
  void help_those_still_behind() {
    while (!help_due_.empty() && help_due_.front().due <= now_) {
      const DueHelp due = help_due_.front();
      help_due_.pop_front();
      help_decide(due.peer, due.height);
    }
  }

  // ---- helping peers ----

  /// A peer still at `height`, which this node has decided: the commit certificate lets
  /// it decide too (and then ask for the next, or sync). Once per peer and height, as
  /// on_status() schedules it; if the certificate is lost, the peer syncs.
  void help_decide(const Address& peer, Height height) {
    if (height == 0 || height >= core_.height()) return;
    if (const Height* known = peer_heights_.find(peer); known && *known > height) return;
    const auto commit = committed_block(height);
    if (!commit) return;
    ++stats_.help_sent;
    post(peer, frame_of(codec::Message{*commit}));
  }

  /// The core's help for a peer in an earlier round of this height: this node's votes
  /// of that round, with the proposal it needs. Help for a lower height goes through
  /// help_decide(), which knows whether the peer still needs it.
  void help(const Retransmit& retransmit) {
    if (const Height* known = peer_heights_.find(retransmit.to); known && *known > core_.height()) return;
    bool sent = false;
    for (const Vote& vote : retransmit.votes) {
      if (vote.height != core_.height()) return;
      if (const codec::Signature* signature = book_.find(vote)) {
        post(retransmit.to, frame_of(codec::Message{codec::SignedVote{vote, *signature}}));
        sent = true;
      }
    }
    if (retransmit.proposal)
      if (const codec::SignedProposal* proposal = find_proposal(*retransmit.proposal)) {
        post(retransmit.to, frame_of(codec::Message{*proposal}));
        sent = true;
      }
    if (sent) ++stats_.help_sent;
  }

  /// Answers with up to sync_batch blocks, within the peer's budget: requests are cheap
  /// to send and blocks are read from disk, so a peer gets sync_blocks_per_second, in
  /// bursts of up to four batches, and no more.
  void serve_sync(const Address& peer, Height from) {
    const double burst = 4.0 * static_cast<double>(options_.sync_batch);
    SyncBudget& budget = sync_budgets_.try_emplace(peer, SyncBudget{burst, now_}).first->second;
    const double elapsed = std::chrono::duration<double>(now_ - budget.refilled).count();
    budget.blocks = std::min(burst, budget.blocks + elapsed * static_cast<double>(options_.sync_blocks_per_second));
    budget.refilled = now_;
    const auto allowed = static_cast<Height>(std::min(budget.blocks, static_cast<double>(options_.sync_batch)));
    if (allowed == 0) {
      ++stats_.sync_requests_throttled;
      return;
    }
    from = std::max<Height>(from, 1);
    if (const Height base = ledger_.base_height(); from < base && from <= ledger_.committed_height()) {
      budget.blocks -= 1;
      post(peer, frame_of(PrunedBelow{base}));
      return;
    }
    const Height last = std::min(ledger_.committed_height(), from + allowed - 1);
    for (Height height = from; height <= last; ++height) {
      const auto commit = committed_block(height);
      if (!commit) break;
      budget.blocks -= 1;
      ++stats_.sync_blocks_served;
      post(peer, frame_of(codec::Message{*commit}));
    }
  }

  /// A peer deleted the blocks this node asked for. Logged once per peer and base: block
  /// sync cannot bring this node past it from that peer.
  void on_pruned(const Address& from, const PrunedBelow& pruned) {
    ++stats_.sync_pruned_answers;
    if (pruned.base <= core_.height()) return;
    Height& logged = pruned_bases_[from];
    if (logged == pruned.base) return;
    logged = pruned.base;
    log_.log(LogLevel::warn, "peer_pruned",
             field("peer", short_hex(from)) + field("base", pruned.base) + field("height", core_.height()));
  }

  /// A committed block to send a peer; one that cannot be read is logged and counted,
  /// and the peer gets it from another validator.
  std::optional<codec::QuorumCertificate> committed_block(Height height) {
    auto commit = ledger_.committed(height);
    if (commit) return std::move(*commit);
    ++stats_.blocks_unreadable;
    log_.log(LogLevel::error, "block_unreadable", field("height", height) + field("detail", commit.error().message));
    return std::nullopt;
  }

  // ---- fetching ----

  bool sync_wanted() const {
    return awaiting_commit_ || furthest_peer_height_ > core_.height();
  }

  /// Asks a peer ahead for blocks when this node is two or more heights behind, has
  /// waited sync_patience with a peer ahead, or decided without the signatures a
  /// certificate needs (after a restart).
  void maybe_sync() {
    if (fatal_ || now_ < next_sync_) return;
    const bool peer_ahead = furthest_peer_height_ > core_.height();
    if (!peer_ahead) {
      ahead_since_ = TimePoint{};
      if (!awaiting_commit_) return;
    } else if (ahead_since_ == TimePoint{}) {
      ahead_since_ = now_;
    }
    const bool far_behind = furthest_peer_height_ >= core_.height() + 2;
    const bool waited = peer_ahead && now_ >= ahead_since_ + options_.sync_patience;
    if (!far_behind && !waited && !awaiting_commit_) return;
    next_sync_ = now_ + options_.sync_patience;
    sync_asked_until_ = core_.height() + options_.sync_batch - 1;
    const auto request = frame_of(SyncRequest{core_.height()});
    if (const Address* source = peer_ahead ? next_sync_source() : nullptr)
      post(*source, request);
    else
      post_to_all(request);
    ++stats_.sync_requests;
  }

  /// The peer to ask for blocks: each request goes to the next of the peers heard ahead
  /// of this node (in address order), so one that never answers (down since, or lost to
  /// a damaged disk) cannot hold sync up. Runs once per request, not per frame.
  const Address* next_sync_source() const {
    std::vector<const Address*> ahead;
    peer_heights_.for_each([&](const Address& peer, Height height) {
      if (height > core_.height()) ahead.push_back(&peer);
    });
    if (ahead.empty()) return nullptr;
    std::sort(ahead.begin(), ahead.end(), [](const Address* a, const Address* b) { return *a < *b; });
    return ahead[stats_.sync_requests % ahead.size()];
  }

  /// Gives the core the fetched block of its height: the certificate, the verdict on the
  /// value and, if the core lacks it, the proposal (the quorum vouches for it) — what
  /// the core's decision rule needs.
  void apply_fetched() {
    fetched_.erase(fetched_.begin(), fetched_.lower_bound(core_.height()));
    if (fetched_.empty() || fetched_.begin()->first != core_.height()) return;
    Fetched& fetched = fetched_.begin()->second;
    if (const ValidatorEpoch& epoch = ledger_.validators().at(core_.height()); &epoch != fetched.checked_against) {
      auto verified = crypto::verify_certificate(fetched.commit, options_.chain, epoch.set, ledger_.validators().keys());
      if (!verified) {
        const Address from = fetched.from;
        fetched_.erase(fetched_.begin());
        next_sync_ = TimePoint{};
        return reject(from, verified.error());
      }
      fetched.checked_against = &epoch;
    }
    const codec::QuorumCertificate& commit = fetched.commit;
    if (awaiting_commit_) {
      // Decided already (after a restart), short of signatures: the fetched certificate
      // is the proof of that same decision.
      if (commit.round == awaiting_commit_->round && commit.value == awaiting_commit_->value) {
        ++stats_.certificates_fetched_after_decision;
        finish_height(commit);
      }
      return;
    }
    if (core_.decided() || fed_fetched_ == commit.height) return;  // given once per height
    fed_fetched_ = commit.height;
    ++stats_.blocks_synced;
    const Height height = commit.height;
    const Round round = commit.round;
    driver_.push({commit.certificate()});
    driver_.push({VerifyResult{height, round, *commit.value, true}, {}, std::nullopt, true});
  }

  // ---- the core ----

  /// Inputs that outputs cause (own messages fed back, the next height) queue behind the
  /// current one, so the core never runs inside its own handle().
  ///
  /// A finished height ends the call: the next height's start waits in the inbox for the
  /// host's next turn (next_deadline() is then due at once). A lone validator, or one
  /// syncing a long way, otherwise decides height after height inside one call and never
  /// lets its host stop it or serve anything else.
  void drain() {
    if (draining_) return;
    draining_ = true;
    while (driver_.has_queued() && !fatal_) {
      handle(driver_.pop());
      if (height_finished_) break;
    }
    height_finished_ = false;
    draining_ = false;
    measure_step();
  }

  /// The time the core spent in the step it just left (steps change only in drain()).
  void measure_step() {
    if (!metrics_ || !core_.started()) return;
    const Step step = core_.step();
    if (step == measured_step_ && core_.height() == measured_height_ && core_.round() == measured_round_) return;
    if (measured_height_ != 0) metrics_->step_seconds.with({to_string(measured_step_)}).observe(seconds_between(step_since_, now_));
    measured_step_ = step;
    measured_height_ = core_.height();
    measured_round_ = core_.round();
    step_since_ = now_;
  }

  void handle(Pending pending) {
    if (auto logged = wal_.append_input(pending.input); !logged) return stop(logged.error());
    const bool starts_height = std::holds_alternative<StartHeight>(pending.input);
    if (starts_height) start_pending_ = false;
    std::optional<VerifyResult> fetched_verdict;
    if (pending.completes_fetch) fetched_verdict = std::get<VerifyResult>(pending.input);
    driver_.handle(std::move(pending.input), *this, now_, [&](const Result<void>& handled) {
      if (!handled) {
        ++stats_.inputs_rejected;
        return;
      }
      // Before the outputs: a Decide builds its certificate from these signatures.
      for (const codec::SignedVote& vote : pending.proven) book_.add(vote);
      if (pending.signed_proposal) keep_proposal(*pending.signed_proposal);
      if (!pending.proven.empty()) log_peer_signatures(pending.proven);
    });
    if (fatal_) return;
    if (starts_height) apply_fetched();
    if (fetched_verdict && !core_.decided() && core_.height() == fetched_verdict->height) {
      // Certificate and verdict are in, yet no decision: the core lacks the proposal.
      if (const auto proposer = core_.proposer(fetched_verdict->round))
        driver_.push({ReceivedProposal{Proposal{fetched_verdict->height, fetched_verdict->round,
                                                std::move(fetched_verdict->value), nil_round, *proposer, {}},
                                       Validity::valid}});
    }
  }

 public:
  // ---- the core's outputs (CoreHost) ----

  bool halted() const noexcept { return fatal_.has_value(); }

  /// Signed, logged and sent once the log is durable (flush()); false if the guard or the
  /// log refused it, so the core does not count it.
  bool on_output(const BroadcastProposal& out) {
    if (!reserve(out.proposal)) return false;
    auto signed_proposal = crypto::sign_proposal(signer_, options_.chain, out.proposal, book_, &digests_);
    if (!signed_proposal) {
      log_.log(LogLevel::error, "proposal_not_signed", field("detail", signed_proposal.error().message));
      return false;
    }
    const codec::Signature& signature = signed_proposal->signature;
    if (!log_own(wal::OwnProposal{out.proposal, Bytes(signature.begin(), signature.end())})) return false;
    post_to_all(frame_of(codec::Message{*signed_proposal}));
    keep_proposal(*signed_proposal);
    return true;
  }

  bool on_output(const BroadcastVote& out) {
    if (!reserve(out.vote)) return false;
    const codec::SignedVote signed_vote = crypto::sign_vote(signer_, options_.chain, out.vote, &digests_);
    const codec::Signature& signature = signed_vote.signature;
    if (!log_own(wal::OwnVote{out.vote, Bytes(signature.begin(), signature.end())})) return false;
    post_to_all(frame_of(codec::Message{signed_vote}));
    book_.add(signed_vote);
    own_votes_.push_back(signed_vote);
    return true;
  }

  void on_output(Decide& out) { on_decide(out); }

  void on_output(GetValue& out) {
    driver_.push({ProposeValue{out.height, out.round, ledger_.propose(out.height)}});
  }

  void on_output(Evidence& out) {
    ++stats_.evidence;
    log_.log(LogLevel::warn, "equivocation", field("offender", short_hex(out.offender())) + field("height", core_.height()));
    if (options_.on_evidence) options_.on_evidence(out);
  }

  void on_output(Retransmit& out) { help(out); }

 private:
  /// Asks the guard for the message's slot; the record becomes durable in flush().
  template <class Message>
  bool reserve(const Message& message) {
    auto allowed = guard_.reserve(message, &digests_);
    if (allowed) return true;
    if (allowed.error().code == Errc::already_signed) {
      ++stats_.guard_refusals;
      log_.log(LogLevel::error, "double_sign_refused", field("detail", allowed.error().message));
      return false;
    }
    stop(allowed.error());
    return false;
  }

  /// Peers' signatures the core just accepted votes with, so that they survive a restart
  /// (wal::PeerSignatures). Durable like the inputs they came with, under the sync policy.
  void log_peer_signatures(const std::vector<codec::SignedVote>& proven) {
    // Logged for every input that brought signatures (each vote a node accepts): built in
    // one record kept for it, whose buffers are reused rather than allocated each time.
    wal::PeerSignatures& record = std::get<wal::PeerSignatures>(peer_signatures_record_);
    record.votes.clear();
    record.signatures.resize(proven.size());
    for (std::size_t i = 0; i < proven.size(); ++i) {
      record.votes.push_back(proven[i].vote);
      record.signatures[i].assign(proven[i].signature.begin(), proven[i].signature.end());
    }
    if (auto logged = wal_.append(peer_signatures_record_); !logged) stop(logged.error());
  }

  /// Logs an own message; it leaves with the next flush(), once durable.
  bool log_own(const wal::Record& own) {
    if (auto logged = wal_.append_unsynced(own); !logged) {
      stop(logged.error());
      return false;
    }
    own_unsynced_ = true;
    return true;
  }


  // ---- deciding ----

  void on_decide(const Decide& decide) {
    // Decided through a fetched block: its certificate is the proof at hand.
    if (const auto fetched = fetched_.find(decide.height);
        fetched != fetched_.end() && fetched->second.commit.round == decide.round &&
        fetched->second.commit.value == decide.value) {
      const codec::QuorumCertificate commit = std::move(fetched->second.commit);
      fetched_.erase(fetched);
      return finish_height(commit);
    }
    if (auto commit = crypto::make_certificate(decide.commit, book_)) return finish_height(*commit);
    // Decided through votes the log holds without their signatures (after a restart):
    // the proof comes from a peer, whose certificate for this decision is as good.
    awaiting_commit_ = AwaitedCommit{decide.round, decide.value};
    next_sync_ = TimePoint{};
    log_.log(LogLevel::info, "awaiting_commit_certificate", field("height", decide.height));
    apply_fetched();
  }

  void finish_height(const codec::QuorumCertificate& commit) {
    awaiting_commit_.reset();
    const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(now_ - height_started_).count();
    const auto commit_ms = static_cast<std::uint32_t>(std::clamp<std::int64_t>(elapsed, 0, UINT32_MAX));
    // The block must be durable before the next height starts: the log then holds the
    // next height only, and a restart finds this one in the ledger.
    if (auto committed = ledger_.commit(commit, commit_ms); !committed) return stop(committed.error());
    ++stats_.heights_committed;
    if (metrics_) {
      metrics_->commit_latency.observe(seconds_between(height_started_, now_));
      metrics_->rounds.observe(static_cast<double>(commit.round) + 1);
    }
    if (log_.enabled(LogLevel::debug))  // once per height: not worth formatting unless wanted
      log_.log(LogLevel::debug, "committed",
               field("height", commit.height) + field("round", static_cast<std::uint64_t>(commit.round)));
    const Height next = commit.height + 1;
    book_.forget_below(commit.height);  // the last height's votes stay: peers may need help
    std::erase_if(proposals_, [&](const codec::SignedProposal& p) { return p.height < commit.height; });
    own_votes_.clear();
    driver_.drop_timers_below(next);
    height_started_ = now_;
    if (furthest_peer_height_ <= next)
      ahead_since_ = TimePoint{};
    else
      ahead_since_ = now_;
    driver_.push({start_height(next)});
    height_finished_ = true;
    start_pending_ = true;
    ask_awaited_verdicts(next);
  }

  /// A proposal of a height the ledger could not judge yet: asked again when it can.
  void await_verdict(const Proposal& proposal) {
    if (awaiting_verdict_.size() == max_awaiting_verdicts) awaiting_verdict_.pop_front();
    awaiting_verdict_.push_back({proposal.height, proposal.round, proposal.value, proposal.proposer, proposal.valid_round});
  }

  /// The heights before `height` are committed: the ledger judges its proposals now.
  /// Queued after the height's start, so the core takes the verdicts at that height.
  void ask_awaited_verdicts(Height height) {
    std::deque<AwaitedVerdict> later;
    for (AwaitedVerdict& awaited : awaiting_verdict_) {
      if (awaited.height > height) {
        later.push_back(std::move(awaited));
        continue;
      }
      if (awaited.height < height) continue;
      const Validity validity =
          ledger_.check_proposal(awaited.height, awaited.round, awaited.value, awaited.proposer, awaited.valid_round);
      if (validity != Validity::unknown)
        driver_.push({VerifyResult{awaited.height, awaited.round, std::move(awaited.value), validity == Validity::valid}});
    }
    awaiting_verdict_ = std::move(later);
  }

  void stop(const Error& error) {
    if (fatal_) return;
    fatal_ = error;
    log_.log(LogLevel::error, "stopped", field("code", to_string(error.code)) + field("detail", error.message));
  }

  // ---- sending ----

  void post(const Address& to, std::shared_ptr<const Bytes> frame) { outbox_.push_back({to, std::move(frame)}); }
  void post_to_all(std::shared_ptr<const Bytes> frame) { outbox_.push_back({std::nullopt, std::move(frame)}); }

  /// Ends every call from outside. Own messages logged during the call become durable
  /// first — the guard's records, then the log's: one flush of each file for all of them
  /// (a proposer's proposal and the prevote it causes, say) — and only then does
  /// anything posted during the call leave, in order.
  void flush() {
    if (own_unsynced_ && !fatal_) {
      // The log first: the guard must never hold a message the log lost. Restarted
      // without it, the node could sign nothing else in that slot (not even another
      // block, whose time differs), and a round that needs its vote would never end.
      if (auto logged = wal_.sync(); !logged)
        stop(logged.error());
      else if (auto guarded = guard_.sync(); !guarded)
        stop(guarded.error());
      own_unsynced_ = false;
    }
    if (!fatal_)
      for (Outgoing& out : outbox_) {
        if (out.to)
          net_.send(*out.to, std::move(out.frame));
        else
          net_.broadcast(std::move(out.frame));
      }
    outbox_.clear();
  }

  // ---- gossip ----

  /// False if the proposal was known already or there is no room for it.
  bool keep_proposal(const codec::SignedProposal& proposal) {
    if (find_proposal(proposal.proposal()) || proposals_.size() >= max_proposals_kept) return false;
    proposals_.push_back(proposal);
    return true;
  }

  const codec::SignedProposal* find_proposal(const Proposal& proposal) const {
    for (const codec::SignedProposal& kept : proposals_)
      if (kept.height == proposal.height && kept.round == proposal.round && kept.value == proposal.value &&
          kept.valid_round == proposal.valid_round && kept.proposer == proposal.proposer)
        return &kept;
    return nullptr;
  }

  /// Status and (with `messages`) own messages of the current height, to one peer or all.
  void send_own_messages(const Address* peer, bool messages) {
    const auto send = [&](std::shared_ptr<const Bytes> frame) {
      if (peer)
        post(*peer, std::move(frame));
      else
        post_to_all(std::move(frame));
    };
    send(frame_of(PeerStatus{core_.height(), core_.round()}));
    if (!messages) return;
    for (const codec::SignedProposal& proposal : proposals_)
      if (proposal.proposer == core_.self() && proposal.height == core_.height() && proposal.round >= core_.round() - 1)
        send(frame_of(codec::Message{proposal}));
    for (const codec::SignedVote& vote : own_votes_)
      if (vote.vote.round >= core_.round() - 1) send(frame_of(codec::Message{vote}));
  }

  /// Blocks a peer may still be sent in answer to its sync requests.
  struct SyncBudget {
    double blocks;
    TimePoint refilled;
  };

  /// A height starts with its validators: the ledger knows them two heights ahead.
  StartHeight start_height(Height height) const { return StartHeight{height, ledger_.validators().at(height).set}; }

  /// A commit certificate a peer sent for a height this node has yet to reach.
  struct Fetched {
    codec::QuorumCertificate commit;
    Address from;
    /// The set whose quorum it holds; of its height once the node is there.
    const ValidatorEpoch* checked_against;
  };

  /// A frame posted during a call, sent at its end: to one peer, or to all.
  struct Outgoing {
    std::optional<Address> to;
    std::shared_ptr<const Bytes> frame;
  };

  struct AwaitedCommit {
    Round round;
    Value value;
  };

  struct AwaitedVerdict {
    Height height;
    Round round;
    Value value;
    Address proposer;
    Round valid_round;
  };
  /// Proposals heard ahead of this node, waiting for the ledger to judge them. The core
  /// buffers a few heights ahead only; beyond this bound the oldest is forgotten (its
  /// round then times out, as for a proposal never heard).
  static constexpr std::size_t max_awaiting_verdicts = 64;

  const ReplicaOptions options_;
  const crypto::Signer& signer_;
  Ledger& ledger_;
  Network& net_;
  const Logger& log_;
  wal::Wal wal_;
  wal::SignGuard guard_;
  Core core_;

  TimePoint now_;
  TimePoint height_started_;
  TimePoint next_gossip_;
  Height gossiped_height_ = 0;  // the height at the last gossip tick
  TimePoint next_sync_{};
  Height sync_asked_until_ = 0;  // the last height the latest sync request can bring
  TimePoint ahead_since_{};  // since when a peer has been known ahead of this node

  CoreDriver<Pending> driver_{core_};  // the inbox: inputs wait here for the core
  bool draining_ = false;
  bool height_finished_ = false;  // ends drain(): one height per call
  bool start_pending_ = false;    // the next height's StartHeight waits in the inbox
  std::vector<Outgoing> outbox_;
  bool own_unsynced_ = false;  // own messages logged since the last flush()

  crypto::VoteBook book_;
  codec::ValueDigests digests_;  // the values of the rounds in flight, hashed once each
  std::vector<codec::SignedProposal> proposals_;  // heard and own, current and last height
  std::vector<codec::SignedVote> own_votes_;      // of the current height
  wal::Record peer_signatures_record_{wal::PeerSignatures{}};  // log_peer_signatures()
  AddressMap<Height> peer_heights_;
  /// The highest height any peer was heard at, kept as heights are heard: sync looks at
  /// it after every frame, and a scan of every peer's height would cost O(peers) there.
  Height furthest_peer_height_ = 0;
  /// Peers heard one height behind, helped at `due` if still behind (help_delay after,
  /// so in order of due time): one entry per peer and height (help_scheduled_), however
  /// often a peer repeats its status.
  struct DueHelp {
    Address peer;
    Height height;
    TimePoint due;
  };
  std::deque<DueHelp> help_due_;
  AddressMap<Height> help_scheduled_;
  std::unordered_map<Address, SyncBudget> sync_budgets_;  // one per validator at most
  std::unordered_map<Address, Height> pruned_bases_;      // the last base each peer reported
  std::map<Height, Fetched> fetched_;
  Height fed_fetched_ = 0;  // the height whose fetched block went to the core
  std::optional<AwaitedCommit> awaiting_commit_;
  std::deque<AwaitedVerdict> awaiting_verdict_;

  std::optional<Error> fatal_;
  ReplicaStats stats_;
  std::unique_ptr<ReplicaMetrics> metrics_ = options_.metrics ? std::make_unique<ReplicaMetrics>(*options_.metrics) : nullptr;
  Step measured_step_ = Step::propose;
  Height measured_height_ = 0;
  Round measured_round_ = 0;
  TimePoint step_since_;
  net::LogLimiter rejection_log_{{.lines_per_interval = 5, .interval = std::chrono::seconds(10), .what = "frames rejected"}};
  RecoveryInfo recovery_;
};

// ---- Replica --------------------------------------------------------------------------

Result<std::unique_ptr<Replica>> Replica::open(ReplicaOptions options, const crypto::Signer& signer,
                                               wal::Storage& wal_storage, wal::Storage& guard_storage,
                                               Ledger& ledger, Network& network, const Logger& logger,
                                               TimePoint now) {
  if (options.gossip_interval.count() <= 0 || options.sync_patience.count() <= 0 || options.sync_batch == 0 ||
      options.sync_blocks_per_second == 0)
    return make_error(Errc::invalid_argument,
                      "gossip_interval, sync_patience, sync_batch and sync_blocks_per_second must be positive");
  // A node whose key is in no set of its heights follows the chain without signing.
  const Address self = crypto::address_of(signer.public_key());
  if (!options.make_selector) return make_error(Errc::invalid_argument, "make_selector is required");
  auto core = Core::create(self, options.consensus, options.make_selector());
  if (!core) return core.error();
  auto guard = wal::SignGuard::open(guard_storage, wal::SignGuard::default_keep_heights, options.guard_preallocate_bytes);
  if (!guard) return guard.error();
  // The replay of the last height needs what the core buffered for it during the heights
  // before (see WalOptions::keep_heights).
  options.wal.keep_heights = std::max<std::size_t>(options.wal.keep_heights, options.consensus.future_heights);
  auto opened = wal::Wal::open(wal_storage, options.wal);
  if (!opened) return opened.error();

  auto impl = std::make_unique<Impl>(std::move(options), signer, ledger, network, logger, std::move(opened->wal),
                                     std::move(*guard), std::move(*core), now);
  if (auto recovered = impl->recover(std::move(opened->records), opened->report); !recovered) return recovered.error();
  if (impl->fatal()) return *impl->fatal();
  return std::unique_ptr<Replica>(new Replica(std::move(impl)));
}

Replica::Replica(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Replica::~Replica() = default;

void Replica::on_frame(const Address& from, std::span<const std::uint8_t> frame, TimePoint now) {
  impl_->on_frame(from, frame, now);
}
void Replica::on_peer_connected(const Address& peer, TimePoint now) { impl_->on_peer_connected(peer, now); }
void Replica::on_time(TimePoint now) { impl_->on_time(now); }
void Replica::on_verdict(Height height, Round round, const Value& value, bool valid, TimePoint now) {
  impl_->on_verdict(height, round, value, valid, now);
}
TimePoint Replica::next_deadline() const { return impl_->next_deadline(); }
const std::optional<Error>& Replica::fatal() const noexcept { return impl_->fatal(); }
Height Replica::height() const noexcept { return impl_->height(); }
Round Replica::round() const noexcept { return impl_->round(); }
Step Replica::step() const noexcept { return impl_->step(); }
const ReplicaStats& Replica::stats() const noexcept { return impl_->stats(); }
const RecoveryInfo& Replica::recovery() const noexcept { return impl_->recovery(); }

}  // namespace bft::node
