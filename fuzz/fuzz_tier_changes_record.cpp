// A stored tier change record (ledger/store.hpp; docs/protocol.md, "Store layout") as the chain
// store reads it back for the webhook queue: decode_tier_changes gives corruption, or changes,
// none keeping its tier, whose encoding is exactly the input (the record has one encoding).
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_support.hpp"
#include "ledger/store.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  pc::fuzz::initialize_once();
  const pc::ByteSpan input(data, size);
  const auto changes = pc::ledger::decode_tier_changes(input);
  if (!changes) {
    FUZZ_CHECK(changes.error().code == pc::ledger::Code::corruption);
    return 0;
  }
  for (const pc::ledger::TierChange& change : *changes) FUZZ_CHECK(change.from_tier != change.to_tier);
  const pc::Bytes encoded = pc::ledger::encode_tier_changes(*changes);
  FUZZ_CHECK(std::equal(encoded.begin(), encoded.end(), input.begin(), input.end()));
  return 0;
}
