// SetPointValue and PayWithPoints (transaction types 11 and 12, protocol version 4) from
// arbitrary body bytes behind a fixed header: the decoder gives a 1xx error or a transaction
// that re-encodes to the input; a decoded one, re-signed by its rightful signer (and its
// payment request by its partner), applied to a version 4 chain where customer 0 holds 1,000
// points and partner 2 declared half a cent a point, either applies or is refused with a typed
// error and changes nothing; the state's invariants hold after the block, and a paid request's
// points and money are exactly those of the request. Input: a selector byte (bit 0: type 11
// or 12; bit 1: keep the request's own signature, to reach payment_request_bad_signature),
// then the body and signature bytes.
#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_support.hpp"
#include "ledger/codec.hpp"
#include "ledger/limits.hpp"
#include "ledger/protocol.hpp"
#include "ledger/state.hpp"

namespace {

using namespace pc;

ledger::UnsignedTransaction header_fields(std::uint64_t sequence, ledger::TxBody body) {
  ledger::UnsignedTransaction fields;
  fields.chain_id = fuzz::chain_id;
  fields.sequence = sequence;
  fields.last_valid_height = 1'000;
  fields.body = std::move(body);
  return fields;
}

// Height 1: customer 0 earns 1,000 points of partner 1; partner 2 takes points at half a cent.
const ledger::State& funded_state() {
  static const ledger::State state = [] {
    ledger::State built(fuzz::small_genesis(ledger::Policy{}, 4));
    const fuzz::Keys& keys = fuzz::keys();
    ledger::BlockExecutor block(built, {1, fuzz::genesis_time_ms + 1'000});
    const ledger::Issue issue{1, keys.customers[0].public_key(), 1'000, ledger::Reason::purchase, "order-1", 0, std::nullopt};
    FUZZ_CHECK(block.apply(ledger::Transaction::sign(header_fields(1, issue), keys.issuers[0]), ledger::SignatureCheck::verify).ok());
    const ledger::SetPointValue value{2, {"EUR", 1, 2}};
    FUZZ_CHECK(block.apply(ledger::Transaction::sign(header_fields(1, value), keys.issuers[1]), ledger::SignatureCheck::verify).ok());
    built.apply(std::move(block).finish());
    return built;
  }();
  return state;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::initialize_once();
  fuzz::ByteCursor in(data, size);
  const std::uint8_t selector = in.u8();
  const bool pay = (selector & 1) != 0;
  const bool keep_request_signature = (selector & 2) != 0;

  ledger::Writer header;
  header.u8(ledger::encoding_version);
  header.u8(static_cast<std::uint8_t>(pay ? ledger::TxType::pay_with_points : ledger::TxType::set_point_value));
  header.string(fuzz::chain_id);
  header.u64(pay ? 1 : 2);  // the signer's next sequence in funded_state()
  header.u64(1'000);
  Bytes bytes = header.take();
  const Bytes rest = in.take(in.remaining());
  bytes.insert(bytes.end(), rest.begin(), rest.end());

  auto decoded = ledger::Transaction::decode(bytes);
  if (!decoded) {
    const auto code = static_cast<unsigned>(decoded.error().code);
    FUZZ_CHECK(code >= 100 && code < 200);
    return 0;
  }
  FUZZ_CHECK(decoded->bytes() == bytes);
  const fuzz::Keys& keys = fuzz::keys();
  const ledger::State& state = funded_state();
  ledger::UnsignedTransaction fields = decoded->fields();
  std::optional<ledger::Transaction> signed_tx;
  if (auto* payment = std::get_if<ledger::PayWithPoints>(&fields.body)) {
    const ledger::PartnerId partner = payment->request.request.partner;
    if (!keep_request_signature && partner >= 1 && partner <= fuzz::partner_count) {
      payment->request = ledger::sign_payment_request(payment->request.request, keys.issuers[partner - 1]);
    }
    const crypto::SecretKey* customer = nullptr;
    for (const auto& key : keys.customers) {
      if (key.public_key() == payment->customer) customer = &key;
    }
    signed_tx = customer != nullptr ? ledger::Transaction::sign(fields, *customer) : *decoded;
  } else {
    const auto& set = std::get<ledger::SetPointValue>(fields.body);
    signed_tx = set.partner >= 1 && set.partner <= fuzz::partner_count
                    ? ledger::Transaction::sign(fields, keys.issuers[set.partner - 1])
                    : *decoded;
  }

  ledger::BlockExecutor block(state, {2, fuzz::genesis_time_ms + 2'000});
  const ledger::Status applied = block.apply(*signed_tx, ledger::SignatureCheck::verify);
  ledger::BlockChanges changes = std::move(block).finish();
  if (!applied) {
    const auto code = static_cast<unsigned>(applied.error().code);
    FUZZ_CHECK(code >= 100 && code < 500);
    FUZZ_CHECK(changes.records.empty());
    return 0;
  }
  ledger::State after = state;
  after.apply(std::move(changes));
  FUZZ_CHECK(after.check_invariants().ok());
  if (const auto* payment = std::get_if<ledger::PayWithPoints>(&signed_tx->fields().body)) {
    const ledger::PaymentRequest& request = payment->request.request;
    FUZZ_CHECK(request.partner == 2 && request.currency == "EUR");
    FUZZ_CHECK(ledger::points_for_amount(request.amount_minor, {"EUR", 1, 2}) == request.points);
    const ledger::PaymentRecord* paid = after.payment(request.id());
    FUZZ_CHECK(paid != nullptr && paid->points == request.points && paid->amount_minor == request.amount_minor);
    FUZZ_CHECK(after.account(payment->customer)->balance() == 1'000 - request.points);
  } else {
    const auto& set = std::get<ledger::SetPointValue>(signed_tx->fields().body);
    FUZZ_CHECK(after.point_value(set.partner)->value == set.value);
  }
  return 0;
}
