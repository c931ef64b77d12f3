// A proposed block from a peer, as the engine decodes it before judging its header: never
// crashes, never allocates beyond what the input can hold, and whatever decodes is the
// one encoding of what it decoded to.
#include <algorithm>

#include "bft/node/block.hpp"
#include "fixture.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> input(data, size);
  const auto decoded = bft::node::decode_block(input);
  if (!decoded.ok()) return 0;
  const bft::Value again = bft::node::encode_block(decoded->header, decoded->txs);
  bft::fuzz::require(std::equal(again.bytes().begin(), again.bytes().end(), input.begin(), input.end()),
                     "an accepted block re-encodes to the bytes it was decoded from");
  return 0;
}
