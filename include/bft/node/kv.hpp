// The transactions of the key-value demo application (KvApplication): one transaction is
// the text line `set <key> <value>`, with no line ending. The key ends at the first space
// after it; the value is the rest (it may hold spaces, leading ones included, and may be
// empty: `set k` sets k to "").
//
// One command has exactly one transaction encoding, so that the same command submitted
// twice is the same transaction (the mempool and the block see one byte string per
// command): `set`, one space, the key, then one space and the value only if the value is
// not empty. parse_tx() accepts that form and nothing else; in particular `set k ` (a
// separator with nothing after it) is refused, since `set k` is the empty value's form.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "bft/node/application.hpp"
#include "bft/result.hpp"

namespace bft::node {

/// Keys: printable ASCII without spaces (0x21..0x7e). Values: printable ASCII, spaces
/// allowed (0x20..0x7e), possibly empty.
inline constexpr std::size_t max_key_size = 256;
inline constexpr std::size_t max_value_size = 4096;
/// The longest transaction: `set `, a key, a space and a value, each at its limit.
inline constexpr std::size_t max_tx_size = 4 + max_key_size + 1 + max_value_size;

struct Command {
  std::string key;
  std::string value;
  friend bool operator==(const Command&, const Command&) = default;
};

/// invalid_argument if the key or value breaks the limits above.
Result<void> validate(const Command& command);

/// Errors (invalid_argument): not `set <key> <value>`, a key or value beyond the limits
/// above, or not the canonical form (the message says which, and shows the start of the
/// transaction with unprintable bytes escaped).
Result<Command> parse_tx(std::span<const std::uint8_t> tx);

/// The canonical transaction of `command`. Precondition: validate(command) succeeds;
/// otherwise the result does not parse.
Tx encode_tx(const Command& command);

}  // namespace bft::node
