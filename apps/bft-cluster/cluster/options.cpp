#include "cluster/options.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <charconv>
#include <cmath>

namespace bft::cluster {

const char* const usage_text = R"(usage: bft-cluster [options]

Launches a cluster of bft-node validators, drives a key-value load through their HTTP
APIs with a live progress line, injects faults, then checks that every node committed the
same blocks, shuts the nodes down and prints a summary.

cluster
  --nodes N              validators (default 4, at most 64 nodes in all)
  --full-nodes K         nodes without voting power (default 0): they follow the chain by
                         gossip and block sync, and answer clients
  --node-bin PATH        the bft-node program (default: bft-node next to bft-cluster)
  --dir DIR              where keys, configs, data and node logs go (default: a fresh
                         temporary directory, removed after a passing run)
  --keep                 keep the temporary directory
  --base-port P          p2p ports P.., HTTP ports P+100.. (default 26600; 0: free ports)
  --log-level L          the nodes' log level (default warn); logs go to DIR/node-I.log
  --p2p-plaintext        links between the nodes not encrypted: only for measuring what
                         encryption costs (bft-cluster-bench)

load
  --duration S           seconds of load (default 20)
  --load R               commands per second over the whole cluster (default 2000; 0: none)
  --batch B              commands per POST /txs (default 50)
  --clients C            clients per node, each with one request in flight (default 1;
                         more to saturate the nodes rather than wait on their answers)
  --load-to I            send every command to node I (default: spread over all); with
                         --kill I@..., what node I accepted must commit on the others

faults
  --delay-ms D           every node delays its outgoing frames by D ms
  --loss P               every node drops outgoing frames with probability P
  --kill I@T1:T2         SIGKILL node I at T1 s, restart it at T2 s (repeatable)
  --netns                every node in its own network namespace (needs root and iproute2;
                         exits 77 when unavailable)
  --partition I,J@T1:T2  cut nodes I,J off the network at T1 s, heal at T2 s (repeatable;
                         needs --netns)
  --flood-http I@T1:T2   hostile clients flood node I's HTTP endpoint with its most
                         expensive requests from T1 s to T2 s; the run fails if the
                         cluster's heights/s during the flood falls more than 20% below
                         the same span just before it (T1 must be at least T2 - T1)
  --flood-min-ratio R    the share of heights/s a flood must leave (default 0.8; 0: only
                         report it, e.g. in a sanitizer build, where every node is
                         CPU-bound and any work slows it)

validators
  --rotate               under load, the operator (a key bft-cluster makes) changes the
                         validator set three times: full-0 joins the validators, the
                         proposer of the moment leaves, a validator's power doubles. Each
                         change must commit and be in force within 10 s. With two or more
                         full nodes, the last one starts only after the changes and must
                         catch up across all of them. Needs --nodes 4 or more and
                         --full-nodes 1 or more
  --rotate-out           under load, every validator of the first set is replaced by a
                         full node, one change at a time (full-I joins, then node-I
                         leaves), each in force within 10 s; the chain must go on under
                         the new set. With more full nodes than validators, the last one
                         starts after the changes. Needs --nodes 4 or more and
                         --full-nodes N or more
  --unlisted-joiners     with --rotate or --rotate-out: the full nodes the changes make
                         validators are in no other node's configuration (they list the
                         others); the others admit them only once the chain names them,
                         and they get no load

metrics
  --metrics-port P       start a Prometheus server (Debian's prometheus) on 127.0.0.1:P
                         (0: a free port) that scrapes every node's /metrics each second;
                         its URL is printed. At the end the run asks it for every node's
                         height and the commit latency's median, and fails if they are
                         missing (not with --netns)

output
  --json                 end stdout with one JSON object of the results
  --quiet                no progress line
  --help, --version

Exit status: 0 when the run passes (agreement, at least one height, no node died, clean
shutdown, every fault recovered within 10 s), 1 when it fails, 2 on a usage error, 77 when
--netns cannot be used.
)";

