// Mempool gossip without a network: the TxBatch and TxBatchHeld frames, batching of queued
// client transactions into frames for every peer, answering clients once enough peers hold
// their transactions, and the bounds on what peers may send.
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
  void send(const Address& to, std::shared_ptr<const Bytes> frame) override { sends.emplace_back(to, *frame); }
  std::vector<Bytes> broadcasts;
  std::vector<std::pair<Address, Bytes>> sends;
};

TxBatch batch_of(const Bytes& frame) {
  auto decoded = decode_frame(frame);
  EXPECT_TRUE(decoded.ok());
  return decoded.ok() ? std::get<TxBatch>(*decoded) : TxBatch{};
}

std::vector<Tx> txs_of(const Bytes& frame) { return batch_of(frame).txs; }

Bytes held_frame(std::uint64_t sequence) { return encode_frame(WireMessage{TxBatchHeld{sequence}}); }

const Address peer(Bytes(20, 7));
const Address other_peer(Bytes(20, 8));
const auto now = std::chrono::steady_clock::time_point{} + std::chrono::hours(1);

TEST(TxBatchFrame, RoundTripsAndRefusesWhatDoesNotAddUp) {
  const TxBatch batch{42, {tx("a"), tx("bb"), tx("ccc")}};
  const Bytes frame = encode_frame(WireMessage{batch});
  EXPECT_TRUE(is_mempool_frame(frame));
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
  EXPECT_EQ(decode_frame(encode_frame(WireMessage{TxBatch{1, {tx("a"), Tx{}}}})).error().code, Errc::malformed)
      << "an empty transaction";
  EXPECT_EQ(decode_frame(Bytes{5, 1, 0, 0, 0, 0, 0, 0}).error().code, Errc::malformed) << "cut in the sequence";
  // A count far beyond what the frame holds is refused before anything is reserved.
  const Bytes liar{5, 1, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0x00, 0x00, 1, 0, 0, 0, 'x'};
  EXPECT_EQ(decode_frame(liar).error().code, Errc::malformed);
  EXPECT_EQ(decode_frame(frame, {}, TxBatchLimits{.max_txs = 2}).error().code, Errc::malformed);
  EXPECT_EQ(decode_frame(frame, {}, TxBatchLimits{.max_tx_bytes = 2}).error().code, Errc::malformed);
}

TEST(TxBatchHeldFrame, RoundTripsAndHasOneSize) {
  const Bytes frame = held_frame(0x0102030405060708);
  EXPECT_TRUE(is_mempool_frame(frame));
  auto decoded = decode_frame(frame);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(std::get<TxBatchHeld>(*decoded), TxBatchHeld{0x0102030405060708});
  Bytes cut = frame;
  cut.pop_back();
  EXPECT_EQ(decode_frame(cut).error().code, Errc::malformed);
  Bytes longer = frame;
  longer.push_back(0);
  EXPECT_EQ(decode_frame(longer).error().code, Errc::malformed);
  EXPECT_FALSE(is_mempool_frame(encode_frame(WireMessage{PeerStatus{1, 0}})));
}

TEST(TxGossip, SendsEverythingQueuedInFewFramesThenTellsTheClients) {
  RecordingNetwork network;
  const Logger logger(LogLevel::error, "test");
  TxGossip gossip(TxGossipOptions{.max_batch_bytes = 6}, network, logger);
  std::vector<bool> answers;
  const auto record = [&](bool held) { answers.push_back(held); };
  EXPECT_TRUE(gossip.enqueue({tx("aa"), tx("bb")}, record)) << "the first one asks for a flush";
  EXPECT_FALSE(gossip.enqueue({tx("cc"), tx("dd")}, record)) << "a flush is due already";
  EXPECT_TRUE(answers.empty());
  gossip.flush(now);
  // No holder required (a single validator): answered once sent.
  EXPECT_EQ(answers, (std::vector<bool>{true, true}));
  // Six bytes of transactions per frame: two frames for four of two bytes, numbered.
  ASSERT_EQ(network.broadcasts.size(), 2u);
  EXPECT_EQ(batch_of(network.broadcasts[0]), (TxBatch{1, {tx("aa"), tx("bb"), tx("cc")}}));
  EXPECT_EQ(batch_of(network.broadcasts[1]), (TxBatch{2, {tx("dd")}}));
  EXPECT_EQ(gossip.stats().txs_sent, 4u);
  EXPECT_EQ(gossip.stats().batches_sent, 2u);
  gossip.flush(now);
  EXPECT_EQ(network.broadcasts.size(), 2u) << "nothing queued, nothing sent";
}

