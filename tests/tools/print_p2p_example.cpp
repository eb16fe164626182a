// Prints the worked example of docs/p2p.md (pinned by tests/p2p_wire_test.cpp), split into
// labelled fields: partner 2's node dials partner 1's on the test genesis, with ephemeral keys
// from fixed seeds. Not part of the build; it aborts if the field widths written here do not
// add up to the encoded bytes. Build by hand:
//
//   g++ -std=c++20 -I. tests/tools/print_p2p_example.cpp tests/fixtures.cpp
//       build/node/p2p/libpc_p2p.a build/ledger/libpc_ledger.a build/crypto/libpc_crypto.a
//       -lleveldb -lsodium -lpthread -o /tmp/print_p2p_example   (one line)
#define CATCH_CONFIG_RUNNER  // fixtures.cpp uses REQUIRE; this unit supplies Catch's runtime
#include <catch2/catch.hpp>

#include <cstdio>
#include <string>
#include <vector>

#include "crypto/check.hpp"
#include "node/p2p/wire.hpp"
#include "tests/fixtures.hpp"

namespace {

using namespace pc;
using namespace pc::node::p2p;

struct Field {
  std::string label;
  std::size_t size_bytes;
};

void annotate(const char* title, const Bytes& bytes, const std::vector<Field>& fields) {
  std::printf("\n%s (%zu bytes)\n\n| Offset | Size | Hex | Field |\n|---:|---:|---|---|\n", title, bytes.size());
  std::size_t offset = 0;
  for (const Field& field : fields) {
    PC_CHECK(offset + field.size_bytes <= bytes.size());
    const ByteSpan part = ByteSpan(bytes).subspan(offset, field.size_bytes);
    std::printf("| %zu | %zu | `%s` | %s |\n", offset, field.size_bytes, to_hex(part).c_str(), field.label.c_str());
    offset += field.size_bytes;
  }
  PC_CHECK(offset == bytes.size());
  std::printf("\nhex: %s\n", to_hex(bytes).c_str());
}

}  // namespace

int main() {
  crypto::initialize();
  const ledger::Genesis genesis = test::make_genesis();
  const auto dialer_key = test::seeded_key("partner 2 validator");
  const auto acceptor_key = test::seeded_key("partner 1 validator");
  const auto dialer_ephemeral = EphemeralKey::from_seed(crypto::sha256(as_bytes("dialer ephemeral")));
  const auto acceptor_ephemeral = EphemeralKey::from_seed(crypto::sha256(as_bytes("acceptor ephemeral")));

  const std::vector<Field> hello_fields = {
      {"magic \"PCP2\"", 4}, {"version 1", 1}, {"genesis hash", 32}, {"ephemeral X25519 key", 32}};
  annotate("Dialer's hello", encode_hello({genesis.hash(), dialer_ephemeral.public_key()}), hello_fields);
  annotate("Acceptor's hello", encode_hello({genesis.hash(), acceptor_ephemeral.public_key()}), hello_fields);

  auto dialer_keys = SessionKeys::derive(Role::dialer, dialer_ephemeral, acceptor_ephemeral.public_key());
  PC_CHECK(dialer_keys.ok());
  std::printf("\ndialer send key (= acceptor receive key): %s\n", to_hex(dialer_keys->send).c_str());
  std::printf("dialer receive key (= acceptor send key): %s\n", to_hex(dialer_keys->receive).c_str());

  const Bytes transcript = auth_transcript(Role::dialer, genesis.chain_id, genesis.hash(), dialer_ephemeral.public_key(),
                                           acceptor_ephemeral.public_key(), 2, dialer_key.public_key());
  annotate("Dialer's transcript", transcript,
           {{"tag \"PCHK\"", 4},
            {"version 1", 1},
            {"signer's role: 01 dialer", 1},
            {"chain id length", 1},
            {"chain id \"test-chain\"", genesis.chain_id.size()},
            {"genesis hash", 32},
            {"dialer's ephemeral key", 32},
            {"acceptor's ephemeral key", 32},
            {"signer's partner: 2", 2},
            {"signer's node key", 32}});

  const Auth auth{2, dialer_key.public_key(), dialer_key.sign(transcript)};
  annotate("Dialer's Auth body", encode_auth(auth), {{"partner 2", 2}, {"node key", 32}, {"signature", 64}});

  FrameSealer sealer(dialer_keys->send);
  auto auth_frame = sealer.seal(FrameKind::auth, encode_auth(auth));
  PC_CHECK(auth_frame.ok());
  annotate("Dialer's frame 0 (Auth)", *auth_frame,
           {{"length 115", 4}, {"ciphertext of kind 01 and the Auth body", 99}, {"Poly1305 tag", 16}});
  const std::string text = "hello, partner 1";
  auto message_frame = sealer.seal(FrameKind::message, as_bytes(text));
  PC_CHECK(message_frame.ok());
  annotate("Dialer's frame 1 (message \"hello, partner 1\")", *message_frame,
           {{"length 33", 4}, {"ciphertext of kind 02 and the payload", 17}, {"Poly1305 tag", 16}});

  const Bytes acceptor_transcript = auth_transcript(Role::acceptor, genesis.chain_id, genesis.hash(),
                                                    dialer_ephemeral.public_key(), acceptor_ephemeral.public_key(), 1,
                                                    acceptor_key.public_key());
  const Auth acceptor_auth{1, acceptor_key.public_key(), acceptor_key.sign(acceptor_transcript)};
  FrameSealer acceptor_sealer(dialer_keys->receive);
  auto acceptor_frame = acceptor_sealer.seal(FrameKind::auth, encode_auth(acceptor_auth));
  PC_CHECK(acceptor_frame.ok());
  annotate("Acceptor's frame 0 (Auth)", *acceptor_frame,
           {{"length 115", 4}, {"ciphertext of kind 01 and the Auth body", 99}, {"Poly1305 tag", 16}});
  return 0;
}
