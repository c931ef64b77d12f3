// What validators send each other: the codec's consensus messages plus two small
// node-level ones, each frame led by a kind byte.
//
//   frame = kind:u8 body
//   kind 1 consensus     body = codec::encode(Message) (proposal, vote, commit certificate)
//   kind 2 status        body = height:u64 round:i64   (little-endian; round -1 = none yet)
//   kind 3 sync request  body = from_height:u64
//   kind 4 pruned        body = base_height:u64   (the answer to a sync request for
//                        heights this node deleted: it holds blocks from base on)
//
// A commit certificate carries its value, so it doubles as a block: it answers sync
// requests and helps a peer that missed the end of a height.
#pragma once

#include <cstdint>
#include <span>
#include <variant>

#include "bft/bytes.hpp"
#include "bft/codec/codec.hpp"
#include "bft/codec/messages.hpp"
#include "bft/result.hpp"
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

using WireMessage = std::variant<codec::Message, PeerStatus, SyncRequest, PrunedBelow>;

Bytes encode_frame(const WireMessage& message);
/// Errors: malformed (empty, unknown kind, wrong body size), and the codec's errors for
/// a consensus body.
Result<WireMessage> decode_frame(std::span<const std::uint8_t> frame, const codec::Limits& limits = {});

}  // namespace bft::node
