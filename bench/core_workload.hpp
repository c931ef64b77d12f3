// The core's happy-path workload, shared by bench-core and bft-bench so that both
// measure exactly the same thing.
#pragma once

#include <cstdint>
#include <vector>

#include "bft/core.hpp"

namespace bft::bench {

/// 32-byte addresses, as derived from public keys; equal weights.
inline std::vector<Validator> make_validators(std::size_t n) {
  std::vector<Validator> validators;
  for (std::size_t i = 0; i < n; ++i) {
    Bytes address(32, 0xa5);
    address[0] = static_cast<std::uint8_t>(i);
    address[1] = static_cast<std::uint8_t>(i >> 8);
    validators.push_back({Address(address), 1, 1});
  }
  return validators;
}

/// The value every benchmark decides on: a 32-byte block hash.
inline const Value& block_hash() {
  static const Value hash{Bytes(32, 0x76)};
  return hash;
}

/// One happy-path height: StartHeight, the proposal, then prevotes and precommits from
/// every validator until the decision (check core.decided() afterwards). Returns the
/// votes fed.
inline std::uint64_t happy_path_height(Core& core, const ValidatorSet& set, const std::vector<Validator>& validators,
                                       Height height, std::vector<Output>& out) {
  std::uint64_t votes = 0;
  out.clear();
  (void)core.handle(StartHeight{height, set}, out);
  out.clear();
  (void)core.handle(ReceivedProposal{Proposal{height, 0, block_hash(), nil_round, *core.proposer(0), {}}}, out);
  for (VoteType type : {VoteType::prevote, VoteType::precommit}) {
    for (std::size_t i = 0; i < validators.size() && !core.decided(); ++i) {
      out.clear();
      (void)core.handle(Vote{type, height, 0, block_hash(), validators[i].address}, out);
      ++votes;
    }
  }
  return votes;
}

}  // namespace bft::bench
