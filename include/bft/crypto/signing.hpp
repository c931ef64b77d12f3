// Signing and verifying votes and proposals under a chain id.
#pragma once

#include "bft/codec/messages.hpp"
#include "bft/codec/sign_bytes.hpp"
#include "bft/crypto/key_ring.hpp"
#include "bft/crypto/signer.hpp"
#include "bft/crypto/vote_book.hpp"
#include "bft/result.hpp"
#include "bft/types.hpp"

namespace bft::crypto {

/// Signs `vote` with `signer`, whose key must be the one other nodes' key rings hold for
/// vote.voter (for ed25519 keys added by key alone: vote.voter == address_of(key)).
/// `digests`, here and below, spares hashing a value already hashed (see ValueDigests).
codec::SignedVote sign_vote(const Signer& signer, const codec::ChainId& chain, Vote vote,
                            codec::ValueDigests* digests = nullptr);

/// Errors: unknown_validator (the voter has no key in `keys`), bad_signature.
Result<void> verify_vote(const codec::SignedVote& vote, const codec::ChainId& chain,
                         const KeyRing& keys, codec::ValueDigests* digests = nullptr);

/// Signs `proposal` as its proposer; its lock votes travel as the signatures `book` holds
/// for them. Errors: invalid_lock_votes (lock votes that are not prevotes for
/// (height, valid_round, value), that repeat a voter, or whose signature `book` lacks).
Result<codec::SignedProposal> sign_proposal(const Signer& signer, const codec::ChainId& chain,
                                            const Proposal& proposal, const VoteBook& book,
                                            codec::ValueDigests* digests = nullptr);

/// Checks the proposer's signature and every lock vote's. Whether the lock votes reach a
/// quorum is for the core to judge: it counts them as prevotes.
/// Errors: unknown_validator (a signer without a key in `keys`), bad_signature.
Result<void> verify_proposal(const codec::SignedProposal& proposal, const codec::ChainId& chain,
                             const KeyRing& keys, codec::ValueDigests* digests = nullptr);

}  // namespace bft::crypto
