// The consensus core fed with decoded messages, as a node feeds it after decoding (but
// before checking signatures: a Byzantine validator can sign anything). Own broadcasts are
// fed back, decisions start the next height, value requests are answered. Checks: no
// crash, heights only grow, and every decision is backed by a quorum of matching
// precommits from distinct validators, and never contradicts an earlier one.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <span>

#include "bft/codec/codec.hpp"
#include "bft/core.hpp"
#include "core_input.hpp"
#include "fixture.hpp"

namespace {

using namespace bft;
using bft::fuzz::require;

class Reader {
 public:
  explicit Reader(std::span<const std::uint8_t> in) : in_(in) {}
  bool done() const { return pos_ >= in_.size(); }
  std::uint8_t u8() { return done() ? 0 : in_[pos_++]; }
  std::span<const std::uint8_t> take(std::size_t n) {
    n = std::min(n, in_.size() - pos_);
    auto out = in_.subspan(pos_, n);
    pos_ += n;
    return out;
  }

 private:
  std::span<const std::uint8_t> in_;
  std::size_t pos_ = 0;
};

void check_decision(const Decide& decide, const ValidatorSet& validators,
                    std::map<Height, Value>& decided) {
  std::uint64_t power = 0;
  std::vector<Address> voters;
  for (const Vote& vote : decide.commit) {
    require(vote.type == VoteType::precommit && vote.height == decide.height &&
                vote.round == decide.round && vote.value == decide.value,
            "a decision's commit holds precommits for its height, round and value");
    const auto index = validators.index_of(vote.voter);
    require(index.has_value(), "a decision's commit comes from validators");
    require(std::find(voters.begin(), voters.end(), vote.voter) == voters.end(),
            "a decision's commit has distinct voters");
    voters.push_back(vote.voter);
    power += validators[*index].power;
  }
  require(validators.is_quorum(power), "a decision's commit holds a quorum of power");
  auto [it, fresh] = decided.emplace(decide.height, decide.value);
  require(fresh || it->second == decide.value, "a height is never decided two ways");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const fuzz::Network& net = fuzz::network();
  auto created = Core::create(net.address(0), Config{}, make_round_robin_selector());
  require(created.ok(), "the core accepts the default config");
  Core core = std::move(*created);

  std::deque<Input> inputs;
  std::vector<Output> outputs;
  std::map<Height, Value> decided;
  std::optional<Proposal> last_proposal;
  inputs.push_back(StartHeight{1, net.validators});

  // Runs the queued inputs and everything they cause, within a bound (a core that
  // feeds itself forever would be a bug the fuzzer should see as a timeout, not hang on).
  std::size_t budget = 4096;
  auto drain = [&] {
    while (!inputs.empty() && budget-- > 0) {
      const Height before = core.height();
      outputs.clear();
      (void)core.handle(std::move(inputs.front()), outputs);  // errors are valid outcomes
      inputs.pop_front();
      require(core.height() >= before, "heights only grow");
      for (Output& output : outputs) {
        if (auto* proposal = std::get_if<BroadcastProposal>(&output)) {
          inputs.push_back(ReceivedProposal{std::move(proposal->proposal), Validity::valid});
        } else if (auto* vote = std::get_if<BroadcastVote>(&output)) {
          inputs.push_back(std::move(vote->vote));
        } else if (auto* decide = std::get_if<Decide>(&output)) {
          check_decision(*decide, net.validators, decided);
          inputs.push_back(StartHeight{decide->height + 1, net.validators});
        } else if (auto* request = std::get_if<GetValue>(&output)) {
          inputs.push_back(ProposeValue{request->height, request->round, Value::from_text("own")});
        }
      }
    }
  };

  drain();
  Reader in({data, size});
  while (!in.done() && budget > 0) {
    const std::uint8_t op = in.u8();
    switch (op % 4) {
      case fuzz::core_input::message: {
        const std::size_t length = in.u8() | std::size_t{in.u8()} << 8;
        auto message = codec::decode_message(in.take(length), fuzz::fuzz_limits());
        if (!message.ok()) break;
        if (auto* proposal = std::get_if<codec::SignedProposal>(&*message)) {
          static constexpr Validity validity[] = {Validity::valid, Validity::invalid,
                                                  Validity::unknown};
          last_proposal = proposal->proposal();
          inputs.push_back(ReceivedProposal{*last_proposal, validity[(op >> 2) % 3]});
        } else if (auto* vote = std::get_if<codec::SignedVote>(&*message)) {
          inputs.push_back(vote->vote);
        } else {
          inputs.push_back(std::get<codec::QuorumCertificate>(*message).certificate());
        }
        break;
      }
      case fuzz::core_input::timeout: {
        const auto kind = static_cast<TimeoutKind>(in.u8() % 3 + 1);
        inputs.push_back(TimeoutFired{kind, core.height(), Round{in.u8()}});
        break;
      }
      case fuzz::core_input::verdict:
        if (last_proposal) {
          inputs.push_back(VerifyResult{last_proposal->height, last_proposal->round,
                                        last_proposal->value, (op >> 2) % 2 == 1});
        }
        break;
      case fuzz::core_input::value: {
        const auto bytes = in.take(in.u8());
        inputs.push_back(ProposeValue{core.height(), std::nullopt, Value(bytes)});
        break;
      }
    }
    drain();
  }
  return 0;
}
