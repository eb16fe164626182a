// Paying with points at a till (protocol version 4; docs/protocol.md "Payment requests" and
// "State machine rules", docs/loyalty.md "Paying with points"): a partner's point value, the
// payment request's canonical bytes and text, a PayWithPoints taking exactly the request's
// points like a Redeem at that partner, the money totals, and every refusal changing nothing.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "ledger/codec.hpp"
#include "ledger/limits.hpp"
#include "ledger/payment.hpp"
#include "ledger/protocol.hpp"
#include "ledger/state.hpp"
#include "ledger/voucher.hpp"
#include "tests/fixtures.hpp"
#include "tests/state_support.hpp"

namespace {

using namespace pc;
using ledger::Code;
using ledger::PointValue;
using ledger::SignedPaymentRequest;
using ledger::Transaction;
using pc::test::GenesisOptions;
using pc::test::TestChain;
using pc::test::TxFactory;
using namespace pc::test::state;

GenesisOptions payments_options() {
  GenesisOptions options;
  options.protocol_version = 4;
  return options;
}

// Half a cent a point: 1 minor unit per 2 points.
const PointValue half_cent{"EUR", 1, 2};

// Alice holds 1000 points of partner 1; partner 2 takes points at half a cent.
struct PayingChain {
  TestChain chain{payments_options()};
  TxFactory& txs = chain.txs;
  crypto::SecretKey alice = TxFactory::customer(1);

