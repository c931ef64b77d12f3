#include "bft/sim/network.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace bft::sim {

namespace {

Error bad(std::string message) { return make_error(Errc::invalid_argument, std::move(message)); }

std::string_view trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

Result<std::uint32_t> parse_index(std::string_view text) {
  text = trim(text);
  std::uint32_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || text.empty())
    return bad("not a node index: '" + std::string(text) + "'");
  return value;
}

Result<Time> parse_ms(std::string_view text) {
  text = trim(text);
  double ms = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), ms);
  if (ec != std::errc{} || end != text.data() + text.size() || text.empty() || !(ms >= 0) || ms > 1e12)
    return bad("not a duration in ms: '" + std::string(text) + "'");
  return static_cast<Time>(std::llround(ms * micros_per_ms));
}

}  // namespace

Result<void> LinkModel::validate() const {
  if (min_delay > max_delay) return bad("link delay range is empty (min above max)");
  for (double p : {drop, duplicate, reorder})
    if (!(p >= 0 && p <= 1)) return bad("link probabilities must be in [0, 1]");
  if (drop >= 1) return bad("a drop probability of 1 would cut the link for ever; use a partition");
  return {};
}

Time NetworkModel::max_delay() const {
  Time longest = default_link.max_delay;
  for (const auto& [ends, link] : links_) longest = std::max(longest, link.max_delay);
  return longest;
}

Time NetworkModel::heal_time() const {
  Time heal = 0;
  for (const Partition& p : partitions) heal = std::max(heal, p.end);
  return heal;
}

Result<void> NetworkModel::validate(std::size_t validators) const {
  if (auto ok = default_link.validate(); !ok) return ok;
  for (const auto& [ends, link] : links_) {
    if (ends.first >= validators || ends.second >= validators)
      return bad("link " + std::to_string(ends.first) + "-" + std::to_string(ends.second) + " names an unknown node");
    if (auto ok = link.validate(); !ok) return ok;
  }
  for (const Partition& p : partitions) {
    if (p.end < p.start) return bad("partition " + describe(p) + " heals before it starts");
    std::vector<bool> seen(validators, false);
    for (const auto& group : p.groups) {
      for (std::uint32_t node : group) {
        if (node >= validators) return bad("partition " + describe(p) + " names unknown node " + std::to_string(node));
        if (seen[node]) return bad("partition " + describe(p) + " names node " + std::to_string(node) + " twice");
        seen[node] = true;
      }
    }
  }
  return {};
}

Result<std::pair<Time, Time>> parse_ms_range(std::string_view text) {
  const auto dots = text.find("..");
  if (dots == std::string_view::npos) {
    auto fixed = parse_ms(text);
    if (!fixed) return fixed.error();
    return std::pair{*fixed, *fixed};
  }
  auto low = parse_ms(text.substr(0, dots));
  if (!low) return low.error();
  auto high = parse_ms(text.substr(dots + 2));
  if (!high) return high.error();
  if (*low > *high) return bad("empty range '" + std::string(text) + "'");
  return std::pair{*low, *high};
}

Result<Partition> parse_partition(std::string_view spec) {
  const auto at = spec.find('@');
  if (at == std::string_view::npos) return bad("partition '" + std::string(spec) + "' lacks '@START..END'");
  auto window = parse_ms_range(spec.substr(at + 1));
  if (!window) return window.error();
  Partition partition{window->first, window->second, {}};
  std::string_view groups = spec.substr(0, at);
  while (!groups.empty()) {
    const auto bar = groups.find('|');
    std::string_view group = groups.substr(0, bar);
    groups = bar == std::string_view::npos ? std::string_view{} : groups.substr(bar + 1);
    std::vector<std::uint32_t> members;
    while (!group.empty()) {
      const auto comma = group.find(',');
      std::string_view item = group.substr(0, comma);
      group = comma == std::string_view::npos ? std::string_view{} : group.substr(comma + 1);
      const auto dash = item.find('-');
      auto first = parse_index(item.substr(0, dash));
      if (!first) return first.error();
      auto last = dash == std::string_view::npos ? first : parse_index(item.substr(dash + 1));
      if (!last) return last.error();
      if (*last < *first) return bad("empty node range '" + std::string(item) + "'");
      for (std::uint32_t node = *first; node <= *last; ++node) members.push_back(node);
    }
    if (members.empty()) return bad("partition '" + std::string(spec) + "' has an empty group");
    partition.groups.push_back(std::move(members));
  }
  if (partition.groups.empty()) return bad("partition '" + std::string(spec) + "' names no group");
  return partition;
}

Result<LinkDelaySpec> parse_link_delay(std::string_view spec) {
  const auto colon = spec.find(':');
  const auto dash = spec.find('-');
  if (colon == std::string_view::npos || dash == std::string_view::npos || dash > colon)
    return bad("link delay '" + std::string(spec) + "' is not I-J:A..B");
  LinkDelaySpec link;
  auto from = parse_index(spec.substr(0, dash));
  if (!from) return from.error();
  link.from = *from;
  const std::string_view to = trim(spec.substr(dash + 1, colon - dash - 1));
  if (to != "*") {
    auto index = parse_index(to);
    if (!index) return index.error();
    link.to = *index;
  }
  auto range = parse_ms_range(spec.substr(colon + 1));
  if (!range) return range.error();
  link.min_delay = range->first;
  link.max_delay = range->second;
  return link;
}

std::string describe(const Partition& partition) {
  std::string text;
  for (std::size_t g = 0; g < partition.groups.size(); ++g) {
    if (g > 0) text += '|';
    for (std::size_t i = 0; i < partition.groups[g].size(); ++i) {
      if (i > 0) text += ',';
      text += std::to_string(partition.groups[g][i]);
    }
  }
  auto ms = [](Time t) {
    std::string s = std::to_string(t / micros_per_ms);
    if (t % micros_per_ms != 0) s += "." + std::to_string(t % micros_per_ms + micros_per_ms).substr(1);
    return s;
  };
  return text + "@" + ms(partition.start) + ".." + ms(partition.end);
}

}  // namespace bft::sim
