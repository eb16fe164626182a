// A stored evidence record (ledger/store.hpp) as the chain store reads it back: the first 15
// bytes of the input are the key's id (height, round, vote type, validator, big-endian), the
// rest the value. EvidencePosition::decode takes exactly 15 bytes and gives a position that
// encodes back to them; decode_evidence_record gives corruption, or evidence whose encoding
// is the value and whose position is the id. (Evidence::decode alone is fuzz_consensus_message.)
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_support.hpp"
#include "ledger/store.hpp"

namespace {
// The id's length: 8 + 4 + 1 + 2 (EvidencePosition::encode).
constexpr std::size_t evidence_id_bytes = 15;
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using pc::ledger::EvidencePosition;
  pc::fuzz::initialize_once();
  const pc::ByteSpan input(data, size);
  FUZZ_CHECK(EvidencePosition::decode(input).has_value() == (size == evidence_id_bytes));

  const pc::ByteSpan id = input.first(std::min(size, evidence_id_bytes));
  const pc::ByteSpan value = input.subspan(id.size());
  if (const auto position = EvidencePosition::decode(id)) {
    const pc::Bytes encoded = position->encode();
    FUZZ_CHECK(std::equal(encoded.begin(), encoded.end(), id.begin(), id.end()));
    FUZZ_CHECK(EvidencePosition::decode(encoded) == position);
  }
  const auto evidence = pc::ledger::decode_evidence_record(id, value);
  if (!evidence) {
    FUZZ_CHECK(evidence.error().code == pc::ledger::Code::corruption);
    return 0;
  }
  const pc::Bytes encoded = evidence->encode();
  FUZZ_CHECK(std::equal(encoded.begin(), encoded.end(), value.begin(), value.end()));
  const pc::Bytes position = EvidencePosition::of(*evidence).encode();
  FUZZ_CHECK(std::equal(position.begin(), position.end(), id.begin(), id.end()));
  return 0;
}
