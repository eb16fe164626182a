// A till's payment request from arbitrary input (docs/protocol.md, "Payment requests"), as a
// wallet reads it off a QR code: the first byte chooses the form (even: the canonical bytes,
// odd: the PCPAY: text), the rest is the input. Properties:
//  - malformed input is a typed error of the 1xx class, never a crash;
//  - a decoded request re-encodes to exactly the input (bytes), or prints back to exactly the
//    input (text): one encoding per request, so its id cannot be malleated;
//  - the two forms agree: the text of decoded bytes parses back to the same request;
//  - a decoded request passes validate_payment_request, and its id is that of its fields alone.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz/fuzz_support.hpp"
#include "ledger/payment.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace ledger = pc::ledger;
  if (size == 0) return 0;
  const bool text_form = (data[0] & 1) != 0;
  const pc::ByteSpan input(data + 1, size - 1);
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  const auto decoded = text_form ? ledger::parse_payment_request(text) : ledger::decode_payment_request(input);
  if (!decoded) {
    const auto code = static_cast<unsigned>(decoded.error().code);
    FUZZ_CHECK(code >= 100 && code < 200);
    return 0;
  }
  const ledger::SignedPaymentRequest& request = *decoded;
  if (text_form) {
    FUZZ_CHECK(request.text() == text);
  } else {
    const pc::Bytes bytes = request.encode();
    FUZZ_CHECK(std::equal(bytes.begin(), bytes.end(), input.begin(), input.end()));
  }
  FUZZ_CHECK(request.text().size() <= ledger::payment_request_text_chars_max);
  const auto again = ledger::parse_payment_request(request.text());
  FUZZ_CHECK(again.ok() && *again == request);
  FUZZ_CHECK(ledger::validate_payment_request(request.request).ok());
  ledger::SignedPaymentRequest resigned = request;
  resigned.signature[0] ^= 1;
  FUZZ_CHECK(resigned.request.id() == request.request.id());
  return 0;
}
