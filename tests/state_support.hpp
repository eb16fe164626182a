// Helpers for tests of the ledger state machine (state_test.cpp, catalog_test.cpp): blocks at
// calendar days, the supply invariant recomputed from the raw record bytes, and the proof that
// a refused transaction changes nothing.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "ledger/limits.hpp"
#include "ledger/state.hpp"
#include "tests/fixtures.hpp"

// Refusal codes print by name in failed checks.
namespace Catch {
template <>
struct StringMaker<pc::ledger::Code> {
  static std::string convert(pc::ledger::Code code) { return std::string(pc::ledger::code_name(code)); }
};
}  // namespace Catch

namespace pc::test::state {

inline constexpr std::uint64_t day_ms = ledger::ms_per_day;

// Block times are written as days after the genesis time, so the hand-worked numbers read as
// a calendar.
std::uint64_t at_day(std::uint64_t day);

crypto::PublicKey issuer_key(ledger::PartnerId id);

// A refused transaction used up a sequence number in the factory; the next one built for the
// same signer should reuse it, as a real signer would.
void give_back_sequence(TxFactory& txs, const crypto::PublicKey& signer);

// Sum of every lot = issued − redeemed − expired − reversed, in total and per issuing partner,
// and the settlement matrix adds up to each partner's redemptions; all from the record bytes.
// Then State::check_invariants (the catalog's counters included).
void check_supply_from_records(const ledger::State& state);

// Commits `txs` in one block at `time_ms`, requiring every one to apply, then checks the
// supply invariant from the records.
void commit_at(TestChain& chain, std::uint64_t time_ms, const std::vector<ledger::Transaction>& txs = {});

// Proves that `refused` fails with `code` and changes nothing, in two ways:
//  - in a block executor, after `applied_first`: the block's records and state hash are those
//    of the same block without `refused`, and the committed state is untouched;
//  - through the block producer and the store: it is left out of the block, and the state
//    after the block equals the state the block without it gives.
// When the block changes nothing else (no `applied_first`, nothing expiring), the committed
// records, balances and totals after the block are exactly those before it.
void expect_refused(TestChain& chain, const ledger::Transaction& refused, ledger::Code code,
                    const std::vector<ledger::Transaction>& applied_first = {},
                    std::optional<std::uint64_t> time_ms = std::nullopt);

const std::vector<ledger::Lot>& lots_of(const TestChain& chain, const crypto::PublicKey& customer);
std::uint64_t balance_of(const TestChain& chain, const crypto::PublicKey& customer);
const ledger::PartnerStats& stats_of(const TestChain& chain, ledger::PartnerId id);
const ledger::IssuanceRecord& issuance_of(const TestChain& chain, ledger::PartnerId partner, const std::string& reference);

}  // namespace pc::test::state
