// A small expected-like type: g++ 12 in C++20 mode has no std::expected.
// Every API that can fail on bad input returns Result<T>; assertions are kept for true
// invariants only.
#pragma once

#include <cassert>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace bft {

enum class Errc {
  invalid_argument,      // a value outside its documented range
  empty_validator_set,
  duplicate_validator,
  zero_power,            // a validator with vote power 0
  no_propose_weight,     // every propose weight is 0: nobody could propose
  power_overflow,        // total power above ValidatorSet::max_total_power
  not_started,           // the core has not been given a height yet
  stale_height,          // an input for a height below the current one
  stale_round,           // a value offered for a round already over
  too_far_ahead,         // an input for a height beyond the buffered window
  buffer_full,           // the per-sender buffer for future heights is full
  unknown_validator,     // signer is not in the validator set
  not_proposer,          // a proposal from someone other than proposer(h, r)
  invalid_round,         // negative, beyond Config::max_round, or bad valid_round
  too_many_future_rounds,// a sender holds votes in too many rounds ahead of ours
  too_many_proposals,    // an equivocating proposer exceeded the per-round bound
  invalid_certificate,   // mixed votes, duplicate voters or below the quorum
  invalid_lock_votes,    // proof-of-lock votes that do not match their proposal
  decided,               // the height is decided; the input is no longer used
  // codec and crypto
  malformed,             // bytes that do not decode: truncated, unknown kind, enum out of range
  non_canonical,         // decodes, but is not the one canonical encoding (e.g. trailing bytes)
  unsupported_version,   // a wire format version this build does not know
  too_large,             // a length or count above its configured limit
  bad_signature,         // a signature that does not verify under the signer's key
  io_error,              // a file that cannot be read or written
  malformed_key,         // a key file or key text that does not parse
  insecure_key_file,     // a secret key file readable by group or others
  // write-ahead log
  corrupt_log,           // a damaged WAL record that is not a torn tail: the node must stop
  replay_diverged,       // replaying the WAL did not reproduce the own messages it records
  already_signed,        // the double-sign guard refused a second, different message for a slot
  // node
  duplicate,             // an item held already (a transaction in the mempool)
  state_diverged,        // this node's application state differs from what a quorum decided
};

std::string_view to_string(Errc code) noexcept;

struct Error {
  Errc code;
  std::string message;
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Error error) : state_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const noexcept { return state_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  T& value() & { assert(ok()); return std::get<0>(state_); }
  const T& value() const& { assert(ok()); return std::get<0>(state_); }
  T&& value() && { assert(ok()); return std::get<0>(std::move(state_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const { assert(!ok()); return std::get<1>(state_); }

 private:
  std::variant<T, Error> state_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), failed_(true) {}  // NOLINT

  bool ok() const noexcept { return !failed_; }
  explicit operator bool() const noexcept { return ok(); }
  const Error& error() const { assert(failed_); return error_; }

 private:
  Error error_{};
  bool failed_ = false;
};

inline Error make_error(Errc code, std::string message) { return Error{code, std::move(message)}; }

}  // namespace bft
