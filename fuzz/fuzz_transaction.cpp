// Transaction::decode on arbitrary bytes: every input is either a typed error or a
// transaction whose canonical encoding is exactly the input (one encoding per transaction,
// so ids and signatures cannot be malleated).
#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_support.hpp"
#include "ledger/transaction.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  pc::fuzz::initialize_once();
  const pc::ByteSpan input(data, size);
  auto decoded = pc::ledger::Transaction::decode(input);
  if (!decoded) {
    // Decoders report malformed input (the 1xx codes), never a state or storage error.
    const auto code = static_cast<unsigned>(decoded.error().code);
    // The one documented exception: a Transfer to its own sender is self_transfer
    // (docs/protocol.md), a field rule the decoder applies.
    FUZZ_CHECK((code >= 100 && code < 200) || decoded.error().code == pc::ledger::Code::self_transfer);
    return 0;
  }
  const pc::ledger::Transaction& tx = *decoded;
  FUZZ_CHECK(std::equal(tx.bytes().begin(), tx.bytes().end(), input.begin(), input.end()));
  FUZZ_CHECK(pc::ledger::validate_fields(tx.fields()).ok());

  // Rebuilding from the decoded fields gives the same bytes and the same id.
  const auto rebuilt = pc::ledger::Transaction::with_signature(tx.fields(), tx.signature());
  FUZZ_CHECK(rebuilt.bytes() == tx.bytes());
  FUZZ_CHECK(rebuilt.id() == tx.id());
  auto again = pc::ledger::Transaction::decode(rebuilt.bytes());
  FUZZ_CHECK(again.ok() && again->fields() == tx.fields());
  // Exactly one signer kind per transaction: a customer, a partner, or the billing key.
  FUZZ_CHECK(int{tx.customer_signer().has_value()} + int{tx.partner_signer().has_value()} +
                 int{tx.signed_by_billing_key()} ==
             1);
  return 0;
}
