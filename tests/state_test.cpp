// The ledger state machine (ledger/state.hpp, docs/protocol.md "State machine rules"): what each
// transaction type does to lots, partners, issuances, settlement and totals, against numbers
// worked out by hand; every typed refusal the state machine can give, each shown to change
// nothing; pending periods and expiry by block time; the supply invariant recomputed from the
// raw state records after every block; and the same blocks giving the same state everywhere.
#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <limits>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "ledger/chain.hpp"
#include "ledger/limits.hpp"
#include "ledger/state.hpp"
#include "tests/fixtures.hpp"
#include "tests/state_support.hpp"

namespace Catch {
template <>
struct StringMaker<pc::ledger::Lot> {
  static std::string convert(const pc::ledger::Lot& lot) {
    std::ostringstream out;
    out << "{partner " << lot.partner << ", issuance (" << lot.issuance.height << ", " << lot.issuance.index
        << "), points " << lot.points << ", earned_at_ms " << lot.earned_at_ms << ", spendable_at_ms "
        << lot.spendable_at_ms << "}";
    return out.str();
  }
};

template <>
struct StringMaker<pc::ledger::PartnerStats> {
  static std::string convert(const pc::ledger::PartnerStats& stats) {
    std::ostringstream out;
    out << "{issuer_sequence " << stats.issuer_sequence << ", issued " << stats.issued << ", redeemed_at "
        << stats.redeemed_at << ", issued_redeemed " << stats.issued_redeemed << ", expired " << stats.expired
        << ", reversed " << stats.reversed << ", reversal_shortfall " << stats.reversal_shortfall << "}";
    return out.str();
  }
};

template <>
struct StringMaker<pc::ledger::Totals> {
  static std::string convert(const pc::ledger::Totals& totals) {
    std::ostringstream out;
    out << "{issued " << totals.issued << ", redeemed " << totals.redeemed << ", expired " << totals.expired
        << ", reversed " << totals.reversed << ", balance_sum " << totals.balance_sum << ", accounts "
        << totals.accounts << "}";
    return out.str();
  }
};

template <>
struct StringMaker<pc::ledger::IssuanceRecord> {
  static std::string convert(const pc::ledger::IssuanceRecord& issuance) {
    std::ostringstream out;
    out << "{id (" << issuance.id.height << ", " << issuance.id.index << "), points " << issuance.points
        << ", spendable_at_ms " << issuance.spendable_at_ms << ", reversed " << issuance.reversed
        << ", reversed_points " << issuance.reversed_points << ", shortfall_points " << issuance.shortfall_points
        << "}";
    return out.str();
  }
};
}  // namespace Catch

namespace {

using namespace pc;
using crypto::Hash256;
using crypto::PublicKey;
using ledger::Code;
using ledger::IssuanceId;
using ledger::IssuanceRecord;
using ledger::Lot;
using ledger::PartnerId;
using ledger::PartnerStats;
using ledger::SignatureCheck;
using ledger::Totals;
using ledger::Transaction;
using pc::test::GenesisOptions;
using pc::test::TestChain;
using pc::test::TxFactory;
using namespace pc::test::state;

constexpr std::uint64_t u64_max = std::numeric_limits<std::uint64_t>::max();

// Rebuilds `tx` with a changed field and a fresh signature by `key`.
template <class Body, class Change>
Transaction resigned(const Transaction& tx, const crypto::SecretKey& key, Change change) {
  ledger::UnsignedTransaction fields = tx.fields();
  change(std::get<Body>(fields.body));
  return Transaction::sign(fields, key);
}

PartnerStats partner_stats(std::uint64_t issuer_sequence, std::uint64_t issued, std::uint64_t redeemed_at,
                           std::uint64_t issued_redeemed, std::uint64_t expired, std::uint64_t reversed,
                           std::uint64_t reversal_shortfall) {
  return PartnerStats{issuer_sequence, issued,   redeemed_at,       issued_redeemed,
                      expired,         reversed, reversal_shortfall};
}

Totals totals(std::uint64_t issued, std::uint64_t redeemed, std::uint64_t expired, std::uint64_t reversed,
              std::uint64_t balance_sum, std::uint64_t accounts) {
  return Totals{issued, redeemed, expired, reversed, balance_sum, accounts};
}

using SettlementMatrix = std::map<std::pair<PartnerId, PartnerId>, std::uint64_t>;

// A history that uses every transaction type, a pending period, a reversal and expiry
// (policy: points expire after 10 days). The numbers are worked out in the test that checks
// them, "the supply invariant holds after every block of a mixed history".
GenesisOptions mixed_history_options() {
  GenesisOptions options;
  options.point_expiry_days = 10;
  return options;
}

void run_mixed_history(TestChain& chain) {
  TxFactory& txs = chain.txs;
  const auto alice = TxFactory::customer(1);
  const auto bob = TxFactory::customer(2);
  const auto carol = TxFactory::customer(3);
  commit_at(chain, at_day(1),
            {txs.issue(1, alice.public_key(), 500, "m-1"), txs.issue(2, bob.public_key(), 300, "m-2"),
             txs.issue(3, alice.public_key(), 40, "m-3", 3)});
  commit_at(chain, at_day(2), {txs.redeem(alice, 2, 120), txs.transfer(bob, alice.public_key(), 50)});
  commit_at(chain, at_day(3),
            {txs.reverse(3, "m-3"), txs.issue(1, bob.public_key(), 70, "m-4"), txs.redeem(bob, 1, 10)});
  commit_at(chain, at_day(5), {txs.issue(2, carol.public_key(), 9, "m-5"), txs.transfer(alice, carol.public_key(), 1)});
  commit_at(chain, at_day(11));
  commit_at(chain, at_day(14), {txs.redeem(carol, 3, 9)});
}

}  // namespace

// =============================================================================================
// Happy paths, one transaction type at a time

