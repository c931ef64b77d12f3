#include "bft/runtime/bft.hpp"

#include <algorithm>
#include <atomic>
#include <cassert>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "bft/core_driver.hpp"
#include "translate.hpp"
#include "verifications.hpp"

namespace bft::runtime {

std::string_view to_string(SendErrc code) noexcept {
  switch (code) {
    case SendErrc::queue_full: return "queue_full";
    case SendErrc::stopped: return "stopped";
    case SendErrc::invalid_input: return "invalid_input";
  }
  return "unknown_error";
}

namespace {

using detail::NewHeight;

/// flush()'s marker: passed once the worker has taken everything queued before it.
struct Fence {
  std::uint64_t ticket = 0;
};

/// What the input queue holds: the seed's inputs, with Status already checked, plus the
/// fence.
using Command = std::variant<Start, Pause, Fence, NewHeight, Feed, Proposal, Vote, Commit, VerifyResp>;

/// Control messages are not counted against the capacity and are obeyed while paused.
bool is_control(const Command& command) {
  return std::holds_alternative<Start>(command) || std::holds_alternative<Pause>(command) ||
         std::holds_alternative<Fence>(command);
}

/// Status is the application's own, one per height, and what lets messages waiting for
/// a height run: a queue full of them must still take it.
bool takes_room(const Command& command) {
  return !is_control(command) && !std::holds_alternative<NewHeight>(command);
}

/// Checks what can be checked without the core: a Status must make a validator set, a
/// Commit's votes must be its own precommits.
Result<Command> to_command(CoreInput&& message) {
  return std::visit(
      [](auto&& input) -> Result<Command> {
        using T = std::decay_t<decltype(input)>;
        if constexpr (std::is_same_v<T, Status>) {
          auto checked = detail::to_new_height(std::move(input));
          if (!checked) return checked.error();
          return Command{std::move(*checked)};
        } else {
          if constexpr (std::is_same_v<T, Commit>) {
            if (auto ok = detail::check_commit(input); !ok) return ok.error();
          }
          return Command{std::move(input)};
        }
      },
      std::move(message));
}

/// The longest the worker sleeps at a stretch; it then looks at its timers again. Keeps
/// a far-away deadline (the core saturates huge timeouts) out of the OS's wait call.
constexpr auto max_sleep = std::chrono::hours(1);

/// How often an idle worker looks for new messages before it sleeps (see linger()).
constexpr int linger_looks = 128;

}  // namespace

class Bft::Impl final : private Clock::Listener {
 public:
  Impl(FromCore& sink, Address self, Options options, Core core)
      : sink_(sink),
        options_(std::move(options)),
        clock_(options_.clock ? *options_.clock : steady_clock()),
        self_(std::move(self)),
        core_(std::move(core)),
        verifications_(options_.max_pending_verifications) {
    {
      // The worker starts by taking mutex_, so worker_id_ is set before it can be read.
      const std::lock_guard lock(mutex_);
      worker_ = std::thread([this] { run(); });
      worker_id_ = worker_.get_id();
    }
    clock_.subscribe(*this);
  }

  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  ~Impl() {
    // Destroying the handle from its own sink would make the worker wait for itself.
    assert(!on_worker_thread() && "a handle must not be destroyed from its own sink");
    stop();
  }

  SendResult send(CoreInput&& message) {
    auto command = to_command(std::move(message));
    if (!command) return SendError{SendErrc::invalid_input, command.error().message};
    std::optional<Height> next_height;
    if (const auto* status = std::get_if<NewHeight>(&*command)) next_height = status->height;
    return enqueue(std::move(*command), next_height);
  }

  Height next_height() const noexcept { return next_height_.load(std::memory_order_acquire); }

  bool flush() {
    if (on_worker_thread()) return false;
    std::unique_lock lock(mutex_);
    if (stopped_) return false;
    const std::uint64_t ticket = ++fences_sent_;
    pending_.emplace_back(Fence{ticket});
    if (worker_sleeping_) wake_worker_.notify_one();
    fence_passed_.wait(lock, [&] { return fences_passed_ >= ticket || stopped_; });
    return fences_passed_ >= ticket;
  }

  void stop() {
    {
      const std::lock_guard lock(mutex_);
      stopped_ = true;
      stopping_.store(true, std::memory_order_relaxed);
    }
    wake_worker_.notify_one();
    fence_passed_.notify_all();
    if (on_worker_thread()) return;
    const std::lock_guard lock(join_mutex_);
    if (worker_.joinable()) worker_.join();
    if (subscribed_) {
      clock_.unsubscribe(*this);
      subscribed_ = false;
    }
  }

