#include "bft/node/kv.hpp"

#include <algorithm>

namespace bft::node {

namespace {

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

/// The line as an error message shows it: cut short and with unprintable bytes escaped.
std::string quote(std::string_view line) {
  constexpr std::size_t shown = 60;
  std::string out = "'";
  for (char c : line.substr(0, shown)) {
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
  out += line.size() > shown ? "'..." : "'";
  return out;
}

void put_u16(std::uint16_t v, Bytes& out) {
  out.push_back(static_cast<std::uint8_t>(v));
  out.push_back(static_cast<std::uint8_t>(v >> 8));
}

void put_u32(std::uint32_t v, Bytes& out) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

void put_u64(std::uint64_t v, Bytes& out) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

/// Reads a block front to back; every read checks the bytes left first.
class Reader {
 public:
  explicit Reader(std::span<const std::uint8_t> bytes) : bytes_(bytes) {}

  std::size_t offset() const noexcept { return pos_; }
  std::size_t left() const noexcept { return bytes_.size() - pos_; }

  std::optional<std::uint64_t> uint(std::size_t width) {
    if (left() < width) return std::nullopt;
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < width; ++i) v |= std::uint64_t{bytes_[pos_ + i]} << (8 * i);
    pos_ += width;
    return v;
  }

  std::optional<std::string> text(std::size_t size) {
    if (left() < size) return std::nullopt;
    std::string out(reinterpret_cast<const char*>(bytes_.data() + pos_), size);
    pos_ += size;
    return out;
  }

 private:
  std::span<const std::uint8_t> bytes_;
  std::size_t pos_ = 0;
};

Error block_error(Errc code, const std::string& what, std::size_t offset) {
  return make_error(code, "block: " + what + " at byte " + std::to_string(offset));
}

}  // namespace

Result<void> validate(const Command& command) {
  if (std::string problem = key_problem(command.key); !problem.empty())
    return make_error(Errc::invalid_argument, problem);
  if (std::string problem = value_problem(command.value); !problem.empty())
    return make_error(Errc::invalid_argument, problem);
  return {};
}

Result<std::vector<Command>> parse_commands(std::string_view text) {
  std::vector<Command> commands;
  std::size_t line_number = 0;
  while (!text.empty()) {
    const std::size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    ++line_number;
    if (line.ends_with('\r')) line.remove_suffix(1);
    if (line.empty()) continue;

    const auto fail = [&](const std::string& why) {
      return make_error(Errc::invalid_argument,
                        "line " + std::to_string(line_number) + ": " + why + ": " + quote(line));
    };
    constexpr std::string_view verb = "set ";
    if (!line.starts_with(verb)) return fail("expected 'set <key> <value>'");
    std::string_view rest = line.substr(verb.size());
    const std::size_t space = rest.find(' ');
    const std::string_view key = rest.substr(0, space);
    const std::string_view value = space == std::string_view::npos ? std::string_view{} : rest.substr(space + 1);
    if (std::string problem = key_problem(key); !problem.empty()) return fail(problem);
    if (std::string problem = value_problem(value); !problem.empty()) return fail(problem);
    commands.push_back(Command{std::string(key), std::string(value)});
  }
  if (commands.empty()) return make_error(Errc::invalid_argument, "no command: expected 'set <key> <value>' lines");
  return commands;
}

Value encode_block(std::span<const Command> commands) {
  Bytes out;
  std::size_t size = block_header_size;
  for (const Command& c : commands) size += c.encoded_size();
  out.reserve(size);
  out.push_back(block_version);
  put_u32(static_cast<std::uint32_t>(commands.size()), out);
  for (const Command& c : commands) {
    put_u16(static_cast<std::uint16_t>(c.key.size()), out);
    out.insert(out.end(), c.key.begin(), c.key.end());
    put_u16(static_cast<std::uint16_t>(c.value.size()), out);
    out.insert(out.end(), c.value.begin(), c.value.end());
  }
  return Value(out);
}

Result<std::vector<Command>> decode_block(std::span<const std::uint8_t> bytes) {
  if (bytes.size() > max_block_size)
    return make_error(Errc::too_large, "block: " + std::to_string(bytes.size()) + " bytes (limit " +
                                           std::to_string(max_block_size) + ")");
  Reader in(bytes);
  const auto version = in.uint(1);
  if (!version) return block_error(Errc::malformed, "empty input", 0);
  if (*version != block_version)
    return block_error(Errc::unsupported_version, "version " + std::to_string(*version), 0);
  const auto count = in.uint(4);
  if (!count) return block_error(Errc::malformed, "truncated command count", in.offset());
  // Each command takes at least command_overhead + 1 bytes: a larger count cannot be
  // honest, and checking it first keeps the reservation below bounded by the input.
  if (*count > in.left() / (command_overhead + 1))
    return block_error(Errc::malformed, std::to_string(*count) + " commands cannot fit the remaining bytes",
                       in.offset());
  std::vector<Command> commands;
  commands.reserve(static_cast<std::size_t>(*count));
  for (std::uint64_t i = 0; i < *count; ++i) {
    Command command;
    const std::size_t key_at = in.offset();
    const auto key_size = in.uint(2);
    if (!key_size) return block_error(Errc::malformed, "truncated key length", key_at);
    if (*key_size > max_key_size) return block_error(Errc::too_large, "key length " + std::to_string(*key_size), key_at);
    auto key = in.text(static_cast<std::size_t>(*key_size));
    if (!key) return block_error(Errc::malformed, "key runs past the end", key_at);
    if (std::string problem = key_problem(*key); !problem.empty()) return block_error(Errc::malformed, problem, key_at);
    const std::size_t value_at = in.offset();
    const auto value_size = in.uint(2);
    if (!value_size) return block_error(Errc::malformed, "truncated value length", value_at);
    if (*value_size > max_value_size)
      return block_error(Errc::too_large, "value length " + std::to_string(*value_size), value_at);
    auto value = in.text(static_cast<std::size_t>(*value_size));
    if (!value) return block_error(Errc::malformed, "value runs past the end", value_at);
    if (std::string problem = value_problem(*value); !problem.empty())
      return block_error(Errc::malformed, problem, value_at);
    commands.push_back(Command{std::move(*key), std::move(*value)});
  }
  if (in.left() != 0)
    return block_error(Errc::non_canonical, std::to_string(in.left()) + " trailing bytes", in.offset());
  return commands;
}

Result<void> KvStore::apply(Height height, const Value& block) {
  if (height <= height_)
    return make_error(Errc::stale_height, "kv: block for height " + std::to_string(height) +
                                              " but height " + std::to_string(height_) + " is applied");
  if (height != height_ + 1)
    return make_error(Errc::too_far_ahead, "kv: block for height " + std::to_string(height) +
                                               " but the next is " + std::to_string(height_ + 1));
  if (auto commands = decode_block(block.bytes())) {
    for (Command& c : *commands) entries_.insert_or_assign(std::move(c.key), std::move(c.value));
  } else {
    ++rejected_blocks_;
  }
  const codec::Digest block_hash = codec::sha256(block.bytes());
  Bytes chained(app_hash_.begin(), app_hash_.end());
  put_u64(height, chained);
  chained.insert(chained.end(), block_hash.begin(), block_hash.end());
  app_hash_ = codec::sha256(chained);
  height_ = height;
  return {};
}

std::optional<std::string> KvStore::get(std::string_view key) const {
  const auto it = entries_.find(key);
  if (it == entries_.end()) return std::nullopt;
  return it->second;
}

}  // namespace bft::node