namespace {

Error usage_error(std::string message) { return make_error(Errc::invalid_argument, std::move(message)); }

template <class T>
Result<T> parse_number(std::string_view what, std::string_view text) {
  T value{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size())
    return usage_error(std::string(what) + " expects a number, not '" + std::string(text) + "'");
  return value;
}

Result<double> parse_seconds(std::string_view what, std::string_view text) {
  auto seconds = parse_number<double>(what, text);
  if (seconds && !(std::isfinite(*seconds) && *seconds >= 0))
    return usage_error(std::string(what) + " expects seconds >= 0, not '" + std::string(text) + "'");
  return seconds;
}

/// "T1:T2" with T1 < T2.
Result<std::pair<double, double>> parse_window(std::string_view what, std::string_view text) {
  const auto colon = text.find(':');
  if (colon == std::string_view::npos) return usage_error(std::string(what) + " expects ...@T1:T2");
  auto from = parse_seconds(what, text.substr(0, colon));
  if (!from) return from.error();
  auto to = parse_seconds(what, text.substr(colon + 1));
  if (!to) return to.error();
  if (!(*from < *to)) return usage_error(std::string(what) + ": T1 must be before T2");
  return std::pair{*from, *to};
}

}  // namespace

namespace {

/// "I@T1:T2": one node and a window, for --kill and --flood-http.
struct NodeWindow {
  std::size_t node = 0;
  double from_s = 0;
  double to_s = 0;
};

Result<NodeWindow> parse_node_window(std::string_view what, std::string_view text) {
  const auto at = text.find('@');
  if (at == std::string_view::npos)
    return usage_error(std::string(what) + " expects I@T1:T2, not '" + std::string(text) + "'");
  auto node = parse_number<std::size_t>(what, text.substr(0, at));
  if (!node) return node.error();
  auto window = parse_window(what, text.substr(at + 1));
  if (!window) return window.error();
  return NodeWindow{*node, window->first, window->second};
}

}  // namespace

Result<KillSpec> parse_kill(std::string_view text) {
  auto spec = parse_node_window("--kill", text);
  if (!spec) return spec.error();
  return KillSpec{spec->node, spec->from_s, spec->to_s};
}

Result<FloodSpec> parse_flood(std::string_view text) {
  auto spec = parse_node_window("--flood-http", text);
  if (!spec) return spec.error();
  return FloodSpec{spec->node, spec->from_s, spec->to_s};
}

