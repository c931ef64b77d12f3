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

/// One node (validators[1]) and its core on the happy path: each height is a
/// StartHeight, the proposal, then prevotes and precommits from every validator until the
/// decision.
class HappyPath {
 public:
  explicit HappyPath(std::size_t validators)
      : validators_(make_validators(validators)),
        set_(ValidatorSet::create(validators_).value()),
        core_(Core::create(validators_[1].address, Config{}, make_round_robin_selector()).value()) {
    out_.reserve(16);
  }

  /// Runs the next height; returns the votes fed. Check decided() afterwards.
  std::uint64_t next_height() {
    const Height h = ++height_;
    std::uint64_t votes = 0;
    out_.clear();
    (void)core_.handle(StartHeight{h, set_}, out_);
    out_.clear();
    (void)core_.handle(ReceivedProposal{Proposal{h, 0, block_hash(), nil_round, *core_.proposer(0), {}}}, out_);
    for (VoteType type : {VoteType::prevote, VoteType::precommit}) {
      for (std::size_t i = 0; i < validators_.size() && !core_.decided(); ++i) {
        out_.clear();
        (void)core_.handle(Vote{type, h, 0, block_hash(), validators_[i].address}, out_);
        ++votes;
      }
    }
    return votes;
  }

  bool decided() const noexcept { return core_.decided(); }
  const std::vector<Validator>& validators() const noexcept { return validators_; }
  const ValidatorSet& set() const noexcept { return set_; }

 private:
  std::vector<Validator> validators_;
  ValidatorSet set_;
  Core core_;
  std::vector<Output> out_;
  Height height_ = 0;
};

}  // namespace bft::bench
