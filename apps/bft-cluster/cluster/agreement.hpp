// The safety check of a run: every two nodes committed the same block at every height
// both of them have.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "cluster/node_api.hpp"

namespace bft::cluster {

struct Disagreement {
  std::uint64_t height = 0;
  std::size_t node_a = 0;
  std::string hash_a;
  std::size_t node_b = 0;
  std::string hash_b;
};

struct AgreementReport {
  bool agreement = true;
  /// Heights that at least two nodes reported, i.e. that were actually compared.
  std::uint64_t heights_compared = 0;
  /// The first few conflicts, lowest height first.
  std::vector<Disagreement> disagreements;
};

inline constexpr std::size_t max_reported_disagreements = 10;

/// `chains[i]` holds node i's blocks in any order. A height one node reports twice with
/// different hashes is a disagreement of that node with itself.
AgreementReport check_agreement(std::span<const std::vector<BlockInfo>> chains);

}  // namespace bft::cluster
