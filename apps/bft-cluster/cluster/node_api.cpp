#include "cluster/node_api.hpp"

#include <nlohmann/json.hpp>

namespace bft::cluster {

using nlohmann::json;

std::string to_json(const NodeConfig& c) {
  json validators = json::array();
  for (const ValidatorEntry& v : c.validators)
    validators.push_back({{"name", v.name}, {"public_key", v.public_key_hex}, {"address", v.address}, {"power", 1}});
  json full_nodes = json::array();
  for (const ValidatorEntry& v : c.full_nodes)
    full_nodes.push_back({{"name", v.name}, {"public_key", v.public_key_hex}, {"address", v.address}});
  json config = {
      {"chain_id", c.chain_id},
      {"name", c.name},
      {"listen", c.listen},
      {"http", c.http},
      {"key_file", c.key_file},
      {"data_dir", c.data_dir},
      {"log_level", c.log_level},
      {"validators", validators},
      {"faults", {{"delay_ms", c.delay_ms}, {"loss", c.loss}}},
      {"p2p_plaintext", c.p2p_plaintext},
  };
  if (!c.full_nodes.empty()) config["full_nodes"] = full_nodes;
  if (!c.operator_public_key_hex.empty()) config["operator_public_key"] = c.operator_public_key_hex;
  return config.dump(2) + "\n";
}

namespace {

/// Reads the fields of one JSON object and keeps the first problem, so a parser reads
/// every field in a row and checks once.
class FieldReader {
 public:
  explicit FieldReader(const json& object) : object_(object) {}

  template <class T>
  void read(T& out, const char* name) {
    if (!problem_.empty()) return;
    const auto it = object_.find(name);
    if (it == object_.end()) {
      problem_ = std::string("no \"") + name + "\" field";
      return;
    }
    try {
      out = it->template get<T>();
    } catch (const json::exception&) {
      problem_ = std::string("\"") + name + "\" has the wrong type: " + it->dump();
    }
  }

  const std::string& problem() const { return problem_; }

 private:
  const json& object_;
  std::string problem_;
};

Result<json> parse_object(std::string_view text) {
  json parsed = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_object()) return make_error(Errc::malformed, "not a JSON object: " + std::string(text.substr(0, 200)));
  return parsed;
}

}  // namespace

Result<NodeStatus> parse_status(std::string_view text) {
  auto object = parse_object(text);
  if (!object) return object.error();
  NodeStatus s;
  FieldReader reader(*object);
  reader.read(s.name, "name");
  reader.read(s.height, "height");
  reader.read(s.round, "round");
  reader.read(s.app_hash, "app_hash");
  reader.read(s.mempool, "mempool");
  reader.read(s.peers, "peers");
  reader.read(s.txs_committed, "txs_committed");
  if (!reader.problem().empty()) return make_error(Errc::malformed, "/status: " + reader.problem());
  return s;
}

Result<std::vector<BlockInfo>> parse_blocks(std::string_view text) {
  auto object = parse_object(text);
  if (!object) return object.error();
  std::vector<json> list;
  FieldReader top(*object);
  top.read(list, "blocks");
  if (!top.problem().empty()) return make_error(Errc::malformed, "/blocks: " + top.problem());
  std::vector<BlockInfo> blocks(list.size());
  for (std::size_t i = 0; i < list.size(); ++i) {
    if (!list[i].is_object()) return make_error(Errc::malformed, "/blocks: an entry is not an object");
    FieldReader reader(list[i]);
    reader.read(blocks[i].height, "height");
    reader.read(blocks[i].hash, "hash");
    reader.read(blocks[i].txs, "txs");
    reader.read(blocks[i].commit_ms, "commit_ms");
    reader.read(blocks[i].decided_unix_ms, "decided_unix_ms");
    reader.read(blocks[i].proposer, "proposer");
    if (!reader.problem().empty()) return make_error(Errc::malformed, "/blocks: " + reader.problem());
    if (const auto ids = list[i].find("tx_id_prefixes"); ids != list[i].end()) {
      if (!ids->is_string()) return make_error(Errc::malformed, "/blocks: tx_id_prefixes is not a string");
      auto parsed = parse_id_prefixes(ids->get_ref<const std::string&>());
      if (!parsed) return parsed.error();
      if (parsed->size() != blocks[i].txs) return make_error(Errc::malformed, "/blocks: tx_id_prefixes does not match txs");
      blocks[i].tx_ids = std::move(*parsed);
    }
  }
  return blocks;
}

