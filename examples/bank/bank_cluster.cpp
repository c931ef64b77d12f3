// The bank as a 4-validator network in one process, on loopback, built from the installed
// package: clients send transfers (valid, overdrawing and malformed) to any validator
// over HTTP; the run passes when every validator ends with the same balances and app
// hash, the total is what it was at genesis, and the refusals are the expected ones.
// Exit 0 on success, 1 with a reason otherwise.
#include <bft/crypto/ed25519.hpp>
#include <bft/node/node.hpp>
#include <stdlib.h>

#include <asio.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <numeric>
#include <random>
#include <thread>

#include "bank.hpp"

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr int validators = 4;
constexpr int accounts = 10;
constexpr std::uint64_t opening_balance = 1000;

int fail(const std::string& why) {
  std::fprintf(stderr, "bank-cluster: FAILED: %s\n", why.c_str());
  return 1;
}

struct Reply {
  int status = 0;
  std::string body;
};

/// One HTTP/1.1 request on a fresh connection; status 0 if the node did not answer.
Reply http(std::uint16_t port, const std::string& method, const std::string& target, const std::string& body = "") {
  try {
    asio::io_context io;
    asio::ip::tcp::socket socket(io);
    socket.connect({asio::ip::make_address("127.0.0.1"), port});
    const std::string request = method + " " + target + " HTTP/1.1\r\nHost: bank\r\nConnection: close\r\n" +
                                "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    asio::write(socket, asio::buffer(request));
    std::string response;
    asio::error_code ec;
    asio::read(socket, asio::dynamic_buffer(response), ec);  // to the end: the node closes
    const std::size_t head_end = response.find("\r\n\r\n");
    if (response.size() < 12 || head_end == std::string::npos) return {};
    return {std::stoi(response.substr(9, 3)), response.substr(head_end + 4)};
  } catch (const std::exception&) {
    return {};
  }
}

/// Ports free right now on loopback (bound, noted, released).
std::vector<std::uint16_t> free_ports(std::size_t count) {
  asio::io_context io;
  std::vector<asio::ip::tcp::acceptor> held;
  std::vector<std::uint16_t> ports;
  for (std::size_t i = 0; i < count; ++i) {
    held.emplace_back(io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    ports.push_back(held.back().local_endpoint().port());
  }
  return ports;
}

std::uint64_t total(const bank::Balances& balances) {
  return std::accumulate(balances.begin(), balances.end(), std::uint64_t{0},
                         [](std::uint64_t sum, const auto& entry) { return sum + entry.second; });
}

/// Two transfers that each pass check_tx against the committed balance but overdraw
/// together: the second fails in finalize_block and moves nothing.
int check_finalize_judges_funds_again(const fs::path& dir) {
  auto app = bank::BankApplication::open(dir / "unit", {{"alice", 100}, {"bob", 0}});
  if (!app) return fail(app.error().message);
  const std::string first = "transfer alice bob 70";
  const std::string second = "transfer alice bob 60";
  const bft::node::Tx a(first.begin(), first.end());
  const bft::node::Tx b(second.begin(), second.end());
  if (!(*app)->check_tx(a, bft::node::CheckTxKind::fresh).ok() || !(*app)->check_tx(b, bft::node::CheckTxKind::fresh).ok())
    return fail("check_tx refused a transfer the committed balance covers");
  const std::vector<bft::node::Tx> txs{a, b};
  bft::node::FinalizeBlockRequest request;
  request.header.height = 1;
  request.txs = txs;
  auto result = (*app)->finalize_block(request);
  if (!result || result->tx_results.size() != 2 || result->tx_results[0].code != bft::node::code_ok ||
      result->tx_results[1].code != bank::code_insufficient_funds)
    return fail("finalize_block did not refuse the overdrawing second transfer");
  if (!(*app)->commit()) return fail("commit");
  const bank::Balances after = (*app)->balances();
  if (after.at("alice") != 30 || after.at("bob") != 70) return fail("the balances after the block are wrong");
  return 0;
}

}  // namespace

