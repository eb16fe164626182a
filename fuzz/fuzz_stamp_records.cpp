// The value decoders of the stamp card and badge records, and of voucher records (both
// versions), on arbitrary bytes, as a damaged store would hand them over (docs/protocol.md,
// "State records"). Layout: a selector byte (mod 6: stamp card, stamp progress, stamps given,
// badge, badge progress, voucher), then the value. Property: corruption, or a value that
// re-encodes to exactly the input.
#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_support.hpp"

namespace {

template <class Value>
void check_round_trip(const pc::ledger::Result<Value>& decoded, pc::ByteSpan value) {
  namespace ledger = pc::ledger;
  if (!decoded) {
    FUZZ_CHECK(decoded.error().code == ledger::Code::corruption);
    return;
  }
  const pc::Bytes encoded = ledger::record::encode(*decoded);
  FUZZ_CHECK(std::equal(encoded.begin(), encoded.end(), value.begin(), value.end()));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace ledger = pc::ledger;
  if (size == 0) return 0;
  const pc::ByteSpan value(data + 1, size - 1);
  switch (data[0] % 6) {
    case 0: check_round_trip(ledger::record::decode_stamp_card_value(value), value); break;
    case 1: check_round_trip(ledger::record::decode_stamp_progress_value(value), value); break;
    case 2: check_round_trip(ledger::record::decode_stamps_given_value(value), value); break;
    case 3: check_round_trip(ledger::record::decode_badge_value(value), value); break;
    case 4: check_round_trip(ledger::record::decode_badge_progress_value(value), value); break;
    default: check_round_trip(ledger::record::decode_voucher_value(value), value); break;
  }
  return 0;
}