 private:
  // ---- any thread ----

  bool on_worker_thread() const { return std::this_thread::get_id() == worker_id_; }

  SendResult enqueue(Command&& command, std::optional<Height> next_height) {
    const bool counted = takes_room(command);
    bool wake = false;
    {
      const std::lock_guard lock(mutex_);
      if (stopped_) return SendError{SendErrc::stopped, {}};
      if (counted) {
        if (held_ >= options_.queue_capacity) return SendError{SendErrc::queue_full, {}};
        ++held_;
      }
      pending_.push_back(std::move(command));
      arrivals_.fetch_add(1, std::memory_order_release);
      wake = worker_sleeping_;
    }
    if (wake) wake_worker_.notify_one();
    if (next_height) raise_next_height(*next_height);
    return {};
  }

  void raise_next_height(Height height) {
    Height current = next_height_.load(std::memory_order_relaxed);
    while (current < height &&
           !next_height_.compare_exchange_weak(current, height, std::memory_order_acq_rel)) {
    }
  }

  void clock_moved() override {
    bool wake = false;
    {
      const std::lock_guard lock(mutex_);
      wake = worker_sleeping_;
    }
    if (wake) wake_worker_.notify_one();
  }

  // ---- the worker ----

  void run() noexcept {
    std::unique_lock lock(mutex_);
    while (!stopped_) {
      const bool timer_due = !paused_ && driver_.timer_due(clock_.now());
      if (pending_.empty() && !timer_due) {
        if (!linger(lock)) sleep(lock);
        continue;
      }
      // Take everything queued at once: one lock per batch, not per message, and the
      // two vectors keep their capacity, so a steady stream allocates no queue slots.
      batch_.swap(pending_);
      lock.unlock();
      process_batch();
      lock.lock();
      settle_consumed();
    }
  }

  /// Messages come in bursts (a peer's votes, then the next height's proposal), often
  /// microseconds apart: looking again a few times, yielding the core in between, saves a
  /// sleep and a wake-up (two system calls and a context switch) per burst. True if
  /// something arrived.
  bool linger(std::unique_lock<std::mutex>& lock) {
    const std::uint64_t seen = arrivals_.load(std::memory_order_acquire);
    lock.unlock();
    bool arrived = false;
    for (int look = 0; look < linger_looks && !arrived; ++look) {
      std::this_thread::yield();
      arrived = arrivals_.load(std::memory_order_acquire) != seen;
    }
    lock.lock();
    return arrived || !pending_.empty() || stopped_;
  }

  void sleep(std::unique_lock<std::mutex>& lock) {
    worker_sleeping_ = true;
    const std::optional<Clock::time_point> deadline = paused_ ? std::nullopt : driver_.next_timer();
    const std::optional<Clock::time_point> wake_at = deadline ? clock_.wake_at(*deadline) : std::nullopt;
    if (wake_at) {
      wake_worker_.wait_until(lock, std::min(*wake_at, std::chrono::steady_clock::now() + max_sleep));
    } else {
      // Woken by a message, by stop(), or (for a clock that moves on its own terms) by
      // clock_moved(): each of them takes mutex_ before notifying, so none is missed.
      wake_worker_.wait(lock);
    }
    worker_sleeping_ = false;
  }

  void process_batch() {
    if (!paused_) fire_due_timers();
    for (Command& command : batch_) {
      if (stopping_.load(std::memory_order_relaxed)) break;
      execute(command);
    }
    batch_.clear();
  }

  void execute(Command& command) {
    // Before the first Status the core has no height to judge a peer's message against.
    if (!is_control(command) && (paused_ || (!core_.started() && !std::holds_alternative<NewHeight>(command)))) {
      parked_.push_back(std::move(command));
      return;
    }
    const bool counted = takes_room(command);
    std::visit([&](auto& message) { on(message); }, command);
    if (counted) ++consumed_;
  }

  /// Frees the queue room of the messages processed so far. Under mutex_.
  void settle_consumed() {
    held_ -= consumed_;
    consumed_ = 0;
  }

  /// Runs what arrived while paused, in order, then the timers that came due meanwhile.
  void on(Start&) {
    if (!paused_) return;
    paused_ = false;
    run_parked();
    fire_due_timers();
  }

