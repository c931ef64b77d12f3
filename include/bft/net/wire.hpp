// The bytes on a transport connection: frames, and the handshake that opens it.
//
//   frame     = u32 little-endian length, then that many payload bytes
//   hello     = u8 protocol_version  public_key[32]  nonce[32]            (one frame)
//   proof     = ed25519 signature[64] over proof_message(...)             (one frame)
//
// Each side sends its hello at once, answers the peer's hello with its proof, and checks
// the peer's proof; after that every frame is an opaque payload for the application.
// The proof covers the peer's fresh nonce (so it cannot be replayed), the chain id (so a
// key cannot be used across networks) and both keys (so it proves this one pairing).
// The handshake authenticates peers; it does not encrypt or MAC the frames after it
// (consensus messages carry their own signatures).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "bft/bytes.hpp"
#include "bft/crypto/signer.hpp"
#include "bft/result.hpp"

namespace bft::net {

inline constexpr std::uint8_t protocol_version = 1;
inline constexpr std::size_t frame_header_size = 4;
inline constexpr std::size_t hello_size = 1 + 32 + 32;
inline constexpr std::size_t proof_size = 64;
/// The longest chain id the proof can carry (its length travels as one byte).
inline constexpr std::size_t max_chain_id_size = 255;

using Nonce = std::array<std::uint8_t, 32>;
using FrameHeader = std::array<std::uint8_t, frame_header_size>;

struct Hello {
  std::uint8_t version = protocol_version;
  crypto::PublicKey key{};
  Nonce nonce{};
};

FrameHeader frame_header(std::size_t payload_size);
std::uint32_t frame_length(std::span<const std::uint8_t, frame_header_size> header);
/// Header and payload in one buffer.
Bytes frame(std::span<const std::uint8_t> payload);

Bytes encode_hello(const Hello& hello);
/// Errors: malformed (not hello_size bytes), unsupported_version.
Result<Hello> decode_hello(std::span<const std::uint8_t> payload);

/// What a prover signs to show a verifier it holds `prover`'s secret key:
/// "bftcore/handshake/v1"  u8 len chain_id  verifier_nonce[32]  prover[32]  verifier[32].
Bytes proof_message(std::string_view chain_id, const Nonce& verifier_nonce,
                    const crypto::PublicKey& prover, const crypto::PublicKey& verifier);

/// 32 bytes from libsodium's random source.
Nonce fresh_nonce();

}  // namespace bft::net