Result<PartitionSpec> parse_partition(std::string_view text) {
  const auto at = text.find('@');
  if (at == std::string_view::npos)
    return usage_error("--partition expects I,J,...@T1:T2, not '" + std::string(text) + "'");
  PartitionSpec spec;
  std::string_view list = text.substr(0, at);
  while (true) {
    const auto comma = list.find(',');
    auto node = parse_number<std::size_t>("--partition", list.substr(0, comma));
    if (!node) return node.error();
    if (std::find(spec.nodes.begin(), spec.nodes.end(), *node) != spec.nodes.end())
      return usage_error("--partition names node " + std::to_string(*node) + " twice");
    spec.nodes.push_back(*node);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  auto window = parse_window("--partition", text.substr(at + 1));
  if (!window) return window.error();
  spec.at_s = window->first;
  spec.heal_s = window->second;
  return spec;
}

namespace {

/// The rules that involve more than one option.
Result<void> validate(const Options& o) {
  if (o.nodes < 1 || o.nodes + o.full_nodes > max_nodes)
    return usage_error("--nodes and --full-nodes expect 1 to " + std::to_string(max_nodes) + " nodes in all");
  if (o.rotate && o.rotate_out) return usage_error("--rotate and --rotate-out are two scenarios: choose one");
  if (o.rotate_out && (o.nodes < 4 || o.full_nodes < o.nodes))
    return usage_error("--rotate-out needs --nodes 4 or more and at least as many --full-nodes (one replaces each)");
  if (o.unlisted_joiners && !o.rotate && !o.rotate_out)
    return usage_error("--unlisted-joiners needs --rotate or --rotate-out (no one joins otherwise)");
  if (o.rotate && (o.nodes < 4 || o.full_nodes < 1))
    return usage_error("--rotate needs --nodes 4 or more (a change moves under a third of the power) and "
                       "--full-nodes 1 or more (one joins the validators)");
  if (!(o.duration_s > 0)) return usage_error("--duration must be above 0");
  if (!(o.load_per_s >= 0) || !std::isfinite(o.load_per_s)) return usage_error("--load must be 0 or more");
  if (o.batch < 1) return usage_error("--batch must be at least 1");
  if (o.clients < 1 || o.clients > max_clients)
    return usage_error("--clients expects 1 to " + std::to_string(max_clients));
  if (o.load_to && *o.load_to >= o.nodes)
    return usage_error("--load-to names node " + std::to_string(*o.load_to) + " of " + std::to_string(o.nodes));
  if (!(o.loss >= 0 && o.loss < 1)) return usage_error("--loss expects a probability in [0, 1)");
  if (o.base_port != 0 && std::size_t{o.base_port} + http_port_offset + o.nodes + o.full_nodes > 65536)
    return usage_error("--base-port leaves no room for " + std::to_string(o.nodes) + " nodes");
  if (!o.partitions.empty() && !o.netns) return usage_error("--partition needs --netns");
  for (const KillSpec& kill : o.kills) {
    if (kill.node >= o.nodes) return usage_error("--kill names node " + std::to_string(kill.node) + " of " + std::to_string(o.nodes));
    if (kill.restart_s > o.duration_s) return usage_error("--kill restarts after --duration ends");
    for (const KillSpec& other : o.kills)
      if (&other != &kill && other.node == kill.node && other.at_s < kill.restart_s && kill.at_s < other.restart_s)
        return usage_error("--kill windows of node " + std::to_string(kill.node) + " overlap");
  }
  for (const PartitionSpec& partition : o.partitions) {
    for (std::size_t node : partition.nodes)
      if (node >= o.nodes)
        return usage_error("--partition names node " + std::to_string(node) + " of " + std::to_string(o.nodes));
    if (partition.heal_s > o.duration_s) return usage_error("--partition heals after --duration ends");
  }
  if (!(o.flood_min_ratio >= 0 && o.flood_min_ratio <= 1)) return usage_error("--flood-min-ratio expects 0 to 1");
  if (o.metrics_port && o.netns) return usage_error("--metrics-port cannot reach nodes in --netns namespaces");
  if (o.flood) {
    if (o.flood->node >= o.nodes)
      return usage_error("--flood-http names node " + std::to_string(o.flood->node) + " of " + std::to_string(o.nodes));
    if (o.flood->until_s > o.duration_s) return usage_error("--flood-http ends after --duration ends");
    if (o.flood->at_s < o.flood->until_s - o.flood->at_s)
      return usage_error("--flood-http needs as long a span before T1 as the flood lasts, to compare with");
  }
  return {};
}

}  // namespace

Result<Options> parse_options(std::span<const std::string_view> args) {
  Options o;
  // The usage text above is the help: CLI11's own help and version flags are replaced by
  // flags that only report, so that the program prints and exits alike for both.
  CLI::App app{"bft-cluster", "bft-cluster"};
  app.set_help_flag();
  app.add_flag("-h,--help", o.help);
  app.add_flag("--version", o.version);
  app.add_option("--nodes", o.nodes);
  app.add_option("--full-nodes", o.full_nodes);
  app.add_flag("--rotate", o.rotate);
  app.add_flag("--rotate-out", o.rotate_out);
  app.add_flag("--unlisted-joiners", o.unlisted_joiners);
  app.add_option("--duration", o.duration_s);
  app.add_option("--load", o.load_per_s);
  app.add_option("--batch", o.batch);
  app.add_option("--clients", o.clients);
  app.add_option("--load-to", o.load_to);
  app.add_option("--base-port", o.base_port);
  app.add_option("--delay-ms", o.delay_ms);
  app.add_option("--loss", o.loss);
  app.add_option("--dir", o.dir);
  app.add_option("--node-bin", o.node_bin);
  app.add_option("--log-level", o.log_level);
  app.add_option("--flood-min-ratio", o.flood_min_ratio);
  app.add_option_function<std::uint16_t>("--metrics-port", [&o](const std::uint16_t& port) { o.metrics_port = port; });
  std::vector<std::string> kills, partitions, floods;
  app.add_option("--kill", kills)->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_option("--partition", partitions)->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_option("--flood-http", floods)->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_flag("--p2p-plaintext", o.p2p_plaintext);
  app.add_flag("--keep", o.keep_dir);
  app.add_flag("--netns", o.netns);
  app.add_flag("--json", o.json);
  app.add_flag("--quiet", o.quiet);
  // CLI11 reads its arguments from the back of the vector.
  std::vector<std::string> reversed(args.rbegin(), args.rend());
  try {
    app.parse(reversed);
  } catch (const CLI::ParseError& error) {
    return usage_error(error.what());
  }
  if (o.help || o.version) return o;
  for (const std::string& text : kills) {
    auto kill = parse_kill(text);
    if (!kill) return kill.error();
    o.kills.push_back(*kill);
  }
  for (const std::string& text : partitions) {
    auto partition = parse_partition(text);
    if (!partition) return partition.error();
    o.partitions.push_back(std::move(*partition));
  }
  if (floods.size() > 1) return usage_error("--flood-http may be given once");
  if (!floods.empty()) {
    auto flood = parse_flood(floods.front());
    if (!flood) return flood.error();
    o.flood = *flood;
  }
  if (auto valid = validate(o); !valid) return valid.error();
  return o;
}

}  // namespace bft::cluster
