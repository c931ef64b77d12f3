#include "bft/net/wire.hpp"

#include <sodium.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace bft::net {
namespace {

constexpr std::string_view proof_domain = "bftcore/handshake/v1";

/// Copies `bytes` into `out` at `offset` and returns the offset after them. (Writing into
/// a pre-sized buffer: g++ 12 warns falsely about inserting after reserve().)
std::size_t put(Bytes& out, std::size_t offset, std::span<const std::uint8_t> bytes) {
  std::copy(bytes.begin(), bytes.end(), out.begin() + static_cast<std::ptrdiff_t>(offset));
  return offset + bytes.size();
}

std::span<const std::uint8_t> as_bytes(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
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
  Bytes out(hello_size);
  out[0] = hello.version;
  put(out, put(out, 1, hello.key), hello.nonce);
  return out;
}

Result<Hello> decode_hello(std::span<const std::uint8_t> payload) {
  if (payload.size() != hello_size) {
    return make_error(Errc::malformed, "a hello is " + std::to_string(hello_size) +
                                           " bytes, got " + std::to_string(payload.size()));
  }
  Hello hello;
  hello.version = payload[0];
  if (hello.version != protocol_version) {
    return make_error(Errc::unsupported_version,
                      "protocol version " + std::to_string(hello.version) + ", this build speaks " +
                          std::to_string(protocol_version));
  }
  std::copy_n(payload.begin() + 1, hello.key.size(), hello.key.begin());
  std::copy_n(payload.begin() + 1 + 32, hello.nonce.size(), hello.nonce.begin());
  return hello;
}

Bytes proof_message(std::string_view chain_id, const Nonce& verifier_nonce,
                    const crypto::PublicKey& prover, const crypto::PublicKey& verifier) {
  Bytes out(proof_domain.size() + 1 + chain_id.size() + 3 * 32);
  std::size_t at = put(out, 0, as_bytes(proof_domain));
  out[at++] = static_cast<std::uint8_t>(chain_id.size());
  at = put(out, at, as_bytes(chain_id));
  at = put(out, at, verifier_nonce);
  put(out, put(out, at, prover), verifier);
  return out;
}

Nonce fresh_nonce() {
  static const bool sodium_ready = [] {
    if (sodium_init() < 0) {
      std::fputs("bftnet: libsodium failed to initialise\n", stderr);
      std::abort();  // no random source: a predictable nonce would make proofs replayable
    }
    return true;
  }();
  (void)sodium_ready;
  Nonce nonce;
  randombytes_buf(nonce.data(), nonce.size());
  return nonce;
}

}  // namespace bft::net
