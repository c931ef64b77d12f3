// bft-client: submits transactions to a bft-node and asks for their status, so that a
// shell user needs no curl.
//
//   bft-client [--nodes H:P,...] [--wait [--timeout-ms T]] [--json] [TX ...]
//       submits each TX (or, with none given, each line of stdin) in one POST /txs;
//       --wait answers once every accepted one committed (POST /txs?wait=commit)
//   bft-client [--nodes H:P,...] [--json] tx ID
//       GET /tx/ID: pending, committed (height, index, code, log) or unknown
//
// The nodes are tried from a random one on; one that does not answer (or answers 503) is
// left for the next. Sending a transaction again is safe: a node answers a pooled one
// accepted and a committed one committed, and pools neither again.
//
// Exit status: 0 all accepted (with --wait: all committed), 1 some refused or still
// pending, 2 no node answered, 64 bad usage.
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "cluster/http_client.hpp"

namespace {

using bft::cluster::HttpClient;
using bft::cluster::HttpReply;

constexpr int exit_ok = 0;
constexpr int exit_not_all = 1;
constexpr int exit_unreachable = 2;
constexpr int exit_usage = 64;

struct NodeAddress {
  std::string host;
  std::uint16_t port = 0;
};

bft::Result<std::vector<NodeAddress>> parse_nodes(const std::string& list) {
  std::vector<NodeAddress> nodes;
  std::size_t at = 0;
  while (at <= list.size()) {
    const std::size_t end = std::min(list.find(',', at), list.size());
    const std::string item = list.substr(at, end - at);
    const std::size_t colon = item.rfind(':');
    if (colon == std::string::npos || colon == 0)
      return bft::make_error(bft::Errc::invalid_argument, "'" + item + "' is not host:port");
    try {
      const unsigned long port = std::stoul(item.substr(colon + 1));
      if (port == 0 || port > 65535) throw std::out_of_range("port");
      nodes.push_back({item.substr(0, colon), static_cast<std::uint16_t>(port)});
    } catch (const std::exception&) {
      return bft::make_error(bft::Errc::invalid_argument, "'" + item + "' has no port from 1 to 65535");
    }
    at = end + 1;
  }
  return nodes;
}

/// Asks the nodes in turn, from a random one, until one answers other than 503.
bft::Result<HttpReply> ask(const std::vector<NodeAddress>& nodes, std::chrono::milliseconds timeout,
                           const std::string& method, const std::string& target, const std::string& body) {
  std::mt19937 random(std::random_device{}());
  const std::size_t first = std::uniform_int_distribution<std::size_t>(0, nodes.size() - 1)(random);
  std::string problems;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    const NodeAddress& node = nodes[(first + i) % nodes.size()];
    HttpClient client(node.host, node.port, timeout);
    auto reply = method == "POST" ? client.post(target, body) : client.get(target);
    const std::string where = node.host + ":" + std::to_string(node.port);
    if (reply && reply->status != 503) return reply;
    problems += "\n  " + where + ": " + (reply ? "503 " + reply->body : reply.error().message);
  }
  return bft::make_error(bft::Errc::io_error, "no node answered:" + problems);
}

/// One line per transaction: id, status, and what else the node said of it.
void print_outcome(const nlohmann::json& tx) {
  std::string line = tx.value("id", "?") + " " + tx.value("status", "?");
  if (tx.contains("height")) line += " height=" + std::to_string(tx["height"].get<std::uint64_t>());
  if (tx.contains("index")) line += " index=" + std::to_string(tx["index"].get<std::uint64_t>());
  if (tx.contains("code")) line += " code=" + std::to_string(tx["code"].get<std::uint64_t>());
  if (tx.contains("error")) line += " error=" + tx["error"].get<std::string>();
  if (tx.contains("log") && !tx["log"].get<std::string>().empty()) line += " log=" + tx["log"].get<std::string>();
  std::puts(line.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Submits transactions to bft-node validators and asks for their status.", "bft-client"};
  std::string node_list = "127.0.0.1:26700";
  bool wait = false;
  bool json = false;
  std::uint32_t timeout_ms = 10'000;
  std::vector<std::string> txs;
  std::string id;
  app.add_option("--nodes", node_list, "validators' HTTP endpoints, host:port,... (any one is used)")
      ->capture_default_str();
  app.add_flag("--wait", wait, "answer once every accepted transaction committed");
  app.add_option("--timeout-ms", timeout_ms, "with --wait: how long to wait (1..60000)")->capture_default_str();
  app.add_flag("--json", json, "print the node's JSON answer");
  app.add_option("txs", txs, "transactions (one line each); none: the lines of stdin");
  CLI::App* status = app.add_subcommand("tx", "a transaction's status by id");
  status->add_option("id", id, "its id: 64 hex digits (the SHA-256 of its bytes)")->required();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return app.exit(error) == 0 ? exit_ok : exit_usage;
  }
  auto nodes = parse_nodes(node_list);
  if (!nodes) {
    std::fprintf(stderr, "bft-client: --nodes: %s\n", nodes.error().message.c_str());
    return exit_usage;
  }
  if (timeout_ms == 0 || timeout_ms > 60'000) {
    std::fprintf(stderr, "bft-client: --timeout-ms takes 1 to 60000\n");
    return exit_usage;
  }

  bft::Result<HttpReply> reply = bft::make_error(bft::Errc::invalid_argument, "nothing asked");
  const std::chrono::milliseconds request_timeout(5'000);
  if (status->parsed()) {
    reply = ask(*nodes, request_timeout, "GET", "/tx/" + id, "");
  } else {
    if (txs.empty())
      for (std::string line; std::getline(std::cin, line);)
        if (!line.empty()) txs.push_back(line);
    if (txs.empty()) {
      std::fprintf(stderr, "bft-client: no transaction given (arguments or stdin lines)\n");
      return exit_usage;
    }
    std::string body;
    for (const std::string& tx : txs) {
      if (tx.find('\n') != std::string::npos) {
        std::fprintf(stderr, "bft-client: a transaction holds a line break; send one per line\n");
        return exit_usage;
      }
      body += tx + "\n";
    }
    const std::string target = wait ? "/txs?wait=commit&timeout_ms=" + std::to_string(timeout_ms) : "/txs";
    reply = ask(*nodes, request_timeout + std::chrono::milliseconds(wait ? timeout_ms : 0), "POST", target, body);
  }
  if (!reply) {
    std::fprintf(stderr, "bft-client: %s\n", reply.error().message.c_str());
    return exit_unreachable;
  }
  const nlohmann::json answer = nlohmann::json::parse(reply->body, nullptr, false);
  if (json || answer.is_discarded()) std::fputs(reply->body.c_str(), stdout);
  if (answer.is_discarded()) return exit_not_all;  // a text answer: a refusal of the request itself
  if (status->parsed()) {
    if (!json) print_outcome(answer);
    return answer.value("status", "") == "unknown" ? exit_not_all : exit_ok;
  }
  bool all = true;
  for (const nlohmann::json& tx : answer.value("txs", nlohmann::json::array())) {
    if (!json) print_outcome(tx);
    const std::string state = tx.value("status", "");
    all = all && (state == "committed" || (!wait && state == "accepted"));
  }
  if (!json && answer.contains("error")) std::fprintf(stderr, "bft-client: %s\n", answer["error"].get<std::string>().c_str());
  return all ? exit_ok : exit_not_all;
}