Result<ValidatorsView> parse_validators(std::string_view text) {
  auto object = parse_object(text);
  if (!object) return object.error();
  ValidatorsView view;
  std::vector<json> list;
  FieldReader top(*object);
  top.read(view.height, "height");
  top.read(view.from_height, "from_height");
  top.read(list, "validators");
  if (!top.problem().empty()) return make_error(Errc::malformed, "/validators: " + top.problem());
  for (const json& entry : list) {
    if (!entry.is_object()) return make_error(Errc::malformed, "/validators: an entry is not an object");
    std::string key;
    std::string address;
    std::uint64_t power = 0;
    FieldReader reader(entry);
    reader.read(key, "public_key");
    reader.read(address, "address");
    reader.read(power, "power");
    if (!reader.problem().empty()) return make_error(Errc::malformed, "/validators: " + reader.problem());
    view.powers.emplace_back(std::move(key), power);
    view.addresses.push_back(std::move(address));
  }
  return view;
}

Result<std::vector<std::uint64_t>> parse_id_prefixes(std::string_view hex) {
  constexpr std::size_t digits = 16;
  if (hex.size() % digits != 0) return make_error(Errc::malformed, "id prefixes: not 16 hex digits each");
  std::vector<std::uint64_t> ids;
  ids.reserve(hex.size() / digits);
  for (std::size_t at = 0; at < hex.size(); at += digits) {
    std::uint64_t id = 0;
    for (std::size_t i = at; i < at + digits; ++i) {
      const char c = hex[i];
      const int value = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
      if (value < 0) return make_error(Errc::malformed, "id prefixes: not lowercase hex");
      id = id << 4 | static_cast<std::uint64_t>(value);
    }
    ids.push_back(id);
  }
  return ids;
}

Result<std::vector<std::uint64_t>> parse_accepted_ids(std::string_view text) {
  auto object = parse_object(text);
  if (!object) return object.error();
  const auto txs = object->find("txs");
  if (txs == object->end() || !txs->is_array()) return make_error(Errc::malformed, "POST /txs: no txs list");
  std::string prefixes;
  for (const json& tx : *txs) {
    const auto id = tx.find("id");
    const auto status = tx.find("status");
    if (id == tx.end() || status == tx.end() || !id->is_string() || !status->is_string() ||
        id->get_ref<const std::string&>().size() != 64)
      return make_error(Errc::malformed, "POST /txs: an entry without an id and a status");
    const std::string& state = status->get_ref<const std::string&>();
    if (state == "accepted" || state == "committed") prefixes += id->get_ref<const std::string&>().substr(0, 16);
  }
  return parse_id_prefixes(prefixes);
}

Result<TxOutcome> parse_first_outcome(std::string_view text) {
  auto object = parse_object(text);
  if (!object) return object.error();
  const auto txs = object->find("txs");
  if (txs == object->end() || !txs->is_array() || txs->empty() || !txs->front().is_object())
    return make_error(Errc::malformed, "POST /txs: no txs list");
  const json& first = txs->front();
  TxOutcome outcome;
  FieldReader reader(first);
  reader.read(outcome.status, "status");
  if (first.contains("height")) reader.read(outcome.height, "height");
  if (first.contains("code")) reader.read(outcome.code, "code");
  if (first.contains("log")) reader.read(outcome.log, "log");
  if (!reader.problem().empty()) return make_error(Errc::malformed, "POST /txs: " + reader.problem());
  return outcome;
}

std::string make_set_commands(std::string_view key_prefix, std::uint64_t first, std::size_t count) {
  std::string body;
  body.reserve(count * (key_prefix.size() + 24));
  for (std::uint64_t n = first; n < first + count; ++n) {
    const std::string number = std::to_string(n);
    body.append("set ").append(key_prefix).append(number).append(" v").append(number).append("\n");
  }
  return body;
}

}  // namespace bft::cluster
