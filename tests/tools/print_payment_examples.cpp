// Prints the golden vectors of paying with points (tests/golden_test.cpp, "[payments]"; the
// worked examples of docs/protocol.md): SetPointValue, a payment request in both forms and its
// id, PayWithPoints, and the point value, payment and payment totals records. Not part of the
// build; it needs only the ledger and crypto libraries, so a coordinator who changes an
// encoding regenerates the vectors with (one line):
//
//   g++ -std=c++20 -I. tests/tools/print_payment_examples.cpp build/ledger/libpc_ledger.a
//       build/crypto/libpc_crypto.a -lleveldb -lsodium -o /tmp/print_payment_examples
#include <cstdio>
#include <string>

#include "crypto/hash.hpp"
#include "crypto/keys.hpp"
#include "ledger/payment.hpp"
#include "ledger/state.hpp"
#include "ledger/transaction.hpp"

namespace {

using namespace pc;

crypto::SecretKey seeded_key(std::string_view label) { return crypto::SecretKey::from_seed(crypto::sha256(as_bytes(label))); }

ledger::UnsignedTransaction fields_with(std::uint64_t sequence, ledger::TxBody body) {
  ledger::UnsignedTransaction fields;
  fields.chain_id = "test-chain";
  fields.sequence = sequence;
  fields.last_valid_height = 1'000;
  fields.body = std::move(body);
  return fields;
}

void print(const char* label, const std::string& value) { std::printf("%s %s\n", label, value.c_str()); }

}  // namespace

int main() {
  crypto::initialize();
  const crypto::SecretKey partner_2 = seeded_key("partner 2 issuer");
  const crypto::SecretKey customer_1 = seeded_key("customer 1");
  const ledger::Transaction set =
      ledger::Transaction::sign(fields_with(1, ledger::SetPointValue{2, {"EUR", 1, 2}}), partner_2);
  print("set_point_value_hex", to_hex(set.bytes()));
  print("set_point_value_id", to_hex(set.id()));

  const ledger::SignedPaymentRequest request = ledger::sign_payment_request(
      {"test-chain", 2, "till-7-0042", 250, "EUR", 500, 1'767'225'600'000, 0x0123456789abcdef}, partner_2);
  print("payment_request_hex", to_hex(request.encode()));
  print("payment_request_id", to_hex(request.request.id()));
  print("payment_request_text", request.text());

  const ledger::Transaction pay =
      ledger::Transaction::sign(fields_with(1, ledger::PayWithPoints{customer_1.public_key(), request}), customer_1);
  print("pay_with_points_hex", to_hex(pay.bytes()));
  print("pay_with_points_id", to_hex(pay.id()));

  print("point_value_key", to_hex(ledger::record::point_value_key(2)));
  print("point_value_record", to_hex(ledger::record::encode(ledger::PointValueRecord{{"EUR", 1, 2}, 1, 1})));
  print("payment_key", to_hex(ledger::record::payment_key(request.request.id())));
  print("payment_record", to_hex(ledger::record::encode(ledger::PaymentRecord{
                              2, customer_1.public_key(), "till-7-0042", 250, "EUR", 500, 2, 1'767'225'000'000, pay.id()})));
  print("payment_totals_key", to_hex(ledger::record::payment_totals_key(2, "EUR")));
  print("payment_totals_record", to_hex(ledger::record::encode(ledger::PaymentTotals{1, 500, 250})));
  return 0;
}