TEST(TxGossip, AClientIsAnsweredOnceEnoughPeersHoldEveryBatchOfIts) {
  RecordingNetwork network;
  const Logger logger(LogLevel::error, "test");
  TxGossip gossip(TxGossipOptions{.max_batch_bytes = 4, .required_holders = 2}, network, logger);
  std::vector<bool> first;
  std::vector<bool> second;
  gossip.enqueue({tx("aa"), tx("bb"), tx("cc")}, [&](bool held) { first.push_back(held); });
  gossip.enqueue({tx("dd")}, [&](bool held) { second.push_back(held); });
  gossip.flush(now);
  // Batch 1 holds aa and bb, batch 2 cc and dd: the first client is in both.
  ASSERT_EQ(network.broadcasts.size(), 2u);
  EXPECT_FALSE(gossip.receive(peer, held_frame(1), now));
  EXPECT_FALSE(gossip.receive(peer, held_frame(1), now));  // the same peer twice counts once
  EXPECT_TRUE(first.empty());
  gossip.receive(other_peer, held_frame(1), now);
  EXPECT_TRUE(first.empty()) << "its second batch is not held yet";
  gossip.receive(peer, held_frame(2), now);
  EXPECT_TRUE(first.empty() && second.empty());
  gossip.receive(other_peer, held_frame(2), now);
  EXPECT_EQ(first, std::vector<bool>{true});
  EXPECT_EQ(second, std::vector<bool>{true});
  gossip.receive(Address(Bytes(20, 9)), held_frame(2), now);  // a third holder: answered already
  gossip.receive(peer, held_frame(77), now);                  // never sent: ignored
  gossip.tick(now + std::chrono::hours(1));
  EXPECT_EQ(first.size(), 1u) << "each client is answered once";
  EXPECT_EQ(gossip.stats().batches_held, 2u);
  EXPECT_EQ(gossip.stats().batches_not_held, 0u);
  EXPECT_EQ(gossip.stats().batches_malformed, 0u);
}

// Only the holders set_holders() names count (a full node does not propose what it holds),
// and their number follows the set.
TEST(TxGossip, OnlyTheNamedPeersHoldingABatchCount) {
  RecordingNetwork network;
  const Logger logger(LogLevel::error, "test");
  TxGossip gossip(TxGossipOptions{.required_holders = 1}, network, logger);
  gossip.set_holders({other_peer}, 1);
  std::vector<bool> answers;
  gossip.enqueue({tx("aa")}, [&](bool held) { answers.push_back(held); });
  gossip.flush(now);
  gossip.receive(peer, held_frame(1), now);  // not a validator: does not count
  EXPECT_TRUE(answers.empty());
  gossip.receive(other_peer, held_frame(1), now);
  EXPECT_EQ(answers, std::vector<bool>{true});
  // The set changes while a batch is on its way: the holders it has are judged again.
  gossip.enqueue({tx("cc")}, [&](bool held) { answers.push_back(held); });
  gossip.flush(now);
  gossip.receive(peer, held_frame(2), now);
  EXPECT_EQ(answers.size(), 1u);
  gossip.set_holders({peer, other_peer}, 1);  // peer became a validator
  EXPECT_EQ(answers, (std::vector<bool>{true, true}));
  // No holder required: answered once sent.
  gossip.set_holders({}, 0);
  gossip.enqueue({tx("bb")}, [&](bool held) { answers.push_back(held); });
  gossip.flush(now);
  EXPECT_EQ(answers, (std::vector<bool>{true, true, true}));
}

