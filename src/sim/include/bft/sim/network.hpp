// The simulated network: per-link delay ranges, loss, duplication and reordering, and
// partitions that start and heal at given times.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bft/result.hpp"
#include "bft/sim/event_queue.hpp"

namespace bft::sim {

struct LinkModel {
  Time min_delay = from_ms(10);
  Time max_delay = from_ms(50);
  double drop = 0;       // probability that a message is lost
  double duplicate = 0;  // probability that a second copy arrives (with its own delay)
  double reorder = 0;    // probability that a message is held back up to 2 * max_delay more,
                         // so that later messages overtake it

  Result<void> validate() const;
};

/// While active, nodes in different groups cannot reach each other; nodes named in no
/// group form one more group together.
struct Partition {
  Time start = 0;
  Time end = 0;  // the partition heals at `end`
  std::vector<std::vector<std::uint32_t>> groups;
};

class NetworkModel {
 public:
  LinkModel default_link;
  std::vector<Partition> partitions;

  /// Directed link `from` -> `to` gets its own model.
  void set_link(std::uint32_t from, std::uint32_t to, LinkModel link) { links_[{from, to}] = link; }
  const LinkModel& link(std::uint32_t from, std::uint32_t to) const {
    if (links_.empty()) return default_link;
    auto it = links_.find({from, to});
    return it == links_.end() ? default_link : it->second;
  }
  /// Whether some link has its own model (set_link).
  bool has_link_overrides() const noexcept { return !links_.empty(); }
  Time max_delay() const;

  /// Whether a message sent at `at` from `from` can reach `to`.
  bool connected(std::uint32_t from, std::uint32_t to, Time at) const {
    for (const Partition& p : partitions)
      if (at >= p.start && at < p.end && group_of(p, from) != group_of(p, to)) return false;
    return true;
  }
  /// When the last partition heals (0 without partitions): the start of the liveness bound.
  Time heal_time() const;

  /// Errors: invalid_argument (bad link model, a partition naming an unknown node or one
  /// node twice, end before start).
  Result<void> validate(std::size_t validators) const;

 private:
  static std::size_t group_of(const Partition& p, std::uint32_t node) {
    for (std::size_t g = 0; g < p.groups.size(); ++g)
      for (std::uint32_t member : p.groups[g])
        if (member == node) return g;
    return p.groups.size();
  }

  std::map<std::pair<std::uint32_t, std::uint32_t>, LinkModel> links_;
};

/// "A..B" in milliseconds (or a single "A" for a fixed value), as simulated time.
Result<std::pair<Time, Time>> parse_ms_range(std::string_view text);

/// "0,1|2-4@1000..5000": groups of node indices (ranges allowed) separated by '|', active
/// from 1000 ms to 5000 ms. A single group isolates it from everybody else.
Result<Partition> parse_partition(std::string_view spec);

/// "I-J:A..B": the delay range of the directed link I -> J (J = '*' for all of I's links).
struct LinkDelaySpec {
  std::uint32_t from = 0;
  std::optional<std::uint32_t> to;
  Time min_delay = 0;
  Time max_delay = 0;
};
Result<LinkDelaySpec> parse_link_delay(std::string_view spec);

std::string describe(const Partition& partition);

}  // namespace bft::sim
