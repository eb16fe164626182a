// PrepaidTopUp (transaction type 10, protocol version 4) from arbitrary body bytes: behind a
// fixed header, the decoder gives a 1xx error or a top-up that re-encodes to the input; a
// decoded top-up, signed by the billing key and applied to a version 4 chain whose partner 2
// is prepaid, either adds exactly its points or is refused with a typed error and changes
// nothing; an Issue of partner 2 afterwards is prepaid_exhausted exactly when it needs more
// than the balance. Input: a selector byte (bits 0-1: partner 2's initial prepaid points),
// 8 bytes of Issue points, then the top-up's body and signature bytes.
#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_support.hpp"
#include "ledger/codec.hpp"
#include "ledger/protocol.hpp"
#include "ledger/state.hpp"

namespace {

using namespace pc;

const crypto::SecretKey& billing_key() {
  static const crypto::SecretKey key = fuzz::seeded_key("coalition billing");
  return key;
}

ledger::Genesis billing_genesis(std::uint64_t initial_prepaid_points) {
  ledger::Genesis genesis = fuzz::small_genesis(ledger::Policy{}, 4);
  genesis.policy.billing = ledger::no_charge_billing(genesis.partners, billing_key().public_key());
  genesis.policy.billing->partners[1] = {2, ledger::BillingPlan::prepaid, 200, initial_prepaid_points};
  return genesis;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::initialize_once();
  fuzz::ByteCursor in(data, size);
  static constexpr std::uint64_t initial_points[] = {0, 1'000, 123'456, UINT64_MAX - 999};
  const std::uint64_t initial = initial_points[in.u8() & 3];
  const std::uint64_t issue_points = in.little_endian(8);

  ledger::Writer header;
  header.u8(ledger::encoding_version);
  header.u8(static_cast<std::uint8_t>(ledger::TxType::prepaid_top_up));
  header.string(fuzz::chain_id);
  header.u64(1);      // sequence
  header.u64(1'000);  // last valid height
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
  FUZZ_CHECK(decoded->signed_by_billing_key());
  const auto& top_up = std::get<ledger::PrepaidTopUp>(decoded->fields().body);
  FUZZ_CHECK(top_up.partner != 0 && top_up.points > 0 && top_up.points % ledger::prepaid_block_points == 0);

  const ledger::State state(billing_genesis(initial));
  const ledger::Transaction signed_top_up = ledger::Transaction::sign(decoded->fields(), billing_key());
  ledger::BlockExecutor block(state, {1, fuzz::genesis_time_ms + 1'000});
  const ledger::Status applied = block.apply(signed_top_up, ledger::SignatureCheck::verify);
  std::uint64_t balance = initial;
  if (applied) {
    FUZZ_CHECK(top_up.partner == 2);
    balance = initial + top_up.points;
  } else {
    const ledger::Code code = applied.error().code;
    FUZZ_CHECK(code == ledger::Code::unknown_partner || code == ledger::Code::not_prepaid ||
               code == ledger::Code::overflow);
    FUZZ_CHECK((code == ledger::Code::overflow) == (top_up.partner == 2));
  }

  // Partner 2's Issue: refused exactly when it needs more than the balance.
  ledger::UnsignedTransaction issue;
  issue.chain_id = fuzz::chain_id;
  issue.sequence = 1;
  issue.last_valid_height = 1'000;
  issue.body = ledger::Issue{2, fuzz::keys().customers[0].public_key(), issue_points == 0 ? 1 : issue_points,
                             ledger::Reason::bonus, "fuzz-1", 0, std::nullopt};
  const std::uint64_t points = std::get<ledger::Issue>(issue.body).points;
  const ledger::Status issued =
      block.apply(ledger::Transaction::sign(std::move(issue), fuzz::keys().issuers[1]), ledger::SignatureCheck::verify);
  FUZZ_CHECK(issued.ok() == (points <= balance));
  if (!issued) FUZZ_CHECK(issued.error().code == ledger::Code::prepaid_exhausted);

  ledger::BlockChanges changes = std::move(block).finish();
  ledger::State after = state;
  after.apply(std::move(changes));
  FUZZ_CHECK(after.check_invariants().ok());
  FUZZ_CHECK(after.prepaid(2)->balance_points == balance - (issued ? points : 0));
  FUZZ_CHECK(after.prepaid(2)->topped_up_points == (applied ? top_up.points : 0));
  return 0;
}
