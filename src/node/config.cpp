#include "bft/node/config.hpp"

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "bft/crypto/ed25519.hpp"
#include "bft/crypto/key_file.hpp"

namespace bft::node {
namespace {

using nlohmann::json;

Error bad(std::string_view field, std::string_view why) {
  return make_error(Errc::invalid_argument, "config: " + std::string(field) + ": " + std::string(why));
}

Result<std::string> text(const json& object, const char* key, std::optional<std::string> fallback = std::nullopt) {
  const auto it = object.find(key);
  if (it == object.end()) {
    if (fallback) return *fallback;
    return bad(key, "missing");
  }
  if (!it->is_string()) return bad(key, "must be a string");
  return it->get<std::string>();
}

/// A whole number in [min, max], or `fallback` when absent.
Result<std::uint64_t> number(const json& object, const char* key, std::uint64_t fallback, std::uint64_t min,
                             std::uint64_t max) {
  const auto it = object.find(key);
  if (it == object.end()) return fallback;
  if (!it->is_number_unsigned() && !(it->is_number_integer() && it->get<std::int64_t>() >= 0))
    return bad(key, "must be a whole number");
  const auto value = it->get<std::uint64_t>();
  if (value < min || value > max)
    return bad(key, "must be between " + std::to_string(min) + " and " + std::to_string(max));
  return value;
}

Result<std::chrono::milliseconds> millis(const json& object, const char* key, std::chrono::milliseconds fallback,
                                         std::uint64_t min) {
  auto value = number(object, key, static_cast<std::uint64_t>(fallback.count()), min, 3'600'000);
  if (!value) return value.error();
  return std::chrono::milliseconds{static_cast<std::int64_t>(*value)};
}

/// A misspelled option must not be silently ignored: every key must be one we read.
Result<void> only_known_fields(const json& object, std::string_view where, std::initializer_list<std::string_view> known) {
  for (const auto& [key, value] : object.items()) {
    if (std::find(known.begin(), known.end(), key) == known.end())
      return bad(std::string(where.empty() ? "" : std::string(where) + ".") + key, "unknown field");
  }
  return {};
}

std::filesystem::path resolve(const std::filesystem::path& base, const std::string& path) {
  const std::filesystem::path p(path);
  return p.is_absolute() ? p : base / p;
}

}  // namespace

Result<Endpoint> parse_endpoint(std::string_view text) {
  const std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == text.size())
    return make_error(Errc::invalid_argument, "'" + std::string(text) + "' is not host:port");
  std::uint32_t port = 0;
  for (char c : text.substr(colon + 1)) {
    if (c < '0' || c > '9' || port > 65535) return make_error(Errc::invalid_argument, "bad port in '" + std::string(text) + "'");
    port = port * 10 + static_cast<std::uint32_t>(c - '0');
  }
  if (port > 65535) return make_error(Errc::invalid_argument, "bad port in '" + std::string(text) + "'");
  return Endpoint{std::string(text.substr(0, colon)), static_cast<std::uint16_t>(port)};
}

/// An ed25519 public key from 64 hex digits that can verify signatures: a key that is
/// no such point could never sign, so naming one is a mistake worth reporting.
Result<crypto::PublicKey> signing_key(const std::string& hex, const std::string& where) {
  auto key = crypto::parse_public_key(hex);
  if (!key) return bad(where, key.error().message);
  if (!crypto::is_valid_public_key(*key))
    return bad(where, "is not a valid ed25519 public key (not a point that can sign)");
  return *key;
}

