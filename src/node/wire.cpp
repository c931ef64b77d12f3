#include "bft/node/wire.hpp"

#include <cstring>

namespace bft::node {
namespace {

enum class Kind : std::uint8_t {
  consensus = 1,
  status = 2,
  sync_request = 3,
  pruned = 4,
  transactions = 5,
  transactions_held = 6
};

constexpr std::size_t status_size = 1 + 8 + 8;
constexpr std::size_t sync_request_size = 1 + 8;
constexpr std::size_t pruned_size = 1 + 8;
constexpr std::size_t held_size = 1 + 8;
constexpr std::size_t batch_header_size = 1 + 8 + 4;

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

Result<WireMessage> decode_tx_batch(std::span<const std::uint8_t> frame, const TxBatchLimits& limits) {
  const auto bad = [](const std::string& why) { return make_error(Errc::malformed, "transaction batch: " + why); };
  if (frame.size() < batch_header_size) return bad("no count");
  const std::uint32_t count = get<std::uint32_t>(frame, 9);
  if (count == 0) return bad("no transaction");
  if (count > limits.max_txs) return bad(std::to_string(count) + " transactions, above " + std::to_string(limits.max_txs));
  // Each transaction takes at least 5 bytes: a count beyond what the frame holds is a lie.
  if (count > (frame.size() - batch_header_size) / 5) return bad("a count beyond the frame's size");
  TxBatch batch;
  batch.sequence = get<std::uint64_t>(frame, 1);
  batch.txs.reserve(count);
  std::size_t at = batch_header_size;
  for (std::uint32_t i = 0; i < count; ++i) {
    if (frame.size() - at < 4) return bad("cut short");
    const std::uint32_t size = get<std::uint32_t>(frame, at);
    at += 4;
    if (size == 0) return bad("an empty transaction");
    if (size > limits.max_tx_bytes) return bad("a transaction of " + std::to_string(size) + " bytes");
    if (frame.size() - at < size) return bad("cut short");
    batch.txs.emplace_back(frame.begin() + static_cast<std::ptrdiff_t>(at),
                           frame.begin() + static_cast<std::ptrdiff_t>(at + size));
    at += size;
  }
  if (at != frame.size()) return bad("bytes after the last transaction");
  return WireMessage{std::move(batch)};
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
  } else if (const auto* batch = std::get_if<TxBatch>(&message)) {
    std::size_t size = batch_header_size;
    for (const Tx& tx : batch->txs) size += 4 + tx.size();
    out.reserve(size);
    out.push_back(static_cast<std::uint8_t>(Kind::transactions));
    put<std::uint64_t>(out, batch->sequence);
    put<std::uint32_t>(out, static_cast<std::uint32_t>(batch->txs.size()));
    for (const Tx& tx : batch->txs) {
      put<std::uint32_t>(out, static_cast<std::uint32_t>(tx.size()));
      out.insert(out.end(), tx.begin(), tx.end());
    }
  } else if (const auto* held = std::get_if<TxBatchHeld>(&message)) {
    out.reserve(held_size);
    out.push_back(static_cast<std::uint8_t>(Kind::transactions_held));
    put<std::uint64_t>(out, held->sequence);
  } else {
    out.reserve(pruned_size);
    out.push_back(static_cast<std::uint8_t>(Kind::pruned));
    put<std::uint64_t>(out, std::get<PrunedBelow>(message).base);
  }
  return out;
}

bool is_mempool_frame(std::span<const std::uint8_t> frame) noexcept {
  return !frame.empty() && (frame[0] == static_cast<std::uint8_t>(Kind::transactions) ||
                            frame[0] == static_cast<std::uint8_t>(Kind::transactions_held));
}

Result<WireMessage> decode_frame(std::span<const std::uint8_t> frame, const codec::Limits& limits,
                                 const TxBatchLimits& tx_limits, const codec::ValueDigests* known) {
  if (frame.empty()) return make_error(Errc::malformed, "empty frame");
  switch (static_cast<Kind>(frame[0])) {
    case Kind::consensus: {
      auto message = codec::decode_message(frame.subspan(1), limits, known);
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
    case Kind::transactions:
      return decode_tx_batch(frame, tx_limits);
    case Kind::transactions_held:
      if (frame.size() != held_size) return make_error(Errc::malformed, "transactions-held answer of the wrong size");
      return WireMessage{TxBatchHeld{get<std::uint64_t>(frame, 1)}};
  }
  return make_error(Errc::malformed, "unknown frame kind " + std::to_string(frame[0]));
}

}  // namespace bft::node