  /// What cannot run yet (before the first Status) parks again, keeping its order.
  void run_parked() {
    std::deque<Command> waiting = std::exchange(parked_, {});
    while (!waiting.empty() && !stopping_.load(std::memory_order_relaxed)) {
      Command command = std::move(waiting.front());
      waiting.pop_front();
      execute(command);
    }
  }

  void on(Pause&) { paused_ = true; }

  /// Also frees the room of what came before, so that flush() returns with it free.
  void on(Fence& fence) {
    {
      const std::lock_guard lock(mutex_);
      settle_consumed();
      fences_passed_ = std::max(fences_passed_, fence.ticket);
    }
    fence_passed_.notify_all();
  }

  void on(NewHeight& status) {
    // A new interval means new timeouts, which the height start carries into the core (a
    // stale Status is refused whole, its interval included).
    std::optional<Config> config;
    if (status.interval && status.interval != interval_)
      config = detail::with_interval(options_.config, *status.interval);
    const bool first = !core_.started();
    if (apply(StartHeight{status.height, std::move(status.validators), config})) {
      if (config) interval_ = status.interval;
      driver_.drop_timers_below(core_.height());
      verifications_.forget_below(core_.height());
      if (first) run_parked();
    }
  }

  void on(Feed& feed) {
    apply(ProposeValue{feed.height, std::nullopt, std::move(feed.proposal)});
  }

  void on(Proposal& proposal) {
    const Validity validity = verifications_.verdict(proposal.height, proposal.content)
                                  .value_or(options_.async_verify ? Validity::unknown : Validity::valid);
    if (validity != Validity::unknown) {
      apply(ReceivedProposal{detail::to_core(std::move(proposal)), validity});
      return;
    }
    const Height height = proposal.height;
    const Round round = proposal.round;
    Value value = proposal.content;
    if (apply(ReceivedProposal{detail::to_core(std::move(proposal)), Validity::unknown}))
      verifications_.await(height, round, std::move(value));
  }

  void on(Vote& vote) {
    apply(detail::to_core(std::move(vote)));
  }

  void on(VerifyResp& verdict) {
    const Height height = core_.height();
    verifications_.record(height, verdict.proposal, verdict.is_pass);
    for (Round round : verifications_.take_waiting(height, verdict.proposal))
      apply(VerifyResult{height, round, verdict.proposal, verdict.is_pass});
  }

  /// A decision learnt elsewhere: the precommits, the value's validity and, if the core
  /// lacks it, the proposal: the three things the core's decision rule needs.
  void on(Commit& commit) {
    if (auto refused = refuse_commit(commit)) {
      sink_.input_rejected(*refused);
      return;
    }
    const Height height = commit.height;
    const Round round = commit.round;
    std::vector<bft::Vote> precommits;
    precommits.reserve(commit.lock_votes.size());
    for (Vote& vote : commit.lock_votes) precommits.push_back(detail::to_core(std::move(vote)));
    if (!apply(Certificate{std::move(precommits)}) || core_.decided()) return;
    // Whatever the application said of the value before, a quorum committed it.
    apply(VerifyResult{height, round, commit.proposal, true});
    if (core_.decided()) return;
    const std::optional<Address> proposer = core_.proposer(round);
    if (!proposer) {
      sink_.input_rejected(make_error(Errc::invalid_argument, "Commit for a round without a proposer"));
      return;
    }
    apply(ReceivedProposal{bft::Proposal{height, round, std::move(commit.proposal), nil_round, *proposer, {}},
                           Validity::valid});
  }

  /// Why a Commit input cannot be used now, if it cannot. It must be for the height the
  /// core runs and has not decided, and carry a quorum of precommits: that proof is what
  /// lets the runtime stand in for a proposal the core may not have heard.
  std::optional<Error> refuse_commit(const Commit& commit) const {
    const auto at = [&] { return "Commit for height " + std::to_string(commit.height) + ": "; };
    if (commit.height < core_.height()) return make_error(Errc::stale_height, at() + "the node is at a later height");
    if (commit.height > core_.height())
      return make_error(Errc::invalid_argument, at() + "send the Status of the height before first");
    if (core_.decided()) return make_error(Errc::decided, at() + "the node has decided it already");
    const ValidatorSet& validators = core_.validators();
    std::vector<bool> counted(validators.size(), false);
    std::uint64_t power = 0;
    for (const Vote& vote : commit.lock_votes) {
      const std::optional<std::size_t> index = validators.index_of(vote.voter);
      if (!index) return make_error(Errc::unknown_validator, at() + vote.voter.to_string() + " is not a validator");
      if (counted[*index]) return make_error(Errc::invalid_certificate, at() + vote.voter.to_string() + " votes twice");
      counted[*index] = true;
      power += validators[*index].power;
    }
    if (!validators.is_quorum(power))
      return make_error(Errc::invalid_certificate, at() + "its precommits are not a quorum");
    return std::nullopt;
  }

