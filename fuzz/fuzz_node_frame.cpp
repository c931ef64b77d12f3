// A frame from a peer, as bft-node decodes it: never crashes, and whatever decodes is
// the one encoding of what it decoded to.
#include <algorithm>

#include "bft/node/wire.hpp"
#include "fixture.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> input(data, size);
  const auto decoded = bft::node::decode_frame(input, bft::fuzz::fuzz_limits());
  if (!decoded.ok()) return 0;
  const bft::Bytes again = bft::node::encode_frame(*decoded);
  bft::fuzz::require(std::equal(again.begin(), again.end(), input.begin(), input.end()),
                     "an accepted frame re-encodes to the bytes it was decoded from");
  return 0;
}