int main() {
  std::string pattern = (fs::temp_directory_path() / "bank-cluster-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) return fail("mkdtemp");
  const fs::path dir = pattern;
  if (int failed = check_finalize_judges_funds_again(dir)) return failed;

  bank::Balances genesis;
  for (int i = 0; i < accounts; ++i) genesis["a" + std::to_string(i)] = opening_balance;
  std::vector<bft::crypto::Ed25519Signer> keys;
  for (int i = 0; i < validators; ++i) keys.push_back(bft::crypto::Ed25519Signer::generate());
  const std::vector<std::uint16_t> ports = free_ports(2 * validators);
  std::vector<bft::node::ValidatorEntry> entries;
  for (int i = 0; i < validators; ++i)
    entries.push_back({"bank-" + std::to_string(i), keys[i].public_key(), {"127.0.0.1", ports[i]}, 1});

  std::vector<std::unique_ptr<bank::BankApplication>> apps;
  std::vector<std::unique_ptr<bft::node::Node>> nodes;
  const bft::node::Logger logger(bft::node::LogLevel::warn, "bank");
  for (int i = 0; i < validators; ++i) {
    bft::node::NodeConfig config;
    config.chain_id = "bank";
    config.name = entries[i].name;
    config.listen = entries[i].address;
    config.http = {"127.0.0.1", ports[validators + i]};
    config.data_dir = dir / config.name;
    config.validators = entries;
    config.propose_timeout = 500ms;
    auto app = bank::BankApplication::open(config.data_dir / "bank", genesis);
    if (!app) return fail(app.error().message);
    auto node = bft::node::Node::open(std::move(config), bft::crypto::Ed25519Signer::from_seed(keys[i].seed()), **app, logger);
    if (!node) return fail(node.error().message);
    apps.push_back(std::move(*app));
    nodes.push_back(std::move(*node));
  }
  std::vector<std::thread> running;
  for (auto& node : nodes) running.emplace_back([&node] { node->run(); });

  // Clients: random transfers to random validators; some overdraw and are refused.
  std::mt19937 random(42);
  const auto pick = [&](int n) { return static_cast<int>(random() % static_cast<unsigned>(n)); };
  int accepted = 0;
  int refused_funds = 0;
  for (int i = 0; i < 300; ++i) {
    const int from = pick(accounts);
    const int to = (from + 1 + pick(accounts - 1)) % accounts;
    const std::string transfer = "transfer a" + std::to_string(from) + " a" + std::to_string(to) + " " +
                                 std::to_string(1 + pick(700)) + "\n";
    const Reply reply = http(ports[validators + pick(validators)], "POST", "/txs", transfer);
    if (reply.status == 202) ++accepted;
    else if (reply.status == 400) ++refused_funds;
    else return fail("a transfer got HTTP " + std::to_string(reply.status) + " " + reply.body);
    if (i % 20 == 0) std::this_thread::sleep_for(50ms);
  }
  for (const char* malformed : {"transfer a1 a1 5", "transfer a1 nobody 5", "pay a1 a2 5", "transfer a1 a2 0"})
    if (http(ports[validators], "POST", "/txs", malformed).status != 400)
      return fail(std::string("not refused: ") + malformed);

  // Every accepted transfer leaves every mempool (committed or failed in its block).
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  bool drained = false;
  while (!drained && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(200ms);
    drained = true;
    for (int i = 0; i < validators; ++i)
      drained = drained && http(ports[validators + i], "GET", "/status").body.find("\"mempool\":0") != std::string::npos;
  }
  std::this_thread::sleep_for(500ms);  // the last block reaches every validator
  for (auto& node : nodes) node->stop();
  for (std::thread& thread : running) thread.join();
  if (!drained) return fail("transfers still pending after 60 s");

  const bank::Balances reference = apps[0]->balances();
  const auto reference_hash = apps[0]->info().app_hash;
  for (int i = 1; i < validators; ++i)
    if (apps[i]->balances() != reference || apps[i]->info().app_hash != reference_hash)
      return fail("validator " + std::to_string(i) + " ended with other balances than validator 0");
  if (total(reference) != accounts * opening_balance) return fail("the total balance changed");
  if (reference == genesis) return fail("no transfer moved money");
  if (accepted == 0 || refused_funds == 0) return fail("expected both accepted and refused transfers");
  std::printf("bank-cluster: %d transfers accepted, %d refused for funds; 4 validators agree at height %llu, "
              "total %llu\n",
              accepted, refused_funds, static_cast<unsigned long long>(apps[0]->info().last_height),
              static_cast<unsigned long long>(total(reference)));
  nodes.clear();
  apps.clear();
  fs::remove_all(dir);
  return 0;
}
