#include "scenario.hpp"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>

namespace bft::conformance {

using json = nlohmann::json;

namespace {

// ---- parsing --------------------------------------------------------------------------

struct ParseError {
  std::string message;
};

const json& field(const json& object, const char* name) {
  auto it = object.find(name);
  if (it == object.end()) throw ParseError{std::string("missing field \"") + name + "\""};
  return *it;
}

template <class T>
T number(const json& object, const char* name) {
  const json& v = field(object, name);
  if (!v.is_number_integer()) throw ParseError{std::string("field \"") + name + "\" is not an integer"};
  if constexpr (std::is_unsigned_v<T>) {
    if (v.is_number_unsigned()) return v.get<T>();
    if (v.get<std::int64_t>() < 0) throw ParseError{std::string("field \"") + name + "\" is negative"};
  }
  return v.get<T>();
}

std::string text(const json& object, const char* name) {
  const json& v = field(object, name);
  if (!v.is_string()) throw ParseError{std::string("field \"") + name + "\" is not a string"};
  return v.get<std::string>();
}

/// A vote value: a string, or null for nil.
std::optional<std::string> vote_value(const json& object) {
  const json& v = field(object, "value");
  if (v.is_null()) return std::nullopt;
  if (!v.is_string()) throw ParseError{"field \"value\" is neither a string nor null"};
  return v.get<std::string>();
}

VoteType vote_type(const std::string& name) {
  if (name == "prevote") return VoteType::prevote;
  if (name == "precommit") return VoteType::precommit;
  throw ParseError{"unknown vote type \"" + name + "\""};
}

TimeoutKind timeout_kind(const std::string& name) {
  if (name == "propose") return TimeoutKind::propose;
  if (name == "prevote") return TimeoutKind::prevote;
  if (name == "precommit") return TimeoutKind::precommit;
  throw ParseError{"unknown timeout kind \"" + name + "\""};
}

Vote parse_vote(const json& e) {
  Vote vote;
  vote.type = vote_type(text(e, "type"));
  vote.height = number<Height>(e, "height");
  vote.round = number<Round>(e, "round");
  if (auto v = vote_value(e)) vote.value = Value::from_text(*v);
  vote.voter = Address::from_text(text(e, "from"));
  return vote;
}

/// Validity of a proposal as FORMAT.md defines it: an explicit "valid" wins; a value with
/// a verify_result later in the file is unknown until that verdict arrives; otherwise
/// "invalid" is invalid and everything else valid.
Validity proposal_validity(const json& e, const std::string& value, bool verdict_follows) {
  if (auto it = e.find("valid"); it != e.end()) {
    if (!it->is_boolean()) throw ParseError{"field \"valid\" is not a boolean"};
    return it->get<bool>() ? Validity::valid : Validity::invalid;
  }
  if (verdict_follows) return Validity::unknown;
  return value == "invalid" ? Validity::invalid : Validity::valid;
}

Input parse_input(const json& e, const std::string& kind, bool verdict_follows) {
  if (kind == "start") return StartHeight{number<Height>(e, "height"), {}};
  if (kind == "propose_value") {
    ProposeValue feed{number<Height>(e, "height"), std::nullopt, Value::from_text(text(e, "value"))};
    if (e.contains("round")) feed.round = number<Round>(e, "round");
    return feed;
  }
  if (kind == "proposal") {
    const std::string value = text(e, "value");
    Proposal p{number<Height>(e, "height"), number<Round>(e, "round"), Value::from_text(value),
               number<Round>(e, "valid_round"), Address::from_text(text(e, "from")), {}};
    return ReceivedProposal{std::move(p), proposal_validity(e, value, verdict_follows)};
  }
  if (kind == "vote") return parse_vote(e);
  if (kind == "certificate") {
    const json& votes = field(e, "votes");
    if (!votes.is_array()) throw ParseError{"field \"votes\" is not an array"};
    Certificate certificate;
    for (const json& v : votes) certificate.votes.push_back(parse_vote(v));
    return certificate;
  }
  if (kind == "timeout")
    return TimeoutFired{timeout_kind(text(e, "kind")), number<Height>(e, "height"), number<Round>(e, "round")};
  if (kind == "verify_result") {
    const json& valid = field(e, "valid");
    if (!valid.is_boolean()) throw ParseError{"field \"valid\" is not a boolean"};
    return VerifyResult{number<Height>(e, "height"), number<Round>(e, "round"), Value::from_text(text(e, "value")),
                        valid.get<bool>()};
  }
  throw ParseError{"unknown input event \"" + kind + "\""};
}

OutputRecord parse_expected(const json& e, const std::string& kind) {
  OutputRecord out;
  out.kind = kind;
  if (e.contains("height")) out.height = number<Height>(e, "height");
  if (e.contains("round")) out.round = number<Round>(e, "round");
  if (e.contains("valid_round")) out.valid_round = number<Round>(e, "valid_round");
  if (e.contains("value")) out.value = vote_value(e);
  if (kind == "vote" && e.contains("type")) out.type = text(e, "type");
  if (kind == "timeout" && e.contains("kind")) out.type = text(e, "kind");
  return out;
}

using VerdictKey = std::tuple<Height, Round, std::string>;

// ---- running --------------------------------------------------------------------------

class TableSelector final : public ProposerSelector {
 public:
  explicit TableSelector(std::map<std::string, std::string> table) : table_(std::move(table)) {}

