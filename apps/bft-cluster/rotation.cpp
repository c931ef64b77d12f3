#include "rotation.hpp"

#include <algorithm>
#include <set>
#include <utility>

#include "bft/crypto/key_file.hpp"
#include "bft/node/kv.hpp"
#include "cluster/http_client.hpp"
#include "cluster/node_api.hpp"

namespace bft::cluster {

namespace {

using Clock = std::chrono::steady_clock;

/// How long a change may take to commit, and then to be in force on every node.
constexpr auto commit_timeout = std::chrono::seconds(10);
constexpr auto in_force_timeout = std::chrono::seconds(10);
constexpr auto poll_interval = std::chrono::milliseconds(200);

std::string address_hex(const crypto::PublicKey& key) { return crypto::to_hex(crypto::address_of(key).bytes()); }

}  // namespace

Rotation::Rotation(std::vector<RotationNode> nodes, std::size_t validators, const crypto::Signer& operator_key,
                   std::string chain_id, std::vector<RotationStep> steps, std::vector<Clock::time_point> at)
    : nodes_(std::move(nodes)),
      operator_key_(operator_key),
      chain_id_(std::move(chain_id)),
      steps_(std::move(steps)),
      at_(std::move(at)) {
  for (std::size_t i = 0; i < validators; ++i) powers_[i] = 1;
  planned_ = std::min(steps_.size(), at_.size());
}

Rotation::~Rotation() {
  stop();
  join();
}

void Rotation::start() { thread_ = std::thread([this] { run(); }); }
void Rotation::stop() { stop_ = true; }
void Rotation::join() {
  if (thread_.joinable()) thread_.join();
}

std::string Rotation::key_hex(std::size_t node) const { return crypto::to_hex(nodes_[node].key); }

void Rotation::run() {
  for (std::size_t step = 0; step < planned_; ++step) {
    while (!stop_ && Clock::now() < at_[step]) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (stop_) break;
    Change change;
    if (!plan(steps_[step], change) || !apply(change, step + 1)) break;  // later changes need this one's sequence
  }
  if (changes_.size() < planned_ && failures_.empty())
    failures_.push_back("the run ended before validator change " + std::to_string(changes_.size() + 1) + " of " +
                        std::to_string(planned_) + " was in force");
  finished_ = true;
}

bool Rotation::plan(const RotationStep& step, Change& change) {
  switch (step.kind) {
    case RotationStep::add:
      change = {step.node, 1, nodes_[step.node].name + " joins with power 1"};
      return true;
    case RotationStep::remove:
      change = {step.node, 0, nodes_[step.node].name + " leaves"};
      return true;
    case RotationStep::double_power: {
      const auto& [member, power] = *powers_.begin();
      change = {member, 2 * power, nodes_[member].name + "'s power doubles to " + std::to_string(2 * power)};
      return true;
    }
    case RotationStep::remove_proposer:
      return plan_proposer_leaves(change);
  }
  return false;
}

bool Rotation::plan_proposer_leaves(Change& change) {
  // The proposer of the last committed block, as any node that answers tells it.
  for (const RotationNode& node : nodes_) {
    HttpClient client(node.http.host, node.http.port, std::chrono::seconds(2));
    auto reply = client.get("/status");
    if (!reply || reply->status != 200) continue;
    auto status = parse_status(reply->body);
    if (!status || status->height == 0) continue;
    const std::string height = std::to_string(status->height);
    reply = client.get("/blocks?from=" + height + "&to=" + height);
    if (!reply || reply->status != 200) continue;
    auto blocks = parse_blocks(reply->body);
    if (!blocks || blocks->empty()) continue;
    for (const auto& [member, power] : powers_)
      if (address_hex(nodes_[member].key) == blocks->front().proposer) {
        change = {member, 0, nodes_[member].name + " (the proposer of height " + height + ") leaves"};
        return true;
      }
  }
  failures_.push_back("validator change: no node named a proposer among the validators");
  return false;
}

bool Rotation::apply(const Change& change, std::uint64_t sequence) {
  const std::string label = "validator change " + std::to_string(sequence) + " (" + change.what + ")";
  const auto tx = node::encode_validator_tx(
      node::sign_validator_command(operator_key_, chain_id_, nodes_[change.node].key, change.power, sequence));
  const std::string body = std::string(tx.begin(), tx.end()) + "\n";
  const std::string target = "/txs?wait=commit&timeout_ms=" +
                             std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(commit_timeout).count());
  std::optional<TxOutcome> outcome;
  for (const RotationNode& node : nodes_) {
    if (stop_) return false;
    HttpClient client(node.http.host, node.http.port, commit_timeout + std::chrono::seconds(5));
    auto reply = client.post(target, body);
    if (!reply) continue;  // down: another node takes it
    auto parsed = parse_first_outcome(reply->body);
    if (!parsed) continue;
    outcome = std::move(*parsed);
    break;
  }
  if (!outcome || outcome->status != "committed" || outcome->code != 0) {
    failures_.push_back(label + ": " +
                        (outcome ? "answered " + outcome->status + " (code " + std::to_string(outcome->code) + ": " +
                                       outcome->log + ")"
                                 : std::string("no node answered")));
    return false;
  }
  if (change.power == 0)
    powers_.erase(change.node);
  else
    powers_[change.node] = change.power;
  std::set<std::pair<std::string, std::uint64_t>> expected;
  for (const auto& [member, power] : powers_) expected.emplace(key_hex(member), power);
  const std::uint64_t from_height = outcome->height + 2;

  // In force: every node that answers and has reached from_height runs it. A node still
  // below it (a late joiner syncing) is not asked: it reaches the change by the same path.
  const auto deadline = Clock::now() + in_force_timeout;
  while (!stop_ && Clock::now() < deadline) {
    std::size_t reached = 0;
    std::size_t in_force = 0;
    for (const RotationNode& node : nodes_) {
      HttpClient client(node.http.host, node.http.port, std::chrono::seconds(1));
      auto reply = client.get("/validators");
      if (!reply || reply->status != 200) continue;
      auto view = parse_validators(reply->body);
      if (!view || view->height < from_height) continue;
      ++reached;
      const std::set<std::pair<std::string, std::uint64_t>> reported(view->powers.begin(), view->powers.end());
      if (view->from_height == from_height && reported == expected) ++in_force;
    }
    if (reached > 0 && in_force == reached) {
      changes_.push_back("from height " + std::to_string(from_height) + ": " + change.what);
      return true;
    }
    std::this_thread::sleep_for(poll_interval);
  }
  if (!stop_) failures_.push_back(label + ": committed at height " + std::to_string(outcome->height) +
                                  ", but not in force on every node past height " + std::to_string(from_height) +
                                  " within 10 s");
  return false;
}

}  // namespace bft::cluster