TEST_CASE("an Issue credits a lot named by its block and position, dated by the block time",
          "[ledger][state]") {
  // Proves the effects of Issue listed in docs/protocol.md: the lot, the issuance record, the
  // partner's counters and the totals, with and without a purchase and with a pending period.
  TestChain chain;
  TxFactory& txs = chain.txs;
  const auto alice = TxFactory::customer(1);
  const auto bob = TxFactory::customer(2);
  const std::uint64_t t1 = at_day(1);

  const Transaction plain = txs.issue(1, alice.public_key(), 100, "order-1");
  const Transaction with_purchase = resigned<ledger::Issue>(
      txs.issue(2, alice.public_key(), 250, "order-2"), TxFactory::partner_issuer(2),
      [](ledger::Issue& issue) { issue.purchase = ledger::Purchase{12'999, "EUR"}; });
  const Transaction pending = txs.issue(3, bob.public_key(), 40, "order-3", 14);

  // The events come out of execution; the same block is then committed through the store.
  ledger::BlockExecutor executor(chain.state(), {1, t1});
  for (const Transaction* tx : {&plain, &with_purchase, &pending}) {
    REQUIRE(executor.apply(*tx, SignatureCheck::verify).ok());
  }
  const ledger::BlockChanges changes = std::move(executor).finish();
  REQUIRE(changes.events.size() == 3);
  const std::array<std::pair<PartnerId, std::uint64_t>, 3> earned = {{{1, 100}, {2, 250}, {3, 40}}};
  const std::array<const Transaction*, 3> issued_by = {&plain, &with_purchase, &pending};
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(changes.events[i].kind == ledger::Event::Kind::earned);
    CHECK(changes.events[i].partner == earned[i].first);
    CHECK(changes.events[i].points == earned[i].second);
    CHECK(changes.events[i].tx_id == issued_by[i]->id());
  }
  // Written: 2 accounts, 3 issuances, 3 partners and the totals.
  CHECK(changes.records.size() == 9);

  commit_at(chain, t1, {plain, with_purchase, pending});
  CHECK(chain.state().state_hash() == changes.state_hash);

  // Issuance ids are (height 1, position 0, 1, 2); earned at the block time; Bob's lot is
  // pending for 14 days: spendable at t1 + 14 × 86 400 000 ms.
  const std::uint64_t t1_plus_14_days = t1 + 14 * day_ms;
  CHECK(lots_of(chain, alice.public_key()) ==
        std::vector<Lot>{{1, {1, 0}, 100, t1, t1}, {2, {1, 1}, 250, t1, t1}});
  CHECK(lots_of(chain, bob.public_key()) == std::vector<Lot>{{3, {1, 2}, 40, t1, t1_plus_14_days}});
  // Receiving points does not use a sequence.
  CHECK(chain.state().account(alice.public_key())->sequence == 0);
  CHECK(chain.state().account(bob.public_key())->balance() == 40);
  CHECK(chain.state().account(bob.public_key())->spendable(t1_plus_14_days - 1) == 0);
  CHECK(chain.state().account(bob.public_key())->spendable(t1_plus_14_days) == 40);

  CHECK(issuance_of(chain, 1, "order-1") == IssuanceRecord{{1, 0}, alice.public_key(), 100, t1, false, 0, 0});
  CHECK(issuance_of(chain, 2, "order-2") == IssuanceRecord{{1, 1}, alice.public_key(), 250, t1, false, 0, 0});
  CHECK(issuance_of(chain, 3, "order-3") ==
        IssuanceRecord{{1, 2}, bob.public_key(), 40, t1_plus_14_days, false, 0, 0});

  CHECK(stats_of(chain, 1) == partner_stats(1, 100, 0, 0, 0, 0, 0));
  CHECK(stats_of(chain, 2) == partner_stats(1, 250, 0, 0, 0, 0, 0));
  CHECK(stats_of(chain, 3) == partner_stats(1, 40, 0, 0, 0, 0, 0));
  // 100 + 250 + 40 = 390 issued and held, by 2 accounts.
  CHECK(chain.state().totals() == totals(390, 0, 0, 0, 390, 2));
  CHECK(chain.state().settlement_matrix().empty());
}

TEST_CASE("the purchase on an Issue is informational: the state is the same without it", "[ledger][state]") {
  // Proves that the purchase amount and currency change no record: the state records hold no
  // purchase (docs/protocol.md, "State records").
  TestChain chain;
  const auto alice = TxFactory::customer(1);
  const Transaction without_purchase = chain.txs.issue(1, alice.public_key(), 75, "order-1");
  const Transaction with_purchase = resigned<ledger::Issue>(
      without_purchase, TxFactory::partner_issuer(1),
      [](ledger::Issue& issue) { issue.purchase = ledger::Purchase{4'250, "USD"}; });
  REQUIRE(with_purchase.id() != without_purchase.id());

  const ledger::BlockContext context{1, at_day(1)};
  ledger::BlockExecutor first(chain.state(), context);
  ledger::BlockExecutor second(chain.state(), context);
  REQUIRE(first.apply(without_purchase, SignatureCheck::verify).ok());
  REQUIRE(second.apply(with_purchase, SignatureCheck::verify).ok());
  const ledger::BlockChanges a = std::move(first).finish();
  const ledger::BlockChanges b = std::move(second).finish();
  CHECK(a.records == b.records);
  CHECK(a.state_hash == b.state_hash);
}

TEST_CASE("an issuance's index is its position among the transactions the block holds", "[ledger][state]") {
  // Proves that a refused candidate does not take a position: the Issue after it gets index 1,
  // its position in the block (docs/protocol.md: "every transaction in a block applies").
  TestChain chain;
  TxFactory& txs = chain.txs;
  const auto alice = TxFactory::customer(1);
  const Transaction first = txs.issue(1, alice.public_key(), 10, "order-1");
  const Transaction duplicate = txs.issue(1, alice.public_key(), 20, "order-1");
  give_back_sequence(txs, issuer_key(1));
  const Transaction third = txs.issue(1, alice.public_key(), 30, "order-2");

  const node::ProducedBlock produced = chain.commit({first, duplicate, third});
  REQUIRE(produced.rejected.size() == 1);
  CHECK(produced.rejected[0].first == 1);
  CHECK(produced.rejected[0].second.code == Code::duplicate_reference);
  REQUIRE(produced.block.transactions.size() == 2);
  CHECK(produced.block.transactions[1].id() == third.id());
  CHECK(issuance_of(chain, 1, "order-2").id == IssuanceId{1, 1});
  const std::uint64_t t = chain.store().tip().time_ms;
  CHECK(lots_of(chain, alice.public_key()) == std::vector<Lot>{{1, {1, 0}, 10, t, t}, {1, {1, 1}, 30, t, t}});
  check_supply_from_records(chain.state());
}

TEST_CASE("a Redeem takes the oldest lots first and charges their issuers in the settlement matrix",
          "[ledger][state]") {
  // Proves the lot walk and the per-partner accounting of Redeem against a hand-worked example
  // in which a customer earns at partners 1 and 2 on different days and redeems at partner 3.
  TestChain chain;
  TxFactory& txs = chain.txs;
  const auto alice = TxFactory::customer(1);
  const auto bob = TxFactory::customer(2);

  // Day 1: partner 1 gives Alice 100. Day 2: partner 2 gives her 50.
  commit_at(chain, at_day(1), {txs.issue(1, alice.public_key(), 100, "p1-order-1")});
  commit_at(chain, at_day(2), {txs.issue(2, alice.public_key(), 50, "p2-order-1")});
  CHECK(lots_of(chain, alice.public_key()) ==
        std::vector<Lot>{{1, {1, 0}, 100, at_day(1), at_day(1)}, {2, {2, 0}, 50, at_day(2), at_day(2)}});

  // Day 3: Alice redeems 120 at partner 3. Oldest first: all 100 of partner 1's lot, then 20
  // of partner 2's, leaving 30 of it. settlement(1,3) = 100, settlement(2,3) = 20.
  commit_at(chain, at_day(3), {txs.redeem(alice, 3, 120)});
  CHECK(lots_of(chain, alice.public_key()) == std::vector<Lot>{{2, {2, 0}, 30, at_day(2), at_day(2)}});
  CHECK(chain.state().account(alice.public_key())->sequence == 1);
  CHECK(stats_of(chain, 1) == partner_stats(1, 100, 0, 100, 0, 0, 0));  // outstanding 0
  CHECK(stats_of(chain, 2) == partner_stats(1, 50, 0, 20, 0, 0, 0));    // outstanding 30
  CHECK(stats_of(chain, 3) == partner_stats(0, 0, 120, 0, 0, 0, 0));
  CHECK(stats_of(chain, 1).outstanding() == 0);
  CHECK(stats_of(chain, 2).outstanding() == 30);
  CHECK(chain.state().settlement_matrix() == SettlementMatrix{{{1, 3}, 100}, {{2, 3}, 20}});
  CHECK(chain.state().totals() == totals(150, 120, 0, 0, 30, 1));

  // Day 4: partner 3 gives Bob 70; partner 1 gives Alice 10 more: Alice [P2 30 (day 2), P1 10 (day 4)].
  commit_at(chain, at_day(4),
            {txs.issue(3, bob.public_key(), 70, "p3-order-1"), txs.issue(1, alice.public_key(), 10, "p1-order-2")});
  // Day 5: Alice redeems 35 at partner 1: 30 from partner 2's lot, 5 from partner 1's own.
  // Bob redeems all 70 at partner 2; his account stays, empty.
  commit_at(chain, at_day(5), {txs.redeem(alice, 1, 35), txs.redeem(bob, 2, 70)});
  CHECK(lots_of(chain, alice.public_key()) == std::vector<Lot>{{1, {4, 1}, 5, at_day(4), at_day(4)}});
  CHECK(lots_of(chain, bob.public_key()).empty());
  CHECK(chain.state().account(alice.public_key())->sequence == 2);
  CHECK(chain.state().account(bob.public_key())->sequence == 1);

  // By hand, per partner (issued / redeemed at / its points redeemed anywhere / outstanding):
  //   P1: 110 / 35 (Alice) / 100 + 5 = 105 / 5
  //   P2:  50 / 70 (Bob)   / 20 + 30 = 50  / 0
  //   P3:  70 / 120        / 70           / 0
  // Settlement (issuer, redeemer): (1,1) 5, (1,3) 100, (2,1) 30, (2,3) 20, (3,2) 70 = 225,
  // which is everything redeemed: 120 + 35 + 70.
  CHECK(stats_of(chain, 1) == partner_stats(2, 110, 35, 105, 0, 0, 0));
  CHECK(stats_of(chain, 2) == partner_stats(1, 50, 70, 50, 0, 0, 0));
  CHECK(stats_of(chain, 3) == partner_stats(1, 70, 120, 70, 0, 0, 0));
  CHECK(stats_of(chain, 1).outstanding() == 5);
  CHECK(stats_of(chain, 2).outstanding() == 0);
  CHECK(stats_of(chain, 3).outstanding() == 0);
  CHECK(chain.state().settlement_matrix() ==
        SettlementMatrix{{{1, 1}, 5}, {{1, 3}, 100}, {{2, 1}, 30}, {{2, 3}, 20}, {{3, 2}, 70}});
  CHECK(chain.state().settlement(1, 3) == 100);
  CHECK(chain.state().settlement(3, 1) == 0);
  CHECK(chain.state().totals() == totals(230, 225, 0, 0, 5, 2));
}

TEST_CASE("a Transfer moves lots oldest first, keeping their issuer, issuance and dates", "[ledger][state]") {
  // Proves that transferred points stay the issuing partner's liability: they move as lots
  // with their partner, issuance and dates, merge with a lot of the same issuance, and charge
  // the original issuer when redeemed.
  TestChain chain;
  TxFactory& txs = chain.txs;
  const auto alice = TxFactory::customer(1);
  const auto bob = TxFactory::customer(2);
  const auto carol = TxFactory::customer(3);

  // Day 1: P1 → Alice 100 (issuance (1,0)). Day 2: P3 → Bob 40 ((2,0)). Day 3: P2 → Alice 50 ((3,0)).
  commit_at(chain, at_day(1), {txs.issue(1, alice.public_key(), 100, "a-1")});
  commit_at(chain, at_day(2), {txs.issue(3, bob.public_key(), 40, "b-1")});
  commit_at(chain, at_day(3), {txs.issue(2, alice.public_key(), 50, "a-2")});
  const Lot p1_lot{1, {1, 0}, 100, at_day(1), at_day(1)};
  const Lot p3_lot{3, {2, 0}, 40, at_day(2), at_day(2)};
  const Lot p2_lot{2, {3, 0}, 50, at_day(3), at_day(3)};

  // Day 4: Alice gives Bob 120: all 100 of the P1 lot, then 20 of the P2 lot. In Bob's account
  // the P1 lot (day 1) goes before his own P3 lot (day 2), the P2 piece (day 3) after it.
  commit_at(chain, at_day(4), {txs.transfer(alice, bob.public_key(), 120)});
  const auto with_points = [](Lot lot, std::uint64_t points) {
    lot.points = points;
    return lot;
  };
  CHECK(lots_of(chain, alice.public_key()) == std::vector<Lot>{with_points(p2_lot, 30)});
  CHECK(lots_of(chain, bob.public_key()) == std::vector<Lot>{p1_lot, p3_lot, with_points(p2_lot, 20)});
  CHECK(chain.state().account(alice.public_key())->sequence == 1);
  CHECK(chain.state().account(bob.public_key())->sequence == 0);
  // Liabilities do not move with the points: each partner still owes what it issued.
  CHECK(stats_of(chain, 1) == partner_stats(1, 100, 0, 0, 0, 0, 0));
  CHECK(stats_of(chain, 2) == partner_stats(1, 50, 0, 0, 0, 0, 0));
  CHECK(stats_of(chain, 3) == partner_stats(1, 40, 0, 0, 0, 0, 0));
  CHECK(chain.state().totals() == totals(190, 0, 0, 0, 190, 2));

  // Day 5: Bob gives 10 back: from the P1 lot, which lands first in Alice's account (day 1).
  commit_at(chain, at_day(5), {txs.transfer(bob, alice.public_key(), 10)});
  CHECK(lots_of(chain, alice.public_key()) == std::vector<Lot>{with_points(p1_lot, 10), with_points(p2_lot, 30)});
  CHECK(lots_of(chain, bob.public_key()) ==
        std::vector<Lot>{with_points(p1_lot, 90), p3_lot, with_points(p2_lot, 20)});

  // Day 6: Alice gives 5 to Carol, a new account, then 5 to Bob: both from the P1 lot. Bob's
  // piece merges into his P1 lot (90 + 5 = 95): still three lots.
  commit_at(chain, at_day(6), {txs.transfer(alice, carol.public_key(), 5), txs.transfer(alice, bob.public_key(), 5)});
  CHECK(lots_of(chain, carol.public_key()) == std::vector<Lot>{with_points(p1_lot, 5)});
  CHECK(lots_of(chain, alice.public_key()) == std::vector<Lot>{with_points(p2_lot, 30)});
  CHECK(lots_of(chain, bob.public_key()) ==
        std::vector<Lot>{with_points(p1_lot, 95), p3_lot, with_points(p2_lot, 20)});
  CHECK(chain.state().account(alice.public_key())->sequence == 3);
  CHECK(chain.state().account(carol.public_key())->sequence == 0);
  CHECK(chain.state().totals() == totals(190, 0, 0, 0, 190, 3));

  // Day 7: Bob redeems 100 at P2: 95 from the P1 lot and 5 from his P3 lot. The moved points
  // are charged to partner 1, who issued them: settlement(1,2) = 95, settlement(3,2) = 5.
  commit_at(chain, at_day(7), {txs.redeem(bob, 2, 100)});
  CHECK(lots_of(chain, bob.public_key()) == std::vector<Lot>{with_points(p3_lot, 35), with_points(p2_lot, 20)});
  CHECK(chain.state().settlement_matrix() == SettlementMatrix{{{1, 2}, 95}, {{3, 2}, 5}});
  // Outstanding: P1 100 − 95 = 5 (Carol), P2 50 (Alice 30 + Bob 20), P3 40 − 5 = 35 (Bob).
  CHECK(stats_of(chain, 1).outstanding() == 5);
  CHECK(stats_of(chain, 2).outstanding() == 50);
  CHECK(stats_of(chain, 3).outstanding() == 35);
  CHECK(stats_of(chain, 2) == partner_stats(1, 50, 100, 0, 0, 0, 0));
  CHECK(chain.state().totals() == totals(190, 100, 0, 0, 90, 3));
}

TEST_CASE("a Transfer emits transferred_out and transferred_in events", "[ledger][state]") {
  // Proves the events a wallet listens to for a transfer (not part of the state hash).
  TestChain chain;
  const auto alice = TxFactory::customer(1);
  const auto bob = TxFactory::customer(2);
  commit_at(chain, at_day(1), {chain.txs.issue(1, alice.public_key(), 10, "order-1")});
  const Transaction transfer = chain.txs.transfer(alice, bob.public_key(), 4);
  ledger::BlockExecutor executor(chain.state(), {2, at_day(2)});
  REQUIRE(executor.apply(transfer, SignatureCheck::verify).ok());
  const ledger::BlockChanges changes = std::move(executor).finish();
  REQUIRE(changes.events.size() == 2);
  CHECK(changes.events[0].kind == ledger::Event::Kind::transferred_out);
  CHECK(changes.events[0].account == alice.public_key());
  CHECK(changes.events[1].kind == ledger::Event::Kind::transferred_in);
  CHECK(changes.events[1].account == bob.public_key());
  for (const ledger::Event& event : changes.events) {
    CHECK(event.points == 4);
    CHECK(event.tx_id == transfer.id());
  }
}

TEST_CASE("a Reverse removes what is left of the issuance and records the shortfall", "[ledger][state]") {
  // Proves Reverse against a hand-worked example: only the points still in the customer's
  // account come back; what was redeemed or transferred away is the shortfall; points moved
  // to someone else stay theirs; the customer's other lots are untouched.
  TestChain chain;
  TxFactory& txs = chain.txs;
  const auto alice = TxFactory::customer(1);
  const auto bob = TxFactory::customer(2);

  // Day 1: P1 → Alice 100 ("r-1", issuance (1,0)) and 40 ("r-2", (1,1)).
  commit_at(chain, at_day(1),
            {txs.issue(1, alice.public_key(), 100, "r-1"), txs.issue(1, alice.public_key(), 40, "r-2")});
  // Day 2: Alice redeems 30 at P2 (r-1: 70 left), then gives Bob 20 (r-1: 50 left, Bob 20).
  commit_at(chain, at_day(2), {txs.redeem(alice, 2, 30), txs.transfer(alice, bob.public_key(), 20)});
  CHECK(lots_of(chain, alice.public_key()) ==
        std::vector<Lot>{{1, {1, 0}, 50, at_day(1), at_day(1)}, {1, {1, 1}, 40, at_day(1), at_day(1)}});

  // Day 3: P1 reverses r-1. Removed: Alice's 50. Shortfall: 100 − 50 = 50 (30 redeemed + 20
  // transferred). Bob keeps his 20 of r-1; Alice keeps r-2.
  const Transaction reverse = txs.reverse(1, "r-1");
  ledger::BlockExecutor executor(chain.state(), {3, at_day(3)});
  REQUIRE(executor.apply(reverse, SignatureCheck::verify).ok());
  const ledger::BlockChanges changes = std::move(executor).finish();
  REQUIRE(changes.events.size() == 1);
  CHECK(changes.events[0].kind == ledger::Event::Kind::reversed);
  CHECK(changes.events[0].account == alice.public_key());
  CHECK(changes.events[0].partner == 1);
  CHECK(changes.events[0].points == 50);

  commit_at(chain, at_day(3), {reverse});
  CHECK(chain.state().state_hash() == changes.state_hash);
  CHECK(lots_of(chain, alice.public_key()) == std::vector<Lot>{{1, {1, 1}, 40, at_day(1), at_day(1)}});
  CHECK(lots_of(chain, bob.public_key()) == std::vector<Lot>{{1, {1, 0}, 20, at_day(1), at_day(1)}});
  CHECK(issuance_of(chain, 1, "r-1") == IssuanceRecord{{1, 0}, alice.public_key(), 100, at_day(1), true, 50, 50});
  CHECK(issuance_of(chain, 1, "r-2") == IssuanceRecord{{1, 1}, alice.public_key(), 40, at_day(1), false, 0, 0});
  // P1: issuer_sequence 3 (two Issues, one Reverse); issued 140; 30 of its points redeemed;
  // reversed 50; shortfall 50; outstanding 140 − 30 − 50 = 60 = Alice's 40 + Bob's 20.
  CHECK(stats_of(chain, 1) == partner_stats(3, 140, 0, 30, 0, 50, 50));
  CHECK(stats_of(chain, 1).outstanding() == 60);
  CHECK(chain.state().totals() == totals(140, 30, 0, 50, 60, 2));

  // Bob's 20 of the reversed issuance are still his to spend, and still P1's liability.
  commit_at(chain, at_day(4), {txs.redeem(bob, 3, 20)});
  CHECK(chain.state().settlement(1, 3) == 20);
  CHECK(stats_of(chain, 1).outstanding() == 40);
}

TEST_CASE("a Reverse takes back pending points, and of a spent issuance takes nothing", "[ledger][state]") {
  // Proves the two edges of Reverse: pending lots are removed like any other, and an issuance
  // the customer spent entirely is reversed with 0 removed and all of it as shortfall. The
  // customer's account is written even when nothing in it changed (docs/protocol.md).
  TestChain chain;
  TxFactory& txs = chain.txs;
  const auto carol = TxFactory::customer(3);

  // Day 1: P2 → Carol 80 pending 30 days ("p-1"); P3 → Carol 10 ("s-1").
  commit_at(chain, at_day(1),
            {txs.issue(2, carol.public_key(), 80, "p-1", 30), txs.issue(3, carol.public_key(), 10, "s-1")});
  // Day 2: Carol redeems her 10 spendable points at P3 (the pending 80 cannot be touched).
  // P2 reverses p-1 while it is still pending: removed 80, shortfall 0.
  commit_at(chain, at_day(2), {txs.redeem(carol, 3, 10), txs.reverse(2, "p-1")});
  CHECK(lots_of(chain, carol.public_key()).empty());
  CHECK(issuance_of(chain, 2, "p-1") ==
        IssuanceRecord{{1, 0}, carol.public_key(), 80, at_day(1) + 30 * day_ms, true, 80, 0});
  CHECK(stats_of(chain, 2) == partner_stats(2, 80, 0, 0, 0, 80, 0));

  // Day 3: P3 reverses s-1, all of which was redeemed: removed 0, shortfall 10.
  const Transaction reverse = txs.reverse(3, "s-1");
  ledger::BlockExecutor executor(chain.state(), {3, at_day(3)});
  REQUIRE(executor.apply(reverse, SignatureCheck::verify).ok());
  const ledger::BlockChanges changes = std::move(executor).finish();
  std::vector<Bytes> written;
  for (const ledger::Record& record : changes.records) written.push_back(record.key);
  // Account, issuance and partner, sorted by key ('a' < 'i' < 'p'); no totals: they did not change.
  CHECK(written == std::vector<Bytes>{ledger::record::account_key(carol.public_key()),
                                      ledger::record::issuance_key(3, "s-1"), ledger::record::partner_key(3)});

  commit_at(chain, at_day(3), {reverse});
  CHECK(issuance_of(chain, 3, "s-1") == IssuanceRecord{{1, 1}, carol.public_key(), 10, at_day(1), true, 0, 10});
  CHECK(stats_of(chain, 3) == partner_stats(2, 10, 10, 10, 0, 0, 10));
  // Issued 90 = redeemed 10 + reversed 80; nothing left.
  CHECK(chain.state().totals() == totals(90, 10, 0, 80, 0, 1));
}

// =============================================================================================
// Pending periods and expiry, by block time

TEST_CASE("pending points count in the balance and become spendable at the end of the pending period",
          "[ledger][state]") {
  // Proves that taking points skips pending lots even when they are the oldest, and that a
  // pending lot is spendable in the first block at or after earned time + pending_days.
  TestChain chain;
  TxFactory& txs = chain.txs;
  const auto alice = TxFactory::customer(1);
  const auto bob = TxFactory::customer(2);

  // Day 1: P1 → Alice 100 pending 7 days: spendable at day 8 exactly. Day 2: P2 → Alice 50.
  commit_at(chain, at_day(1), {txs.issue(1, alice.public_key(), 100, "hold-1", 7)});
  commit_at(chain, at_day(2), {txs.issue(2, alice.public_key(), 50, "now-1")});
  CHECK(balance_of(chain, alice.public_key()) == 150);
  CHECK(chain.state().account(alice.public_key())->spendable(at_day(2)) == 50);

  // Day 3: 60 is more than the 50 spendable. Both the Transfer of 20 to Bob and the Redeem
  // of 30 take from P2's lot, skipping the older pending lot: Bob gets a piece of P2's lot,
  // settlement(2,3) = 30 and nothing from P1.
  expect_refused(chain, txs.redeem(alice, 3, 60), Code::insufficient_balance, {}, at_day(3));
  give_back_sequence(txs, alice.public_key());
  commit_at(chain, at_day(3) + 1, {txs.transfer(alice, bob.public_key(), 20), txs.redeem(alice, 3, 30)});
  CHECK(lots_of(chain, bob.public_key()) == std::vector<Lot>{{2, {2, 0}, 20, at_day(2), at_day(2)}});
  CHECK(chain.state().settlement_matrix() == SettlementMatrix{{{2, 3}, 30}});
  CHECK(lots_of(chain, alice.public_key()) == std::vector<Lot>{{1, {1, 0}, 100, at_day(1), at_day(8)}});

  // One millisecond before day 8 nothing is spendable, for a Redeem or a Transfer.
  expect_refused(chain, txs.redeem(alice, 3, 1), Code::insufficient_balance, {}, at_day(8) - 2);
  give_back_sequence(txs, alice.public_key());
  expect_refused(chain, txs.transfer(alice, bob.public_key(), 1), Code::insufficient_balance, {}, at_day(8) - 1);
  give_back_sequence(txs, alice.public_key());

  // At day 8 exactly, all 100 are spendable.
  commit_at(chain, at_day(8), {txs.redeem(alice, 3, 100)});
  CHECK(chain.state().settlement_matrix() == SettlementMatrix{{{1, 3}, 100}, {{2, 3}, 30}});
  CHECK(lots_of(chain, alice.public_key()).empty());
  // Issued 150 = redeemed 30 + 100, and Bob's 20.
  CHECK(chain.state().totals() == totals(150, 130, 0, 0, 20, 2));
}

TEST_CASE("lots expire at the first block at or after earned time plus the expiry period, as their issuer's breakage",
          "[ledger][state]") {
  // Proves expiry by block time with point_expiry_days = 30 against a hand-worked example:
  // nothing expires a millisecond early, lots expire pending or not, a transferred lot keeps
  // its earned date and so expires in its new account at the original time, expiry runs
  // before the block's transactions, and breakage is counted per issuing partner.
  GenesisOptions options;
  options.point_expiry_days = 30;
  TestChain chain(options);
  TxFactory& txs = chain.txs;
  const auto alice = TxFactory::customer(1);
  const auto bob = TxFactory::customer(2);
  CHECK_FALSE(chain.state().next_expiry_ms().has_value());

  // Day 1: P1 → Alice 100 ("e-1"): expires at day 31.
  commit_at(chain, at_day(1), {txs.issue(1, alice.public_key(), 100, "e-1")});
  CHECK(chain.state().next_expiry_ms() == at_day(31));
  // Day 11: P2 → Alice 60 ("e-2") and P3 → Bob 25 pending 45 days ("e-3"): both expire at
  // day 41, e-3 while still pending (it would be spendable at day 56).
  commit_at(chain, at_day(11),
            {txs.issue(2, alice.public_key(), 60, "e-2"), txs.issue(3, bob.public_key(), 25, "e-3", 45)});
  // Day 21: Alice redeems 30 at P3 (e-1: 70 left) and gives Bob 10 (e-1: 60 left). Bob's
  // piece of e-1 keeps its day-1 date and goes before his e-3 lot.
  commit_at(chain, at_day(21), {txs.redeem(alice, 3, 30), txs.transfer(alice, bob.public_key(), 10)});
  CHECK(lots_of(chain, bob.public_key()) ==
        std::vector<Lot>{{1, {1, 0}, 10, at_day(1), at_day(1)}, {3, {2, 1}, 25, at_day(11), at_day(56)}});
  CHECK(chain.state().next_expiry_ms() == at_day(31));
  // The expiry index is derived, not stored: a state reloaded from the records rebuilds it,
  // and the rest of this case runs on the reloaded state.
  const Hash256 state_hash_before_reopen = chain.state().state_hash();
  chain.reopen();
  CHECK(chain.state().state_hash() == state_hash_before_reopen);
  CHECK(chain.state().next_expiry_ms() == at_day(31));

  // One millisecond before day 31: nothing expires. Alice 60 + 60, Bob 10 + 25.
  commit_at(chain, at_day(31) - 1);
  CHECK(balance_of(chain, alice.public_key()) == 120);
  CHECK(balance_of(chain, bob.public_key()) == 35);
  CHECK(chain.state().totals().expired == 0);

  // Day 31: e-1 expires in both accounts before any transaction runs, so Alice's Redeem of 61
  // finds only e-2's 60. Breakage: P1 60 + 10 = 70.
  expect_refused(chain, txs.redeem(alice, 1, 61), Code::insufficient_balance, {}, at_day(31));
  give_back_sequence(txs, alice.public_key());
  CHECK(lots_of(chain, alice.public_key()) == std::vector<Lot>{{2, {2, 0}, 60, at_day(11), at_day(11)}});
  CHECK(lots_of(chain, bob.public_key()) == std::vector<Lot>{{3, {2, 1}, 25, at_day(11), at_day(56)}});
  CHECK(stats_of(chain, 1) == partner_stats(1, 100, 0, 30, 70, 0, 0));
  CHECK(chain.state().totals() == totals(185, 30, 70, 0, 85, 2));
  CHECK(chain.state().next_expiry_ms() == at_day(41));

  // Day 50 is the first block at or after day 41: e-2 (P2, 60) and the still-pending e-3
  // (P3, 25) expire. Totals: issued 185 = redeemed 30 + expired 70 + 60 + 25.
  commit_at(chain, at_day(50));
  CHECK(lots_of(chain, alice.public_key()).empty());
  CHECK(lots_of(chain, bob.public_key()).empty());
  CHECK(stats_of(chain, 1) == partner_stats(1, 100, 0, 30, 70, 0, 0));
  CHECK(stats_of(chain, 2) == partner_stats(1, 60, 0, 0, 60, 0, 0));
  CHECK(stats_of(chain, 3) == partner_stats(1, 25, 30, 0, 25, 0, 0));
  for (const PartnerId id : {PartnerId{1}, PartnerId{2}, PartnerId{3}}) CHECK(stats_of(chain, id).outstanding() == 0);
  CHECK(chain.state().totals() == totals(185, 30, 155, 0, 0, 2));
  CHECK_FALSE(chain.state().next_expiry_ms().has_value());
}

TEST_CASE("an expiry block emits one expired event per lot, naming the issuer", "[ledger][state]") {
  // Proves that breakage is reported per lot and issuing partner, with no transaction id.
  GenesisOptions options;
  options.point_expiry_days = 1;
  TestChain chain(options);
  const auto alice = TxFactory::customer(1);
  commit_at(chain, at_day(1),
            {chain.txs.issue(2, alice.public_key(), 7, "x-1"), chain.txs.issue(3, alice.public_key(), 8, "x-2")});
  ledger::BlockExecutor executor(chain.state(), {2, at_day(2)});
  const ledger::BlockChanges changes = std::move(executor).finish();
  REQUIRE(changes.events.size() == 2);
  CHECK(changes.events[0].kind == ledger::Event::Kind::expired);
  CHECK(changes.events[0].partner == 2);
  CHECK(changes.events[0].points == 7);
  CHECK(changes.events[1].partner == 3);
  CHECK(changes.events[1].points == 8);
  CHECK(changes.events[1].tx_id == Hash256{});
}

// =============================================================================================
// Refusals: each typed error, and each leaves the state as it was

TEST_CASE("a transaction for another chain is refused as wrong_chain_id", "[ledger][state]") {
  // Proves the chain id binds every transaction type to one chain.
  TestChain chain;
  TxFactory other_chain("other-chain");
  const auto alice = TxFactory::customer(1);
  const auto bob = TxFactory::customer(2);
  commit_at(chain, at_day(1), {chain.txs.issue(1, alice.public_key(), 100, "order-1")});
  // Sequences as the real chain expects them, so the chain id is the only thing wrong.
  other_chain.next_sequence = chain.txs.next_sequence;
  expect_refused(chain, other_chain.issue(1, alice.public_key(), 5, "order-2"), Code::wrong_chain_id);
  expect_refused(chain, other_chain.redeem(alice, 2, 5), Code::wrong_chain_id);
  expect_refused(chain, other_chain.transfer(alice, bob.public_key(), 5), Code::wrong_chain_id);
  expect_refused(chain, other_chain.reverse(1, "order-1"), Code::wrong_chain_id);
  CHECK(balance_of(chain, alice.public_key()) == 100);
}

TEST_CASE("a partner not in the genesis is refused as unknown_partner", "[ledger][state]") {
  // Proves unknown_partner for Issue and Reverse (whose signer would be the partner) and for
  // a Redeem at a partner that does not exist, also when signatures were checked beforehand.
  TestChain chain;  // partners 1, 2, 3
  TxFactory& txs = chain.txs;
  const auto alice = TxFactory::customer(1);
  commit_at(chain, at_day(1), {txs.issue(1, alice.public_key(), 100, "order-1")});

  expect_refused(chain, txs.issue(9, alice.public_key(), 5, "order-9"), Code::unknown_partner);
  expect_refused(chain, txs.reverse(9, "order-1"), Code::unknown_partner);
  expect_refused(chain, txs.redeem(alice, 9, 5), Code::unknown_partner);
  give_back_sequence(txs, alice.public_key());

  // With the signature step skipped, the Issue's own rule still refuses it.
  ledger::BlockExecutor executor(chain.state(), {chain.state().height() + 1, chain.state().time_ms() + 1});
  const ledger::Status status = executor.apply(txs.issue(9, alice.public_key(), 5, "order-10"),
                                               SignatureCheck::already_verified);
  REQUIRE_FALSE(status.ok());
  CHECK(status.error().code == Code::unknown_partner);
  CHECK(std::move(executor).finish().records.empty());
  CHECK(balance_of(chain, alice.public_key()) == 100);
}

TEST_CASE("a signature by any key but the signer's is refused as bad_signature", "[ledger][state]") {
  // Proves each type is bound to its signer: the partner's issuer key for Issue and Reverse,
  // the customer's key for Redeem and Transfer; and that changing a signed field breaks it.
  TestChain chain;
  TxFactory& txs = chain.txs;
  const auto alice = TxFactory::customer(1);
  const auto bob = TxFactory::customer(2);
  commit_at(chain, at_day(1), {txs.issue(1, alice.public_key(), 100, "order-1"),
                               txs.issue(1, bob.public_key(), 100, "order-2")});
  const auto sign_with = [](const Transaction& tx, const crypto::SecretKey& key) {
    return Transaction::sign(tx.fields(), key);
  };

  expect_refused(chain, sign_with(txs.issue(1, alice.public_key(), 5, "order-3"), TxFactory::partner_issuer(2)),
                 Code::bad_signature);
  give_back_sequence(txs, issuer_key(1));
  expect_refused(chain, sign_with(txs.reverse(1, "order-1"), TxFactory::partner_issuer(2)), Code::bad_signature);
  give_back_sequence(txs, issuer_key(1));
  expect_refused(chain, sign_with(txs.redeem(alice, 2, 5), bob), Code::bad_signature);
  give_back_sequence(txs, alice.public_key());
  expect_refused(chain, sign_with(txs.transfer(alice, bob.public_key(), 5), bob), Code::bad_signature);
  give_back_sequence(txs, alice.public_key());

  // A correctly signed Redeem of 5, with its amount raised to 50 and the old signature kept.
  const Transaction honest = txs.redeem(alice, 2, 5);
  ledger::UnsignedTransaction raised = honest.fields();
  std::get<ledger::Redeem>(raised.body).points = 50;
  expect_refused(chain, Transaction::with_signature(raised, honest.signature()), Code::bad_signature);
  commit_at(chain, chain.state().time_ms() + 1, {honest});
  CHECK(balance_of(chain, alice.public_key()) == 95);
}

TEST_CASE("a used sequence is sequence_too_low and a gap is sequence_too_high", "[ledger][state]") {
  // Proves replay protection for both kinds of signer: a partner's Issue and Reverse share one
  // issuer_sequence, a customer's Redeem and Transfer share the account's sequence, and
  // receiving points uses none.
  TestChain chain;
  TxFactory& txs = chain.txs;
  const auto alice = TxFactory::customer(1);
  const auto bob = TxFactory::customer(2);
  const auto carol = TxFactory::customer(3);
  const Transaction first_issue = txs.issue(1, alice.public_key(), 100, "order-1");
  commit_at(chain, at_day(1), {first_issue});

  // The same signed Issue again: a replay. The sequence is checked before the reference.
  expect_refused(chain, first_issue, Code::sequence_too_low);
  // A Reverse with P1's used sequence 1: the counter is shared with Issue.
  txs.next_sequence[issuer_key(1)] = 0;
  expect_refused(chain, txs.reverse(1, "order-1"), Code::sequence_too_low);
  // Sequence 3 when 2 is next: a gap.
  txs.next_sequence[issuer_key(1)] = 2;
  expect_refused(chain, txs.issue(1, alice.public_key(), 5, "order-2"), Code::sequence_too_high);
  txs.next_sequence[issuer_key(1)] = 1;

  // Alice: Redeem 1, then Transfer 2 applies (shared counter); a replayed Redeem is too low.
  const Transaction first_redeem = txs.redeem(alice, 2, 10);
  commit_at(chain, at_day(2), {first_redeem, txs.transfer(alice, bob.public_key(), 10)});
  CHECK(chain.state().account(alice.public_key())->sequence == 2);
  CHECK(chain.state().account(bob.public_key())->sequence == 0);
  expect_refused(chain, first_redeem, Code::sequence_too_low);
  txs.next_sequence[alice.public_key()] = 3;
  expect_refused(chain, txs.transfer(alice, bob.public_key(), 1), Code::sequence_too_high);
  give_back_sequence(txs, alice.public_key());
  // Bob received points but never signed: his first transaction is sequence 1.
  txs.next_sequence[bob.public_key()] = 1;
  expect_refused(chain, txs.redeem(bob, 1, 1), Code::sequence_too_high);
  txs.next_sequence[bob.public_key()] = 0;
  commit_at(chain, at_day(3), {txs.redeem(bob, 1, 1)});

  // Carol has no account: sequence 2 is a gap; sequence 1 passes the check and meets the
  // empty balance.
  txs.next_sequence[carol.public_key()] = 1;
  expect_refused(chain, txs.redeem(carol, 1, 1), Code::sequence_too_high);
  txs.next_sequence[carol.public_key()] = 0;
  expect_refused(chain, txs.redeem(carol, 1, 1), Code::insufficient_balance);
  CHECK(chain.state().account(carol.public_key()) == nullptr);
  CHECK(stats_of(chain, 1).issuer_sequence == 1);
}

TEST_CASE("last-valid height: expired once passed, validity_too_long beyond 100000 blocks ahead",
          "[ledger][state]") {
  // Proves both edges of the validity window: valid in the block at its last-valid height,
  // expired in the next; at most tx_validity_blocks_max (100000) blocks ahead.
  TestChain chain;
  TxFactory& txs = chain.txs;
  const auto alice = TxFactory::customer(1);

  // Block 1: last valid 1 + 100001 is one too far; 1 + 100000 applies.
  txs.last_valid_height = 1 + ledger::tx_validity_blocks_max + 1;
  expect_refused(chain, txs.issue(1, alice.public_key(), 5, "order-1"), Code::validity_too_long, {}, at_day(1));
  give_back_sequence(txs, issuer_key(1));
  // expect_refused committed block 1 without it; block 2 is next.
  txs.last_valid_height = 2 + ledger::tx_validity_blocks_max;
  commit_at(chain, at_day(2), {txs.issue(1, alice.public_key(), 5, "order-1")});

  // Each refusal below is committed as a block of its own, so the last-valid height is set
  // from the tip: the tip's height has passed in the next block, the next block's has not.
  txs.last_valid_height = chain.state().height();
  expect_refused(chain, txs.issue(1, alice.public_key(), 5, "order-2"), Code::expired);  // block 3
  give_back_sequence(txs, issuer_key(1));
  txs.last_valid_height = chain.state().height();
  expect_refused(chain, txs.redeem(alice, 1, 5), Code::expired);  // block 4
  give_back_sequence(txs, alice.public_key());
  txs.last_valid_height = chain.state().height() + 1;
  commit_at(chain, chain.state().time_ms() + 1, {txs.redeem(alice, 1, 5)});
  CHECK(chain.state().height() == 5);
  CHECK(chain.state().totals().redeemed == 5);
}

TEST_CASE("a partner's reference is issued once: duplicate_reference", "[ledger][state]") {
  // Proves the per-partner uniqueness of references, across blocks and within one block; the
  // same reference at another partner is a different issuance.
  TestChain chain;
  TxFactory& txs = chain.txs;
  const auto alice = TxFactory::customer(1);
  const auto bob = TxFactory::customer(2);
  commit_at(chain, at_day(1), {txs.issue(1, alice.public_key(), 100, "order-1")});

  expect_refused(chain, txs.issue(1, bob.public_key(), 5, "order-1"), Code::duplicate_reference);
  give_back_sequence(txs, issuer_key(1));
  const Transaction in_block = txs.issue(1, bob.public_key(), 5, "order-2");
  expect_refused(chain, txs.issue(1, alice.public_key(), 6, "order-2"), Code::duplicate_reference, {in_block});
  give_back_sequence(txs, issuer_key(1));
  CHECK(issuance_of(chain, 1, "order-2").points == 5);

  commit_at(chain, chain.state().time_ms() + 1, {txs.issue(2, bob.public_key(), 7, "order-1")});
  CHECK(issuance_of(chain, 2, "order-1").customer == bob.public_key());
  CHECK(issuance_of(chain, 1, "order-1").customer == alice.public_key());
}

TEST_CASE("spending more than the spendable points is insufficient_balance", "[ledger][state]") {
  // Proves the balance check for Redeem and Transfer, including within one block after an
  // earlier spend, and that pending points do not count (see also the pending-period case).
  TestChain chain;
  TxFactory& txs = chain.txs;
  const auto alice = TxFactory::customer(1);
  const auto bob = TxFactory::customer(2);
  // Alice: 100 spendable + 40 pending for 5 days.
  commit_at(chain, at_day(1),
            {txs.issue(1, alice.public_key(), 100, "order-1"), txs.issue(2, alice.public_key(), 40, "order-2", 5)});
  CHECK(balance_of(chain, alice.public_key()) == 140);

  expect_refused(chain, txs.redeem(alice, 1, 101), Code::insufficient_balance);
  give_back_sequence(txs, alice.public_key());
  expect_refused(chain, txs.transfer(alice, bob.public_key(), 101), Code::insufficient_balance);
  give_back_sequence(txs, alice.public_key());
  // After a Redeem of 70 in the same block, 31 is too much.
  const Transaction first = txs.redeem(alice, 1, 70);
  expect_refused(chain, txs.transfer(alice, bob.public_key(), 31), Code::insufficient_balance, {first});
  give_back_sequence(txs, alice.public_key());
  CHECK(balance_of(chain, alice.public_key()) == 70);
  CHECK(chain.state().account(bob.public_key()) == nullptr);
}

TEST_CASE("an Issue that would push a total past 2^64 - 1 is refused as overflow", "[ledger][state]") {
  // Proves no counter wraps: once 2^64 - 1 points are issued, one more point from any partner
  // is refused.
  TestChain chain;
  TxFactory& txs = chain.txs;
  const auto alice = TxFactory::customer(1);
  const auto bob = TxFactory::customer(2);
  commit_at(chain, at_day(1), {txs.issue(1, alice.public_key(), u64_max, "everything")});
  CHECK(chain.state().totals() == totals(u64_max, 0, 0, 0, u64_max, 1));

  expect_refused(chain, txs.issue(2, bob.public_key(), 1, "one-more"), Code::overflow);
  expect_refused(chain, txs.issue(1, alice.public_key(), 1, "one-more"), Code::overflow);
  // Spending some does not lower `issued`, which only grows.
  give_back_sequence(txs, issuer_key(2));
  commit_at(chain, chain.state().time_ms() + 1, {txs.redeem(alice, 3, 1000)});
  expect_refused(chain, txs.issue(2, bob.public_key(), 1, "one-more"), Code::overflow);
  CHECK(balance_of(chain, alice.public_key()) == u64_max - 1000);
}

TEST_CASE("an Issue past the partner's cap on outstanding points is cap_exceeded", "[ledger][state]") {
  // Proves that issuance_cap_points caps each partner's outstanding liability (not what it
  // ever issued): exactly the cap is allowed, one more is not, and redemptions make room.
  GenesisOptions options;
  options.issuance_cap_points = 1'000;
  TestChain chain(options);
  TxFactory& txs = chain.txs;
  const auto alice = TxFactory::customer(1);
  const auto bob = TxFactory::customer(2);

  // P1: 600 + 400 = 1000 outstanding, exactly the cap.
  commit_at(chain, at_day(1),
            {txs.issue(1, alice.public_key(), 600, "order-1"), txs.issue(1, alice.public_key(), 400, "order-2")});
  expect_refused(chain, txs.issue(1, bob.public_key(), 1, "order-3"), Code::cap_exceeded);
  give_back_sequence(txs, issuer_key(1));
  // The cap is per partner: P2 can issue its own 1000.
  commit_at(chain, at_day(2), {txs.issue(2, bob.public_key(), 1'000, "order-1")});
  // Alice redeems 100 (from P1's oldest lot): P1's outstanding is 900, so 100 fits, 101 not.
  commit_at(chain, at_day(3), {txs.redeem(alice, 2, 100)});
  CHECK(stats_of(chain, 1).outstanding() == 900);
  expect_refused(chain, txs.issue(1, bob.public_key(), 101, "order-3"), Code::cap_exceeded);
  give_back_sequence(txs, issuer_key(1));
  commit_at(chain, at_day(4), {txs.issue(1, bob.public_key(), 100, "order-3")});
  CHECK(stats_of(chain, 1).outstanding() == 1'000);
  CHECK(stats_of(chain, 1).issued == 1'100);
}

TEST_CASE("from protocol version 2, an Issue pending as long as points live is issue_never_spendable",
          "[ledger][state][protocol]") {
  // Proves the version-2 rule: with point_expiry_days E, pending_days >= E is refused (its lot
  // would expire when it became spendable), E - 1 is accepted, and a version-1 chain still
  // accepts such an Issue, so its old blocks stay valid.
  GenesisOptions options;
  options.point_expiry_days = 10;
  options.protocol_version = 2;
  TestChain chain(options);
  TxFactory& txs = chain.txs;
  const auto alice = TxFactory::customer(1);
  expect_refused(chain, txs.issue(1, alice.public_key(), 5, "order-1", 10), Code::issue_never_spendable);
  give_back_sequence(txs, issuer_key(1));
  expect_refused(chain, txs.issue(1, alice.public_key(), 5, "order-1", 365), Code::issue_never_spendable);
  give_back_sequence(txs, issuer_key(1));
  commit_at(chain, at_day(1), {txs.issue(1, alice.public_key(), 5, "order-1", 9)});
  CHECK(balance_of(chain, alice.public_key()) == 5);

  options.protocol_version = 1;
  TestChain version_1(options);
  commit_at(version_1, at_day(1), {version_1.txs.issue(1, alice.public_key(), 5, "order-1", 10)});
  CHECK(balance_of(version_1, alice.public_key()) == 5);
  // The lot expires at day 11, the instant it would have become spendable.
  commit_at(version_1, at_day(11), {});
  CHECK(balance_of(version_1, alice.public_key()) == 0);
}

TEST_CASE("a Transfer under a policy without transfers is transfer_not_allowed", "[ledger][state]") {
  // Proves the policy switch, checked before anything else about the Transfer.
  GenesisOptions options;
  options.transfers_allowed = false;
  TestChain chain(options);
  const auto alice = TxFactory::customer(1);
  const auto bob = TxFactory::customer(2);
  commit_at(chain, at_day(1), {chain.txs.issue(1, alice.public_key(), 100, "order-1")});
  expect_refused(chain, chain.txs.transfer(alice, bob.public_key(), 10), Code::transfer_not_allowed);
  CHECK(balance_of(chain, alice.public_key()) == 100);
  CHECK(chain.state().account(bob.public_key()) == nullptr);
}

TEST_CASE("a Transfer to oneself is refused as self_transfer", "[ledger][state]") {
  // Proves the self-transfer rule holds for a transaction built in memory, not only when
  // decoding.
  TestChain chain;
  const auto alice = TxFactory::customer(1);
  commit_at(chain, at_day(1), {chain.txs.issue(1, alice.public_key(), 100, "order-1")});
  expect_refused(chain, chain.txs.transfer(alice, alice.public_key(), 10), Code::self_transfer);
  CHECK(chain.state().account(alice.public_key())->sequence == 0);
}

TEST_CASE("Reverse refusals: already_reversed, and unknown_issuance for a reference the partner never issued",
          "[ledger][state]") {
  // Proves that an issuance is reversed at most once (also twice in one block), and that a
  // partner can only reverse its own issuances: another partner's reference is unknown to it.
  TestChain chain;
  TxFactory& txs = chain.txs;
  const auto alice = TxFactory::customer(1);
  commit_at(chain, at_day(1),
            {txs.issue(1, alice.public_key(), 100, "order-1"), txs.issue(1, alice.public_key(), 50, "order-2")});

  expect_refused(chain, txs.reverse(1, "never-issued"), Code::unknown_issuance);
  give_back_sequence(txs, issuer_key(1));
  expect_refused(chain, txs.reverse(2, "order-1"), Code::unknown_issuance);
  give_back_sequence(txs, issuer_key(2));

  const Transaction reverse_once = txs.reverse(1, "order-2");
  expect_refused(chain, txs.reverse(1, "order-2"), Code::already_reversed, {reverse_once});
  give_back_sequence(txs, issuer_key(1));
  CHECK(issuance_of(chain, 1, "order-2").reversed);
  expect_refused(chain, txs.reverse(1, "order-2"), Code::already_reversed);
  CHECK(stats_of(chain, 1) == partner_stats(3, 150, 0, 0, 0, 50, 0));
  CHECK(balance_of(chain, alice.public_key()) == 100);
}

TEST_CASE("a receiving key that is not a valid ed25519 key is invalid_public_key", "[ledger][state]") {
  // Proves that no account is opened for a key nobody could sign for (here the identity
  // point, of small order), through Issue or Transfer.
  TestChain chain;
  TxFactory& txs = chain.txs;
  const auto alice = TxFactory::customer(1);
  PublicKey identity{};
  identity[0] = 1;
  REQUIRE_FALSE(crypto::is_valid_public_key(identity));
  commit_at(chain, at_day(1), {txs.issue(1, alice.public_key(), 100, "order-1")});
  expect_refused(chain, txs.issue(1, identity, 5, "order-2"), Code::invalid_public_key);
  expect_refused(chain, txs.transfer(alice, identity, 5), Code::invalid_public_key);
  CHECK(chain.state().account(identity) == nullptr);
}

TEST_CASE("fields no decoder accepts are refused as invalid_field when built in memory", "[ledger][state]") {
  // Proves the executor checks the field rules again, so a block it produced can be decoded.
  TestChain chain;
  TxFactory& txs = chain.txs;
  const auto alice = TxFactory::customer(1);
  commit_at(chain, at_day(1), {txs.issue(1, alice.public_key(), 100, "order-1")});
  expect_refused(chain, txs.issue(1, alice.public_key(), 0, "order-2"), Code::invalid_field);
  give_back_sequence(txs, issuer_key(1));
  expect_refused(chain,
                 resigned<ledger::Issue>(txs.issue(1, alice.public_key(), 5, "order-2"), TxFactory::partner_issuer(1),
                                         [](ledger::Issue& issue) { issue.purchase = ledger::Purchase{100, "eur"}; }),
                 Code::invalid_field);
  expect_refused(chain, txs.redeem(alice, 1, 0), Code::invalid_field);
}

TEST_CASE("a new lot for an account holding 4096 lots is account_lots_full", "[ledger][state]") {
  // Proves the lot limit for Issue and Transfer, that points of an issuance the account
  // already holds still merge in, and that a Transfer whose first piece merged but whose
  // second needs a new lot leaves both accounts as they were.
  TestChain chain;
  TxFactory& txs = chain.txs;
  const auto alice = TxFactory::customer(1);
  const auto bob = TxFactory::customer(2);

  // Block 1 (day 1): Bob gets 2 points of "s" (issuance (1,0)) and 1 point of each of 4095
  // more issuances: 4096 lots. Alice gets 10 of "a" ((1, 4096)).
  std::vector<Transaction> block;
  block.push_back(txs.issue(1, bob.public_key(), 2, "s"));
  for (std::size_t i = 1; i < ledger::lots_per_account_max; ++i) {
    block.push_back(txs.issue(1, bob.public_key(), 1, "b-" + std::to_string(i)));
  }
  block.push_back(txs.issue(2, alice.public_key(), 10, "a"));
  commit_at(chain, at_day(1), block);
  REQUIRE(lots_of(chain, bob.public_key()).size() == ledger::lots_per_account_max);

  // Day 2: Bob gives Alice 1 from "s": Alice [s 1, a 10], Bob still 4096 lots.
  commit_at(chain, at_day(2), {txs.transfer(bob, alice.public_key(), 1)});
  const std::uint32_t a_index = static_cast<std::uint32_t>(ledger::lots_per_account_max);
  CHECK(lots_of(chain, alice.public_key()) ==
        std::vector<Lot>{{1, {1, 0}, 1, at_day(1), at_day(1)}, {2, {1, a_index}, 10, at_day(1), at_day(1)}});

  // Alice gives 2: the "s" point would merge, the "a" point needs a 4097th lot.
  expect_refused(chain, txs.transfer(alice, bob.public_key(), 2), Code::account_lots_full);
  give_back_sequence(txs, alice.public_key());
  CHECK(lots_of(chain, alice.public_key()).size() == 2);
  CHECK(lots_of(chain, bob.public_key()).front() == Lot{1, {1, 0}, 1, at_day(1), at_day(1)});

  // Giving 1 takes only the "s" point, which merges: Bob's "s" lot is back to 2.
  commit_at(chain, chain.state().time_ms() + 1, {txs.transfer(alice, bob.public_key(), 1)});
  CHECK(lots_of(chain, bob.public_key()).size() == ledger::lots_per_account_max);
  CHECK(lots_of(chain, bob.public_key()).front() == Lot{1, {1, 0}, 2, at_day(1), at_day(1)});

  expect_refused(chain, txs.transfer(alice, bob.public_key(), 1), Code::account_lots_full);
  expect_refused(chain, txs.issue(3, bob.public_key(), 5, "one-too-many"), Code::account_lots_full);
  CHECK(balance_of(chain, bob.public_key()) == 2 + (ledger::lots_per_account_max - 1));
}

TEST_CASE("the checks run in the documented order", "[ledger][state]") {
  // Proves that a transaction breaking several rules gets the code of the first in
  // docs/protocol.md's order: chain id, expiry, validity window, signature, then the type's own.
  TestChain chain;
  TxFactory& txs = chain.txs;
  const auto alice = TxFactory::customer(1);
  const auto bob = TxFactory::customer(2);
  commit_at(chain, at_day(1), {txs.issue(1, alice.public_key(), 100, "order-1")});
  const auto forged = [&](Transaction tx) { return Transaction::sign(tx.fields(), bob); };

  TxFactory other_chain("other-chain");
  other_chain.last_valid_height = 1;  // also expired at height 2
  CHECK(chain.try_apply(forged(other_chain.redeem(alice, 1, 500))).error().code == Code::wrong_chain_id);
  txs.last_valid_height = 1;
  CHECK(chain.try_apply(forged(txs.redeem(alice, 1, 500))).error().code == Code::expired);
  txs.last_valid_height = 2 + ledger::tx_validity_blocks_max + 1;
  CHECK(chain.try_apply(forged(txs.redeem(alice, 1, 500))).error().code == Code::validity_too_long);
  txs.last_valid_height = 1'000;
  // Signature before the balance (Alice holds 100, not 500).
  txs.next_sequence[alice.public_key()] = 0;
  CHECK(chain.try_apply(forged(txs.redeem(alice, 1, 500))).error().code == Code::bad_signature);
  // Sequence before the balance; sequence before the reference.
  txs.next_sequence[alice.public_key()] = 5;
  CHECK(chain.try_apply(txs.redeem(alice, 1, 500)).error().code == Code::sequence_too_high);
  txs.next_sequence[issuer_key(1)] = 0;
  CHECK(chain.try_apply(txs.issue(1, bob.public_key(), 5, "order-1")).error().code == Code::sequence_too_low);
  // Transfers forbidden before anything else about the Transfer is looked at.
  GenesisOptions options;
  options.transfers_allowed = false;
  TestChain closed(options);
  CHECK(closed.try_apply(closed.txs.transfer(alice, bob.public_key(), 500)).error().code ==
        Code::transfer_not_allowed);
}

// =============================================================================================
// Invariants and determinism

TEST_CASE("the supply invariant holds after every block of a mixed history", "[ledger][state]") {
  // Proves, block by block (commit_at recomputes it from the records), that the sum of all
  // lots equals issued − redeemed − expired − reversed, and checks the final numbers by hand.
  TestChain chain(mixed_history_options());
  run_mixed_history(chain);
  const auto alice = TxFactory::customer(1);
  const auto bob = TxFactory::customer(2);
  const auto carol = TxFactory::customer(3);

  // Day 1:  P1 → Alice 500 (m-1); P2 → Bob 300 (m-2); P3 → Alice 40 pending 3 days (m-3).
  // Day 2:  Alice redeems 120 at P2 from m-1 (380 left; m-3 pending); Bob gives Alice 50 of m-2.
  // Day 3:  P3 reverses m-3 (removed 40, pending); P1 → Bob 70 (m-4); Bob redeems 10 at P1 from m-2.
  // Day 5:  P2 → Carol 9 (m-5); Alice gives Carol 1 of m-1 (380 − 1 = 379 left).
  // Day 11: day-1 lots expire (E = 10 days): Alice m-1 379 + m-2 50; Bob m-2 240; Carol m-1 1.
  //         P1 breakage 379 + 1 = 380; P2 breakage 50 + 240 = 290.
  // Day 14: m-4 (day 3) expires: P1 breakage 450. Carol redeems her 9 at P3.
  // Issued 500 + 300 + 40 + 70 + 9 = 919 = redeemed 120 + 10 + 9 = 139 + expired 740 +
  // reversed 40; nothing left.
  CHECK(chain.state().totals() == totals(919, 139, 740, 40, 0, 3));
  CHECK(stats_of(chain, 1) == partner_stats(2, 570, 10, 120, 450, 0, 0));
  CHECK(stats_of(chain, 2) == partner_stats(2, 309, 120, 19, 290, 0, 0));
  CHECK(stats_of(chain, 3) == partner_stats(2, 40, 9, 0, 0, 40, 0));
  CHECK(chain.state().settlement_matrix() == SettlementMatrix{{{1, 2}, 120}, {{2, 1}, 10}, {{2, 3}, 9}});
  for (const auto* customer : {&alice, &bob, &carol}) CHECK(lots_of(chain, customer->public_key()).empty());
  CHECK_FALSE(chain.state().next_expiry_ms().has_value());
}

TEST_CASE("the same blocks applied on two fresh stores give identical state hashes", "[ledger][state]") {
  // Proves determinism three ways: a second store appending the first store's blocks, a bare
  // in-memory State executing them, and a second producer given the same transactions, all
  // reach the same state hash at every height and the same records at the end.
  TestChain producer(mixed_history_options());
  run_mixed_history(producer);
  const std::uint64_t tip_height = producer.store().tip().height;
  REQUIRE(tip_height == 6);

  TestChain replica(mixed_history_options());
  ledger::State in_memory(producer.genesis());
  CHECK(replica.state().state_hash() == in_memory.state_hash());
  for (std::uint64_t height = 1; height <= tip_height; ++height) {
    INFO("height " << height);
    auto block = producer.store().block_at(height);
    REQUIRE(block.ok());
    auto appended = replica.store().append(*block, SignatureCheck::verify);
    INFO((appended ? std::string() : appended.error().message()));
    REQUIRE(appended.ok());
    CHECK(replica.state().state_hash() == block->header.state_hash);
    CHECK(replica.store().tip() == ledger::tip_after(*block));

    auto executed = ledger::execute_block(in_memory, *block, SignatureCheck::verify);
    REQUIRE(executed.ok());
    in_memory.apply(std::move(executed).value());
    CHECK(in_memory.state_hash() == block->header.state_hash);
    check_supply_from_records(in_memory);
  }
  CHECK(replica.state().records() == producer.state().records());
  CHECK(in_memory.records() == producer.state().records());
  CHECK(in_memory.totals() == producer.state().totals());

  TestChain second_producer(mixed_history_options());
  run_mixed_history(second_producer);
  CHECK(second_producer.store().tip() == producer.store().tip());
  for (std::uint64_t height = 1; height <= tip_height; ++height) {
    CHECK(second_producer.store().block_bytes_at(height).value() == producer.store().block_bytes_at(height).value());
  }

  // The hash does depend on the content: one point more in the first Issue gives another.
  TestChain different(mixed_history_options());
  TxFactory& txs = different.txs;
  commit_at(different, at_day(1),
            {txs.issue(1, TxFactory::customer(1).public_key(), 501, "m-1"),
             txs.issue(2, TxFactory::customer(2).public_key(), 300, "m-2"),
             txs.issue(3, TxFactory::customer(1).public_key(), 40, "m-3", 3)});
  CHECK(different.state().state_hash() != producer.store().block_at(1).value().header.state_hash);
}

TEST_CASE("a state with several broken accounts reports the first in key order, whatever the hash table's order",
          "[ledger][state]") {
  // The accounts are a hash table whose key is drawn per process, so a walk in its order would
  // differ between runs. Among 65 accounts, only the lowest key holds an empty lot and the
  // other 64 hold lots out of order: State::from_records (through check_invariants) must name
  // the lowest one's defect every time, as it did when the accounts were a map in key order.
  const ledger::Genesis genesis = pc::test::make_genesis();
  const ledger::State empty(genesis);
  std::vector<ledger::Record> records = empty.records();
  const auto account_record = [](std::uint8_t first_byte, std::uint8_t last_byte, std::vector<Lot> lots) {
    PublicKey key{};
    key.front() = first_byte;
    key.back() = last_byte;
    ledger::Account account;
    account.lots = std::move(lots);
    return ledger::Record{ledger::record::account_key(key), ledger::record::encode(account)};
  };
  const Lot early{1, IssuanceId{1, 0}, 10, pc::test::test_genesis_time_ms + 1, pc::test::test_genesis_time_ms + 1};
  const Lot late{1, IssuanceId{2, 0}, 10, pc::test::test_genesis_time_ms + 2, pc::test::test_genesis_time_ms + 2};
  Lot spent = early;
  spent.points = 0;
  records.push_back(account_record(0x00, 1, {spent}));
  for (std::uint8_t i = 0; i < 64; ++i) records.push_back(account_record(0x80, i, {late, early}));
  std::sort(records.begin(), records.end(), [](const auto& a, const auto& b) { return a.key < b.key; });

  auto state = ledger::State::from_records(genesis, 0, genesis.genesis_time_ms, empty.state_hash(), records);
  REQUIRE_FALSE(state);
  CHECK(state.error().code == Code::invariant_violated);
  CHECK(state.error().detail == "an empty lot is kept");
}