  std::optional<std::size_t> select(const ValidatorSet& validators, Height height, Round round) override {
    const std::string key = std::to_string(height) + "/" + std::to_string(round);
    auto it = table_.find(key);
    if (it == table_.end()) {
      missing_.insert(key);
      return std::nullopt;
    }
    auto index = validators.index_of(Address::from_text(it->second));
    if (!index) missing_.insert(key + " (" + it->second + " is not a validator)");
    return index;
  }

  const std::set<std::string>& missing() const { return missing_; }

 private:
  std::map<std::string, std::string> table_;
  std::set<std::string> missing_;
};

struct Produced {
  OutputRecord record;
  std::size_t input;  // ordinal of the input event that caused it
};

struct Expected {
  OutputRecord record;
  std::size_t deadline;  // ordinal of the first input event after it (inputs before it may produce it)
  std::string text;
};

}  // namespace

// ---- OutputRecord ---------------------------------------------------------------------

bool OutputRecord::matches(const OutputRecord& actual) const {
  if (kind != actual.kind) return false;
  if (type && type != actual.type) return false;
  if (height && height != actual.height) return false;
  if (round && round != actual.round) return false;
  if (value && value != actual.value) return false;
  if (valid_round && valid_round != actual.valid_round) return false;
  return true;
}

std::string OutputRecord::describe() const {
  std::string s = kind;
  if (type) s += " " + *type;
  if (height) s += " h=" + std::to_string(*height);
  if (round) s += " r=" + std::to_string(*round);
  if (value) s += " value=" + (value->has_value() ? **value : std::string("nil"));
  if (valid_round) s += " valid_round=" + std::to_string(*valid_round);
  return s;
}

OutputRecord record_of(const Output& output) {
  struct Visitor {
    OutputRecord operator()(const BroadcastProposal& o) const {
      return {"proposal", std::nullopt, o.proposal.height, o.proposal.round,
              std::optional<std::string>(std::string(o.proposal.value.view())), o.proposal.valid_round};
    }
    OutputRecord operator()(const BroadcastVote& o) const {
      std::optional<std::string> value;
      if (o.vote.value) value = std::string(o.vote.value->view());
      return {"vote", std::string(to_string(o.vote.type)), o.vote.height, o.vote.round, value, std::nullopt};
    }
    OutputRecord operator()(const Decide& o) const {
      return {"decide", std::nullopt, o.height, o.round, std::optional<std::string>(std::string(o.value.view())),
              std::nullopt};
    }
    OutputRecord operator()(const GetValue& o) const {
      return {"get_value", std::nullopt, o.height, o.round, std::nullopt, std::nullopt};
    }
    OutputRecord operator()(const ScheduleTimeout& o) const {
      return {"timeout", std::string(to_string(o.kind)), o.height, o.round, std::nullopt, std::nullopt};
    }
    OutputRecord operator()(const Evidence&) const { return {"evidence", {}, {}, {}, {}, {}}; }
    OutputRecord operator()(const Retransmit&) const { return {"retransmit", {}, {}, {}, {}, {}}; }
  };
  return std::visit(Visitor{}, output);
}

// ---- parse ----------------------------------------------------------------------------

Result<Scenario> parse_scenario(std::string_view json_text) {
  try {
    const json doc = json::parse(json_text);
    if (!doc.is_object()) throw ParseError{"a scenario is a JSON object"};
    if (text(doc, "format") != "bft-scenario/1") throw ParseError{"format is not bft-scenario/1"};
    Scenario s;
    s.name = text(doc, "name");
    for (const json& v : field(doc, "validators")) {
      const auto power = number<std::uint64_t>(v, "power");
      const auto weight = v.contains("propose_weight") ? number<std::uint64_t>(v, "propose_weight") : power;
      s.validators.push_back(Validator{Address::from_text(text(v, "address")), power, weight});
    }
    s.node = Address::from_text(text(doc, "node"));
    const json& rule = field(doc, "proposer");
    s.proposer.rule = text(rule, "rule");
    if (s.proposer.rule == "round_robin" || s.proposer.rule == "round_robin_height") {
      s.proposer.offset = rule.contains("offset") ? number<std::uint64_t>(rule, "offset") : 0;
    } else if (s.proposer.rule == "table") {
      const json& table = field(rule, "table");
      if (!table.is_object()) throw ParseError{"proposer table is not an object"};
      for (const auto& [key, address] : table.items()) {
        if (!address.is_string()) throw ParseError{"proposer table entry " + key + " is not a string"};
        s.proposer.table.emplace_back(key, address.get<std::string>());
      }
    } else if (s.proposer.rule != "seed_pcg") {
      throw ParseError{"unknown proposer rule \"" + s.proposer.rule + "\""};
    }

    const json& events = field(doc, "events");
    if (!events.is_array()) throw ParseError{"events is not an array"};
    // Values whose validity arrives asynchronously: a verify_result names them.
    std::multiset<VerdictKey> verdicts_ahead;
    for (const json& e : events)
      if (e.value("in", "") == "verify_result")
        verdicts_ahead.emplace(number<Height>(e, "height"), number<Round>(e, "round"), text(e, "value"));

    for (std::size_t i = 0; i < events.size(); ++i) {
      const json& e = events[i];
      try {
        Event event;
        event.text = e.dump();
        if (e.contains("in")) {
          const std::string kind = text(e, "in");
          bool verdict_follows = false;
          if (kind == "proposal") {
            verdict_follows = verdicts_ahead.contains(
                VerdictKey{number<Height>(e, "height"), number<Round>(e, "round"), text(e, "value")});
          } else if (kind == "verify_result") {
            verdicts_ahead.erase(verdicts_ahead.find(
                VerdictKey{number<Height>(e, "height"), number<Round>(e, "round"), text(e, "value")}));
          }
          event.input = parse_input(e, kind, verdict_follows);
        } else if (e.contains("out")) {
          event.expected = parse_expected(e, text(e, "out"));
        } else {
          throw ParseError{"event is neither \"in\" nor \"out\""};
        }
        s.events.push_back(std::move(event));
      } catch (const ParseError& error) {
        throw ParseError{"event " + std::to_string(i) + ": " + error.message};
      }
    }
    return s;
  } catch (const ParseError& error) {
    return make_error(Errc::invalid_argument, error.message);
  } catch (const json::exception& error) {
    return make_error(Errc::invalid_argument, std::string("JSON: ") + error.what());
  }
}

// ---- run and judge --------------------------------------------------------------------

Verdict run_scenario(const Scenario& scenario) {
  Verdict verdict;
  auto fail = [&](std::string why) {
    verdict.passed = false;
    verdict.first_difference = std::move(why);
    return verdict;
  };

  auto validators = ValidatorSet::create(scenario.validators);
  if (!validators.ok()) return fail("validator set: " + validators.error().message);

  std::unique_ptr<ProposerSelector> selector;
  TableSelector* table = nullptr;
  const ProposerRule& rule = scenario.proposer;
  if (rule.rule == "round_robin") selector = make_round_robin_selector(rule.offset, false);
  if (rule.rule == "round_robin_height") selector = make_round_robin_selector(rule.offset, true);
  if (rule.rule == "seed_pcg") selector = make_seed_pcg_selector();
  if (rule.rule == "table") {
    auto owned = std::make_unique<TableSelector>(std::map<std::string, std::string>(rule.table.begin(), rule.table.end()));
    table = owned.get();
    selector = std::move(owned);
  }
  if (!selector) return fail("unknown proposer rule " + rule.rule);

  auto core = Core::create(scenario.node, Config{}, std::move(selector));
  if (!core.ok()) return fail("core: " + core.error().message);

  std::vector<Produced> consensus;
  std::vector<Produced> advisory;
  std::vector<Expected> expected_consensus;
  std::vector<Expected> expected_advisory;
  std::vector<Output> outputs;
  std::size_t inputs = 0;

  // Expected outputs wait for the next input event: that one is their deadline.
  std::vector<Expected> open;
  auto close_open = [&](std::size_t deadline) {
    for (auto& e : open) {
      e.deadline = deadline;
      (e.record.is_consensus() ? expected_consensus : expected_advisory).push_back(std::move(e));
    }
    open.clear();
  };

  for (const Event& event : scenario.events) {
    if (event.expected) {
      open.push_back(Expected{*event.expected, 0, event.text});
      verdict.trace.push_back("  expect " + event.text);
      continue;
    }
    close_open(inputs);
    Input input = *event.input;
    if (auto* start = std::get_if<StartHeight>(&input)) start->validators = *validators;
    verdict.trace.push_back("in #" + std::to_string(inputs) + " " + event.text);
    outputs.clear();
    if (auto handled = core->handle(std::move(input), outputs); !handled.ok())
      verdict.trace.push_back("  rejected: " + handled.error().message);
    for (const Output& output : outputs) {
      OutputRecord record = record_of(output);
      verdict.trace.push_back("  produced " + record.describe());
      if (record.is_consensus()) {
        // An exact repeat of an earlier vote or proposal is a retransmission.
        const bool repeat = record.kind != "decide" &&
                            std::any_of(consensus.begin(), consensus.end(), [&](const Produced& p) { return p.record == record; });
        if (!repeat) consensus.push_back(Produced{std::move(record), inputs});
      } else {
        advisory.push_back(Produced{std::move(record), inputs});
      }
    }
    ++inputs;
  }
  close_open(inputs);

  if (table && !table->missing().empty())
    return fail("proposer table has no entry for " + *table->missing().begin());

  for (std::size_t i = 0; i < std::max(consensus.size(), expected_consensus.size()); ++i) {
    if (i >= consensus.size())
      return fail("missing output #" + std::to_string(i) + ": expected " + expected_consensus[i].text);
    if (i >= expected_consensus.size())
      return fail("unexpected output #" + std::to_string(i) + ": " + consensus[i].record.describe() +
                  " (after input #" + std::to_string(consensus[i].input) + ")");
    const Expected& want = expected_consensus[i];
    const Produced& got = consensus[i];
    if (!want.record.matches(got.record))
      return fail("output #" + std::to_string(i) + ": expected " + want.text + ", produced " + got.record.describe());
    if (got.input >= want.deadline)
      return fail("output #" + std::to_string(i) + " " + want.text + " produced late, by input #" +
                  std::to_string(got.input) + " instead of before input #" + std::to_string(want.deadline));
  }

  std::vector<bool> used(advisory.size(), false);
  for (const Expected& want : expected_advisory) {
    bool found = false;
    for (std::size_t j = 0; j < advisory.size() && !found; ++j) {
      if (!used[j] && advisory[j].input < want.deadline && want.record.matches(advisory[j].record)) {
        used[j] = true;
        found = true;
      }
    }
    if (!found)
      return fail("advisory output " + want.text + " not produced before input #" + std::to_string(want.deadline));
  }
  verdict.passed = true;
  return verdict;
}

}  // namespace bft::conformance
