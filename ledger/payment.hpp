// Paying with points at a till (docs/protocol.md, "Payment requests"; docs/loyalty.md,
// "Paying with points"). A partner declares what its points are worth (PointValue, set by
// SetPointValue); its till asks its node for a payment request, which the partner's issuer key
// signs; the customer's wallet reads the request off a QR code and signs a PayWithPoints that
// carries the whole signed request. The chain refuses a request paid before, expired,
// tampered with, of another chain, or whose points do not match the rate in force.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "crypto/hash.hpp"
#include "crypto/keys.hpp"
#include "ledger/errors.hpp"

namespace pc::ledger {

class Writer;
class Reader;

// `points` points are worth `minor_units` of `currency` at the partner's tills: an exact ratio,
// so that a point worth half a cent is {"EUR", 1, 2}. Both terms are 1 to point_value_term_max.
struct PointValue {
  std::string currency;           // ISO 4217 alphabetic code: three letters A-Z
  std::uint64_t minor_units = 0;
  std::uint64_t points = 0;

  bool operator==(const PointValue&) const = default;
};

// The fewest points whose value covers `amount_minor` at `value`: ceil(amount × points /
// minor_units), so the till never gets less than the amount. nullopt when that passes 2^64 - 1.
// Precondition: value.minor_units > 0.
std::optional<std::uint64_t> points_for_amount(std::uint64_t amount_minor, const PointValue& value);

// What a till asks the customer to pay. Every field is signed by the partner's issuer key.
struct PaymentRequest {
  std::string chain_id;
  std::uint16_t partner = 0;
  std::string order_id;           // the till's order: 1-64 printable ASCII characters, no spaces
  std::uint64_t amount_minor = 0; // 1 to 2^63 - 1, in minor units of `currency`
  std::string currency;
  std::uint64_t points = 0;       // points_for_amount(amount_minor, the rate in force); > 0
  std::uint64_t expires_at_ms = 0;  // payable in blocks whose time is at most this
  std::uint64_t nonce = 0;        // makes two requests for one order different

  // The canonical encoding without the signature (docs/protocol.md, "Payment requests").
  Bytes encode() const;
  // What the partner signs: the payment_request prefix followed by encode().
  Bytes signing_message() const;
  // tagged_hash(payment_request_id, encode()): the request's id. The signature is not part of
  // it, so a request signed twice is still one request (and can be paid once).
  crypto::Hash256 id() const;

  bool operator==(const PaymentRequest&) const = default;
};

struct SignedPaymentRequest {
  PaymentRequest request;
  crypto::Signature signature{};

  // encode() of the request followed by the 64 signature bytes.
  Bytes encode() const;
  // "PCPAY:" and the canonical bytes in upper-case Crockford base 32 (no look-alikes, and every
  // character is in a QR code's compact alphanumeric mode).
  std::string text() const;
  // True when the partner's issuer key `key` signed exactly these fields.
  bool signed_by(const crypto::PublicKey& key) const;

  bool operator==(const SignedPaymentRequest&) const = default;
};

SignedPaymentRequest sign_payment_request(PaymentRequest request, const crypto::SecretKey& issuer_key);

// The checks a decoder makes on the fields: ranges and character sets (invalid_field).
Status validate_payment_request(const PaymentRequest& request);

// Canonical bytes to a signed request: every malformed input is a typed error (Code 1xx), and
// only the canonical encoding is accepted. The signature is not checked here.
Result<SignedPaymentRequest> decode_payment_request(ByteSpan bytes);
// The text form, exactly as text() writes it (at most payment_request_text_chars_max).
Result<SignedPaymentRequest> parse_payment_request(std::string_view text);

inline constexpr std::string_view payment_request_text_prefix = "PCPAY:";
// The longest canonical request (a 32-byte chain id, a 64-byte order id) is 200 bytes: 326
// characters of base 32 with the prefix. Anything longer is refused before decoding.
inline constexpr std::size_t payment_request_text_chars_max = 400;

// Shared with the transaction codec, which embeds a signed request in PayWithPoints.
void encode_payment_request(Writer& out, const SignedPaymentRequest& signed_request);
SignedPaymentRequest decode_payment_request(Reader& in);
void encode_point_value(Writer& out, const PointValue& value);
PointValue decode_point_value(Reader& in);
Status validate_point_value(const PointValue& value);

}  // namespace pc::ledger
