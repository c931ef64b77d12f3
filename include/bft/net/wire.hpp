// The bytes on a transport connection: frames, and the handshake that opens it.
// docs/HANDSHAKE.md is the byte-exact specification; this is the short version.
//
//   frame     = u32 little-endian length, then that many payload bytes
//   hello v2  = u8 2  public_key[32]  nonce[32]  ephemeral_x25519[32]       (one frame)
//   proof v2  = sealed ed25519 signature over transcript || u8 role          (one frame)
//
// Each side sends its hello at once. Once it has the peer's hello, it derives one
// ChaCha20-Poly1305 key per direction from the X25519 secret of the two ephemeral keys
// and the transcript (chain id, the dialer's hello, the acceptor's hello), signs the
// transcript with its validator key and sends that proof as its first sealed frame.
// Every later frame is sealed too: the nonce is the count of frames sent before in that
// direction and the length header is authenticated, so a tampered, dropped, replayed,
// reordered or truncated frame fails to open. The ephemeral keys give forward secrecy.
//
// Version 1 (TransportOptions::encrypt_frames = false, for benchmarks only) is the older
// plaintext protocol: hello = u8 1 public_key[32] nonce[32], a proof over proof_message(),
// and plaintext frames after it.
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

inline constexpr std::uint8_t plaintext_version = 1;
inline constexpr std::uint8_t encrypted_version = 2;
inline constexpr std::size_t frame_header_size = 4;
inline constexpr std::size_t hello_v1_size = 1 + 32 + 32;
inline constexpr std::size_t hello_v2_size = 1 + 32 + 32 + 32;
inline constexpr std::size_t max_hello_size = hello_v2_size;
inline constexpr std::size_t proof_size = 64;
/// What sealing adds to a payload: the Poly1305 tag.
inline constexpr std::size_t seal_overhead = 16;
/// The longest chain id the handshake can carry (its length travels as one byte).
inline constexpr std::size_t max_chain_id_size = 255;

using Nonce = std::array<std::uint8_t, 32>;
using FrameHeader = std::array<std::uint8_t, frame_header_size>;
using EphemeralKey = std::array<std::uint8_t, 32>;  // an X25519 public key

struct Hello {
  std::uint8_t version = encrypted_version;
  crypto::PublicKey key{};
  Nonce nonce{};
  EphemeralKey ephemeral{};  // version 2 only
};

FrameHeader frame_header(std::size_t payload_size);
std::uint32_t frame_length(std::span<const std::uint8_t, frame_header_size> header);
/// Header and payload in one buffer.
Bytes frame(std::span<const std::uint8_t> payload);

/// hello_v1_size or hello_v2_size bytes, after hello.version.
Bytes encode_hello(const Hello& hello);
/// Errors: unsupported_version (a version byte other than 1 and 2), malformed (empty, or
/// not the size of its version's hello).
Result<Hello> decode_hello(std::span<const std::uint8_t> payload);

/// Version 1: what a prover signs to show a verifier it holds `prover`'s secret key:
/// "bftcore/handshake/v1"  u8 len chain_id  verifier_nonce[32]  prover[32]  verifier[32].
Bytes proof_message(std::string_view chain_id, const Nonce& verifier_nonce,
                    const crypto::PublicKey& prover, const crypto::PublicKey& verifier);

/// Version 2: which end of the connection a party is.
enum class Role : std::uint8_t { dialer = 1, acceptor = 2 };

/// Version 2: "bftcore/handshake/v2"  u8 len chain_id  dialer_hello  acceptor_hello, the
/// hellos as sent (their frame payloads). Both sides build the same bytes.
Bytes transcript(std::string_view chain_id, std::span<const std::uint8_t> dialer_hello,
                 std::span<const std::uint8_t> acceptor_hello);
/// Version 2: what a party signs with its validator key: transcript  u8 role. The role
/// keeps one side's proof from being reflected back as the other's.
Bytes transcript_proof_message(std::span<const std::uint8_t> transcript, Role signer);

/// A ChaCha20-Poly1305 key for one direction of a link; wiped when destroyed.
class SessionKey {
 public:
  static constexpr std::size_t size = 32;
  SessionKey() = default;
  explicit SessionKey(std::span<const std::uint8_t, size> bytes);
  SessionKey(const SessionKey& other) = default;
  SessionKey& operator=(const SessionKey& other) = default;
  ~SessionKey();
  const std::array<std::uint8_t, size>& bytes() const noexcept { return bytes_; }

 private:
  std::array<std::uint8_t, size> bytes_{};
};

struct SessionKeys {
  SessionKey send;
  SessionKey receive;
};

/// A fresh X25519 key pair for one handshake; the secret is wiped when destroyed, so
/// destroying it once the session keys exist gives forward secrecy.
class EphemeralKeyPair {
 public:
  /// A fresh pair from libsodium's random source (crypto_kx_keypair).
  EphemeralKeyPair();
  EphemeralKeyPair(const EphemeralKeyPair&) = delete;
  EphemeralKeyPair& operator=(const EphemeralKeyPair&) = delete;
  ~EphemeralKeyPair();

  const EphemeralKey& public_key() const noexcept { return public_; }

  /// The two keys of the link as seen by `own_role`: okm = BLAKE2b-512(key = X25519(own
  /// secret, peer), message = transcript); dialer-to-acceptor = okm[0..32],
  /// acceptor-to-dialer = okm[32..64].
  /// Errors: bad_signature (the peer's key is of low order: the shared secret is zero).
  Result<SessionKeys> session_keys(const EphemeralKey& peer, Role own_role,
                                   std::span<const std::uint8_t> transcript) const;

 private:
  EphemeralKey public_{};
  std::array<std::uint8_t, 32> secret_{};
};

/// One direction of an encrypted link: frame n (from 0) is sealed with the 96-bit nonce
/// 0x00000000 || u64le(n) and its length header as additional data.
class FrameCipher {
 public:
  explicit FrameCipher(const SessionKey& key) : key_(key) {}

  /// Bytes on the wire for a payload of this size: header, ciphertext and tag.
  static constexpr std::size_t sealed_frame_size(std::size_t payload_size) noexcept {
    return frame_header_size + payload_size + seal_overhead;
  }
  /// Writes the whole frame (header, ciphertext, tag) to `out`, which holds exactly
  /// sealed_frame_size(payload.size()) bytes, and counts the frame.
  void seal_into(std::span<const std::uint8_t> payload, std::span<std::uint8_t> out);
  /// The whole frame in a new buffer.
  Bytes seal(std::span<const std::uint8_t> payload);
  /// `sealed` is one frame's payload (ciphertext and tag, as many bytes as its header
  /// said); it is decrypted in place and the plaintext, a prefix of it, returned.
  /// Errors: bad_signature (not the next frame of this direction, or altered), malformed
  /// (shorter than the tag). A failed frame does not advance the count.
  Result<std::span<std::uint8_t>> open(std::span<std::uint8_t> sealed);
  /// Frames sealed or opened so far.
  std::uint64_t count() const noexcept { return count_; }

 private:
  SessionKey key_;
  std::uint64_t count_ = 0;
};

/// 32 bytes from libsodium's random source.
Nonce fresh_nonce();

}  // namespace bft::net
