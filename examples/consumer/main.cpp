// Four validators decide one height through the core alone: every output of every node
// is delivered to all four (its sender included), in order, until none is left.
#include <bft/core.hpp>

#include <cstdio>
#include <deque>
#include <string>
#include <vector>

int main() {
  std::vector<bft::Validator> validators;
  for (int i = 0; i < 4; ++i) {
    auto address = bft::Address::from_text("validator-" + std::to_string(i));
    validators.push_back({address, 1, 1});
  }
  auto set = bft::ValidatorSet::create(validators);
  if (!set.ok()) return 1;

  std::vector<bft::Core> nodes;
  for (const auto& v : validators)
    nodes.push_back(bft::Core::create(v.address, bft::Config{}, bft::make_round_robin_selector()).value());

  constexpr int everyone = -1;
  std::deque<std::pair<int, bft::Input>> network;  // (recipient or everyone, message)
  std::vector<bft::Output> outputs;
  int decided = 0;
  auto deliver = [&](std::size_t node, bft::Input input) {
    outputs.clear();
    (void)nodes[node].handle(std::move(input), outputs);
    for (auto& out : outputs) {
      if (auto* p = std::get_if<bft::BroadcastProposal>(&out))
        network.emplace_back(everyone, bft::ReceivedProposal{p->proposal});
      if (auto* v = std::get_if<bft::BroadcastVote>(&out)) network.emplace_back(everyone, v->vote);
      if (auto* get = std::get_if<bft::GetValue>(&out))  // the application answers its own node
        network.emplace_back(static_cast<int>(node), bft::ProposeValue{get->height, get->round, bft::Value::from_text("block-1")});
      if (auto* d = std::get_if<bft::Decide>(&out)) {
        std::printf("%s decided %s at height %llu\n", nodes[node].self().to_string().c_str(),
                    d->value.to_string().c_str(), static_cast<unsigned long long>(d->height));
        ++decided;
      }
    }
  };
  for (std::size_t i = 0; i < nodes.size(); ++i) deliver(i, bft::StartHeight{1, *set});
  while (!network.empty()) {
    auto [recipient, message] = std::move(network.front());
    network.pop_front();
    for (std::size_t i = 0; i < nodes.size(); ++i)
      if (recipient == everyone || recipient == static_cast<int>(i)) deliver(i, message);
  }
  return decided == 4 ? 0 : 1;
}
