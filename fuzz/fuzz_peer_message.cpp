// The peer message decoder (node/peer_messages.hpp) on arbitrary bytes: a typed 1xx error, or
// a message whose encoding is the input byte for byte (one encoding per message), that
// decodes again to the same type.
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_support.hpp"
#include "node/peer_messages.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  pc::fuzz::initialize_once();
  const pc::ByteSpan input(data, size);
  auto decoded = pc::node::decode_peer_message(input);
  if (!decoded) {
    const auto code = static_cast<unsigned>(decoded.error().code);
    FUZZ_CHECK(code >= 100 && code < 200);
    return 0;
  }
  const pc::Bytes encoded = pc::node::encode_peer_message(*decoded);
  FUZZ_CHECK(std::equal(encoded.begin(), encoded.end(), input.begin(), input.end()));
  auto again = pc::node::decode_peer_message(encoded);
  FUZZ_CHECK(again.ok() && again->index() == decoded->index());
  return 0;
}
