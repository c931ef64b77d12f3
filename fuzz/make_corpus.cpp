// Writes the seed corpus of every fuzz target: validly signed messages of each kind,
// certificates that verify and that do not, and input sequences that take the core
// through a decision. Signatures are deterministic, so the output is too, and
// `--check` verifies that the committed corpus is what this program writes.
//
//   bft-fuzz-corpus <dir>           write <dir>/<target>/<name>
//   bft-fuzz-corpus --check <dir>   exit 1 if any file differs or is missing
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "bft/codec/codec.hpp"
#include "bft/crypto/certificate.hpp"
#include "bft/crypto/signing.hpp"
#include "bft/node/block.hpp"
#include "bft/node/wire.hpp"
#include "bft/wal/record.hpp"
#include "bft/wal/wal.hpp"
#include "core_input.hpp"
#include "fixture.hpp"

namespace {

using namespace bft;
using codec::SignedVote;

struct Seed {
  std::string target;
  std::string name;
  Bytes bytes;
};

const fuzz::Network& net = fuzz::network();
const Value block = Value::from_text("block-1");

SignedVote vote(std::size_t i, VoteType type, Height h, Round r, std::optional<Value> value) {
  return crypto::sign_vote(net.signers[i], net.chain, Vote{type, h, r, std::move(value), net.address(i)});
}

codec::QuorumCertificate certificate(VoteType type, Round r, std::optional<Value> value,
                                     std::initializer_list<std::size_t> voters) {
  std::vector<SignedVote> votes;
  for (std::size_t i : voters) votes.push_back(vote(i, type, 1, r, value));
  return std::move(crypto::make_certificate(votes)).value();
}

codec::SignedProposal proposal(std::size_t proposer, Height h, Round r, Round valid_round,
                               std::vector<SignedVote> lock_votes = {}) {
  crypto::VoteBook book;
  Proposal p{h, r, block, valid_round, net.address(proposer), {}};
  for (const SignedVote& v : lock_votes) {
    book.add(v);
    p.lock_votes.push_back(v.vote);
  }
  return std::move(crypto::sign_proposal(net.signers[proposer], net.chain, p, book)).value();
}

/// Builds fuzz_core_input sequences.
class Steps {
 public:
  Steps& message(const codec::Message& m, std::uint8_t validity = 0) {
    const Bytes encoded = codec::encode(m);
    bytes_.push_back(static_cast<std::uint8_t>(fuzz::core_input::message | validity << 2));
    bytes_.push_back(static_cast<std::uint8_t>(encoded.size()));
    bytes_.push_back(static_cast<std::uint8_t>(encoded.size() >> 8));
    bytes_.insert(bytes_.end(), encoded.begin(), encoded.end());
    return *this;
  }
  Steps& votes(VoteType type, Height h, Round r, std::optional<Value> value,
               std::initializer_list<std::size_t> voters) {
    for (std::size_t i : voters) message(vote(i, type, h, r, value));
    return *this;
  }
  Steps& timeout(TimeoutKind kind, Round r) {
    bytes_.push_back(fuzz::core_input::timeout);
    bytes_.push_back(static_cast<std::uint8_t>(static_cast<int>(kind) - 1));
    bytes_.push_back(static_cast<std::uint8_t>(r));
    return *this;
  }
  Steps& verdict(bool valid) {
    bytes_.push_back(static_cast<std::uint8_t>(fuzz::core_input::verdict | (valid ? 1 : 0) << 2));
    return *this;
  }
  Bytes bytes() const { return bytes_; }

