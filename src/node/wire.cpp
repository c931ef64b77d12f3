#include "bft/node/wire.hpp"

#include <cstring>

namespace bft::node {
namespace {

enum class Kind : std::uint8_t { consensus = 1, status = 2, sync_request = 3, pruned = 4 };

constexpr std::size_t status_size = 1 + 8 + 8;
constexpr std::size_t sync_request_size = 1 + 8;
constexpr std::size_t pruned_size = 1 + 8;

template <class Int>
void put(Bytes& out, Int value) {
  for (std::size_t i = 0; i < sizeof(Int); ++i) out.push_back(static_cast<std::uint8_t>(value >> (8 * i)));
}

template <class Int>
Int get(std::span<const std::uint8_t> bytes, std::size_t at) {
  Int value = 0;
  for (std::size_t i = 0; i < sizeof(Int); ++i) value |= static_cast<Int>(Int{bytes[at + i]} << (8 * i));
  return value;
}

}  // namespace

Bytes encode_frame(const WireMessage& message) {
  Bytes out;
  if (const auto* consensus = std::get_if<codec::Message>(&message)) {
    out.push_back(static_cast<std::uint8_t>(Kind::consensus));
    codec::encode_to(*consensus, out);
  } else if (const auto* status = std::get_if<PeerStatus>(&message)) {
    out.reserve(status_size);
    out.push_back(static_cast<std::uint8_t>(Kind::status));
    put<std::uint64_t>(out, status->height);
    put<std::uint64_t>(out, static_cast<std::uint64_t>(status->round));
  } else if (const auto* request = std::get_if<SyncRequest>(&message)) {
    out.reserve(sync_request_size);
    out.push_back(static_cast<std::uint8_t>(Kind::sync_request));
    put<std::uint64_t>(out, request->from);
  } else {
    out.reserve(pruned_size);
    out.push_back(static_cast<std::uint8_t>(Kind::pruned));
    put<std::uint64_t>(out, std::get<PrunedBelow>(message).base);
  }
  return out;
}

Result<WireMessage> decode_frame(std::span<const std::uint8_t> frame, const codec::Limits& limits) {
  if (frame.empty()) return make_error(Errc::malformed, "empty frame");
  switch (static_cast<Kind>(frame[0])) {
    case Kind::consensus: {
      auto message = codec::decode_message(frame.subspan(1), limits);
      if (!message) return message.error();
      return WireMessage{std::move(*message)};
    }
    case Kind::status: {
      if (frame.size() != status_size) return make_error(Errc::malformed, "status frame of the wrong size");
      const auto round = static_cast<Round>(get<std::uint64_t>(frame, 9));
      if (round < nil_round) return make_error(Errc::malformed, "status with a negative round");
      return WireMessage{PeerStatus{get<std::uint64_t>(frame, 1), round}};
    }
    case Kind::sync_request:
      if (frame.size() != sync_request_size) return make_error(Errc::malformed, "sync request of the wrong size");
      return WireMessage{SyncRequest{get<std::uint64_t>(frame, 1)}};
    case Kind::pruned:
      if (frame.size() != pruned_size) return make_error(Errc::malformed, "pruned answer of the wrong size");
      return WireMessage{PrunedBelow{get<std::uint64_t>(frame, 1)}};
  }
  return make_error(Errc::malformed, "unknown frame kind " + std::to_string(frame[0]));
}

}  // namespace bft::node
