#include "bft/crypto/key_file.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>

namespace bft::crypto {

namespace {

constexpr std::string_view header = "# bftcore ed25519 secret key: keep this file private (mode 0600)";

Error io_error(const std::filesystem::path& path, std::string_view what, int err) {
  return make_error(Errc::io_error, std::string(what) + " " + path.string() + ": " +
                                        std::strerror(err));
}

Error malformed(const std::filesystem::path& path, std::size_t line, std::string_view what) {
  return make_error(Errc::malformed_key,
                    path.string() + ":" + std::to_string(line) + ": " + std::string(what));
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// Exactly 2 * N hex digits.
template <std::size_t N>
std::optional<std::array<std::uint8_t, N>> parse_hex(std::string_view text) {
  if (text.size() != 2 * N) return std::nullopt;
  std::array<std::uint8_t, N> out{};
  for (std::size_t i = 0; i < N; ++i) {
    const int high = hex_digit(text[2 * i]);
    const int low = hex_digit(text[2 * i + 1]);
    if (high < 0 || low < 0) return std::nullopt;
    out[i] = static_cast<std::uint8_t>(high << 4 | low);
  }
  return out;
}

std::string_view trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  const auto last = s.find_last_not_of(" \t\r\n");
  return s.substr(first, last - first + 1);
}

bool write_all(int fd, std::string_view text) {
  while (!text.empty()) {
    const ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    text.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

}  // namespace

std::string to_hex(std::span<const std::uint8_t> bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * bytes.size());
  for (std::uint8_t b : bytes) {
    out += digits[b >> 4];
    out += digits[b & 0xf];
  }
  return out;
}

Result<PublicKey> parse_public_key(std::string_view hex) {
  auto key = parse_hex<std::tuple_size_v<PublicKey>>(trim(hex));
  if (!key) return make_error(Errc::malformed_key, "a public key is 64 hex digits");
  return *key;
}

Result<Signature> parse_signature(std::string_view hex) {
  auto signature = parse_hex<std::tuple_size_v<Signature>>(hex);
  if (!signature) return make_error(Errc::malformed, "a signature is 128 hex digits");
  return *signature;
}

Result<void> write_key_file(const std::filesystem::path& path, const Ed25519Signer& signer) {
  std::string text = std::string(header) + "\ntype: ed25519\npublic: " +
                     to_hex(signer.public_key()) + "\nsecret: " + to_hex(signer.seed()) + "\n";
  // O_EXCL: never replace a key; mode 0600 from the first byte on, whatever the umask.
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    const int err = errno;
    sodium_memzero(text.data(), text.size());
    return io_error(path, "cannot create key file", err);
  }
  const bool written = write_all(fd, text) && ::fsync(fd) == 0;
  const int err = errno;
  sodium_memzero(text.data(), text.size());
  if (::close(fd) != 0 || !written) {
    std::filesystem::remove(path);
    return io_error(path, "cannot write key file", err);
  }
  return {};
}

Result<Ed25519Signer> read_key_file(const std::filesystem::path& path) {
  struct stat info{};
  if (::stat(path.c_str(), &info) != 0) return io_error(path, "cannot read key file", errno);
  if (!S_ISREG(info.st_mode)) {
    return make_error(Errc::io_error, "key file " + path.string() + " is not a regular file");
  }
  if ((info.st_mode & 077) != 0) {
    return make_error(Errc::insecure_key_file,
                      "key file " + path.string() +
                          " may be accessed by group or others: chmod 600 it");
  }
  std::ifstream in(path);
  if (!in) return io_error(path, "cannot read key file", errno);

  std::optional<PublicKey> public_key;
  std::optional<Seed> seed;
  bool typed = false;
  std::string line;
  std::size_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    const std::string_view text = trim(line);
    if (text.empty() || text.front() == '#') continue;
    const auto colon = text.find(':');
    if (colon == std::string_view::npos) return malformed(path, number, "expected 'field: value'");
    const std::string_view field = trim(text.substr(0, colon));
    const std::string_view value = trim(text.substr(colon + 1));
    if (field == "type" && !typed) {
      if (value != "ed25519") return malformed(path, number, "unsupported key type");
      typed = true;
    } else if (field == "public" && !public_key) {
      public_key = parse_hex<32>(value);
      if (!public_key) return malformed(path, number, "public key is not 64 hex digits");
    } else if (field == "secret" && !seed) {
      seed = parse_hex<32>(value);
      if (!seed) return malformed(path, number, "secret is not 64 hex digits");
    } else {
      return malformed(path, number, "unexpected or repeated field");
    }
  }
  sodium_memzero(line.data(), line.size());
  if (in.bad()) return io_error(path, "cannot read key file", errno);
  if (!typed || !public_key || !seed) {
    return malformed(path, number, "missing field: need type, public and secret");
  }
  Ed25519Signer signer = Ed25519Signer::from_seed(*seed);
  sodium_memzero(seed->data(), seed->size());
  if (signer.public_key() != *public_key) {
    return make_error(Errc::malformed_key,
                      path.string() + ": the public key does not match the secret");
  }
  return signer;
}

}  // namespace bft::crypto