 private:
  Bytes bytes_;
};

std::vector<Seed> seeds() {
  std::vector<Seed> out;
  auto add = [&out](const std::string& target, const std::string& name, Bytes bytes) {
    out.push_back({target, name, std::move(bytes)});
  };

  const codec::Message messages[] = {
      vote(0, VoteType::prevote, 1, 0, block),
      vote(1, VoteType::precommit, 2, 3, std::nullopt),
      vote(2, VoteType::prevote, 1, 0, Value()),
      proposal(1, 1, 0, nil_round),
      proposal(2, 1, 2, 1, {vote(0, VoteType::prevote, 1, 1, block), vote(3, VoteType::prevote, 1, 1, block)}),
      certificate(VoteType::precommit, 0, block, {0, 3}),
      certificate(VoteType::prevote, 1, block, {0, 1, 2, 3}),
      certificate(VoteType::prevote, 0, std::nullopt, {1, 2}),
  };
  const char* names[] = {"vote_prevote", "vote_precommit_nil", "vote_empty_value",
                         "proposal_fresh", "proposal_with_lock", "certificate_commit",
                         "certificate_polka", "certificate_nil_below_quorum"};
  for (std::size_t i = 0; i < std::size(messages); ++i) {
    const Bytes bytes = codec::encode(messages[i]);
    add("decode_message", names[i], bytes);
    const char* kind = std::holds_alternative<SignedVote>(messages[i])           ? "decode_vote"
                       : std::holds_alternative<codec::SignedProposal>(messages[i]) ? "decode_proposal"
                                                                                  : "decode_certificate";
    add(kind, names[i], bytes);
    if (std::holds_alternative<codec::QuorumCertificate>(messages[i])) {
      add("verify_certificate", names[i], bytes);
    }
  }
  codec::QuorumCertificate forged = certificate(VoteType::precommit, 0, block, {0, 1, 3});
  forged.round = 1;  // signatures were for round 0
  add("verify_certificate", "certificate_wrong_round", codec::encode(forged));

  // Height 1, round 0: validator 1 proposes (round robin by height + round); everyone
  // prevotes and precommits; the core decides and starts height 2.
  add("core_input", "decide_height_1",
      Steps()
          .message(proposal(1, 1, 0, nil_round))
          .votes(VoteType::prevote, 1, 0, block, {1, 2, 3})
          .votes(VoteType::precommit, 1, 0, block, {1, 2, 3})
          .bytes());
  // The proposal's validity arrives later; then a commit certificate decides.
  add("core_input", "late_verdict_then_certificate",
      Steps()
          .message(proposal(1, 1, 0, nil_round), 2)
          .verdict(true)
          .message(certificate(VoteType::precommit, 0, block, {0, 3}))
          .bytes());
  // Nobody proposes in round 0: timeouts and nil quorums move everyone to round 1,
  // whose proposer (validator 2) gets the value decided.
  add("core_input", "timeouts_to_round_1",
      Steps()
          .timeout(TimeoutKind::propose, 0)
          .votes(VoteType::prevote, 1, 0, std::nullopt, {1, 2, 3})
          .timeout(TimeoutKind::prevote, 0)
          .votes(VoteType::precommit, 1, 0, std::nullopt, {1, 2, 3})
          .timeout(TimeoutKind::precommit, 0)
          .message(proposal(2, 1, 1, nil_round))
          .votes(VoteType::prevote, 1, 1, block, {1, 2, 3})
          .votes(VoteType::precommit, 1, 1, block, {1, 2, 3})
          .bytes());
  // Round 0 ends with this node locked on the value (its prevote and those of 1 and 3
  // make a polka) but without a commit; round 1 re-proposes it with that proof of lock.
  add("core_input", "proof_of_lock_in_round_1",
      Steps()
          .message(proposal(1, 1, 0, nil_round))
          .votes(VoteType::prevote, 1, 0, block, {1, 3})
          .votes(VoteType::precommit, 1, 0, std::nullopt, {1, 2, 3})
          .timeout(TimeoutKind::precommit, 0)
          .message(proposal(2, 1, 1, 0, {vote(0, VoteType::prevote, 1, 0, block),
                                          vote(1, VoteType::prevote, 1, 0, block),
                                          vote(3, VoteType::prevote, 1, 0, block)}))
          .votes(VoteType::prevote, 1, 1, block, {1, 2, 3})
          .votes(VoteType::precommit, 1, 1, block, {1, 2, 3})
          .bytes());
  // An invalid proposal, then equivocating prevotes.
  add("core_input", "invalid_proposal_and_equivocation",
      Steps()
          .message(proposal(1, 1, 0, nil_round), 1)
          .votes(VoteType::prevote, 1, 0, block, {1, 2})
          .votes(VoteType::prevote, 1, 0, std::nullopt, {1, 2, 3})
          .bytes());

  // A WAL segment as the replica writes one: the height's start, a peer's proposal and
  // votes, an own vote; then the same with a torn last frame.
  {
    const Value large_block(Bytes(wal::SegmentValues::min_indexed_size, 0xb1));
    std::vector<wal::Record> records{
        StartHeight{1, net.validators},
        ReceivedProposal{proposal(1, 1, 0, nil_round).proposal(), Validity::valid},
        vote(1, VoteType::prevote, 1, 0, block).vote,
        wal::OwnVote{vote(0, VoteType::prevote, 1, 0, block).vote, {}},
        TimeoutFired{TimeoutKind::prevote, 1, 0},
        // A value large enough to be named by index: written out once, then named.
        vote(1, VoteType::precommit, 1, 1, large_block).vote,
        vote(2, VoteType::precommit, 1, 1, large_block).vote,
    };
    Bytes segment;
    wal::SegmentValues values;  // as the log writes: a value named by index after its first record
    for (const wal::Record& record : records) {
      Bytes payload;
      wal::encode_record(record, payload, &values);
      values.commit();
      wal::append_frame(payload, segment);
    }
    add("wal_segment", "height_1", segment);
    segment.resize(segment.size() - 3);
    add("wal_segment", "height_1_torn", segment);
  }

  // bft-node's frames: a vote, a status, a sync request and its answer for pruned blocks,
  // mempool gossip and its answer.
  add("node_frame", "vote", node::encode_frame(codec::Message{vote(2, VoteType::precommit, 1, 0, block)}));
  add("node_frame", "status", node::encode_frame(node::PeerStatus{7, 2}));
  add("node_frame", "sync_request", node::encode_frame(node::SyncRequest{3}));
  add("node_frame", "pruned", node::encode_frame(node::PrunedBelow{40}));
  add("node_frame", "tx_batch", node::encode_frame(node::TxBatch{9, {Bytes{'s', 'e', 't'}, Bytes(70, 'v')}}));
  add("node_frame", "tx_batch_held", node::encode_frame(node::TxBatchHeld{9}));

  // The engine's blocks: empty, and with transactions (one of them empty).
  node::BlockHeader header;
  header.height = 3;
  header.previous_block_hash.fill(0x11);
  header.app_hash.fill(0x22);
  header.proposer = Address::from_text("proposer");
  header.time_unix_ms = 1'700'000'000'000;
  const Value empty_block = node::encode_block(header, {});
  add("node_block", "empty", Bytes(empty_block.bytes().begin(), empty_block.bytes().end()));
  const std::vector<node::Tx> txs{node::Tx{'s', 'e', 't', ' ', 'a', ' ', '1'}, node::Tx{}, node::Tx(40, 0xee)};
  const Value with_txs = node::encode_block(header, txs);
  add("node_block", "three_txs", Bytes(with_txs.bytes().begin(), with_txs.bytes().end()));
  return out;
}

Bytes read(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

int main(int argc, char** argv) {
  const bool check = argc == 3 && std::strcmp(argv[1], "--check") == 0;
  if (argc != 2 && !check) {
    std::fprintf(stderr, "usage: %s [--check] <corpus dir>\n", argv[0]);
    return 2;
  }
  const std::filesystem::path root(argv[argc - 1]);
  int differences = 0;
  for (const Seed& seed : seeds()) {
    const auto path = root / seed.target / seed.name;
    if (check) {
      if (!std::filesystem::exists(path) || read(path) != seed.bytes) {
        std::fprintf(stderr, "out of date: %s\n", path.c_str());
        ++differences;
      }
      continue;
    }
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary)
        .write(reinterpret_cast<const char*>(seed.bytes.data()),
               static_cast<std::streamsize>(seed.bytes.size()));
  }
  if (differences > 0) {
    std::fprintf(stderr, "regenerate with: %s %s\n", argv[0], root.c_str());
    return 1;
  }
  return 0;
}
