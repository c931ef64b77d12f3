#include "bft/node/block.hpp"

#include "../codec/wire.hpp"

namespace bft::node {

namespace wire = codec::wire;

namespace {
// version, height, two digests, proposer length, time, tx count.
constexpr std::size_t fixed_overhead = 1 + 8 + 32 + 32 + 1 + 8 + 4;
constexpr std::size_t per_tx_overhead = 4;
}  // namespace

std::size_t block_overhead(const BlockHeader& header, std::size_t tx_count) noexcept {
  return fixed_overhead + header.proposer.size() + per_tx_overhead * tx_count;
}

Value encode_block(const BlockHeader& header, std::span<const Tx> txs) {
  Bytes out;
  std::size_t size = block_overhead(header, txs.size());
  for (const Tx& tx : txs) size += tx.size();
  out.reserve(size);
  wire::put_u8(out, block_format_version);
  wire::put_u64(out, header.height);
  wire::put_raw(out, header.previous_block_hash);
  wire::put_raw(out, header.app_hash);
  wire::put_u8(out, static_cast<std::uint8_t>(header.proposer.size()));
  wire::put_raw(out, header.proposer.bytes());
  wire::put_u64(out, header.time_unix_ms);
  wire::put_u32(out, static_cast<std::uint32_t>(txs.size()));
  for (const Tx& tx : txs) wire::put_sized(out, tx);
  return Value(out);
}

namespace {

/// The header and the transaction count, checked against the limits; `in` is left at the
/// first transaction.
Result<BlockSummary> read_header(wire::Reader& in, std::size_t total_size, const BlockLimits& limits) {
  if (total_size > limits.max_block_bytes)
    return make_error(Errc::too_large, "a block of " + std::to_string(total_size) + " bytes exceeds the limit of " +
                                           std::to_string(limits.max_block_bytes));
  BlockSummary summary;
  BlockHeader& header = summary.header;
  std::uint8_t version = 0;
  if (!in.u8(version)) return in.take_error();
  if (version != block_format_version)
    return make_error(Errc::unsupported_version, "block format version " + std::to_string(version));
  std::uint8_t proposer_size = 0;
  if (!in.u64(header.height) || !in.raw(header.previous_block_hash) || !in.raw(header.app_hash) ||
      !in.u8(proposer_size))
    return in.take_error();
  if (proposer_size == 0 || proposer_size > limits.max_proposer_bytes)
    return make_error(Errc::malformed, "a proposer address of " + std::to_string(proposer_size) + " bytes");
  Bytes proposer(proposer_size);
  std::uint32_t count = 0;
  if (!in.raw(proposer) || !in.u64(header.time_unix_ms) || !in.u32(count)) return in.take_error();
  header.proposer = Address(proposer);
  // Each transaction takes at least its length: a count the bytes cannot hold is refused
  // before anything is reserved for it.
  if (count > limits.max_txs || count > in.remaining() / per_tx_overhead)
    return make_error(Errc::too_large, "a block claiming " + std::to_string(count) + " transactions");
  summary.tx_count = count;
  return summary;
}

}  // namespace

Result<Block> decode_block(std::span<const std::uint8_t> bytes, const BlockLimits& limits) {
  wire::Reader in(bytes);
  auto summary = read_header(in, bytes.size(), limits);
  if (!summary) return summary.error();
  Block block{std::move(summary->header), {}};
  block.txs.reserve(summary->tx_count);
  for (std::uint32_t i = 0; i < summary->tx_count; ++i) {
    Tx tx;
    if (!in.sized("a transaction", 0, limits.max_block_bytes, tx)) return in.take_error();
    block.txs.push_back(std::move(tx));
  }
  if (!in.finish()) return in.take_error();
  return block;
}

Result<BlockSummary> decode_block_summary(std::span<const std::uint8_t> bytes, const BlockLimits& limits) {
  wire::Reader in(bytes);
  return read_header(in, bytes.size(), limits);
}

codec::Digest block_hash(std::span<const std::uint8_t> encoded_block) noexcept {
  return codec::sha256(encoded_block);
}

}  // namespace bft::node
