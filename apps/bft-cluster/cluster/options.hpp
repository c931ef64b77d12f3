// bft-cluster's command line: what to launch, how much load to drive, which faults to
// inject and when. Parsing is separate from the program so tests can cover every rule.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bft/result.hpp"

namespace bft::cluster {

/// --kill I@T1:T2: SIGKILL node I at T1 seconds, start it again with the same config at T2.
struct KillSpec {
  std::size_t node = 0;
  double at_s = 0;
  double restart_s = 0;
};

/// --partition I,J,...@T1:T2: cut those nodes off the network at T1, heal at T2 (netns only).
struct PartitionSpec {
  std::vector<std::size_t> nodes;
  double at_s = 0;
  double heal_s = 0;
};

/// --flood-http I@T1:T2: hostile HTTP clients hammer node I from T1 to T2 seconds.
struct FloodSpec {
  std::size_t node = 0;
  double at_s = 0;
  double until_s = 0;
};

struct Options {
  std::size_t nodes = 4;        // validators of height 1: node-0 .. node-(N-1)
  std::size_t full_nodes = 0;   // nodes without voting power: full-0 .. full-(K-1)
  bool rotate = false;          // change the validator set under load (see usage_text)
  bool rotate_out = false;      // replace every original validator, one at a time
  bool unlisted_joiners = false;  // the full nodes the changes promote are in no other node's configuration
  double duration_s = 20;
  double load_per_s = 2000;     // commands per second over the whole cluster; 0: no load
  std::size_t batch = 50;       // commands per POST /txs
  std::size_t clients = 1;      // per node, each with one request in flight
  std::optional<std::size_t> load_to;  // the one node all commands go to (default: spread over all)
  std::uint16_t base_port = 26600;  // p2p ports base.., HTTP ports base+100..; 0: free ports
  std::string dir;              // empty: a fresh temporary directory
  bool keep_dir = false;
  std::string node_bin;         // empty: bft-node next to bft-cluster's own executable
  bool netns = false;
  std::uint32_t delay_ms = 0;   // every node's faults.delay_ms
  double loss = 0;              // every node's faults.loss
  bool p2p_plaintext = false;   // every node's p2p_plaintext (benchmarks of encryption)
  std::string log_level = "warn";
  std::vector<KillSpec> kills;
  std::vector<PartitionSpec> partitions;
  std::optional<FloodSpec> flood;
  double flood_min_ratio = 0.8;  // --flood-min-ratio
  std::optional<std::uint16_t> metrics_port;  // --metrics-port: run a Prometheus there (0: any free port)
  bool json = false;
  bool quiet = false;
  bool help = false;
  bool version = false;
};

/// The HTTP port is this far above the p2p port.
inline constexpr std::uint16_t http_port_offset = 100;
/// Largest cluster: netns mode numbers hosts .1 to .N in one /24 and keeps .254 for the hub.
inline constexpr std::size_t max_nodes = 64;
/// Load threads per node: enough to saturate a node, few enough for one machine.
inline constexpr std::size_t max_clients = 64;

extern const char* const usage_text;

/// `args` excludes the program name (parsed with CLI11). Errors (invalid_argument) say
/// which option is wrong. With --help or --version nothing else is checked.
Result<Options> parse_options(std::span<const std::string_view> args);

Result<KillSpec> parse_kill(std::string_view text);
Result<PartitionSpec> parse_partition(std::string_view text);
Result<FloodSpec> parse_flood(std::string_view text);

}  // namespace bft::cluster
