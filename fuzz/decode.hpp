// The decoder's contract, checked on arbitrary bytes: it never crashes, and whatever it
// accepts is the canonical encoding, so re-encoding gives back exactly the input.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>

#include "bft/codec/codec.hpp"
#include "fixture.hpp"

namespace bft::fuzz {

template <class Decode>
void check_decoder(const std::uint8_t* data, std::size_t size, Decode decode) {
  const std::span<const std::uint8_t> input(data, size);
  auto decoded = decode(input, fuzz_limits());
  if (!decoded.ok()) return;
  const Bytes again = codec::encode(*decoded);
  require(std::equal(again.begin(), again.end(), input.begin(), input.end()),
          "an accepted message re-encodes to the bytes it was decoded from");
  // Whatever a specific decoder accepts, the envelope decoder accepts as the same message.
  auto message = codec::decode_message(input, fuzz_limits());
  require(message.ok() && codec::encode(*message) == again,
          "decode_message agrees with the specific decoder");
}

}  // namespace bft::fuzz
