#include "decode.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  bft::fuzz::check_decoder(data, size, [](auto bytes, const auto& limits) {
    return bft::codec::decode_message(bytes, limits);
  });
  return 0;
}
