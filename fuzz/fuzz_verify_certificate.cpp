// Certificate verification on arbitrary bytes: never crashes, serial and parallel
// verification agree, and an accepted certificate really is a quorum of valid signatures
// from distinct validators, with power taken from the validator set.
#include <cstddef>
#include <cstdint>

#include "bft/codec/codec.hpp"
#include "bft/crypto/batch_verifier.hpp"
#include "bft/crypto/certificate.hpp"
#include "bft/crypto/signing.hpp"
#include "fixture.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace bft;
  using bft::fuzz::require;
  static crypto::BatchVerifier batch(2);
  const fuzz::Network& net = fuzz::network();

  auto certificate = codec::decode_certificate({data, size}, fuzz::fuzz_limits());
  if (!certificate.ok()) return 0;
  const Result<void> serial =
      crypto::verify_certificate(*certificate, net.chain, net.validators, net.keys);
  const Result<void> parallel =
      crypto::verify_certificate(*certificate, net.chain, net.validators, net.keys, &batch);
  require(serial.ok() == parallel.ok() && (serial.ok() || serial.error().code == parallel.error().code),
          "serial and batch verification agree");
  if (!serial.ok()) return 0;

  std::uint64_t power = 0;
  for (const codec::VoteSignature& signature : certificate->signatures) {
    const auto index = net.validators.index_of(signature.voter);
    require(index.has_value(), "every voter of an accepted certificate is a validator");
    power += net.validators[*index].power;
    const codec::SignedVote vote{certificate->vote_of(signature), signature.signature};
    require(crypto::verify_vote(vote, net.chain, net.keys).ok(),
            "every signature of an accepted certificate verifies on its own");
  }
  require(net.validators.is_quorum(power), "an accepted certificate holds a quorum of power");
  return 0;
}
