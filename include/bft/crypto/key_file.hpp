// Key files and key text. A secret key file is text, readable with a pager and diffable:
//
//   # bftcore ed25519 secret key: keep this file private (mode 0600)
//   type: ed25519
//   public: <64 hex digits>
//   secret: <64 hex digits: the seed>
//
// The public line lets a reader detect a corrupted or mismatched file, and lets an
// operator read the public key without tools.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "bft/crypto/ed25519.hpp"
#include "bft/result.hpp"

namespace bft::crypto {

/// Lowercase hex.
std::string to_hex(std::span<const std::uint8_t> bytes);
/// An ed25519 public key as 64 hex digits (either case). Errors: malformed_key.
Result<PublicKey> parse_public_key(std::string_view hex);
/// An ed25519 signature as 128 hex digits (either case). Errors: malformed.
Result<Signature> parse_signature(std::string_view hex);

/// Creates `path` with mode 0600 and writes `signer`'s key to it, then syncs it to disk.
/// Never overwrites. Errors: io_error (the file exists or cannot be written).
Result<void> write_key_file(const std::filesystem::path& path, const Ed25519Signer& signer);

/// Errors: io_error (unreadable), insecure_key_file (group or others may access it),
/// malformed_key (not the format above, bad hex, or a public key that does not match
/// the secret). Messages name the file and the line.
Result<Ed25519Signer> read_key_file(const std::filesystem::path& path);

}  // namespace bft::crypto