TEST(TxGossip, ABatchNotHeldInTimeFailsItsClients) {
  RecordingNetwork network;
  const Logger logger(LogLevel::error, "test");
  const auto timeout = std::chrono::milliseconds(500);
  TxGossip gossip(TxGossipOptions{.required_holders = 1, .hold_timeout = timeout}, network, logger);
  std::vector<bool> answers;
  gossip.enqueue({tx("a")}, [&](bool held) { answers.push_back(held); });
  gossip.flush(now);
  gossip.enqueue({tx("b")}, [&](bool held) { answers.push_back(held); });
  gossip.flush(now + timeout / 2);
  gossip.tick(now + timeout - std::chrono::milliseconds(1));
  EXPECT_TRUE(answers.empty());
  gossip.tick(now + timeout);
  EXPECT_EQ(answers, std::vector<bool>{false}) << "the older batch timed out, the newer one waits";
  gossip.receive(peer, held_frame(1), now + timeout);  // too late: answered already
  gossip.receive(peer, held_frame(2), now + timeout);
  EXPECT_EQ(answers, (std::vector<bool>{false, true}));
  EXPECT_EQ(gossip.stats().batches_not_held, 1u);
  EXPECT_EQ(gossip.stats().batches_held, 1u);
}

TEST(TxGossip, ABatchNotYetHeldGoesAgainEveryResendInterval) {
  RecordingNetwork network;
  const Logger logger(LogLevel::error, "test");
  const auto interval = std::chrono::milliseconds(400);
  TxGossip gossip(TxGossipOptions{.required_holders = 1, .hold_timeout = 3 * interval, .resend_interval = interval},
                  network, logger);
  std::vector<bool> answers;
  gossip.enqueue({tx("a")}, [&](bool held) { answers.push_back(held); });
  gossip.flush(now);
  gossip.enqueue({tx("b")}, [&](bool held) { answers.push_back(held); });
  gossip.flush(now + interval / 2);
  ASSERT_EQ(network.broadcasts.size(), 2u);
  gossip.tick(now + interval - std::chrono::milliseconds(1));
  EXPECT_EQ(network.broadcasts.size(), 2u);
  gossip.tick(now + interval);
  ASSERT_EQ(network.broadcasts.size(), 3u) << "the first batch goes again, the second is not due";
  EXPECT_EQ(network.broadcasts[2], network.broadcasts[0]);
  gossip.receive(peer, held_frame(2), now + interval);
  gossip.tick(now + 2 * interval);
  ASSERT_EQ(network.broadcasts.size(), 4u) << "only what is not held goes again";
  EXPECT_EQ(network.broadcasts[3], network.broadcasts[0]);
  gossip.receive(peer, held_frame(1), now + 2 * interval);  // a peer took it the second time
  EXPECT_EQ(answers, (std::vector<bool>{true, true}));
  gossip.tick(now + 10 * interval);
  EXPECT_EQ(network.broadcasts.size(), 4u);
  EXPECT_EQ(gossip.stats().batches_resent, 2u);
}

