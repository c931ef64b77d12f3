// Commit certificates (a quorum of precommits for (height, round, value)) and polka
// certificates (the same of prevotes: a proposal's proof of lock): built from what the
// core reports, verified against a validator set, encoded by bft/codec/codec.hpp.
#pragma once

#include <span>

#include "bft/codec/messages.hpp"
#include "bft/codec/sign_bytes.hpp"
#include "bft/crypto/batch_verifier.hpp"
#include "bft/crypto/key_ring.hpp"
#include "bft/crypto/vote_book.hpp"
#include "bft/result.hpp"
#include "bft/types.hpp"
#include "bft/validator_set.hpp"

namespace bft::crypto {

/// Errors: invalid_certificate (no votes, votes of different (type, height, round,
/// value), or two votes of one voter).
Result<codec::QuorumCertificate> make_certificate(std::span<const codec::SignedVote> votes);

/// The certificate of votes the core reported, Decide::commit for a commit certificate,
/// with their signatures from `book`. Errors: as above, and invalid_certificate when
/// `book` lacks a vote's signature.
Result<codec::QuorumCertificate> make_certificate(std::span<const Vote> votes,
                                                  const VoteBook& book);

/// Verifies a certificate from anyone: every voter must be in `validators` and have a key
/// in `keys`, their power (taken from `validators`, never from the certificate) must be
/// a quorum, and every signature must verify. Signatures are checked last, and on all
/// cores when `batch` is given. Errors: unknown_validator, invalid_certificate (below
/// the quorum), bad_signature (naming the first voter whose signature fails).
Result<void> verify_certificate(const codec::QuorumCertificate& certificate,
                                const codec::ChainId& chain, const ValidatorSet& validators,
                                const KeyRing& keys, BatchVerifier* batch = nullptr);

}  // namespace bft::crypto
