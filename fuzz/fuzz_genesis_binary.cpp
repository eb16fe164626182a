// decode_genesis on arbitrary bytes: a typed error, or a genesis whose encode() gives back
// the input byte for byte (its hash names one byte string). A decoded genesis is a Genesis
// like any other, so it must also survive genesis_to_json and parse back equal, as
// genesis.hpp promises.
#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_support.hpp"
#include "ledger/genesis.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  pc::fuzz::initialize_once();
  const pc::ByteSpan input(data, size);
  auto decoded = pc::ledger::decode_genesis(input);
  if (!decoded) {
    const auto code = static_cast<unsigned>(decoded.error().code);
    FUZZ_CHECK(code >= 100 && code < 200);
    return 0;
  }
  const pc::ledger::Genesis& genesis = *decoded;
  const pc::Bytes encoded = genesis.encode();
  FUZZ_CHECK(std::equal(encoded.begin(), encoded.end(), input.begin(), input.end()));

  auto parsed = pc::ledger::parse_genesis_json(pc::ledger::genesis_to_json(genesis));
  if (!parsed) std::fprintf(stderr, "%s\n", parsed.error().c_str());
  FUZZ_CHECK(parsed.ok());
  FUZZ_CHECK(*parsed == genesis);
  return 0;
}