  PayingChain() {
    commit_at(chain, at_day(1), {txs.issue(1, alice.public_key(), 1'000, "order-1"), txs.set_point_value(2, half_cent)});
  }
};

}  // namespace

TEST_CASE("a payment request is paid with exactly its points at the rate in force", "[ledger][payments]") {
  // Proves the main path: a 2.50 EUR request at half a cent a point is 500 points; paying it
  // takes them like a Redeem at partner 2 (settlement 1 -> 2), records the paid request under
  // its id, adds the money to partner 2's EUR totals, and survives a reopen of the store.
  PayingChain paying;
  TestChain& chain = paying.chain;
  const SignedPaymentRequest request = paying.txs.payment_request(2, "till-7", 250, "EUR", 500, at_day(3));
  const Transaction pay = paying.txs.pay_with_points(paying.alice, request);
  commit_at(chain, at_day(2), {pay});

  CHECK(balance_of(chain, paying.alice.public_key()) == 500);
  CHECK(stats_of(chain, 2).redeemed_at == 500);
  CHECK(chain.state().settlement(1, 2) == 500);
  const ledger::PaymentRecord* paid = chain.state().payment(request.request.id());
  REQUIRE(paid != nullptr);
  CHECK(*paid == ledger::PaymentRecord{2, paying.alice.public_key(), "till-7", 250, "EUR", 500, 2, at_day(2), pay.id()});
  const auto& totals = chain.state().payment_totals();
  REQUIRE(totals.size() == 1);
  CHECK(totals.at({2, "EUR"}) == ledger::PaymentTotals{1, 500, 250});
  const std::vector<ledger::Record> records = chain.state().records();
  chain.reopen();
  CHECK(chain.state().records() == records);
}

TEST_CASE("the points of an amount are the fewest that cover it, in exact integers", "[ledger][payments]") {
  // Proves points_for_amount: ceil(amount × points / minor_units) for a point worth half a
  // cent, three cents, and a millionth of a cent, and nullopt past 2^64 - 1.
  CHECK(ledger::points_for_amount(250, half_cent) == 500u);
  CHECK(ledger::points_for_amount(1, half_cent) == 2u);
  const PointValue three_cents{"EUR", 3, 1};
  CHECK(ledger::points_for_amount(9, three_cents) == 3u);
  CHECK(ledger::points_for_amount(10, three_cents) == 4u);  // 3.33 rounds up: the till gets at least 10
  const PointValue tiny{"EUR", 1, ledger::point_value_term_max};
  CHECK(ledger::points_for_amount(7, tiny) == 7'000'000u);
  CHECK_FALSE(ledger::points_for_amount(UINT64_MAX, tiny).has_value());
}

TEST_CASE("a point value is in force from its block and replaced by the next", "[ledger][payments]") {
  // Proves SetPointValue: the record keeps the value, its revision and the height it took
  // effect; a request made at the old rate is point_value_mismatch once a new rate is in force,
  // and a new rate set earlier in the same block applies to a payment later in it.
  PayingChain paying;
  TestChain& chain = paying.chain;
  const ledger::PointValueRecord* value = chain.state().point_value(2);
  REQUIRE(value != nullptr);
  CHECK(*value == ledger::PointValueRecord{half_cent, 1, 1});

  // The new value, earlier in the block, already prices the payment after it (the block,
  // at height 2, is committed with the SetPointValue alone).
  const PointValue one_cent{"EUR", 1, 1};
  const SignedPaymentRequest old_rate = paying.txs.payment_request(2, "till-1", 100, "EUR", 200, at_day(9));
  const Transaction raise = paying.txs.set_point_value(2, one_cent);
  expect_refused(chain, paying.txs.pay_with_points(paying.alice, old_rate), Code::point_value_mismatch, {raise});
  give_back_sequence(paying.txs, paying.alice.public_key());
  CHECK(*chain.state().point_value(2) == ledger::PointValueRecord{one_cent, 2, 2});

  const SignedPaymentRequest new_rate = paying.txs.payment_request(2, "till-2", 100, "EUR", 100, at_day(9));
  commit_at(chain, at_day(2), {paying.txs.pay_with_points(paying.alice, new_rate)});
  CHECK(balance_of(chain, paying.alice.public_key()) == 900);
}

TEST_CASE("each refusal of a payment is its own code and changes nothing", "[ledger][payments]") {
  // Proves payment_request_paid (in a later block and within one block),
  // payment_request_expired (the expiry itself is still payable), payment_request_bad_signature
  // (a field changed after signing; another partner's signature), payment_request_wrong_chain,
  // point_value_mismatch (points off by one, another currency), no_point_value, unknown_partner
  // and insufficient_balance: each leaves the state as it was.
  PayingChain paying;
  TestChain& chain = paying.chain;
  TxFactory& txs = paying.txs;
  const auto& alice = paying.alice;
  // Each refusal commits a block (without it): times climb, all before the request's expiry.
  std::uint64_t time_ms = at_day(2) - 60'000;
  const auto refuse = [&](const SignedPaymentRequest& request, Code code) {
    time_ms += 1'000;
    expect_refused(chain, txs.pay_with_points(alice, request), code, {}, time_ms);
    give_back_sequence(txs, alice.public_key());
  };

  const SignedPaymentRequest request = txs.payment_request(2, "till-1", 100, "EUR", 200, at_day(2));
  SignedPaymentRequest altered = request;
  altered.request.amount_minor = 1'000;
  altered.request.points = 2'000;
  refuse(altered, Code::payment_request_bad_signature);
  SignedPaymentRequest forged = txs.payment_request(3, "till-1", 100, "EUR", 200, at_day(2));
  forged.request.partner = 2;
  refuse(forged, Code::payment_request_bad_signature);
  const TxFactory other_chain("other-chain");
  refuse(other_chain.payment_request(2, "till-1", 100, "EUR", 200, at_day(2)), Code::payment_request_wrong_chain);
  refuse(txs.payment_request(2, "till-1", 100, "EUR", 199, at_day(2)), Code::point_value_mismatch);
  refuse(txs.payment_request(2, "till-1", 100, "USD", 200, at_day(2)), Code::point_value_mismatch);
  refuse(txs.payment_request(3, "till-1", 100, "EUR", 200, at_day(2)), Code::no_point_value);
  refuse(txs.payment_request(2, "till-1", 600, "EUR", 1'200, at_day(2)), Code::insufficient_balance);
  refuse(txs.payment_request(9, "till-1", 100, "EUR", 200, at_day(2)), Code::unknown_partner);

  // Paid once: a second payment in the same block is refused there, and in a later block the
  // same request signed again by the partner (one id: the signature is not part of it) too.
  const Transaction first = txs.pay_with_points(alice, request);
  const Transaction again = txs.pay_with_points(alice, request);
  expect_refused(chain, again, Code::payment_request_paid, {first}, time_ms += 1'000);
  give_back_sequence(txs, alice.public_key());
  refuse(txs.payment_request(2, "till-1", 100, "EUR", 200, at_day(2)), Code::payment_request_paid);
  CHECK(chain.state().payment(request.request.id())->tx_id == first.id());

  // Expiry: payable in a block at exactly expires_at_ms, not one millisecond later.
  commit_at(chain, at_day(2), {txs.pay_with_points(alice, txs.payment_request(2, "till-2", 100, "EUR", 200, at_day(2)))});
  expect_refused(chain, txs.pay_with_points(alice, txs.payment_request(2, "till-3", 100, "EUR", 200, at_day(2))),
                 Code::payment_request_expired, {}, at_day(2) + 1);
  CHECK(balance_of(chain, alice.public_key()) == 600);
  CHECK(chain.state().payment_totals().at({2, "EUR"}) == ledger::PaymentTotals{2, 400, 200});
}

TEST_CASE("chains before protocol version 4 refuse the payment types", "[ledger][payments]") {
  // Proves that SetPointValue and PayWithPoints are unsupported_type on a version 3 chain, so
  // its blocks, records and state hashes stay what they were.
  GenesisOptions options;
  options.protocol_version = 3;
  TestChain chain(options);
  const auto alice = TxFactory::customer(1);
  commit_at(chain, at_day(1), {chain.txs.issue(1, alice.public_key(), 100, "order-1")});
  expect_refused(chain, chain.txs.set_point_value(2, half_cent), Code::unsupported_type);
  const SignedPaymentRequest request = chain.txs.payment_request(2, "till-1", 1, "EUR", 2, at_day(9));
  expect_refused(chain, chain.txs.pay_with_points(alice, request), Code::unsupported_type);
}

TEST_CASE("point values and payment requests check their fields", "[ledger][payments]") {
  // Proves the field rules a decoder applies: both terms of a point value 1 to
  // point_value_term_max and a currency of three capital letters; a request's order id,
  // amount, points and expiry in range.
  using ledger::SetPointValue;
  const auto set_code = [](PointValue value) {
    return ledger::validate_fields({test::test_chain_id, 1, 10, SetPointValue{1, std::move(value)}}).error().code;
  };
  CHECK(set_code({"EUR", 0, 1}) == Code::invalid_field);
  CHECK(set_code({"EUR", 1, 0}) == Code::invalid_field);
  CHECK(set_code({"EUR", ledger::point_value_term_max + 1, 1}) == Code::invalid_field);
  CHECK(set_code({"eur", 1, 1}) == Code::invalid_field);
  CHECK(ledger::validate_fields({test::test_chain_id, 1, 10, SetPointValue{0, half_cent}}).error().code ==
        Code::invalid_field);
  CHECK(ledger::validate_fields({test::test_chain_id, 1, 10, SetPointValue{1, half_cent}}).ok());

  const ledger::PaymentRequest good{test::test_chain_id, 2, "till-1", 100, "EUR", 200, 5, 1};
  CHECK(ledger::validate_payment_request(good).ok());
  auto broken = [&](auto change) {
    ledger::PaymentRequest request = good;
    change(request);
    return ledger::validate_payment_request(request).error().code;
  };
  CHECK(broken([](auto& r) { r.order_id = "has space"; }) == Code::invalid_field);
  CHECK(broken([](auto& r) { r.order_id.clear(); }) == Code::invalid_field);
  CHECK(broken([](auto& r) { r.amount_minor = 0; }) == Code::invalid_field);
  CHECK(broken([](auto& r) { r.amount_minor = std::uint64_t{1} << 63; }) == Code::invalid_field);
  CHECK(broken([](auto& r) { r.points = 0; }) == Code::invalid_field);
  CHECK(broken([](auto& r) { r.expires_at_ms = 0; }) == Code::invalid_field);
  CHECK(broken([](auto& r) { r.expires_at_ms = ledger::block_time_ms_max + 1; }) == Code::invalid_field);
  CHECK(broken([](auto& r) { r.partner = 0; }) == Code::invalid_field);
  CHECK(broken([](auto& r) { r.chain_id = "Bad"; }) == Code::invalid_field);
}

TEST_CASE("a payment request's bytes and text decode only in canonical form", "[ledger][payments][encoding]") {
  // Proves the round trip of the binary and text forms, and that truncation, trailing bytes,
  // an unknown version, a non-minimal length, lower case, a look-alike letter, non-zero
  // padding bits, a whole character of padding, a missing or lower-case prefix and an
  // over-long text are each refused with a typed error.
  const TxFactory txs;
  // "till-12": 121 bytes, so the text's last character carries two padding bits.
  const SignedPaymentRequest request = txs.payment_request(2, "till-12", 250, "EUR", 500, at_day(3), 42);
  const Bytes bytes = request.encode();
  REQUIRE(ledger::decode_payment_request(bytes).value() == request);
  const std::string text = request.text();
  CHECK(text.starts_with("PCPAY:"));
  CHECK(text.size() <= ledger::payment_request_text_chars_max);
  REQUIRE(ledger::parse_payment_request(text).value() == request);

  CHECK(ledger::decode_payment_request(ByteSpan(bytes).first(bytes.size() - 1)).error().code == Code::truncated);
  Bytes trailing = bytes;
  trailing.push_back(0);
  CHECK(ledger::decode_payment_request(trailing).error().code == Code::trailing_bytes);
  Bytes version = bytes;
  version[0] = 2;
  CHECK(ledger::decode_payment_request(version).error().code == Code::unknown_version);
  // The chain id length 10 as two LEB128 bytes, 8a 00. Edited as hex: GCC 12 reports false
  // null-dereference (-O3) and array-bounds (-O2) warnings on editing the vector in place here.
  std::string non_minimal_hex = to_hex(bytes);
  non_minimal_hex.replace(2, 2, "8a00");
  const Bytes non_minimal = from_hex(non_minimal_hex).value();
  CHECK(ledger::decode_payment_request(non_minimal).error().code == Code::non_minimal_length);

  REQUIRE(bytes.size() == 121);
  std::string lower = text;
  const std::size_t letter = lower.find_first_of("ABCDEFGHJKMNPQRSTVWXYZ", 6);
  REQUIRE(letter != std::string::npos);
  lower[letter] = static_cast<char>(lower[letter] - 'A' + 'a');
  CHECK(ledger::parse_payment_request(lower).error().code == Code::invalid_field);
  std::string look_alike = text;
  look_alike[10] = 'O';
  CHECK(ledger::parse_payment_request(look_alike).error().code == Code::invalid_field);
  // 968 bits in 194 characters: the last one's two low bits are padding, which must be zero.
  std::string padded = text;
  padded.back() = ledger::voucher_alphabet[ledger::voucher_alphabet.find(padded.back()) ^ 1];
  CHECK(ledger::parse_payment_request(padded).error().code == Code::invalid_field);
  // One more character of zero bits: 7 bits left over, a whole character of padding.
  CHECK(ledger::parse_payment_request(text + "0").error().code == Code::invalid_field);
  CHECK(ledger::parse_payment_request(text.substr(6)).error().code == Code::invalid_field);
  CHECK(ledger::parse_payment_request("pcpay:" + text.substr(6)).error().code == Code::invalid_field);
  CHECK(ledger::parse_payment_request(text + std::string(ledger::payment_request_text_chars_max, '0')).error().code ==
        Code::too_large);
}

TEST_CASE("a PayWithPoints carries its whole request, and a tampered transaction is refused", "[ledger][payments][encoding]") {
  // Proves that the request's bytes are inside the bytes the customer signs: a PayWithPoints
  // decodes back to the same request, and changing one byte of the request inside the signed
  // transaction breaks the customer's signature (and the partner's).
  PayingChain paying;
  const SignedPaymentRequest request = paying.txs.payment_request(2, "till-1", 100, "EUR", 200, at_day(3));
  const Transaction pay = paying.txs.pay_with_points(paying.alice, request);
  CHECK(pay.type() == ledger::TxType::pay_with_points);
  const auto decoded = Transaction::decode(pay.bytes());
  REQUIRE(decoded.ok());
  CHECK(std::get<ledger::PayWithPoints>(decoded->fields().body).request == request);
  CHECK(decoded->customer_signer() == paying.alice.public_key());
  CHECK(ledger::verify_transaction_signature(paying.chain.state().genesis(), *decoded).ok());

  ledger::UnsignedTransaction fields = pay.fields();
  std::get<ledger::PayWithPoints>(fields.body).request.request.amount_minor = 1;
  const Transaction altered = Transaction::with_signature(fields, pay.signature());
  CHECK(ledger::verify_transaction_signature(paying.chain.state().genesis(), altered).error().code == Code::bad_signature);
}
