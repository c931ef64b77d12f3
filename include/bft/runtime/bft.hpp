// The seed-style handle: one worker thread runs the pure consensus core (bft::Core) for
// one node. Messages go in through send_bft_msg(), outputs come out through a FromCore
// sink, get_height() answers at once:
//
//   bft::runtime::FromCore& sink = ...;            // you implement send_msg()
//   auto bft = bft::runtime::Bft::create(sink, my_address);
//   bft->send_bft_msg(Start{});                    // it starts paused
//   bft->send_bft_msg(Status{0, interval, authorities});
//   ... sink.send_msg(...) receives Proposal, Vote, Commit, GetProposalRequest ...
//
// The runtime adds no consensus logic: every decision is the core's. It translates the
// seed's messages, feeds the node's own proposals and votes back into the core (the core
// counts them only as inputs), turns ScheduleTimeout outputs into timers and timers into
// TimeoutFired inputs, through bft::CoreDriver: the loop it shares with the node's replica.
//
// Where the C++ handle differs from the seed's (messages: see messages.hpp):
// - create() returns a Result and takes Options (queue capacity, async verify as a run-
//   time switch, Config, proposer selection, clock) where the crate had cargo features;
// - send_bft_msg() says why a message was refused (full, stopped, bad Status) instead of
//   blocking on an unbounded channel;
// - flush() and stop() exist: tests wait on a fence, never on time; shutdown is explicit
//   and the sink is never called after it;
// - FromCore has three optional hooks the seed lacked (laggard help, evidence, rejected
//   inputs), so nothing the core says is silently lost.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "bft/config.hpp"
#include "bft/core.hpp"
#include "bft/proposer.hpp"
#include "bft/result.hpp"
#include "bft/runtime/clock.hpp"
#include "bft/runtime/messages.hpp"

namespace bft::runtime {

/// Receives what the core produces. Every method is called on the runtime's worker
/// thread, one call at a time, in the order the core produced the outputs, with no lock
/// held: it may call send_bft_msg() on any handle, including its own, but must not call
/// flush(), stop() or the destructor of its own handle, and must not throw.
class FromCore {
 public:
  virtual ~FromCore() = default;

  /// Proposal and Vote: broadcast them to the other validators. Commit: the height is
  /// decided; answer with the next Status. GetProposalRequest: answer with a Feed.
  virtual void send_msg(CoreOutput msg) = 0;

  // Not in the seed; the defaults ignore them.

  /// Help for one lagging peer: deliver to `msg.to` only.
  virtual void send_retransmit(Retransmit msg) { (void)msg; }
  /// A validator signed two conflicting messages for one slot.
  virtual void report_evidence(const Evidence& evidence) { (void)evidence; }
  /// The core refused an input (stale, malformed, from a non-validator, ...) and its state
  /// is unchanged. Normal in operation: e.g. late votes of a decided height.
  virtual void input_rejected(const Error& error) { (void)error; }
};

struct Options {
  /// Messages the handle holds at most: waiting for the worker, or kept while paused or
  /// until the first Status. Start, Pause and Status are always accepted (they take no
  /// room), so a full handle can still be started and given its height.
  std::size_t queue_capacity = 4096;
  /// The seed's async_verify feature: peers' proposals wait for a VerifyResp before the
  /// core prevotes or precommits for them. Without it they count as valid on arrival.
  bool async_verify = false;
  /// Timeouts and bounds; a Status with an interval replaces the timeouts (and only them)
  /// with Config::from_interval(interval).
  Config config;
  /// Proposer selection; the seed's weighted random choice by default.
  std::function<std::unique_ptr<ProposerSelector>()> make_selector = make_seed_pcg_selector;
  /// Verdicts (VerifyResp) and unverified proposals remembered per height, oldest out.
  std::size_t max_pending_verifications = 64;
  /// The time source; must outlive the handle. nullptr = steady_clock().
  Clock* clock = nullptr;
};

enum class SendErrc : std::uint8_t {
  queue_full,     // queue_capacity messages are held: retry after the worker drains some
  stopped,        // stop() was called: the handle takes nothing more
  invalid_input,  // a Status that cannot start a height; SendError::message says why
};

std::string_view to_string(SendErrc code) noexcept;

struct SendError {
  SendErrc code;
  std::string message;  // details for invalid_input, empty otherwise
};

/// Outcome of send_bft_msg(): the message was queued, or not, and why.
class [[nodiscard]] SendResult {
 public:
  SendResult() = default;
  SendResult(SendError error) : error_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const noexcept { return !error_; }
  explicit operator bool() const noexcept { return ok(); }
  const SendError& error() const { return error_.value(); }

 private:
  std::optional<SendError> error_;
};

class Bft {
 public:
  /// Creates the handle and its worker thread, paused. `sink` must stay valid until the
  /// handle is stopped or destroyed. Errors: invalid_argument (bad options or config).
  static Result<Bft> create(FromCore& sink, Address address, Options options = {});

  Bft(Bft&&) noexcept;
  Bft& operator=(Bft&&) noexcept;
  /// stop(), then frees the handle.
  ~Bft();

  /// Queues a message for the worker; never blocks on the worker. Thread-safe.
  ///
  /// - Start / Pause: run / stop processing; messages that arrive while paused are kept
  ///   in order (they count against queue_capacity) and processed after the next Start.
  ///   Timers that come due while paused fire after the next Start.
  /// - Status{h}: h is committed: start h + 1. Validated here (authority list, interval);
  ///   peers' messages (and Feed, Commit, VerifyResp) that arrive before the first Status
  ///   are kept, in order, like those that arrive while paused, and run right after it;
  ///   a Status for a height the core has already passed is refused by the core, so the
  ///   machine never goes back.
  /// - Feed / Proposal / Vote: as the core's ProposeValue / ReceivedProposal / Vote.
  /// - VerifyResp{is_pass, v}: the verdict on value v at the core's current height: it
  ///   applies to every round's proposal of v, including ones that arrive later.
  /// - Commit: a decision learnt elsewhere (e.g. by sync) for the current height, with a
  ///   quorum of precommits as lock_votes: they enter as a certificate, the value is
  ///   marked valid and, if the core still lacks the proposal, it gets one from
  ///   proposer(height, round), so that it decides. Anything else is refused.
  SendResult send_bft_msg(CoreInput msg);

  /// The next height: one above the highest Status sent so far (0 before any). Updated
  /// by send_bft_msg() itself, as the seed's handle does; never goes down.
  Height get_height() const noexcept;

  /// Blocks until the worker has taken every message sent before this call (processed
  /// it, or kept it while paused) and fired the timers due at that point. False if the
  /// handle stopped first, or if called from the sink (it would wait for itself).
  bool flush();

  /// Stops the worker: queued messages and pending timers are dropped, later sends fail
  /// with `stopped`. Once it returns, the sink is not called again (called from the sink
  /// itself, it only requests the stop; the worker ends after the current call).
  void stop();

 private:
  class Impl;
  explicit Bft(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace bft::runtime
