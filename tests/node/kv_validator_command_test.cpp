// The KV application's operator commands: `validator <key> <power> <sequence> <signature>`
// in one canonical form, accepted only when the operator key signed it for this chain
// with the next sequence, turned into validator updates, and part of the app hash.
#include <gtest/gtest.h>

#include <cctype>

#include "bft/crypto/ed25519.hpp"
#include "bft/node/kv.hpp"
#include "bft/node/kv_application.hpp"
#include "temp_dir.hpp"

namespace bft::node {
namespace {

crypto::Ed25519Signer signer(std::uint8_t id) {
  crypto::Seed seed{};
  seed.fill(id);
  return crypto::Ed25519Signer::from_seed(seed);
}

const crypto::Ed25519Signer operator_key = signer(1);
const crypto::PublicKey validator_key = signer(2).public_key();
constexpr std::string_view chain = "kv-chain";

Tx order(std::uint64_t power, std::uint64_t sequence, const crypto::Signer& by = operator_key,
         std::string_view chain_id = chain) {
  return encode_validator_tx(sign_validator_command(by, chain_id, validator_key, power, sequence));
}

std::string text_of(const Tx& tx) { return std::string(tx.begin(), tx.end()); }
Tx tx(std::string_view text) { return Tx(text.begin(), text.end()); }

TEST(KvValidatorCommand, EncodesCanonicallyAndParsesBack) {
  const ValidatorCommand command = sign_validator_command(operator_key, chain, validator_key, 7, 12);
  const Tx encoded = encode_validator_tx(command);
  EXPECT_TRUE(is_validator_tx(encoded));
  EXPECT_EQ(text_of(encoded).substr(0, 10), "validator ");
  auto parsed = parse_validator_tx(encoded);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(*parsed, command);
  // Other spellings of the same order are not the order.
  const std::string text = text_of(encoded);
  std::string upper = text;
  for (std::size_t i = upper.size() - 128; i < upper.size(); ++i)
    upper[i] = static_cast<char>(std::toupper(static_cast<unsigned char>(upper[i])));
  ASSERT_NE(upper, text);
  const std::string key_hex = text.substr(10, 64);
  const std::string rest = text.substr(10 + 64 + 1);
  for (const std::string& bad : {upper, "validator " + key_hex + " 07 " + rest.substr(2), text + " ", text.substr(0, text.size() - 2),
                                 "validator " + key_hex + " x 12 " + text.substr(text.size() - 128),
                                 "validator " + key_hex + " 7 12", std::string("validator")}) {
    EXPECT_FALSE(parse_validator_tx(tx(bad)).ok()) << bad;
  }
}

class KvValidatorCommandApp : public ::testing::Test {
 protected:
  std::unique_ptr<KvApplication> open(std::optional<crypto::PublicKey> operator_public_key, const std::string& name = "a") {
    auto app = KvApplication::open((temp_.path() / name).string(),
                                   KvOptions{.operator_key = operator_public_key, .chain_id = std::string(chain)});
    EXPECT_TRUE(app.ok());
    return std::move(app).value();
  }

  static FinalizeBlockResult apply(KvApplication& app, const std::vector<Tx>& txs) {
    FinalizeBlockRequest request;
    request.header.height = app.info().last_height + 1;
    request.txs = txs;
    auto result = app.finalize_block(request);
    EXPECT_TRUE(result.ok());
    EXPECT_TRUE(app.commit().ok());
    return result.value();
  }

  testing::TempDir temp_{"bft-kv-validators"};
};

TEST_F(KvValidatorCommandApp, OnlyTheOperatorsNextOrderForThisChainBecomesAnUpdate) {
  auto app = open(operator_key.public_key());
  EXPECT_TRUE(app->check_tx(order(5, 1), CheckTxKind::fresh).ok());
  EXPECT_EQ(app->check_tx(order(5, 1, signer(3)), CheckTxKind::fresh).code, KvApplication::code_unauthorized);
  EXPECT_EQ(app->check_tx(order(5, 1, operator_key, "other-chain"), CheckTxKind::fresh).code,
            KvApplication::code_unauthorized);
  EXPECT_EQ(app->check_tx(tx("validator nonsense"), CheckTxKind::fresh).code, KvApplication::code_malformed_tx);

  // A stranger's order, a skipped sequence, the next one, and a later one for the same
  // key in the same block, which replaces the earlier.
  FinalizeBlockResult result = apply(*app, {order(9, 1, signer(3)), order(5, 2), order(5, 1), order(6, 2)});
  ASSERT_EQ(result.tx_results.size(), 4u);
  EXPECT_EQ(result.tx_results[0].code, KvApplication::code_unauthorized);
  EXPECT_EQ(result.tx_results[1].code, KvApplication::code_stale_sequence);
  EXPECT_EQ(result.tx_results[2].code, code_ok);
  EXPECT_EQ(result.tx_results[3].code, code_ok);
  ASSERT_EQ(result.validator_updates.size(), 1u);
  EXPECT_EQ(result.validator_updates[0].public_key, validator_key);
  EXPECT_EQ(result.validator_updates[0].power, 6u);

  // Used sequences are refused, in the pool and in blocks: a replayed order does nothing.
  EXPECT_EQ(app->check_tx(order(5, 1), CheckTxKind::fresh).code, KvApplication::code_stale_sequence);
  result = apply(*app, {order(5, 2)});
  EXPECT_EQ(result.tx_results[0].code, KvApplication::code_stale_sequence);
  EXPECT_TRUE(result.validator_updates.empty());
  const QueryResult sequence = app->query({std::string(KvApplication::operator_sequence_path), {}});
  EXPECT_EQ(std::string(sequence.value.begin(), sequence.value.end()), "2");
}

TEST_F(KvValidatorCommandApp, WithoutAnOperatorEveryOrderIsRefused) {
  auto app = open(std::nullopt);
  EXPECT_EQ(app->check_tx(order(5, 1), CheckTxKind::fresh).code, KvApplication::code_unauthorized);
  const FinalizeBlockResult result = apply(*app, {order(5, 1)});
  EXPECT_EQ(result.tx_results[0].code, KvApplication::code_unauthorized);
  EXPECT_TRUE(result.validator_updates.empty());
}

TEST_F(KvValidatorCommandApp, TheSequenceIsStateItsHashCoversAndARestartKeeps) {
  codec::Digest after_order;
  {
    auto app = open(operator_key.public_key());
    const codec::Digest empty = app->info().app_hash;
    after_order = apply(*app, {order(5, 1)}).app_hash;
    EXPECT_NE(after_order, empty);
  }
  auto app = open(operator_key.public_key());
  EXPECT_EQ(app->info().app_hash, after_order);
  EXPECT_EQ(app->check_tx(order(5, 1), CheckTxKind::fresh).code, KvApplication::code_stale_sequence);
  EXPECT_EQ(apply(*app, {order(7, 2)}).validator_updates.size(), 1u);
}

}  // namespace
}  // namespace bft::node
