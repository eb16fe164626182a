// Tiers (protocol version 4; docs/protocol.md "Tiers", docs/loyalty.md): a tier is earned at
// once when a window's qualifying points cross a threshold, held to the end of the next window
// plus the grace period, and lost exactly then; a partner's GrantTier holds until it ends by
// itself; the higher of the earned and the granted tier applies; Issue credits the points
// times the tier's multiplier; a reward can require a tier. The program of these tests is
// test_tier_program(): Silver from 1000 points (×1.25), Gold from 5000 (×1.5), 30-day windows
// counted from the genesis time, 10 days of grace.
#include <catch2/catch.hpp>

#include <map>
#include <string>
#include <vector>

#include "ledger/limits.hpp"
#include "ledger/protocol.hpp"
#include "ledger/state.hpp"
#include "ledger/tiers.hpp"
#include "tests/fixtures.hpp"
#include "tests/state_support.hpp"

namespace {

using namespace pc;
using ledger::Code;
using ledger::Transaction;
using pc::test::GenesisOptions;
using pc::test::TestChain;
using pc::test::TxFactory;
using namespace pc::test::state;

constexpr std::uint8_t silver = 1;
constexpr std::uint8_t gold = 2;

std::uint8_t tier_of(const TestChain& chain, const crypto::PublicKey& customer) {
  const ledger::TierStatus* status = chain.state().tier_status(customer);
  return status == nullptr ? 0 : status->tier;
}

// Executes a block of `txs` at `time_ms` over the chain's state without committing it, for its
// tier changes; then commits the same block.
std::vector<ledger::TierChange> tier_changes_at(TestChain& chain, std::uint64_t time_ms,
                                                const std::vector<Transaction>& txs = {}) {
  ledger::BlockExecutor executor(chain.state(), {chain.state().height() + 1, time_ms});
  for (const Transaction& tx : txs) REQUIRE(executor.apply(tx, ledger::SignatureCheck::verify).ok());
  std::vector<ledger::TierChange> changes = std::move(executor).finish().tier_changes;
  commit_at(chain, time_ms, txs);
  return changes;
}

}  // namespace

