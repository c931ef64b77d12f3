#include "bft/node/config.hpp"

#include <gtest/gtest.h>

#include "bft/crypto/ed25519.hpp"
#include "bft/crypto/key_file.hpp"

namespace bft::node {
namespace {

std::string public_key_hex(std::uint8_t seed_byte) {
  crypto::Seed seed{};
  seed.fill(seed_byte);
  return crypto::to_hex(crypto::Ed25519Signer::from_seed(seed).public_key());
}

const std::string key_a = public_key_hex(0xa);
const std::string key_b = public_key_hex(0xb);
const std::string key_c = public_key_hex(0xc);

std::string config_with(const std::string& extra, const std::string& validators = "") {
  const std::string list = validators.empty()
                               ? R"([{"name": "a", "public_key": ")" + key_a + R"(", "address": "127.0.0.1:26600"},
                                    {"public_key": ")" + key_b + R"(", "address": "10.0.0.2:26600", "power": 3}])"
                               : validators;
  return R"({"chain_id": "test", "listen": "127.0.0.1:26600", "http": "127.0.0.1:26700",
             "key_file": "a.key", "data_dir": "data")" +
         extra + R"(, "validators": )" + list + "}";
}

TEST(Config, ParsesEveryFieldAndResolvesPathsAgainstTheFile) {
  auto config = parse_config(config_with(R"(, "name": "node-a", "log_level": "debug",
      "timeouts_ms": {"propose": 900, "prevote": 200, "precommit": 250, "per_round": 50},
      "gossip_interval_ms": 150, "block_max_txs": 10, "mempool_max_txs": 20,
      "faults": {"delay_ms": 10, "loss": 0.25}, "p2p_plaintext": true,
      "full_nodes": [{"name": "f", "public_key": ")" + key_c + R"(", "address": "10.0.0.3:26600"}],
      "operator_public_key": ")" + key_b + R"(")"),
                             "/etc/bft");
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->chain_id, "test");
  EXPECT_EQ(config->name, "node-a");
  EXPECT_EQ(config->listen, (Endpoint{"127.0.0.1", 26600}));
  EXPECT_EQ(config->http, (Endpoint{"127.0.0.1", 26700}));
  EXPECT_EQ(config->key_file, std::filesystem::path("/etc/bft/a.key"));
  EXPECT_EQ(config->data_dir, std::filesystem::path("/etc/bft/data"));
  EXPECT_EQ(config->log_level, LogLevel::debug);
  EXPECT_EQ(config->propose_timeout.count(), 900);
  EXPECT_EQ(config->prevote_timeout.count(), 200);
  EXPECT_EQ(config->precommit_timeout.count(), 250);
  EXPECT_EQ(config->per_round_timeout.count(), 50);
  EXPECT_EQ(config->gossip_interval.count(), 150);
  EXPECT_EQ(config->block_max_txs, 10u);
  EXPECT_EQ(config->mempool_max_txs, 20u);
  EXPECT_EQ(config->fault_delay.count(), 10);
  EXPECT_DOUBLE_EQ(config->fault_loss, 0.25);
  EXPECT_TRUE(config->p2p_plaintext);
  ASSERT_EQ(config->validators.size(), 2u);
  EXPECT_EQ(config->validators[0].name, "a");
  EXPECT_EQ(config->validators[1].name, "10.0.0.2:26600");
  EXPECT_EQ(config->validators[1].power, 3u);
  EXPECT_EQ(config->validators[1].address, (Endpoint{"10.0.0.2", 26600}));
  ASSERT_EQ(config->full_nodes.size(), 1u);
  EXPECT_EQ(config->full_nodes[0].name, "f");
  EXPECT_EQ(config->full_nodes[0].power, 0u);
  EXPECT_EQ(crypto::to_hex(config->full_nodes[0].public_key), key_c);
  ASSERT_TRUE(config->operator_key);
  EXPECT_EQ(crypto::to_hex(*config->operator_key), key_b);
}

TEST(Config, ListsTheValidatorsOfHeightOneAndTheFullNodes) {
  auto config = parse_config(config_with(R"(, "full_nodes": [{"public_key": ")" + key_c + R"(", "address": "h:3"}])"), "/");
  ASSERT_TRUE(config.ok()) << config.error().message;
  const auto key = [](std::uint8_t seed_byte) {
    crypto::Seed seed{};
    seed.fill(seed_byte);
    return crypto::Ed25519Signer::from_seed(seed).public_key();
  };
  EXPECT_TRUE(config->lists(key(0xa)));
  EXPECT_TRUE(config->lists(key(0xb)));
  EXPECT_TRUE(config->lists(key(0xc)));
  EXPECT_FALSE(config->lists(key(0xd)));  // a joining node's own key
}

