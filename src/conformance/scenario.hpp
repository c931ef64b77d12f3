// The `bft-scenario/1` format (../shared/conformance/FORMAT.md): load a scenario, drive a
// fresh core with its inputs, and judge the core's outputs against its expectations.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bft/core.hpp"
#include "bft/result.hpp"

namespace bft::conformance {

/// One output as the judge sees it. Absent fields of an expected output are wildcards.
struct OutputRecord {
  std::string kind;  // proposal, vote, decide, get_value, timeout, evidence, retransmit, ...
  std::optional<std::string> type;                      // vote type, or timeout kind
  std::optional<Height> height;
  std::optional<Round> round;
  std::optional<std::optional<std::string>> value;      // inner nullopt = nil
  std::optional<Round> valid_round;

  bool is_consensus() const { return kind == "proposal" || kind == "vote" || kind == "decide"; }
  /// True if every field present in `this` (the expectation) equals the one in `actual`.
  bool matches(const OutputRecord& actual) const;
  std::string describe() const;
  friend bool operator==(const OutputRecord&, const OutputRecord&) = default;
};

struct ProposerRule {
  std::string rule;  // round_robin, round_robin_height, seed_pcg, table
  std::uint64_t offset = 0;
  std::vector<std::pair<std::string, std::string>> table;  // "H/R" -> address
};

struct Event {
  std::optional<Input> input;            // an "in" event
  std::optional<OutputRecord> expected;  // an "out" event
  std::string text;                      // the event as written, for reports
};

struct Scenario {
  std::string name;
  std::vector<Validator> validators;
  Address node;
  ProposerRule proposer;
  std::vector<Event> events;
};

/// Errors: invalid_argument with a message naming the offending event or field.
Result<Scenario> parse_scenario(std::string_view json_text);

struct Verdict {
  bool passed = false;
  std::string first_difference;  // empty when passed
  std::vector<std::string> trace;  // every event and every produced output, in order
};

Verdict run_scenario(const Scenario& scenario);

/// The judge's view of a produced core output.
OutputRecord record_of(const Output& output);

}  // namespace bft::conformance