/// The nodes of the network, validators and full nodes: no key, validator address or
/// endpoint twice.
class NodeEntries {
 public:
  Result<ValidatorEntry> parse(const json& entry, const std::string& where, bool with_power) {
    if (!entry.is_object()) return bad(where, "must be an object");
    // A full node's entry has no power: it votes only once a validator update says so.
    const auto known = with_power ? only_known_fields(entry, where, {"name", "public_key", "address", "power"})
                                  : only_known_fields(entry, where, {"name", "public_key", "address"});
    if (!known) return known.error();
    ValidatorEntry node;
    auto key_hex = text(entry, "public_key");
    if (!key_hex) return bad(where, key_hex.error().message);
    auto key = signing_key(*key_hex, where + ".public_key");
    if (!key) return key.error();
    if (!keys_.insert(*key).second) return bad(where + ".public_key", "appears twice");
    if (!addresses_.insert(crypto::address_of(*key)).second)
      return bad(where + ".public_key", "has the same validator address as another node's key");
    node.public_key = *key;
    auto address = text(entry, "address");
    if (!address) return bad(where, address.error().message);
    auto endpoint = parse_endpoint(*address);
    if (!endpoint) return bad(where + ".address", endpoint.error().message);
    if (endpoint->port == 0) return bad(where + ".address", "port 0: peers must know where to dial");
    if (!endpoints_.emplace(endpoint->host, endpoint->port).second)
      return bad(where + ".address", "'" + *address + "' is another node's address too");
    node.address = *endpoint;
    auto node_name = text(entry, "name", *address);
    if (!node_name) return bad(where, node_name.error().message);
    node.name = *node_name;
    node.power = 0;
    if (!with_power) return node;
    auto power = number(entry, "power", 1, 1, std::uint64_t{1} << 40);
    if (!power) return bad(where, power.error().message);
    node.power = *power;
    return node;
  }

 private:
  std::set<crypto::PublicKey> keys_;
  std::set<Address> addresses_;
  std::set<std::pair<std::string, std::uint16_t>> endpoints_;
};

