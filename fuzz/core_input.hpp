// The fuzz_core_input input format, shared by the target and the corpus generator.
//
//   input = step*
//   step  = u8 op, then by op % 4:
//     0  message:  u16 length (LE), that many bytes, decoded with decode_message.
//                  A proposal's validity is (op >> 2) % 3: valid, invalid, unknown.
//     1  timeout:  u8 kind (k % 3 + 1), u8 round
//     2  verdict:  on the last proposal delivered, valid if (op >> 2) is odd
//     3  value:    u8 length, that many bytes: the application's value for this height
#pragma once

#include <cstdint>

namespace bft::fuzz::core_input {

enum Op : std::uint8_t { message = 0, timeout = 1, verdict = 2, value = 3 };

}  // namespace bft::fuzz::core_input
