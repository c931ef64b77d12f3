#include "bft/node/kv.hpp"

#include <algorithm>
#include <string_view>

namespace bft::node {

namespace {

constexpr std::string_view verb = "set ";

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

}  // namespace bft::node