  void fire_due_timers() {
    driver_.queue_due_timers(clock_.now());
    drain();
  }

  /// Hands one input to the core, then the inputs it caused (this node's own proposals
  /// and votes, which the core counts only as inputs). True if the core accepted `input`.
  bool apply(Input input) {
    const bool accepted = handle(std::move(input));
    drain();
    return accepted;
  }

  void drain() {
    while (driver_.has_queued() && !halted()) handle(driver_.pop());
  }

  bool handle(Input&& input) {
    return driver_.handle(std::move(input), *this, clock_.now(), [&](const Result<void>& handled) {
      if (!handled && !halted()) sink_.input_rejected(handled.error());
    });
  }

 public:
  // ---- the core's outputs (CoreHost) ----

  bool halted() const noexcept { return stopping_.load(std::memory_order_relaxed); }

  bool on_output(const BroadcastProposal& out) {
    sink_.send_msg(detail::from_core(bft::Proposal(out.proposal)));
    return true;
  }

  bool on_output(const BroadcastVote& out) {
    sink_.send_msg(detail::from_core(bft::Vote(out.vote)));
    return true;
  }

  void on_output(Decide& out) { sink_.send_msg(detail::from_core(std::move(out), self_)); }

  void on_output(GetValue& out) { sink_.send_msg(detail::from_core(out)); }

  void on_output(Evidence& out) { sink_.report_evidence(out); }

  void on_output(bft::Retransmit& out) { sink_.send_retransmit(detail::from_core(std::move(out))); }

 private:
  // ---- fixed at creation ----
  FromCore& sink_;
  const Options options_;
  Clock& clock_;
  const Address self_;

  // ---- shared: guarded by mutex_ ----
  std::mutex mutex_;
  std::condition_variable wake_worker_;
  std::condition_variable fence_passed_;
  std::vector<Command> pending_;
  std::size_t held_ = 0;  // counted messages in the handle: pending, being processed, or parked
  bool worker_sleeping_ = false;
  std::atomic<std::uint64_t> arrivals_{0};  // messages queued so far, read without mutex_ while lingering
  bool stopped_ = false;
  std::uint64_t fences_sent_ = 0;
  std::uint64_t fences_passed_ = 0;

  std::atomic<bool> stopping_{false};  // stopped_, readable by the worker without the lock
  std::atomic<Height> next_height_{0};

  // ---- the worker's own ----
  Core core_;
  std::optional<Duration> interval_;  // the interval core_'s timeouts come from, if any
  bool paused_ = true;
  std::size_t consumed_ = 0;  // counted messages processed since held_ was last settled
  std::vector<Command> batch_;
  std::deque<Command> parked_;  // messages that arrived while paused or before the first Status
  CoreDriver<Input> driver_{core_};
  detail::Verifications verifications_;

  // ---- the thread ----
  std::mutex join_mutex_;
  bool subscribed_ = true;  // guarded by join_mutex_
  std::thread worker_;
  std::thread::id worker_id_;
};

// ---- Bft ------------------------------------------------------------------------------

Result<Bft> Bft::create(FromCore& sink, Address address, Options options) {
  if (options.queue_capacity == 0) return make_error(Errc::invalid_argument, "queue_capacity must be at least 1");
  if (options.max_pending_verifications == 0)
    return make_error(Errc::invalid_argument, "max_pending_verifications must be at least 1");
  if (!options.make_selector) return make_error(Errc::invalid_argument, "make_selector is required");
  auto core = Core::create(address, options.config, options.make_selector());
  if (!core) return core.error();
  return Bft(std::make_unique<Impl>(sink, std::move(address), std::move(options), std::move(*core)));
}

Bft::Bft(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Bft::Bft(Bft&&) noexcept = default;
Bft& Bft::operator=(Bft&&) noexcept = default;
Bft::~Bft() = default;

SendResult Bft::send_bft_msg(CoreInput msg) { return impl_->send(std::move(msg)); }
Height Bft::get_height() const noexcept { return impl_->next_height(); }
bool Bft::flush() { return impl_->flush(); }
void Bft::stop() { impl_->stop(); }

}  // namespace bft::runtime
