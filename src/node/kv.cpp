#include "bft/node/kv.hpp"

#include <algorithm>
#include <charconv>
#include <string_view>

#include "bft/crypto/key_file.hpp"

namespace bft::node {

namespace {

constexpr std::string_view verb = "set ";
constexpr std::string_view validator_verb = "validator ";
constexpr std::string_view validator_domain = "bftcore/kv/validator-command/v1";

bool is_key_char(char c) { return c > ' ' && c <= '~'; }
bool is_value_char(char c) { return c >= ' ' && c <= '~'; }

/// Why `key` is not a valid key, or empty if it is.
std::string key_problem(std::string_view key) {
  if (key.empty()) return "empty key";
  if (key.size() > max_key_size)
    return "key of " + std::to_string(key.size()) + " bytes (limit " + std::to_string(max_key_size) + ")";
  if (!std::all_of(key.begin(), key.end(), is_key_char)) return "key with a space or non-printable byte";
  return {};
}

std::string value_problem(std::string_view value) {
  if (value.size() > max_value_size)
    return "value of " + std::to_string(value.size()) + " bytes (limit " + std::to_string(max_value_size) + ")";
  if (!std::all_of(value.begin(), value.end(), is_value_char)) return "value with a non-printable byte";
  return {};
}

/// The transaction as an error message shows it: cut short and with unprintable bytes
/// escaped.
std::string quote(std::string_view text) {
  constexpr std::size_t shown = 60;
  std::string out = "'";
  for (char c : text.substr(0, shown)) {
    if (is_value_char(c)) {
      out += c;
    } else {
      static constexpr char hex[] = "0123456789abcdef";
      const auto byte = static_cast<unsigned char>(c);
      out += "\\x";
      out += hex[byte >> 4];
      out += hex[byte & 15];
    }
  }
  out += text.size() > shown ? "'..." : "'";
  return out;
}

}  // namespace

Result<void> validate(const Command& command) {
  if (std::string problem = key_problem(command.key); !problem.empty())
    return make_error(Errc::invalid_argument, problem);
  if (std::string problem = value_problem(command.value); !problem.empty())
    return make_error(Errc::invalid_argument, problem);
  return {};
}

Result<Command> parse_tx(std::span<const std::uint8_t> tx) {
  const std::string_view text(reinterpret_cast<const char*>(tx.data()), tx.size());
  const auto fail = [&](const std::string& why) {
    return make_error(Errc::invalid_argument, "tx: " + why + ": " + quote(text));
  };
  if (!text.starts_with(verb)) return fail("expected 'set <key> <value>'");
  const std::string_view rest = text.substr(verb.size());
  const std::size_t space = rest.find(' ');
  const std::string_view key = rest.substr(0, space);
  if (std::string problem = key_problem(key); !problem.empty()) return fail(problem);
  if (space == std::string_view::npos) return Command{std::string(key), {}};
  const std::string_view value = rest.substr(space + 1);
  if (value.empty()) return fail("a space after the key but no value (an empty value is written 'set <key>')");
  if (std::string problem = value_problem(value); !problem.empty()) return fail(problem);
  return Command{std::string(key), std::string(value)};
}

Tx encode_tx(const Command& command) {
  // Built as text first: g++ 12 warns falsely (stringop-overflow) on inserting into a
  // freshly reserved vector.
  std::string text;
  text.reserve(verb.size() + command.key.size() + 1 + command.value.size());
  text.append(verb).append(command.key);
  if (!command.value.empty()) text.append(1, ' ').append(command.value);
  return Tx(text.begin(), text.end());
}

bool is_validator_tx(std::span<const std::uint8_t> tx) {
  return std::string_view(reinterpret_cast<const char*>(tx.data()), tx.size()).starts_with(validator_verb);
}

Bytes validator_command_sign_bytes(std::string_view chain_id, const ValidatorCommand& command) {
  Bytes out(validator_domain.begin(), validator_domain.end());
  out.push_back(static_cast<std::uint8_t>(chain_id.size()));
  out.insert(out.end(), chain_id.begin(), chain_id.end());
  out.insert(out.end(), command.public_key.begin(), command.public_key.end());
  for (std::uint64_t number : {command.power, command.sequence})
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<std::uint8_t>(number >> (8 * i)));
  return out;
}

ValidatorCommand sign_validator_command(const crypto::Signer& operator_key, std::string_view chain_id,
                                        const crypto::PublicKey& public_key, std::uint64_t power,
                                        std::uint64_t sequence) {
  ValidatorCommand command{public_key, power, sequence, {}};
  command.signature = operator_key.sign(validator_command_sign_bytes(chain_id, command));
  return command;
}

Tx encode_validator_tx(const ValidatorCommand& command) {
  const std::string text = std::string(validator_verb) + crypto::to_hex(command.public_key) + " " +
                           std::to_string(command.power) + " " + std::to_string(command.sequence) + " " +
                           crypto::to_hex(command.signature);
  return Tx(text.begin(), text.end());
}

Result<ValidatorCommand> parse_validator_tx(std::span<const std::uint8_t> tx) {
  const std::string_view text(reinterpret_cast<const char*>(tx.data()), tx.size());
  const auto fail = [&](const std::string& why) {
    return make_error(Errc::invalid_argument, "tx: " + why + ": " + quote(text));
  };
  constexpr std::string_view form = "expected 'validator <public key> <power> <sequence> <signature>'";
  if (!text.starts_with(validator_verb)) return fail(std::string(form));
  std::string_view fields[4];
  std::string_view rest = text.substr(validator_verb.size());
  for (std::size_t i = 0; i < 4; ++i) {
    const std::size_t space = rest.find(' ');
    if ((space == std::string_view::npos) != (i == 3)) return fail(std::string(form));
    fields[i] = rest.substr(0, space);
    rest = i < 3 ? rest.substr(space + 1) : std::string_view();
  }
  ValidatorCommand command;
  auto key = crypto::parse_public_key(fields[0]);
  if (!key) return fail("the public key is not 64 hex digits");
  command.public_key = *key;
  for (auto [field, number] : {std::pair{fields[1], &command.power}, std::pair{fields[2], &command.sequence}}) {
    const auto [end, error] = std::from_chars(field.data(), field.data() + field.size(), *number);
    if (error != std::errc() || end != field.data() + field.size() || field.empty())
      return fail("a power or sequence that is no decimal number");
  }
  auto signature = crypto::parse_signature(fields[3]);
  if (!signature) return fail("the signature is not 128 hex digits");
  command.signature = *signature;
  // One order, one transaction: uppercase hex or a leading zero would be another.
  if (encode_validator_tx(command) != Tx(tx.begin(), tx.end())) return fail("not the canonical form");
  return command;
}

}  // namespace bft::node
