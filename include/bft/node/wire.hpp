// What validators send each other: the codec's consensus messages plus the node's own
// (status, block sync, mempool gossip), each frame led by a kind byte.
//
//   frame = kind:u8 body
//   kind 1 consensus     body = codec::encode(Message) (proposal, vote, commit certificate)
//   kind 2 status        body = height:u64 round:i64   (little-endian; round -1 = none yet)
//   kind 3 sync request  body = from_height:u64
//   kind 4 pruned        body = base_height:u64   (the answer to a sync request for
//                        heights this node deleted: it holds blocks from base on)
//   kind 5 transactions  body = sequence:u64 count:u32 (length:u32 bytes){count}
//                        (mempool gossip: transactions a client gave the sender, numbered
//                        by the sender; see tx_gossip.hpp)
//   kind 6 holding       body = sequence:u64   (the answer to a transaction batch: the
//                        receiver holds every transaction of that batch of the sender's
//                        that its check_tx accepts)
//
// A commit certificate carries its value, so it doubles as a block: it answers sync
// requests and helps a peer that missed the end of a height.
#pragma once

#include <cstdint>
#include <span>
#include <variant>
#include <vector>

#include "bft/bytes.hpp"
#include "bft/codec/codec.hpp"
#include "bft/codec/messages.hpp"
#include "bft/result.hpp"
#include "bft/node/application.hpp"
#include "bft/types.hpp"

namespace bft::node {

/// The height a peer works on (and its round there): lets others help it or skip help.
struct PeerStatus {
  Height height = 0;
  Round round = nil_round;
  friend bool operator==(const PeerStatus&, const PeerStatus&) = default;
};

/// Asks for the commit certificates of heights from `from` on.
struct SyncRequest {
  Height from = 0;
  friend bool operator==(const SyncRequest&, const SyncRequest&) = default;
};

/// This node pruned the blocks below `base`: block sync from it starts there.
struct PrunedBelow {
  Height base = 0;
  friend bool operator==(const PrunedBelow&, const PrunedBelow&) = default;
};

/// Transactions gossiped from one validator's mempool to the others, several per frame.
struct TxBatch {
  std::uint64_t sequence = 0;  // the sender's own numbering, echoed by TxBatchHeld
  std::vector<Tx> txs;
  friend bool operator==(const TxBatch&, const TxBatch&) = default;
};

/// A peer holds every transaction of the sender's batch `sequence` (pooled, or committed)
/// but those its check_tx refuses.
struct TxBatchHeld {
  std::uint64_t sequence = 0;
  friend bool operator==(const TxBatchHeld&, const TxBatchHeld&) = default;
};

/// What a TxBatch frame may hold: a frame beyond either bound is malformed.
struct TxBatchLimits {
  std::size_t max_txs = 65'536;
  std::size_t max_tx_bytes = std::size_t{1} << 20;
};

using WireMessage = std::variant<codec::Message, PeerStatus, SyncRequest, PrunedBelow, TxBatch, TxBatchHeld>;

Bytes encode_frame(const WireMessage& message);
/// Whether `frame` claims to be mempool gossip, a TxBatch or a TxBatchHeld (by its kind
/// byte only): the node hands those to its TxGossip, everything else to the replica.
bool is_mempool_frame(std::span<const std::uint8_t> frame) noexcept;
/// Errors: malformed (empty, unknown kind, wrong body size, a transaction batch beyond
/// `tx_limits`, empty transactions), and the codec's errors for a consensus body. `known`
/// as for codec::decode_message.
Result<WireMessage> decode_frame(std::span<const std::uint8_t> frame, const codec::Limits& limits = {},
                                 const TxBatchLimits& tx_limits = {}, const codec::ValueDigests* known = nullptr);

}  // namespace bft::node