TEST(Config, DefaultsAndAbsolutePaths) {
  auto config = parse_config(R"({"chain_id": "c", "listen": "h:1", "http": "h:2", "key_file": "/k",
      "data_dir": "/d", "validators": [{"public_key": ")" + key_a + R"(", "address": "h:1"}]})",
                             "/base");
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->name, "h:1");
  EXPECT_EQ(config->key_file, std::filesystem::path("/k"));
  EXPECT_EQ(config->log_level, LogLevel::warn);
  EXPECT_EQ(config->fault_delay.count(), 0);
  EXPECT_FALSE(config->p2p_plaintext);
  EXPECT_TRUE(config->full_nodes.empty());
  EXPECT_FALSE(config->operator_key);
}

TEST(Config, ErrorsNameTheField) {
  const struct {
    std::string json;
    std::string mentions;
  } cases[] = {
      {"{", "not JSON"},
      {"[]", "must be an object"},
      {config_with(R"(, "log_level": "loud")"), "log_level"},
      {config_with(R"(, "timeouts_ms": {"propose": -5})"), "propose"},
      {config_with(R"(, "timeouts_ms": {"prevote": 0})"), "prevote"},
      {config_with(R"(, "block_max_txs": "many")"), "block_max_txs"},
      {config_with(R"(, "faults": {"loss": 2})"), "faults.loss"},
      {config_with("", "[]"), "validators"},
      {config_with("", R"([{"public_key": "xyz", "address": "h:1"}])"), "validators[0].public_key"},
      {config_with("", R"([{"public_key": ")" + key_a + R"(", "address": "nohost"}])"), "validators[0].address"},
      {config_with("", R"([{"public_key": ")" + key_a + R"(", "address": "h:1"}, {"public_key": ")" + key_a +
                           R"(", "address": "h:2"}])"),
       "appears twice"},
      {R"({"listen": "h:1"})", "chain_id"},
      // Strictness: a misspelled option is an error, not a silent default.
      {config_with(R"(, "gossip_interval": 100)"), "gossip_interval: unknown field"},
      {config_with(R"(, "timeouts_ms": {"propse": 100})"), "timeouts_ms.propse: unknown field"},
      {config_with(R"(, "faults": {"delay": 1})"), "faults.delay: unknown field"},
      {config_with(R"(, "p2p_plaintext": "yes")"), "p2p_plaintext"},
      {config_with("", R"([{"public_key": ")" + key_a + R"(", "address": "h:1", "weight": 2}])"),
       "validators[0].weight: unknown field"},
      {config_with("", R"([{"public_key": ")" + key_a + R"(", "address": "h:0"}])"), "validators[0].address: port 0"},
      // 64 hex digits that are no ed25519 point: no one could ever sign for this key.
      {config_with("", R"([{"public_key": ")" + std::string(64, 'a') + R"(", "address": "h:1"}])"),
       "not a valid ed25519 public key"},
      {config_with("", R"([{"public_key": ")" + key_a + R"(", "address": "h:1"}, {"public_key": ")" + key_b +
                           R"(", "address": "h:1"}])"),
       "validators[1].address"},
      // A full node has no power, and shares no key or endpoint with another node.
      {config_with(R"(, "full_nodes": [{"public_key": ")" + key_c + R"(", "address": "h:9", "power": 1}])"),
       "full_nodes[0].power: unknown field"},
      {config_with(R"(, "full_nodes": [{"public_key": ")" + key_a + R"(", "address": "h:9"}])"),
       "full_nodes[0].public_key"},
      {config_with(R"(, "full_nodes": [{"public_key": ")" + key_c + R"(", "address": "127.0.0.1:26600"}])"),
       "full_nodes[0].address"},
      {config_with(R"(, "full_nodes": {})"), "full_nodes"},
      {config_with(R"(, "operator_public_key": "12")"), "operator_public_key"},
      {config_with(R"(, "operator_public_key": ")" + std::string(64, 'a') + R"(")"), "operator_public_key"},
  };
  for (const auto& c : cases) {
    auto config = parse_config(c.json, "/");
    ASSERT_FALSE(config.ok()) << c.json;
    EXPECT_NE(config.error().message.find(c.mentions), std::string::npos) << config.error().message;
  }
}

TEST(Config, Endpoints) {
  EXPECT_EQ(*parse_endpoint("10.1.2.3:80"), (Endpoint{"10.1.2.3", 80}));
  EXPECT_EQ(*parse_endpoint("127.0.0.1:0"), (Endpoint{"127.0.0.1", 0}));  // listen anywhere
  for (const char* bad : {"", ":80", "host:", "host", "host:65536", "host:8x"})
    EXPECT_FALSE(parse_endpoint(bad).ok()) << bad;
}

TEST(Config, AMissingFileIsAnIoError) {
  EXPECT_EQ(load_config("/nonexistent/bft-node.json").error().code, Errc::io_error);
}

}  // namespace
}  // namespace bft::node