TEST_CASE("a tier is earned at once when the window's points cross its threshold", "[ledger][tiers]") {
  // Proves the upgrade rule and the multiplier: 900 points leave Alice without a tier; the
  // Issue of 100 that reaches 1000 upgrades her in its own block (a tier_upgraded change naming
  // the issuing partner) and earns at the old rate; her next Issue of 100 earns 125 (×1.25),
  // and its issuance records Silver and 12500. Qualifying points are the points signed (100),
  // not the 125 credited, so 3 more such Issues do not reach Gold.
  TestChain chain(pc::test::tier_chain_options());
  TxFactory& txs = chain.txs;
  const auto alice = TxFactory::customer(1).public_key();
  commit_at(chain, at_day(1), {txs.issue(1, alice, 900, "o-1")});
  CHECK(tier_of(chain, alice) == 0);

  const Transaction crossing = txs.issue(2, alice, 100, "o-2");
  const auto changes = tier_changes_at(chain, at_day(2), {crossing});
  REQUIRE(changes.size() == 1);
  CHECK(changes[0].customer == alice);
  CHECK(changes[0].from_tier == 0);
  CHECK(changes[0].to_tier == silver);
  CHECK(changes[0].upgraded());
  CHECK(changes[0].partner == 2);
  CHECK(changes[0].tx_id == crossing.id());
  CHECK(tier_of(chain, alice) == silver);
  CHECK(issuance_of(chain, 2, "o-2").points == 100);
  CHECK(issuance_of(chain, 2, "o-2").tier == 0);
  CHECK(issuance_of(chain, 2, "o-2").multiplier_bp == 10'000);

  commit_at(chain, at_day(3), {txs.issue(1, alice, 100, "o-3")});
  CHECK(issuance_of(chain, 1, "o-3").points == 125);
  CHECK(issuance_of(chain, 1, "o-3").tier == silver);
  CHECK(issuance_of(chain, 1, "o-3").multiplier_bp == 12'500);
  CHECK(balance_of(chain, alice) == 1'125);
  CHECK(chain.state().tier_status(alice)->window_points == 1'100);
  CHECK(stats_of(chain, 1).issued == 1'025);
}

TEST_CASE("an earned tier holds to the end of the next window plus grace, and drops exactly then", "[ledger][tiers]") {
  // Proves the downgrade edge: Silver earned on day 5 (window 0 = days 0-30) holds through
  // window 1 (days 30-60) and its 10 grace days; a block 1 ms before day 70 still sees Silver,
  // the block at day 70 downgrades her with no transaction (a tier_downgraded change with no
  // partner and no transaction), and the records stay consistent after the store is reopened.
  TestChain chain(pc::test::tier_chain_options());
  TxFactory& txs = chain.txs;
  const auto alice = TxFactory::customer(1).public_key();
  commit_at(chain, at_day(5), {txs.issue(1, alice, 1'000, "o-1")});
  REQUIRE(tier_of(chain, alice) == silver);
  CHECK(chain.state().next_tier_change_ms() == std::optional<std::uint64_t>(at_day(70)));

  const ledger::TierView view = ledger::describe_tier(chain.genesis().policy.tiers, chain.genesis().genesis_time_ms, chain.state().settled_tier(alice), at_day(5));
  CHECK(view.held_until_ms == at_day(70));
  CHECK(view.next_tier == std::optional<std::uint8_t>(gold));
  CHECK(view.points_to_next_tier == 4'000);
  CHECK(view.window_end_ms == at_day(30));

  CHECK(tier_changes_at(chain, at_day(31)).empty());  // a new window changes nothing by itself
  CHECK(tier_changes_at(chain, at_day(70) - 1).empty());
  CHECK(tier_of(chain, alice) == silver);
  chain.reopen();  // the queue of coming changes is rebuilt from the records
  const auto changes = tier_changes_at(chain, at_day(70));
  REQUIRE(changes.size() == 1);
  CHECK(changes[0].from_tier == silver);
  CHECK(changes[0].to_tier == 0);
  CHECK(changes[0].partner == 0);
  CHECK(changes[0].tx_id == ledger::Hash256{});
  CHECK(tier_of(chain, alice) == 0);
  CHECK(!chain.state().next_tier_change_ms());
  CHECK(chain.state().check_invariants().ok());
}

TEST_CASE("requalifying extends a tier, and a lower qualification takes over at the edge", "[ledger][tiers]") {
  // Proves the three-window rule: Gold earned in window 0 and Silver earned in window 1
  // (day 40) make Alice Gold until day 70 (end of window 1 + grace), then Silver until day 100
  // (end of window 2 + grace), then nothing; a block inside window 2's grace period already
  // has window 0's qualification dropped only once day 70 is reached.
  TestChain chain(pc::test::tier_chain_options());
  TxFactory& txs = chain.txs;
  const auto alice = TxFactory::customer(1).public_key();
  commit_at(chain, at_day(10), {txs.issue(1, alice, 5'000, "o-1")});
  REQUIRE(tier_of(chain, alice) == gold);
  commit_at(chain, at_day(40), {txs.issue(1, alice, 700, "o-2")});  // 700 × 1.5 credited, 700 qualify
  CHECK(issuance_of(chain, 1, "o-2").points == 1'050);
  CHECK(tier_of(chain, alice) == gold);
  commit_at(chain, at_day(45), {txs.issue(1, alice, 300, "o-3")});  // 1000 in window 1: Silver
  CHECK(tier_of(chain, alice) == gold);

  CHECK(tier_changes_at(chain, at_day(69)).empty());
  auto changes = tier_changes_at(chain, at_day(70));
  REQUIRE(changes.size() == 1);
  CHECK(changes[0].to_tier == silver);
  CHECK(tier_of(chain, alice) == silver);
  CHECK(tier_changes_at(chain, at_day(100) - 1).empty());
  changes = tier_changes_at(chain, at_day(100));
  REQUIRE(changes.size() == 1);
  CHECK(changes[0].to_tier == 0);
}

TEST_CASE("a granted tier ends by itself, and the higher of earned and granted applies", "[ledger][tiers]") {
  // Proves GrantTier and the higher-of rule: Alice has earned Silver; partner 3 grants her
  // Gold until day 20 (she is Gold, upgraded by the grant); Bob has earned Gold and a Silver
  // grant leaves him Gold. At day 20 Alice's grant ends by itself and she is Silver again (her
  // earned tier), Bob is unchanged; the grant fields are cleared.
  TestChain chain(pc::test::tier_chain_options());
  TxFactory& txs = chain.txs;
  const auto alice = TxFactory::customer(1).public_key();
  const auto bob = TxFactory::customer(2).public_key();
  commit_at(chain, at_day(1), {txs.issue(1, alice, 1'000, "o-1"), txs.issue(1, bob, 5'000, "o-2")});
  const auto granted = tier_changes_at(chain, at_day(2), {txs.grant_tier(3, alice, gold, at_day(20)),
                                                         txs.grant_tier(3, bob, silver, at_day(20))});
  REQUIRE(granted.size() == 1);
  CHECK(granted[0].customer == alice);
  CHECK(granted[0].to_tier == gold);
  CHECK(granted[0].partner == 3);
  CHECK(tier_of(chain, alice) == gold);
  CHECK(tier_of(chain, bob) == gold);
  CHECK(chain.state().tier_status(alice)->granted_by == 3);
  CHECK(ledger::describe_tier(chain.genesis().policy.tiers, chain.genesis().genesis_time_ms, chain.state().settled_tier(alice), at_day(2)).held_until_ms ==
        at_day(20));

  CHECK(tier_changes_at(chain, at_day(20) - 1).empty());
  const auto ended = tier_changes_at(chain, at_day(20));
  REQUIRE(ended.size() == 1);
  CHECK(ended[0].customer == alice);
  CHECK(ended[0].to_tier == silver);
  const ledger::TierStatus* status = chain.state().tier_status(alice);
  CHECK(status->granted_tier == 0);
  CHECK(status->granted_by == 0);
  CHECK(status->granted_until_ms == 0);
  CHECK(tier_of(chain, bob) == gold);
}

TEST_CASE("a grant is refused for an unknown tier, a past or too long period, or another partner's grant", "[ledger][tiers]") {
  // Proves GrantTier's rules in their order, each refusal changing nothing: tier 3 of a
  // two-tier program is unknown_tier; until_ms at the block time is tier_grant_ended; a period
  // over 3660 days is tier_grant_too_long; a grant while partner 3's runs is tier_grant_held
  // for partner 2, while partner 3 itself may change its grant.
  TestChain chain(pc::test::tier_chain_options());
  TxFactory& txs = chain.txs;
  const auto alice = TxFactory::customer(1).public_key();
  commit_at(chain, at_day(1), {txs.grant_tier(3, alice, silver, at_day(40))});
  const std::uint64_t next_block_ms = chain.store().tip().time_ms + 1'000;
  expect_refused(chain, txs.grant_tier(2, alice, 3, at_day(40)), Code::unknown_tier);
  give_back_sequence(txs, issuer_key(2));
  expect_refused(chain, txs.grant_tier(2, alice, gold, next_block_ms), Code::tier_grant_ended);
  give_back_sequence(txs, issuer_key(2));
  expect_refused(chain, txs.grant_tier(2, alice, gold, at_day(ledger::tier_grant_days_max + 5)),
                 Code::tier_grant_too_long);
  give_back_sequence(txs, issuer_key(2));
  expect_refused(chain, txs.grant_tier(2, alice, gold, at_day(40)), Code::tier_grant_held);
  commit_at(chain, at_day(3), {txs.grant_tier(3, alice, gold, at_day(50))});
  CHECK(tier_of(chain, alice) == gold);
  CHECK(chain.state().tier_status(alice)->granted_until_ms == at_day(50));
}

TEST_CASE("a reward that requires a tier refuses a customer below it", "[ledger][tiers][catalog]") {
  // Proves min_tier on a version 4 chain: a Gold-only reward is tier_too_low for Silver Alice
  // and redeemed by Gold Bob; a min_tier beyond the program is unknown_tier when published; on
  // a version 3 chain any min_tier but 0 stays invalid_field, as before tiers existed.
  TestChain chain(pc::test::tier_chain_options());
  TxFactory& txs = chain.txs;
  const auto alice_key = TxFactory::customer(1);
  const auto bob_key = TxFactory::customer(2);
  ledger::RewardTerms lounge;
  lounge.name = "Lounge pass";
  lounge.cost_points = 100;
  lounge.min_tier = gold;
  commit_at(chain, at_day(1), {txs.issue(1, alice_key.public_key(), 1'000, "o-1"),
                               txs.issue(1, bob_key.public_key(), 5'000, "o-2"), txs.publish_reward(2, 1, lounge)});
  expect_refused(chain, txs.redeem_reward(alice_key, 2, 1), Code::tier_too_low);
  give_back_sequence(txs, alice_key.public_key());
  commit_at(chain, at_day(2), {txs.redeem_reward(bob_key, 2, 1)});
  CHECK(chain.state().reward(2, 1)->redeemed == 1);
  lounge.min_tier = 3;
  expect_refused(chain, txs.publish_reward(2, 2, lounge), Code::unknown_tier);

  GenesisOptions version_3;
  version_3.protocol_version = 3;
  TestChain old_chain(version_3);
  lounge.min_tier = 1;
  expect_refused(old_chain, old_chain.txs.publish_reward(2, 1, lounge), Code::invalid_field);
}

// The records one purchase Issue of `points` to a new customer writes, by key tag: (key
// bytes, value bytes), on a chain of `options`.
std::map<char, std::pair<std::size_t, std::size_t>> records_of_one_issue(const GenesisOptions& options,
                                                                         std::uint64_t points) {
  TestChain chain(options);
  const auto alice = TxFactory::customer(1).public_key();
  ledger::BlockExecutor executor(chain.state(), {chain.state().height() + 1, at_day(1)});
  const Transaction issue = chain.txs.issue_for(1, alice, points, "order-1", ledger::Reason::purchase,
                                                ledger::Purchase{static_cast<std::int64_t>(points) * 100, "EUR"});
  REQUIRE(executor.apply(issue, ledger::SignatureCheck::verify).ok());
  std::map<char, std::pair<std::size_t, std::size_t>> sizes;
  for (const ledger::Record& record : std::move(executor).finish().records) {
    REQUIRE(!sizes.contains(static_cast<char>(record.key[0])));
    sizes[static_cast<char>(record.key[0])] = {record.key.size(), record.value.size()};
  }
  return sizes;
}

TEST_CASE("a plain Issue with tiers costs 6 bytes of tier state in the account record, no record of its own, and a compact issuance record",
          "[ledger][tiers][disk]") {
  // Proves the record sizes bench/README.md's disk figure per issuance rests on: a purchase
  // Issue of 50 points to a new customer writes the account, issuance, partner and totals
  // records and nothing else, on version 3 and on version 4 with tiers alike. Version 4's
  // account record is version 1's 48 bytes plus 6 of tier state (window 0 and 50 points as one
  // LEB128 byte each, four tier bytes, no grant), and its issuance record of version 3 is 54
  // bytes against version 2's 95: height, index, points, reversed and shortfall points, the
  // purchase amount (5000, two bytes), the returned amount and the multiplier (10000, two
  // bytes) as LEB128, then one byte of tier.
  GenesisOptions catalog;
  catalog.protocol_version = 3;
  using Sizes = std::map<char, std::pair<std::size_t, std::size_t>>;
  const std::pair<std::size_t, std::size_t> partner{3, 57};
  const std::pair<std::size_t, std::size_t> totals{1, 49};
  const std::size_t issuance_key = 1 + 2 + 7;  // 'i', partner, "order-1"
  CHECK(records_of_one_issue(catalog, 50) ==
        Sizes{{'a', {33, 48}}, {'i', {issuance_key, 95}}, {'p', partner}, {'t', totals}});
  CHECK(records_of_one_issue(pc::test::tier_chain_options(), 50) ==
        Sizes{{'a', {33, 48 + 6}}, {'i', {issuance_key, 54}}, {'p', partner}, {'t', totals}});
  // 1000 points cross Silver's threshold: the window's points take two LEB128 bytes.
  CHECK(records_of_one_issue(pc::test::tier_chain_options(), 1'000).at('a') == std::pair<std::size_t, std::size_t>{33, 48 + 7});
}

TEST_CASE("GrantTier is refused on chains before protocol version 4", "[ledger][tiers]") {
  // Proves the version gate: the new type is unsupported_type on a version 3 chain.
  GenesisOptions version_3;
  version_3.protocol_version = 3;
  TestChain chain(version_3);
  expect_refused(chain, chain.txs.grant_tier(1, TxFactory::customer(1).public_key(), 1, at_day(5)),
                 Code::unsupported_type);
}

TEST_CASE("the tier program's rules: multiplier overflow and program validation", "[ledger][tiers]") {
  // Proves the integer arithmetic and the genesis program's checks: 2^64 - 1 points at ×1.25
  // do not fit (nullopt), floor rounding of 3 × 1.25; thresholds must ascend, multipliers must
  // not fall below 10000 or the tier below, grace must be shorter than the window.
  CHECK(!ledger::multiplied_points(UINT64_MAX, 12'500));
  CHECK(ledger::multiplied_points(3, 12'500) == std::optional<std::uint64_t>(3));
  CHECK(ledger::multiplied_points(4, 12'500) == std::optional<std::uint64_t>(5));
  ledger::TierProgram program = pc::test::test_tier_program();
  CHECK(ledger::validate_tier_program(program).empty());
  program.tiers[1].threshold_points = 1'000;
  CHECK(!ledger::validate_tier_program(program).empty());
  program = pc::test::test_tier_program();
  program.tiers[0].multiplier_bp = 9'999;
  CHECK(!ledger::validate_tier_program(program).empty());
  program = pc::test::test_tier_program();
  program.tiers[1].multiplier_bp = 12'000;
  CHECK(!ledger::validate_tier_program(program).empty());
  program = pc::test::test_tier_program();
  program.grace_days = 30;
  CHECK(!ledger::validate_tier_program(program).empty());
}
