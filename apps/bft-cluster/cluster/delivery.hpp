// Nothing accepted is lost, nothing is committed twice: the transactions the nodes
// accepted against those in the committed blocks, by id (the first 8 bytes of each: two
// different commands of one run share them with odds of about n^2 / 2^65, 1e-7 for
// two million).
#pragma once

#include <cstdint>
#include <vector>

namespace bft::cluster {

struct DeliveryReport {
  std::uint64_t accepted = 0;         // distinct ids the nodes answered accepted (or committed) for
  std::uint64_t committed = 0;        // transactions in committed blocks
  std::uint64_t lost = 0;             // accepted, never committed
  std::uint64_t committed_twice = 0;  // ids in more than one place of the chain
  bool ok() const { return lost == 0 && committed_twice == 0; }
};

DeliveryReport check_delivery(std::vector<std::uint64_t> accepted, std::vector<std::uint64_t> committed);

}  // namespace bft::cluster
