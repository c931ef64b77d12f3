// bft-node's configuration file (JSON). Relative paths are taken from the file's
// directory, so a cluster directory can be moved as a whole.
//
//   {
//     "chain_id": "bft-local",                  required
//     "name": "node-0",                         for logs; default: the listen address
//     "listen": "127.0.0.1:26600",              required: validators connect here (port 0: any)
//     "http": "127.0.0.1:26700",                required: the client endpoint (port 0: any)
//     "key_file": "node-0.key",                 required: bft::crypto key file (mode 0600)
//     "data_dir": "node-0",                     required: WAL, sign guard, blocks, app state
//     "log_level": "warn",                      error | warn | info | debug
//     "timeouts_ms": {"propose": 1000, "prevote": 300, "precommit": 300, "per_round": 200},
//     "gossip_interval_ms": 200,
//     "block_max_txs": 5000,
//     "mempool_max_txs": 100000,
//     "retain_blocks": 0,                       blocks kept below the tip (0: all)
//     "validators": [{"name": "node-0", "public_key": "<64 hex>",
//                     "address": "127.0.0.1:26600", "power": 1}, ...],   required: the
//                                               validators of height 1 (validator updates
//                                               change the set later)
//     "full_nodes": [{"name": "full-0", "public_key": "<64 hex>",
//                     "address": "127.0.0.1:26610"}, ...],   the network's other nodes:
//                                               they follow the chain; a validator update
//                                               may make one a validator
//     "operator_public_key": "<64 hex>",       the key whose signed commands change the
//                                               validators (KV application); none: no one
//     "faults": {"delay_ms": 0, "loss": 0.0},   tests only: outgoing frames delayed/lost
//     "p2p_plaintext": false                    benchmarks only: links not encrypted
//   }
//
// Unknown fields are errors (a misspelled option must not be silently ignored), as are a
// public key that is not a valid ed25519 point and two nodes (validators or full nodes)
// sharing a key, a validator address or a host:port.
//
// The lists are the nodes this one knows the addresses of, and admits whatever the chain
// says. Besides them it admits the validators of its current and next height, which dial
// in. A node whose own key is in neither list joins a network whose configurations do not
// name it: it dials every listed node, and they accept it once a validator update makes it
// a validator (docs/NODE.md, "Joining without being configured").
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bft/crypto/signer.hpp"
#include "bft/node/log.hpp"
#include "bft/result.hpp"

namespace bft::node {

struct Endpoint {
  std::string host;
  std::uint16_t port = 0;
  friend bool operator==(const Endpoint&, const Endpoint&) = default;
};

/// "host:port"; port 0 means "any free port" where the node listens. Errors:
/// invalid_argument.
Result<Endpoint> parse_endpoint(std::string_view text);

/// A node of the network: a validator of height 1, or a full node (power 0).
struct ValidatorEntry {
  std::string name;
  crypto::PublicKey public_key{};
  Endpoint address;
  std::uint64_t power = 1;
};

struct NodeConfig {
  std::string chain_id;
  std::string name;
  Endpoint listen;
  Endpoint http;
  std::filesystem::path key_file;
  std::filesystem::path data_dir;
  LogLevel log_level = LogLevel::warn;
  std::chrono::milliseconds propose_timeout{1000};
  std::chrono::milliseconds prevote_timeout{300};
  std::chrono::milliseconds precommit_timeout{300};
  std::chrono::milliseconds per_round_timeout{200};
  std::chrono::milliseconds gossip_interval{200};
  std::size_t block_max_txs = 5000;
  std::size_t mempool_max_txs = 100'000;
  /// The application keeps its state and asks the engine to keep this many blocks below
  /// its height, for peers that sync; 0 keeps every block.
  std::uint64_t retain_blocks = 0;
  std::vector<ValidatorEntry> validators;
  std::vector<ValidatorEntry> full_nodes;
  std::optional<crypto::PublicKey> operator_key;
  std::chrono::milliseconds fault_delay{0};
  double fault_loss = 0;
  /// Every validator of a network must agree: a node that encrypts refuses one that does
  /// not. Only for measuring what encryption costs (bft-cluster-bench).
  bool p2p_plaintext = false;

  /// Whether `key` is a validator of height 1 or a full node here.
  bool lists(const crypto::PublicKey& key) const;
};

/// Errors: invalid_argument naming the field (missing, wrong type, out of range, bad key
/// hex, duplicate validator key), io_error if the file cannot be read, malformed if it is
/// not JSON.
Result<NodeConfig> parse_config(std::string_view json, const std::filesystem::path& base_dir);
Result<NodeConfig> load_config(const std::filesystem::path& file);

}  // namespace bft::node
