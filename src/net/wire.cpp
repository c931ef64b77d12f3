#include "bft/net/wire.hpp"

#include <sodium.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace bft::net {
namespace {

constexpr std::string_view proof_domain_v1 = "bftcore/handshake/v1";
constexpr std::string_view transcript_domain = "bftcore/handshake/v2";

static_assert(seal_overhead == crypto_aead_chacha20poly1305_ietf_ABYTES);
static_assert(SessionKey::size == crypto_aead_chacha20poly1305_ietf_KEYBYTES);
static_assert(std::tuple_size_v<EphemeralKey> == crypto_kx_PUBLICKEYBYTES);
static_assert(crypto_kx_SECRETKEYBYTES == 32 && crypto_scalarmult_BYTES == 32);

void ensure_sodium() {
  static const bool ready = [] {
    if (sodium_init() < 0) {
      std::fputs("bftnet: libsodium failed to initialise\n", stderr);
      std::abort();  // no random source: predictable nonces and keys would void the handshake
    }
    return true;
  }();
  (void)ready;
}

/// Copies `bytes` into `out` at `offset` and returns the offset after them. (Writing into
/// a pre-sized buffer: g++ 12 warns falsely about inserting after reserve().)
std::size_t put(Bytes& out, std::size_t offset, std::span<const std::uint8_t> bytes) {
  std::copy(bytes.begin(), bytes.end(), out.begin() + static_cast<std::ptrdiff_t>(offset));
  return offset + bytes.size();
}

std::span<const std::uint8_t> as_bytes(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

std::size_t hello_size_of(std::uint8_t version) {
  return version == plaintext_version ? hello_v1_size : hello_v2_size;
}

/// 0x00000000 || u64le(count): frame counts never repeat under one key.
std::array<std::uint8_t, crypto_aead_chacha20poly1305_ietf_NPUBBYTES> frame_nonce(std::uint64_t count) {
  std::array<std::uint8_t, crypto_aead_chacha20poly1305_ietf_NPUBBYTES> nonce{};
  for (std::size_t i = 0; i < 8; ++i) nonce[4 + i] = static_cast<std::uint8_t>(count >> (8 * i));
  return nonce;
}

}  // namespace

FrameHeader frame_header(std::size_t payload_size) {
  const auto size = static_cast<std::uint32_t>(payload_size);
  return {static_cast<std::uint8_t>(size), static_cast<std::uint8_t>(size >> 8),
          static_cast<std::uint8_t>(size >> 16), static_cast<std::uint8_t>(size >> 24)};
}

std::uint32_t frame_length(std::span<const std::uint8_t, frame_header_size> header) {
  return static_cast<std::uint32_t>(header[0]) | static_cast<std::uint32_t>(header[1]) << 8 |
         static_cast<std::uint32_t>(header[2]) << 16 | static_cast<std::uint32_t>(header[3]) << 24;
}

Bytes frame(std::span<const std::uint8_t> payload) {
  Bytes out(frame_header_size + payload.size());
  put(out, put(out, 0, frame_header(payload.size())), payload);
  return out;
}

Bytes encode_hello(const Hello& hello) {
  Bytes out(hello_size_of(hello.version));
  out[0] = hello.version;
  const std::size_t at = put(out, put(out, 1, hello.key), hello.nonce);
  if (hello.version != plaintext_version) put(out, at, hello.ephemeral);
  return out;
}

Result<Hello> decode_hello(std::span<const std::uint8_t> payload) {
  if (payload.empty()) return make_error(Errc::malformed, "an empty hello");
  Hello hello;
  hello.version = payload[0];
  if (hello.version != plaintext_version && hello.version != encrypted_version) {
    return make_error(Errc::unsupported_version,
                      "unknown handshake version " + std::to_string(hello.version) +
                          " (this build speaks versions 1 and 2)");
  }
  const std::size_t size = hello_size_of(hello.version);
  if (payload.size() != size) {
    return make_error(Errc::malformed, "a version " + std::to_string(hello.version) + " hello is " +
                                           std::to_string(size) + " bytes, got " +
                                           std::to_string(payload.size()));
  }
  const auto field = [&](std::size_t offset) { return payload.begin() + static_cast<std::ptrdiff_t>(offset); };
  std::copy_n(field(1), hello.key.size(), hello.key.begin());
  std::copy_n(field(1 + 32), hello.nonce.size(), hello.nonce.begin());
  if (hello.version == encrypted_version) std::copy_n(field(1 + 64), hello.ephemeral.size(), hello.ephemeral.begin());
  return hello;
}

Bytes proof_message(std::string_view chain_id, const Nonce& verifier_nonce,
                    const crypto::PublicKey& prover, const crypto::PublicKey& verifier) {
  Bytes out(proof_domain_v1.size() + 1 + chain_id.size() + 3 * 32);
  std::size_t at = put(out, 0, as_bytes(proof_domain_v1));
  out[at++] = static_cast<std::uint8_t>(chain_id.size());
  at = put(out, at, as_bytes(chain_id));
  at = put(out, at, verifier_nonce);
  put(out, put(out, at, prover), verifier);
  return out;
}

Bytes transcript(std::string_view chain_id, std::span<const std::uint8_t> dialer_hello,
                 std::span<const std::uint8_t> acceptor_hello) {
  Bytes out(transcript_domain.size() + 1 + chain_id.size() + dialer_hello.size() + acceptor_hello.size());
  std::size_t at = put(out, 0, as_bytes(transcript_domain));
  out[at++] = static_cast<std::uint8_t>(chain_id.size());
  at = put(out, at, as_bytes(chain_id));
  put(out, put(out, at, dialer_hello), acceptor_hello);
  return out;
}

Bytes transcript_proof_message(std::span<const std::uint8_t> transcript, Role signer) {
  Bytes out(transcript.size() + 1);
  out[put(out, 0, transcript)] = static_cast<std::uint8_t>(signer);
  return out;
}

SessionKey::SessionKey(std::span<const std::uint8_t, size> bytes) {
  std::copy(bytes.begin(), bytes.end(), bytes_.begin());
}

SessionKey::~SessionKey() { sodium_memzero(bytes_.data(), bytes_.size()); }

EphemeralKeyPair::EphemeralKeyPair() {
  ensure_sodium();
  crypto_kx_keypair(public_.data(), secret_.data());
}

EphemeralKeyPair::~EphemeralKeyPair() { sodium_memzero(secret_.data(), secret_.size()); }

Result<SessionKeys> EphemeralKeyPair::session_keys(const EphemeralKey& peer, Role own_role,
                                                   std::span<const std::uint8_t> transcript) const {
  std::array<std::uint8_t, crypto_scalarmult_BYTES> shared{};
  // Fails on an all-zero result: a peer key of low order would fix the secret.
  if (crypto_scalarmult(shared.data(), secret_.data(), peer.data()) != 0) {
    return make_error(Errc::bad_signature, "the peer's ephemeral key is of low order");
  }
  std::array<std::uint8_t, 2 * SessionKey::size> okm{};
  crypto_generichash(okm.data(), okm.size(), transcript.data(), transcript.size(), shared.data(),
                     shared.size());
  sodium_memzero(shared.data(), shared.size());
  const SessionKey dialer_to_acceptor(std::span<const std::uint8_t, SessionKey::size>(okm.data(), SessionKey::size));
  const SessionKey acceptor_to_dialer(
      std::span<const std::uint8_t, SessionKey::size>(okm.data() + SessionKey::size, SessionKey::size));
  sodium_memzero(okm.data(), okm.size());
  if (own_role == Role::dialer) return SessionKeys{dialer_to_acceptor, acceptor_to_dialer};
  return SessionKeys{acceptor_to_dialer, dialer_to_acceptor};
}

void FrameCipher::seal_into(std::span<const std::uint8_t> payload, std::span<std::uint8_t> out) {
  const FrameHeader header = frame_header(payload.size() + seal_overhead);
  std::copy(header.begin(), header.end(), out.begin());
  const auto nonce = frame_nonce(count_++);
  crypto_aead_chacha20poly1305_ietf_encrypt(out.data() + frame_header_size, nullptr, payload.data(),
                                            payload.size(), header.data(), header.size(), nullptr,
                                            nonce.data(), key_.bytes().data());
}

Bytes FrameCipher::seal(std::span<const std::uint8_t> payload) {
  Bytes out(sealed_frame_size(payload.size()));
  seal_into(payload, out);
  return out;
}

Result<std::span<std::uint8_t>> FrameCipher::open(std::span<std::uint8_t> sealed) {
  if (sealed.size() < seal_overhead) {
    return make_error(Errc::malformed, "a sealed frame of " + std::to_string(sealed.size()) +
                                           " bytes, shorter than its tag");
  }
  const FrameHeader header = frame_header(sealed.size());
  const auto nonce = frame_nonce(count_);
  unsigned long long plain_size = 0;
  // In place: libsodium verifies the tag over the ciphertext before it decrypts.
  if (crypto_aead_chacha20poly1305_ietf_decrypt(sealed.data(), &plain_size, nullptr, sealed.data(),
                                                sealed.size(), header.data(), header.size(),
                                                nonce.data(), key_.bytes().data()) != 0) {
    return make_error(Errc::bad_signature, "frame " + std::to_string(count_) +
                                               " failed authentication (altered, dropped, replayed or "
                                               "reordered)");
  }
  ++count_;
  return sealed.first(static_cast<std::size_t>(plain_size));
}

Nonce fresh_nonce() {
  ensure_sodium();
  Nonce nonce;
  randombytes_buf(nonce.data(), nonce.size());
  return nonce;
}

}  // namespace bft::net
