// Key files: written private, read back exactly, and every way they can be wrong named.
#include "bft/crypto/key_file.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <fstream>

#include "fixtures.hpp"

namespace bft::crypto {
namespace {

using testing::error_of;

class KeyFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir = std::filesystem::temp_directory_path() /
          ("bft-key-test-" + std::to_string(::getpid()) + "-" + info->name());
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
  }
  void TearDown() override { std::filesystem::remove_all(dir); }

  /// A file with `text`, private unless `mode` says otherwise.
  std::filesystem::path file_with(const std::string& text, mode_t mode = 0600) {
    const auto path = dir / "key";
    std::ofstream(path) << text;
    ::chmod(path.c_str(), mode);
    return path;
  }

  std::string valid_text() const {
    return "type: ed25519\npublic: " + to_hex(signer.public_key()) + "\nsecret: " +
           to_hex(signer.seed()) + "\n";
  }

  std::filesystem::path dir;
  Ed25519Signer signer = testing::signer(42);
};

TEST_F(KeyFiles, WrittenPrivateAndReadBack) {
  const auto path = dir / "validator.key";
  ASSERT_TRUE(write_key_file(path, signer).ok());
  struct stat info{};
  ASSERT_EQ(::stat(path.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  auto read = read_key_file(path);
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_EQ(read->public_key(), signer.public_key());
  EXPECT_EQ(read->seed(), signer.seed());
}

TEST_F(KeyFiles, NeverOverwritten) {
  const auto path = dir / "validator.key";
  ASSERT_TRUE(write_key_file(path, signer).ok());
  EXPECT_EQ(error_of(write_key_file(path, testing::signer(1))), Errc::io_error);
  EXPECT_EQ(read_key_file(path)->public_key(), signer.public_key());
}

TEST_F(KeyFiles, CommentsBlankLinesAndUppercaseHexAreAccepted) {
  auto upper = [](std::string hex) {
    for (char& c : hex) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return hex;
  };
  const std::string text = "# a comment\n\ntype: ed25519\n  public:   " +
                           upper(to_hex(signer.public_key())) + "\r\nsecret:" +
                           upper(to_hex(signer.seed())) + "\n\n";
  auto read = read_key_file(file_with(text));
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_EQ(read->public_key(), signer.public_key());
}

TEST_F(KeyFiles, MissingOrUnwritablePathIsAnIoError) {
  auto missing = read_key_file(dir / "absent");
  EXPECT_EQ(error_of(missing), Errc::io_error);
  EXPECT_NE(missing.error().message.find("absent"), std::string::npos);
  EXPECT_EQ(error_of(read_key_file(dir)), Errc::io_error);  // a directory
  EXPECT_EQ(error_of(write_key_file(dir / "no-such-dir" / "key", signer)), Errc::io_error);
}

TEST_F(KeyFiles, ReadableByOthersIsInsecure) {
  for (mode_t mode : {0640, 0604, 0644, 0660}) {
    auto read = read_key_file(file_with(valid_text(), mode));
    EXPECT_EQ(error_of(read), Errc::insecure_key_file) << std::oct << mode;
  }
  EXPECT_TRUE(read_key_file(file_with(valid_text(), 0400)).ok());
}

TEST_F(KeyFiles, MalformedContentsAreNamed) {
  const std::string pub = "public: " + to_hex(signer.public_key()) + "\n";
  const std::string sec = "secret: " + to_hex(signer.seed()) + "\n";
  const std::string other = "public: " + to_hex(testing::signer(1).public_key()) + "\n";
  const std::pair<std::string, std::string> cases[] = {
      {"", "missing field"},
      {"type: ed25519\n" + pub, "missing field"},
      {"type: rsa\n" + pub + sec, "unsupported key type"},
      {"type: ed25519\n" + pub + "secret: 1234\n", "secret is not 64 hex digits"},
      {"type: ed25519\n" + pub + "secret: " + std::string(64, 'g') + "\n", "not 64 hex digits"},
      {"type: ed25519\npublic: xyz\n" + sec, "public key is not 64 hex digits"},
      {"type: ed25519\n" + pub + sec + sec, "unexpected or repeated field"},
      {"type: ed25519\n" + pub + sec + "colour: blue\n", "unexpected or repeated field"},
      {"type ed25519\n" + pub + sec, "expected 'field: value'"},
      {"type: ed25519\n" + other + sec, "does not match"},
  };
  for (const auto& [text, complaint] : cases) {
    auto read = read_key_file(file_with(text));
    EXPECT_EQ(error_of(read), Errc::malformed_key) << text;
    if (!read.ok()) {
      EXPECT_NE(read.error().message.find(complaint), std::string::npos) << read.error().message;
    }
  }
}

TEST(PublicKeyText, ParsesExactly64HexDigits) {
  const PublicKey key = testing::signer(5).public_key();
  EXPECT_EQ(*parse_public_key(to_hex(key)), key);
  EXPECT_EQ(*parse_public_key(" " + to_hex(key) + "\n"), key);
  EXPECT_EQ(error_of(parse_public_key(to_hex(key).substr(2))), Errc::malformed_key);
  EXPECT_EQ(error_of(parse_public_key(to_hex(key) + "00")), Errc::malformed_key);
  EXPECT_EQ(error_of(parse_public_key("zz" + to_hex(key).substr(2))), Errc::malformed_key);
}

}  // namespace
}  // namespace bft::crypto
