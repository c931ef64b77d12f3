// The durable double-sign guard: refuses to sign a second, different vote for a
// (height, round, type), or a second, different proposal for a (height, round), that
// this node already signed — whatever the WAL holds. Its state lives in its own files
// (one CRC32C-framed record per signed message, holding the SHA-256 of the signed value,
// fdatasync'd before authorize() returns), so losing or deleting the WAL cannot make the
// node equivocate.
//
// It sits between the core and the signer: bft::crypto::Signer signs opaque bytes and
// cannot refuse, so the guard works on the typed message, where the slot is known, and
// the caller signs only what it authorized.
#pragma once

#include <map>
#include <memory>
#include <tuple>

#include "bft/codec/sign_bytes.hpp"
#include "bft/result.hpp"
#include "bft/types.hpp"
#include "bft/wal/storage.hpp"

namespace bft::wal {

class SignGuard {
 public:
  /// Loads the guard's records from `storage` (files "guard2-<height>.log", and
  /// "guard-<height>.log" of the first format, which held whole values; a torn tail is
  /// cut, damage in the middle is corrupt_log). `keep_heights`: heights remembered; a
  /// message for a height below the highest signed one minus that is refused.
  /// `preallocate_bytes`: zeros written ahead of the records in each new file (see
  /// LogFile::preallocate), so that a record's sync flushes data only. 0: off.
  static constexpr std::size_t default_keep_heights = 8;
  static Result<SignGuard> open(Storage& storage, std::size_t keep_heights = default_keep_heights,
                                std::uint64_t preallocate_bytes = 0);

  SignGuard(SignGuard&&) noexcept;
  SignGuard& operator=(SignGuard&&) noexcept;
  ~SignGuard();

  /// OK if the vote may be signed: its slot is new (the vote is then recorded durably
  /// first) or holds this very vote. Errors: already_signed (a different vote holds the
  /// slot, or the height was forgotten), io_error (then stop: the guard is closed).
  Result<void> authorize(const Vote& vote);
  Result<void> authorize(const Proposal& proposal);

  /// authorize() in two steps, for a caller that makes several messages durable with one
  /// sync: reserve() checks the slot and takes it (in memory), sync() writes every
  /// reserved record and makes it durable. Nothing reserved may be sent before sync()
  /// returned OK. Writing nothing before sync() lets a caller make its own log durable
  /// first, so the guard never holds a message the log lost. Errors as
  /// authorize(). `digests`, when given, supplies the value's hash (the caller's signing
  /// hashes the same value).
  Result<void> reserve(const Vote& vote, codec::ValueDigests* digests = nullptr);
  Result<void> reserve(const Proposal& proposal, codec::ValueDigests* digests = nullptr);
  Result<void> sync();

  std::size_t refusals() const noexcept;

 private:
  struct State;
  explicit SignGuard(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace bft::wal
