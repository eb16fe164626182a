#include "ledger/payment.hpp"

#include "crypto/check.hpp"
#include "crypto/domains.hpp"
#include "ledger/codec.hpp"
#include "ledger/limits.hpp"
#include "ledger/transaction.hpp"
#include "ledger/voucher.hpp"

namespace pc::ledger {
namespace {

constexpr std::uint8_t payment_request_version = 1;

Error invalid(std::string detail) { return Error{Code::invalid_field, std::move(detail)}; }

// Crockford's base 32 (the voucher alphabet), most significant bit first, the last character
// padded with zero bits.
std::string base32(ByteSpan bytes) {
  std::string out;
  out.reserve((bytes.size() * 8 + 4) / 5);
  std::uint32_t pending = 0;
  int pending_bits = 0;
  for (std::uint8_t byte : bytes) {
    pending = (pending << 8) | byte;
    pending_bits += 8;
    while (pending_bits >= 5) {
      pending_bits -= 5;
      out.push_back(voucher_alphabet[(pending >> pending_bits) & 0x1f]);
    }
  }
  if (pending_bits > 0) out.push_back(voucher_alphabet[(pending << (5 - pending_bits)) & 0x1f]);
  return out;
}

// The inverse of base32(): nullopt for a character outside the alphabet, a length no byte count
// encodes to, or padding bits that are not zero (each of which would let two texts mean one
// request).
std::optional<Bytes> from_base32(std::string_view text) {
  Bytes out;
  out.reserve(text.size() * 5 / 8);
  std::uint32_t pending = 0;
  int pending_bits = 0;
  for (char c : text) {
    const std::size_t value = voucher_alphabet.find(c);
    if (value == std::string_view::npos) return std::nullopt;
    pending = (pending << 5) | static_cast<std::uint32_t>(value);
    pending_bits += 5;
    if (pending_bits >= 8) {
      pending_bits -= 8;
      out.push_back(static_cast<std::uint8_t>(pending >> pending_bits));
      pending &= (1u << pending_bits) - 1;
    }
  }
  if (pending_bits >= 5 || pending != 0) return std::nullopt;
  return out;
}

}  // namespace

std::optional<std::uint64_t> points_for_amount(std::uint64_t amount_minor, const PointValue& value) {
  PC_CHECK(value.minor_units > 0);
  // amount < 2^64 and points <= point_value_term_max: the product fits in 128 bits.
  __extension__ using Wide = unsigned __int128;
  const Wide points = (Wide{amount_minor} * Wide{value.points} + Wide{value.minor_units} - 1) / Wide{value.minor_units};
  if (points > Wide{UINT64_MAX}) return std::nullopt;
  return static_cast<std::uint64_t>(points);
}

void encode_point_value(Writer& out, const PointValue& value) {
  out.raw(as_bytes(value.currency));
  out.u64(value.minor_units);
  out.u64(value.points);
}

PointValue decode_point_value(Reader& in) {
  PointValue value;
  const ByteSpan currency = in.raw(3);
  value.currency.assign(currency.begin(), currency.end());
  value.minor_units = in.u64();
  value.points = in.u64();
  return value;
}

Status validate_point_value(const PointValue& value) {
  if (!is_currency_code(value.currency)) return invalid("currency must be an ISO 4217 code of three capital letters");
  if (value.minor_units == 0 || value.minor_units > point_value_term_max || value.points == 0 ||
      value.points > point_value_term_max) {
    return invalid("minor_units and points must each be 1 to " + std::to_string(point_value_term_max));
  }
  return {};
}

Status validate_payment_request(const PaymentRequest& request) {
  if (!is_valid_chain_id(request.chain_id)) return invalid("chain id must be 1 to 32 characters of a-z 0-9 . -");
  if (request.partner == 0) return invalid("partner id 0 is reserved");
  if (!is_reference_text(request.order_id)) return invalid("order id must be 1 to 64 printable ASCII characters, no spaces");
  if (request.amount_minor == 0 || request.amount_minor > static_cast<std::uint64_t>(INT64_MAX)) {
    return invalid("amount_minor must be 1 to 2^63 - 1");
  }
  if (!is_currency_code(request.currency)) return invalid("currency must be an ISO 4217 code of three capital letters");
  if (request.points == 0) return invalid("points must be positive");
  if (request.expires_at_ms == 0 || request.expires_at_ms > block_time_ms_max) {
    return invalid("expires_at_ms must be 1 to 253402300799000");
  }
  return {};
}

namespace {

void encode_fields(Writer& out, const PaymentRequest& request) {
  out.u8(payment_request_version);
  out.string(request.chain_id);
  out.u16(request.partner);
  out.string(request.order_id);
  out.u64(request.amount_minor);
  out.raw(as_bytes(request.currency));
  out.u64(request.points);
  out.u64(request.expires_at_ms);
  out.u64(request.nonce);
}

}  // namespace

Bytes PaymentRequest::encode() const {
  Writer out;
  encode_fields(out, *this);
  return out.take();
}

Bytes PaymentRequest::signing_message() const {
  Bytes message(domain::payment_request.begin(), domain::payment_request.end());
  const Bytes encoded = encode();
  message.insert(message.end(), encoded.begin(), encoded.end());
  return message;
}

crypto::Hash256 PaymentRequest::id() const { return crypto::tagged_hash(domain::payment_request_id, {encode()}); }

void encode_payment_request(Writer& out, const SignedPaymentRequest& signed_request) {
  encode_fields(out, signed_request.request);
  out.raw(signed_request.signature);
}

SignedPaymentRequest decode_payment_request(Reader& in) {
  SignedPaymentRequest out;
  PaymentRequest& request = out.request;
  const std::uint8_t version = in.u8();
  if (in.ok() && version != payment_request_version) {
    in.fail(Code::unknown_version, "payment request version " + std::to_string(version));
  }
  request.chain_id = in.string(chain_id_bytes_max, "chain id");
  request.partner = in.u16();
  request.order_id = in.string(reference_bytes_max, "order id");
  request.amount_minor = in.u64();
  const ByteSpan currency = in.raw(3);
  request.currency.assign(currency.begin(), currency.end());
  request.points = in.u64();
  request.expires_at_ms = in.u64();
  request.nonce = in.u64();
  out.signature = in.fixed<64>();
  return out;
}

Bytes SignedPaymentRequest::encode() const {
  Writer out;
  encode_payment_request(out, *this);
  return out.take();
}

std::string SignedPaymentRequest::text() const {
  return std::string(payment_request_text_prefix) + base32(encode());
}

bool SignedPaymentRequest::signed_by(const crypto::PublicKey& key) const {
  return crypto::verify_prevalidated(key, request.signing_message(), signature);
}

SignedPaymentRequest sign_payment_request(PaymentRequest request, const crypto::SecretKey& issuer_key) {
  const crypto::Signature signature = issuer_key.sign(request.signing_message());
  return SignedPaymentRequest{std::move(request), signature};
}

Result<SignedPaymentRequest> decode_payment_request(ByteSpan bytes) {
  Reader in(bytes);
  SignedPaymentRequest decoded = decode_payment_request(in);
  if (auto status = in.finish(); !status) return status.error();
  if (auto status = validate_payment_request(decoded.request); !status) return status.error();
  // The one length prefix in each string is checked minimal by the Reader, and every other
  // field is fixed-width, so re-encoding gives back the input; asserted, not assumed.
  PC_CHECK(decoded.encode() == Bytes(bytes.begin(), bytes.end()));
  return decoded;
}

Result<SignedPaymentRequest> parse_payment_request(std::string_view text) {
  if (text.size() > payment_request_text_chars_max) {
    return Error{Code::too_large, "a payment request is at most " + std::to_string(payment_request_text_chars_max) +
                                      " characters; this one has " + std::to_string(text.size())};
  }
  if (!text.starts_with(payment_request_text_prefix)) {
    return Error{Code::invalid_field, "a payment request starts with " + std::string(payment_request_text_prefix)};
  }
  const std::optional<Bytes> bytes = from_base32(text.substr(payment_request_text_prefix.size()));
  if (!bytes) {
    return Error{Code::invalid_field, "a payment request is PCPAY: and upper-case base 32 (0-9, A-Z without I, L, O, U)"};
  }
  return decode_payment_request(*bytes);
}

}  // namespace pc::ledger
