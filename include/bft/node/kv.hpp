// The replicated application of bft-node: a key-value store whose transactions are
// `set <key> <value>` commands. Consensus agrees on blocks (a canonical binary batch of
// commands); every node applies the decided blocks in height order and chains a hash
// over them, so two nodes that diverge show different app hashes.
//
//   block   = u8 version (1)  u32 count  count x command          (little-endian)
//   command = u16 key_length  key  u16 value_length  value
//
// Every batch has exactly one encoding: the decoder accepts that and nothing else.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bft/bytes.hpp"
#include "bft/codec/hash.hpp"
#include "bft/result.hpp"
#include "bft/types.hpp"

namespace bft::node {

/// Keys: printable ASCII without spaces (0x21..0x7e). Values: printable ASCII, spaces
/// allowed (0x20..0x7e), possibly empty.
inline constexpr std::size_t max_key_size = 256;
inline constexpr std::size_t max_value_size = 4096;
/// An encoded block above this size does not decode. It equals the wire codec's default
/// limit on a proposed value, so every valid block can travel in a proposal.
inline constexpr std::size_t max_block_size = std::size_t{1} << 20;
inline constexpr std::uint8_t block_version = 1;
/// Bytes of an empty block (version and count), and of one command beyond its text.
inline constexpr std::size_t block_header_size = 5;
inline constexpr std::size_t command_overhead = 4;

struct Command {
  std::string key;
  std::string value;

  /// Bytes this command takes in an encoded block.
  std::size_t encoded_size() const noexcept { return command_overhead + key.size() + value.size(); }
  friend bool operator==(const Command&, const Command&) = default;
};

/// invalid_argument if the key or value breaks the limits above.
Result<void> validate(const Command& command);

/// Parses client text: one `set <key> <value>` per line (LF or CRLF). The key ends at the
/// first space after it; the value is the rest of the line (may hold spaces, may be empty,
/// `set k` sets k to ""). Blank lines are skipped; text with no command is an error.
/// Errors (invalid_argument) name the line number and show the line.
Result<std::vector<Command>> parse_commands(std::string_view text);

/// The canonical block of `commands`. Precondition: each command passes validate() and
/// the total stays within max_block_size (Mempool::propose guarantees both); otherwise
/// the block does not decode and every node applies it as a no-op.
Value encode_block(std::span<const Command> commands);

/// Errors: unsupported_version, malformed (truncated, empty or non-printable key, bad
/// character), too_large (input above max_block_size, key or value above its limit),
/// non_canonical (bytes after the last command). Never reads out of bounds.
Result<std::vector<Command>> decode_block(std::span<const std::uint8_t> bytes);

/// The state machine. Not thread-safe: the node applies blocks on one thread.
class KvStore {
 public:
  /// Applies the decided block of `height`, which must be height() + 1 (stale_height
  /// below, too_far_ahead above; nothing changes then). A block that does not decode was
  /// still agreed on by consensus: it changes no key but advances the height and the app
  /// hash exactly as on every other node, and counts in rejected_blocks().
  Result<void> apply(Height height, const Value& block);

  std::optional<std::string> get(std::string_view key) const;
  /// The last applied height; 0 before the first block.
  Height height() const noexcept { return height_; }
  /// sha256(previous app_hash || u64 LE height || sha256(block)); all zeros at height 0.
  const codec::Digest& app_hash() const noexcept { return app_hash_; }
  /// Keys stored.
  std::size_t size() const noexcept { return entries_.size(); }
  std::uint64_t rejected_blocks() const noexcept { return rejected_blocks_; }

 private:
  std::map<std::string, std::string, std::less<>> entries_;
  Height height_ = 0;
  codec::Digest app_hash_{};
  std::uint64_t rejected_blocks_ = 0;
};

}  // namespace bft::node
