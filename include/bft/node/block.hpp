// The engine's block: a header the commit certificate signs over, and opaque transactions.
// This is the value consensus decides, so every byte of it is agreed on.
//
//   block  = u8 version (2)  header  u32 tx_count  tx_count x (u32 length  bytes)
//   header = u64 height  32 previous_block_hash  32 app_hash  u8 proposer_length
//            proposer  u64 time_unix_ms                            (little-endian)
//
// Every block has exactly one encoding: the decoder accepts that and nothing else.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "bft/codec/hash.hpp"
#include "bft/node/application.hpp"
#include "bft/result.hpp"

namespace bft::node {

inline constexpr std::uint8_t block_format_version = 2;

struct BlockLimits {
  /// The encoded block. Equals the wire codec's default limit on a proposed value, so
  /// every valid block travels in a proposal.
  std::size_t max_block_bytes = std::size_t{1} << 20;
  std::size_t max_txs = 100'000;
  std::size_t max_proposer_bytes = 64;
};

struct Block {
  BlockHeader header;
  std::vector<Tx> txs;
  friend bool operator==(const Block&, const Block&) = default;
};

/// Bytes the encoding adds to a block beyond its transactions' own sizes: the header, the
/// count, and a length per transaction.
std::size_t block_overhead(const BlockHeader& header, std::size_t tx_count) noexcept;

Value encode_block(const BlockHeader& header, std::span<const Tx> txs);

/// Errors: unsupported_version, malformed (truncated, a length beyond the end),
/// too_large (beyond a limit), non_canonical (bytes after the last transaction).
Result<Block> decode_block(std::span<const std::uint8_t> bytes, const BlockLimits& limits = {});

/// A block's header and how many transactions follow it.
struct BlockSummary {
  BlockHeader header;
  std::uint32_t tx_count = 0;
};

/// The header and the transaction count alone, without reading the transactions: for
/// blocks that were checked when they were decided (the block store's). Errors: those of
/// decode_block about the header and the count.
Result<BlockSummary> decode_block_summary(std::span<const std::uint8_t> bytes, const BlockLimits& limits = {});

/// What the next header's previous_block_hash holds: sha256 of the encoding.
codec::Digest block_hash(std::span<const std::uint8_t> encoded_block) noexcept;

}  // namespace bft::node
