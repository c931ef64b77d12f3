// Mempool gossip without a network: the TxBatch frame, batching of queued client
// transactions into frames for every peer, and the bounds on what peers may send.
#include "bft/node/tx_gossip.hpp"

#include <gtest/gtest.h>

#include <string>

namespace bft::node {
namespace {

Tx tx(const std::string& text) { return Tx(text.begin(), text.end()); }

/// Records what would go to the peers.
class RecordingNetwork final : public Network {
 public:
  void broadcast(std::shared_ptr<const Bytes> frame) override { broadcasts.push_back(*frame); }
  void send(const Address&, std::shared_ptr<const Bytes>) override { ADD_FAILURE() << "gossip goes to every peer"; }
  std::vector<Bytes> broadcasts;
};

std::vector<Tx> txs_of(const Bytes& frame) {
  auto decoded = decode_frame(frame);
  EXPECT_TRUE(decoded.ok());
  return decoded.ok() ? std::get<TxBatch>(*decoded).txs : std::vector<Tx>{};
}

const Address peer(Bytes(20, 7));
const auto now = std::chrono::steady_clock::time_point{} + std::chrono::hours(1);

TEST(TxBatchFrame, RoundTripsAndRefusesWhatDoesNotAddUp) {
  const TxBatch batch{{tx("a"), tx("bb"), tx("ccc")}};
  const Bytes frame = encode_frame(WireMessage{batch});
  EXPECT_TRUE(is_tx_batch_frame(frame));
  auto decoded = decode_frame(frame);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(std::get<TxBatch>(*decoded), batch);

  Bytes cut = frame;
  cut.pop_back();
  EXPECT_EQ(decode_frame(cut).error().code, Errc::malformed);
  Bytes trailing = frame;
  trailing.push_back(0);
  EXPECT_EQ(decode_frame(trailing).error().code, Errc::malformed);
  EXPECT_EQ(decode_frame(encode_frame(WireMessage{TxBatch{}})).error().code, Errc::malformed) << "no transaction";
  EXPECT_EQ(decode_frame(encode_frame(WireMessage{TxBatch{{tx("a"), Tx{}}}})).error().code, Errc::malformed)
      << "an empty transaction";
  // A count far beyond what the frame holds is refused before anything is reserved.
  const Bytes liar{5, 0xff, 0xff, 0x00, 0x00, 1, 0, 0, 0, 'x'};
  EXPECT_EQ(decode_frame(liar).error().code, Errc::malformed);
  EXPECT_EQ(decode_frame(frame, {}, TxBatchLimits{.max_txs = 2}).error().code, Errc::malformed);
  EXPECT_EQ(decode_frame(frame, {}, TxBatchLimits{.max_tx_bytes = 2}).error().code, Errc::malformed);
}

TEST(TxGossip, SendsEverythingQueuedInFewFramesThenTellsTheClients) {
  RecordingNetwork network;
  const Logger logger(LogLevel::error, "test");
  TxGossip gossip(TxGossipOptions{.max_batch_bytes = 6}, network, logger);
  int sent = 0;
  EXPECT_TRUE(gossip.enqueue({tx("aa"), tx("bb")}, [&] { ++sent; })) << "the first one asks for a flush";
  EXPECT_FALSE(gossip.enqueue({tx("cc"), tx("dd")}, [&] { ++sent; })) << "a flush is due already";
  EXPECT_EQ(sent, 0);
  gossip.flush();
  EXPECT_EQ(sent, 2);
  // Six bytes of transactions per frame: two frames for four of two bytes.
  ASSERT_EQ(network.broadcasts.size(), 2u);
  EXPECT_EQ(txs_of(network.broadcasts[0]), (std::vector<Tx>{tx("aa"), tx("bb"), tx("cc")}));
  EXPECT_EQ(txs_of(network.broadcasts[1]), (std::vector<Tx>{tx("dd")}));
  EXPECT_EQ(gossip.stats().txs_sent, 4u);
  EXPECT_EQ(gossip.stats().batches_sent, 2u);
  gossip.flush();
  EXPECT_EQ(network.broadcasts.size(), 2u) << "nothing queued, nothing sent";
}

TEST(TxGossip, BeyondItsQueueATransactionIsNotGossipedButTheClientIsAnswered) {
  RecordingNetwork network;
  const Logger logger(LogLevel::error, "test");
  TxGossip gossip(TxGossipOptions{.max_queued_txs = 2}, network, logger);
  int sent = 0;
  gossip.enqueue({tx("a"), tx("b")}, [&] { ++sent; });
  gossip.enqueue({tx("c")}, [&] { ++sent; });
  gossip.flush();
  EXPECT_EQ(sent, 2);
  ASSERT_EQ(network.broadcasts.size(), 1u);
  EXPECT_EQ(txs_of(network.broadcasts[0]).size(), 2u);
  EXPECT_EQ(gossip.stats().dropped_queue_full, 1u);
}

TEST(TxGossip, APeerGetsNoMoreThanItsShareOfAdmission) {
  RecordingNetwork network;
  const Logger logger(LogLevel::error, "test");
  TxGossip gossip(TxGossipOptions{.max_pending_txs_per_peer = 3}, network, logger);
  const Bytes two = encode_frame(WireMessage{TxBatch{{tx("a"), tx("b")}}});
  auto first = gossip.receive(peer, two, now);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->size(), 2u);
  // Two more would make four waiting for admission: dropped whole.
  EXPECT_FALSE(gossip.receive(peer, two, now));
  EXPECT_EQ(gossip.stats().dropped_peer_backlog, 2u);
  // Another peer has a share of its own.
  const Address other(Bytes(20, 8));
  EXPECT_TRUE(gossip.receive(other, two, now));
  // Once the first batch went through admission, there is room again.
  gossip.admitted(peer, 2);
  EXPECT_TRUE(gossip.receive(peer, two, now));
  EXPECT_EQ(gossip.stats().txs_received, 6u);
}

TEST(TxGossip, AMalformedBatchIsCountedAndDropped) {
  RecordingNetwork network;
  const Logger logger(LogLevel::error, "test");
  TxGossip gossip(TxGossipOptions{}, network, logger);
  const Bytes garbage{5, 1, 0, 0, 0, 9, 0, 0, 0};
  EXPECT_FALSE(gossip.receive(peer, garbage, now));
  EXPECT_EQ(gossip.stats().batches_malformed, 1u);
}

}  // namespace
}  // namespace bft::node
