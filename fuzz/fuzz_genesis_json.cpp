// parse_genesis_json on arbitrary text: an error message, or a genesis that the binary
// codec accepts as it is (JSON and binary validation agree) and that genesis_to_json writes
// back to an equal genesis. JSON has many spellings of one value, so there is no byte round
// trip on the text itself.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz/fuzz_support.hpp"
#include "ledger/genesis.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  pc::fuzz::initialize_once();
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = pc::ledger::parse_genesis_json(text);
  if (!parsed) return 0;
  const pc::ledger::Genesis& genesis = *parsed;
  auto decoded = pc::ledger::decode_genesis(genesis.encode());
  if (!decoded) std::fprintf(stderr, "%s\n", decoded.error().message().c_str());
  FUZZ_CHECK(decoded.ok());
  FUZZ_CHECK(*decoded == genesis);

  auto reparsed = pc::ledger::parse_genesis_json(pc::ledger::genesis_to_json(genesis));
  FUZZ_CHECK(reparsed.ok());
  FUZZ_CHECK(*reparsed == genesis);
  return 0;
}
