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
//
// The operator's order to change a validator is the line
//   `validator <public key: 64 hex> <power> <sequence> <signature: 128 hex>`
// (lowercase hex, decimal numbers without leading zeros; power 0 removes the validator).
// The signature is the operator key's, over validator_command_sign_bytes(): the chain id
// is in it, so an order for one chain is void on another, and the sequence number, which
// must be the state's operator sequence + 1, so an order applies once and in order
// (a copy replayed later has a used number).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "bft/crypto/signer.hpp"
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

struct ValidatorCommand {
  crypto::PublicKey public_key{};
  std::uint64_t power = 0;
  std::uint64_t sequence = 0;
  codec::Signature signature{};
  friend bool operator==(const ValidatorCommand&, const ValidatorCommand&) = default;
};

/// Whether `tx` is meant as a validator command (it starts with `validator `).
bool is_validator_tx(std::span<const std::uint8_t> tx);
/// What the operator signs: a domain tag, the chain id, the key, the power, the sequence.
Bytes validator_command_sign_bytes(std::string_view chain_id, const ValidatorCommand& command);
/// The command, signed by `operator_key`.
ValidatorCommand sign_validator_command(const crypto::Signer& operator_key, std::string_view chain_id,
                                        const crypto::PublicKey& public_key, std::uint64_t power,
                                        std::uint64_t sequence);
Tx encode_validator_tx(const ValidatorCommand& command);
/// Errors (invalid_argument): not the canonical form above. The signature is not checked.
Result<ValidatorCommand> parse_validator_tx(std::span<const std::uint8_t> tx);

}  // namespace bft::node
