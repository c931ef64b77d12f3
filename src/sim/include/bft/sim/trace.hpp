// What happened in one run, recorded for a person to look at: every node's height, round
// and step over simulated time, every frame, decision and evidence report. Rendered as an SVG
// timeline (nodes as rows, time left to right).
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "bft/sim/event_queue.hpp"
#include "bft/sim/network.hpp"
#include "bft/types.hpp"

namespace bft::sim {

/// What a frame carried: a signed proposal or vote, a commit certificate (help for a
/// laggard, or a block sync answer), a node's status, a block sync request, or the
/// answer that the blocks asked for are pruned.
enum class MessageKind : std::uint8_t { proposal, prevote, precommit, certificate, status, sync_request, pruned };

struct Trace {
  struct StepChange {
    Time at;
    std::uint32_t node;
    Height height;
    Round round;
    Step step;
  };
  struct Message {
    Time sent;
    Time delivered;  // == sent if dropped
    std::uint32_t from;
    std::uint32_t to;
    MessageKind kind;
    Height height;
    Round round;
    bool nil;
    bool dropped;
  };
  struct Decision {
    Time at;
    std::uint32_t node;
    Height height;
    Round round;
    std::string value;
  };
  struct Evidence {
    Time at;
    std::uint32_t observer;
    std::uint32_t offender;
  };

  std::uint64_t seed = 0;
  std::vector<std::string> node_names;
  std::vector<bool> byzantine;
  std::string fault;
  std::vector<Partition> partitions;
  std::vector<StepChange> steps;
  std::vector<Message> messages;
  std::vector<Decision> decisions;
  std::vector<Evidence> evidence;
  std::vector<std::string> violations;
  Time end = 0;
};

struct TimelineOptions {
  /// Only this window of simulated time is drawn (end 0: to the end of the run).
  Time from = 0;
  Time to = 0;
  /// Arrows beyond this many are left out (the SVG says how many).
  std::size_t max_messages = 20'000;
  double max_width_px = 16'000;
};

void write_timeline_svg(const Trace& trace, std::ostream& out, const TimelineOptions& options = {});

}  // namespace bft::sim
