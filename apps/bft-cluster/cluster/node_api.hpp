// The pieces of bft-node's interface that bft-cluster uses: the config file it writes
// and the JSON answers of GET /status and GET /blocks it reads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "bft/result.hpp"

namespace bft::cluster {

struct ValidatorEntry {
  std::string name;
  std::string public_key_hex;
  std::string address;  // host:port of its p2p listener
};

struct NodeConfig {
  std::string chain_id;
  std::string name;
  std::string listen;  // host:port
  std::string http;    // host:port
  std::string key_file;  // relative to the config file's directory
  std::string data_dir;  // likewise
  std::string log_level;
  std::vector<ValidatorEntry> validators;  // every validator has power 1
  std::vector<ValidatorEntry> full_nodes;
  std::string operator_public_key_hex;    // empty: none
  std::uint32_t delay_ms = 0;
  double loss = 0;
  bool p2p_plaintext = false;  // links not encrypted: only to measure what encryption costs
};

/// The config file's JSON text (pretty-printed: operators read these files).
std::string to_json(const NodeConfig& config);

struct NodeStatus {
  std::string name;
  std::uint64_t height = 0;
  std::int64_t round = 0;
  std::string app_hash;
  std::uint64_t mempool = 0;
  std::uint64_t peers = 0;
  std::uint64_t txs_committed = 0;
};

struct BlockInfo {
  std::uint64_t height = 0;
  std::string hash;
  std::uint64_t txs = 0;
  double commit_ms = 0;
  std::int64_t decided_unix_ms = 0;
  /// With GET /blocks?tx_ids=1: the first 8 bytes of each transaction's id, big-endian.
  std::vector<std::uint64_t> tx_ids = {};
  std::string proposer = {};  // the proposer's address, hex
};

/// GET /validators: the set of the node's current height.
struct ValidatorsView {
  std::uint64_t height = 0;
  std::uint64_t from_height = 0;
  std::vector<std::pair<std::string, std::uint64_t>> powers;  // public key hex, power
  std::vector<std::string> addresses;                        // hex, in the same order
};

/// Errors: malformed (not JSON, or a field missing or of the wrong type).
Result<NodeStatus> parse_status(std::string_view json);
Result<std::vector<BlockInfo>> parse_blocks(std::string_view json);
Result<ValidatorsView> parse_validators(std::string_view json);
/// The ids (their first 8 bytes) of the transactions a POST /txs answer says are
/// accepted or committed. Errors: malformed.
Result<std::vector<std::uint64_t>> parse_accepted_ids(std::string_view json);
/// The first transaction's outcome in a POST /txs answer ("accepted", "committed",
/// "refused", ...), with its height, code and log once committed. Errors: malformed.
struct TxOutcome {
  std::string status;
  std::uint64_t height = 0;
  std::uint32_t code = 0;
  std::string log;
};
Result<TxOutcome> parse_first_outcome(std::string_view json);
/// Hex digits, 16 per id, to ids' first 8 bytes. Errors: malformed.
Result<std::vector<std::uint64_t>> parse_id_prefixes(std::string_view hex);

/// The body of one POST /txs: `count` lines `set <prefix><n> v<n>` for n = first, first+1, ...
std::string make_set_commands(std::string_view key_prefix, std::uint64_t first, std::size_t count);

}  // namespace bft::cluster
