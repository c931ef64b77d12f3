// The loop every host of the core runs, once: the threaded runtime and the node's replica
// (and through the replica, the simulator) both hand inputs to the core through it.
//
// - Inputs queue, and inputs that outputs cause (own messages fed back, a proposal value)
//   queue behind the current one, so the core never runs inside its own handle().
// - Every output type goes to the host through one member per type, checked when the host
//   is compiled (CoreHost): a new output type that a host does not handle is a build error,
//   not a silently dropped message.
// - A broadcast the host sent comes back to the core as an input (the core counts its own
//   messages only as inputs); one the host did not send (its guard refused, its log failed)
//   does not, so the core never counts a message nobody saw.
// - Timeouts go into the one timer queue, due `duration` after the time the host gives.
#pragma once

#include <concepts>
#include <cstddef>
#include <deque>
#include <utility>
#include <variant>
#include <vector>

#include "bft/core.hpp"
#include "bft/result.hpp"
#include "bft/timer_queue.hpp"

namespace bft {

/// What a host of the core does with each output but timeouts (the driver's own).
/// `on_output` of a broadcast returns whether the message left this node.
/// `halted()` true drops the rest of an input's outputs (the host stopped).
template <class Host>
concept CoreHost = requires(Host& host, const BroadcastProposal& proposal, const BroadcastVote& vote,
                            Decide& decide, GetValue& get_value, Evidence& evidence, Retransmit& retransmit) {
  { host.on_output(proposal) } -> std::same_as<bool>;
  { host.on_output(vote) } -> std::same_as<bool>;
  host.on_output(decide);
  host.on_output(get_value);
  host.on_output(evidence);
  host.on_output(retransmit);
  { host.halted() } -> std::same_as<bool>;
};

/// Runs a core the host owns. `Queued` is what waits in the queue: an Input, or a host's
/// record that starts with one (aggregate-initializable from an Input) and carries what
/// the host needs besides it.
template <class Queued = Input>
class CoreDriver {
 public:
  using time_point = TimerClock::time_point;

  explicit CoreDriver(Core& core) : core_(core) {}
  CoreDriver(const CoreDriver&) = delete;
  CoreDriver& operator=(const CoreDriver&) = delete;

  /// Queues an input behind those already waiting.
  void push(Queued queued) { queue_.push_back(std::move(queued)); }
  bool has_queued() const noexcept { return !queue_.empty(); }
  /// The oldest queued input, removed. Precondition: has_queued().
  Queued pop() {
    Queued front = std::move(queue_.front());
    queue_.pop_front();
    return front;
  }

  /// Queues the timeouts of the core's height that are due at `now`. Only the timers
  /// already scheduled: one that a firing schedules for `now` waits for the next call, so
  /// a zero timeout cannot keep a host from everything else.
  void queue_due_timers(time_point now) {
    for (std::size_t budget = timers_.size(); budget > 0; --budget) {
      const std::optional<TimeoutFired> timeout = timers_.pop_due(now);
      if (!timeout) break;
      if (timeout->height == core_.height()) push(Queued{Input{*timeout}});
    }
  }

  /// A timeout the core asked for (here, or in a replay the host resumes from).
  void schedule(const ScheduleTimeout& timeout, time_point now) {
    timers_.schedule(deadline_after(now, timeout.duration), TimeoutFired{timeout.kind, timeout.height, timeout.round});
  }

  /// Timers of heights below `height` can no longer fire into the core.
  void drop_timers_below(Height height) { timers_.drop_below(height); }
  std::optional<time_point> next_timer() const { return timers_.next_deadline(); }
  bool timer_due(time_point now) const { return timers_.due(now); }

  /// Hands `input` to the core; then `after_core(result)` (bookkeeping that must precede
  /// the outputs, such as keeping the signatures a Decide will need); then each output,
  /// in order, to the host. Timeouts are scheduled at `now` + their duration. True if
  /// the core accepted the input (`after_core` was told why not).
  template <CoreHost Host, class AfterCore>
  bool handle(Input input, Host& host, time_point now, AfterCore&& after_core) {
    outputs_.clear();
    const Result<void> result = core_.handle(std::move(input), outputs_);
    after_core(result);
    for (Output& output : outputs_) {
      if (host.halted()) break;
      emit(output, host, now);
    }
    return result.ok();
  }

  /// Gives one output to the host as handle() does: an own broadcast the host sent comes
  /// back as an input, a timeout is scheduled. Also for an output the core produced
  /// before this driver ran (recovery: an own message the replay produced that never left).
  template <CoreHost Host>
  void emit(Output& output, Host& host, time_point now) {
    std::visit([&](auto& out) { dispatch(out, host, now); }, output);
  }

 private:
  template <class Host>
  void dispatch(BroadcastProposal& out, Host& host, time_point) {
    if (host.on_output(std::as_const(out))) push(Queued{Input{ReceivedProposal{std::move(out.proposal), Validity::valid}}});
  }

  template <class Host>
  void dispatch(BroadcastVote& out, Host& host, time_point) {
    if (host.on_output(std::as_const(out))) push(Queued{Input{std::move(out.vote)}});
  }

  template <class Host>
  void dispatch(ScheduleTimeout& out, Host&, time_point now) {
    schedule(out, now);
  }

  template <class Host, class Out>
  void dispatch(Out& out, Host& host, time_point) {
    host.on_output(out);
  }

  Core& core_;
  std::deque<Queued> queue_;
  std::vector<Output> outputs_;
  TimerQueue timers_;
};

}  // namespace bft
