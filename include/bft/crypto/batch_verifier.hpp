// Verifies many signatures on all cores: a fixed pool of threads, sized to the machine,
// shared by every batch. Incoming votes go through here before they reach the core.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <vector>

#include "bft/codec/messages.hpp"
#include "bft/codec/sign_bytes.hpp"
#include "bft/crypto/key_ring.hpp"
#include "bft/crypto/signer.hpp"
#include "bft/result.hpp"

namespace bft::crypto {

struct SignatureCheck {
  const Verifier* verifier = nullptr;
  std::span<const std::uint8_t> message;
  Signature signature{};
};

class BatchVerifier {
 public:
  /// `threads` counts the calling thread, which works too; 0 means one per hardware thread.
  explicit BatchVerifier(std::size_t threads = 0);
  BatchVerifier(const BatchVerifier&) = delete;
  BatchVerifier& operator=(const BatchVerifier&) = delete;
  ~BatchVerifier();

  std::size_t threads() const noexcept;

  /// Sets valid[i] to whether checks[i] holds (valid.size() == checks.size()) and
  /// returns whether all do. Calls from several threads take turns.
  bool verify(std::span<const SignatureCheck> checks, std::span<bool> valid);

  /// verify_vote for each vote, in parallel: results[i] is votes[i]'s verdict.
  std::vector<Result<void>> verify_votes(std::span<const codec::SignedVote> votes,
                                         const codec::ChainId& chain, const KeyRing& keys);

 private:
  class Pool;
  std::unique_ptr<Pool> pool_;
};

}  // namespace bft::crypto