TEST(TxGossip, APeerThatConnectsGetsTheBatchesNotYetHeld) {
  RecordingNetwork network;
  const Logger logger(LogLevel::error, "test");
  TxGossip gossip(TxGossipOptions{.max_batch_bytes = 1, .required_holders = 1}, network, logger);
  std::vector<bool> answers;
  gossip.enqueue({tx("a"), tx("b")}, [&](bool held) { answers.push_back(held); });
  gossip.flush(now);  // sent while no peer was connected
  ASSERT_EQ(network.broadcasts.size(), 2u);
  gossip.receive(other_peer, held_frame(1), now);  // batch 1 is held: not sent again
  gossip.on_peer_connected(peer);
  ASSERT_EQ(network.sends.size(), 1u);
  EXPECT_EQ(network.sends[0].first, peer);
  EXPECT_EQ(network.sends[0].second, network.broadcasts[1]);
  gossip.receive(peer, held_frame(2), now);
  EXPECT_EQ(answers, std::vector<bool>{true});
  gossip.on_peer_connected(peer);
  EXPECT_EQ(network.sends.size(), 1u) << "nothing left to hold";
}

TEST(TxGossip, BeyondItsQueueATransactionIsNotGossipedAndItsClientIsToldSo) {
  RecordingNetwork network;
  const Logger logger(LogLevel::error, "test");
  TxGossip gossip(TxGossipOptions{.max_queued_txs = 2, .required_holders = 1}, network, logger);
  std::vector<bool> answers;
  gossip.enqueue({tx("a"), tx("b")}, [&](bool held) { answers.push_back(held); });
  gossip.enqueue({tx("c")}, [&](bool held) { answers.push_back(held); });
  gossip.flush(now);
  EXPECT_EQ(answers, std::vector<bool>{false}) << "c was kept from the peers";
  ASSERT_EQ(network.broadcasts.size(), 1u);
  EXPECT_EQ(txs_of(network.broadcasts[0]).size(), 2u);
  EXPECT_EQ(gossip.stats().dropped_queue_full, 1u);
  gossip.receive(peer, held_frame(1), now);
  EXPECT_EQ(answers, (std::vector<bool>{false, true}));
}

TEST(TxGossip, APeerGetsNoMoreThanItsShareOfAdmissionAndIsToldWhatWasHeld) {
  RecordingNetwork network;
  const Logger logger(LogLevel::error, "test");
  TxGossip gossip(TxGossipOptions{.max_pending_txs_per_peer = 3}, network, logger);
  const Bytes two = encode_frame(WireMessage{TxBatch{5, {tx("a"), tx("b")}}});
  auto first = gossip.receive(peer, two, now);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->sequence, 5u);
  EXPECT_EQ(first->txs.size(), 2u);
  // Two more would make four waiting for admission: dropped whole.
  EXPECT_FALSE(gossip.receive(peer, two, now));
  EXPECT_EQ(gossip.stats().dropped_peer_backlog, 2u);
  // Another peer has a share of its own.
  EXPECT_TRUE(gossip.receive(other_peer, two, now));
  // Once the first batch went through admission, there is room again, and the peer is
  // told that this node holds it.
  gossip.admitted(peer, 5, 2, true);
  ASSERT_EQ(network.sends.size(), 1u);
  EXPECT_EQ(network.sends[0].first, peer);
  EXPECT_EQ(network.sends[0].second, held_frame(5));
  EXPECT_TRUE(gossip.receive(peer, two, now));
  EXPECT_EQ(gossip.stats().txs_received, 6u);
  // A batch not held in full (the mempool was full) is not answered.
  gossip.admitted(other_peer, 5, 2, false);
  EXPECT_EQ(network.sends.size(), 1u);
  EXPECT_EQ(gossip.stats().held_answers_sent, 1u);
}

TEST(TxGossip, AMalformedFrameIsCountedAndDropped) {
  RecordingNetwork network;
  const Logger logger(LogLevel::error, "test");
  TxGossip gossip(TxGossipOptions{}, network, logger);
  const Bytes garbage{5, 1, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0};
  EXPECT_FALSE(gossip.receive(peer, garbage, now));
  EXPECT_FALSE(gossip.receive(peer, Bytes{6, 1, 2}, now));
  EXPECT_EQ(gossip.stats().batches_malformed, 2u);
}

}  // namespace
}  // namespace bft::node
