#include "bft/node/mempool.hpp"

#include <algorithm>
#include <unordered_map>

namespace bft::node {

namespace {

/// One string per command, equal exactly when the commands are: the key holds no space,
/// so "key value" splits back in one way only.
std::string identity(const Command& c) { return c.key + ' ' + c.value; }

}  // namespace

Result<void> Mempool::add(std::vector<Command> commands) {
  std::size_t added_bytes = 0;
  for (const Command& c : commands) {
    if (auto ok = validate(c); !ok) return ok;
    added_bytes += c.encoded_size();
  }
  if (commands.size() > limits_.max_commands - commands_.size() || added_bytes > limits_.max_bytes - bytes_)
    return make_error(Errc::buffer_full, "mempool: full (" + std::to_string(commands_.size()) + " commands, " +
                                             std::to_string(bytes_) + " bytes pooled; adding " +
                                             std::to_string(commands.size()) + " commands, " +
                                             std::to_string(added_bytes) + " bytes)");
  for (Command& c : commands) commands_.push_back(std::move(c));
  bytes_ += added_bytes;
  return {};
}

Value Mempool::propose(std::size_t max_commands, std::size_t max_bytes) const {
  const std::size_t byte_limit = std::min(max_bytes, max_block_size);
  std::size_t size = block_header_size;
  std::size_t taken = 0;
  for (const Command& c : commands_) {
    if (taken == max_commands || size + c.encoded_size() > byte_limit) break;
    size += c.encoded_size();
    ++taken;
  }
  const std::vector<Command> batch(commands_.begin(), commands_.begin() + static_cast<std::ptrdiff_t>(taken));
  return encode_block(batch);
}

void Mempool::remove_committed(const std::vector<Command>& committed) {
  std::size_t prefix = 0;
  while (prefix < committed.size() && prefix < commands_.size() && commands_[prefix] == committed[prefix]) ++prefix;
  for (std::size_t i = 0; i < prefix; ++i) {
    bytes_ -= commands_.front().encoded_size();
    commands_.pop_front();
  }
  if (prefix == committed.size()) return;

  std::unordered_map<std::string, std::size_t> pending;
  for (std::size_t i = prefix; i < committed.size(); ++i) ++pending[identity(committed[i])];
  std::deque<Command> kept;
  for (Command& c : commands_) {
    const auto it = pending.find(identity(c));
    if (it != pending.end() && it->second > 0) {
      --it->second;
      bytes_ -= c.encoded_size();
    } else {
      kept.push_back(std::move(c));
    }
  }
  commands_ = std::move(kept);
}

}  // namespace bft::node