Result<NodeConfig> parse_config(std::string_view json_text, const std::filesystem::path& base_dir) {
  json root;
  try {
    root = json::parse(json_text);
  } catch (const json::parse_error& error) {
    return make_error(Errc::malformed, std::string("config: not JSON: ") + error.what());
  }
  if (!root.is_object()) return bad("(top level)", "must be an object");
  if (auto known = only_known_fields(root, "",
                                     {"chain_id", "name", "listen", "http", "key_file", "data_dir", "log_level",
                                      "timeouts_ms", "gossip_interval_ms", "block_max_txs", "mempool_max_txs",
                                      "retain_blocks", "validators", "full_nodes", "operator_public_key", "faults",
                                      "p2p_plaintext"});
      !known)
    return known.error();

  NodeConfig config;
  auto chain_id = text(root, "chain_id");
  if (!chain_id) return chain_id.error();
  if (chain_id->empty()) return bad("chain_id", "must not be empty");
  config.chain_id = *chain_id;
  for (const char* key : {"listen", "http"}) {
    auto value = text(root, key);
    if (!value) return value.error();
    auto endpoint = parse_endpoint(*value);
    if (!endpoint) return bad(key, endpoint.error().message);
    (std::string_view(key) == "listen" ? config.listen : config.http) = *endpoint;
  }
  auto name = text(root, "name", config.listen.host + ":" + std::to_string(config.listen.port));
  if (!name) return name.error();
  config.name = *name;
  auto key_file = text(root, "key_file");
  if (!key_file) return key_file.error();
  config.key_file = resolve(base_dir, *key_file);
  auto data_dir = text(root, "data_dir");
  if (!data_dir) return data_dir.error();
  config.data_dir = resolve(base_dir, *data_dir);
  auto level = text(root, "log_level", "warn");
  if (!level) return level.error();
  auto parsed_level = parse_log_level(*level);
  if (!parsed_level) return bad("log_level", parsed_level.error().message);
  config.log_level = *parsed_level;

  if (const auto it = root.find("timeouts_ms"); it != root.end()) {
    if (!it->is_object()) return bad("timeouts_ms", "must be an object");
    if (auto known = only_known_fields(*it, "timeouts_ms", {"propose", "prevote", "precommit", "per_round"}); !known)
      return known.error();
    auto propose = millis(*it, "propose", config.propose_timeout, 1);
    auto prevote = millis(*it, "prevote", config.prevote_timeout, 1);
    auto precommit = millis(*it, "precommit", config.precommit_timeout, 1);
    auto per_round = millis(*it, "per_round", config.per_round_timeout, 0);
    for (const auto* r : {&propose, &prevote, &precommit, &per_round})
      if (!*r) return r->error();
    config.propose_timeout = *propose;
    config.prevote_timeout = *prevote;
    config.precommit_timeout = *precommit;
    config.per_round_timeout = *per_round;
  }
  auto gossip = millis(root, "gossip_interval_ms", config.gossip_interval, 1);
  if (!gossip) return gossip.error();
  config.gossip_interval = *gossip;
  auto block_txs = number(root, "block_max_txs", config.block_max_txs, 1, 1'000'000);
  if (!block_txs) return block_txs.error();
  config.block_max_txs = *block_txs;
  auto mempool_txs = number(root, "mempool_max_txs", config.mempool_max_txs, 1, 100'000'000);
  if (!mempool_txs) return mempool_txs.error();
  config.mempool_max_txs = *mempool_txs;
  auto retain = number(root, "retain_blocks", config.retain_blocks, 0, std::uint64_t{1} << 62);
  if (!retain) return retain.error();
  config.retain_blocks = *retain;

  const auto validators = root.find("validators");
  if (validators == root.end() || !validators->is_array() || validators->empty())
    return bad("validators", "must be a non-empty array");
  NodeEntries entries;
  for (std::size_t i = 0; i < validators->size(); ++i) {
    auto validator = entries.parse((*validators)[i], "validators[" + std::to_string(i) + "]", true);
    if (!validator) return validator.error();
    config.validators.push_back(std::move(*validator));
  }
  if (const auto full_nodes = root.find("full_nodes"); full_nodes != root.end()) {
    if (!full_nodes->is_array()) return bad("full_nodes", "must be an array");
    for (std::size_t i = 0; i < full_nodes->size(); ++i) {
      auto full_node = entries.parse((*full_nodes)[i], "full_nodes[" + std::to_string(i) + "]", false);
      if (!full_node) return full_node.error();
      config.full_nodes.push_back(std::move(*full_node));
    }
  }

  if (const auto it = root.find("operator_public_key"); it != root.end()) {
    if (!it->is_string()) return bad("operator_public_key", "must be a string of 64 hex digits");
    auto key = signing_key(it->get<std::string>(), "operator_public_key");
    if (!key) return key.error();
    config.operator_key = *key;
  }

  if (const auto it = root.find("faults"); it != root.end()) {
    if (!it->is_object()) return bad("faults", "must be an object");
    if (auto known = only_known_fields(*it, "faults", {"delay_ms", "loss"}); !known) return known.error();
    auto delay = millis(*it, "delay_ms", config.fault_delay, 0);
    if (!delay) return delay.error();
    config.fault_delay = *delay;
    if (const auto loss = it->find("loss"); loss != it->end()) {
      if (!loss->is_number() || loss->get<double>() < 0 || loss->get<double>() > 1)
        return bad("faults.loss", "must be a number between 0 and 1");
      config.fault_loss = loss->get<double>();
    }
  }
  if (const auto it = root.find("p2p_plaintext"); it != root.end()) {
    if (!it->is_boolean()) return bad("p2p_plaintext", "must be true or false");
    config.p2p_plaintext = it->get<bool>();
  }
  return config;
}

bool NodeConfig::lists(const crypto::PublicKey& key) const {
  const auto has = [&](const std::vector<ValidatorEntry>& nodes) {
    return std::any_of(nodes.begin(), nodes.end(), [&](const ValidatorEntry& node) { return node.public_key == key; });
  };
  return has(validators) || has(full_nodes);
}

Result<NodeConfig> load_config(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return make_error(Errc::io_error, "config: cannot read " + file.string());
  std::ostringstream content;
  content << in.rdbuf();
  if (!in.good() && !in.eof()) return make_error(Errc::io_error, "config: cannot read " + file.string());
  return parse_config(content.str(), file.parent_path());
}

}  // namespace bft::node
