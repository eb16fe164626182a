// ledger::parse_voucher_code on arbitrary text, as a till or a wallet hands over what a person
// typed (docs/protocol.md, "Vouchers"). Properties:
//  - a parsed code is canonical (is_voucher_code), and parsing it or its printed form gives it back;
//  - text longer than voucher_input_chars_max never parses;
//  - a canonical code parses to itself.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz/fuzz_support.hpp"
#include "ledger/voucher.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace ledger = pc::ledger;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const std::optional<std::string> code = ledger::parse_voucher_code(text);
  if (ledger::is_voucher_code(text)) FUZZ_CHECK(code && *code == text);
  if (!code) return 0;
  FUZZ_CHECK(size <= ledger::voucher_input_chars_max);
  FUZZ_CHECK(ledger::is_voucher_code(*code));
  FUZZ_CHECK(ledger::parse_voucher_code(*code) == code);
  FUZZ_CHECK(ledger::parse_voucher_code(ledger::format_voucher_code(*code)) == code);
  return 0;
}
