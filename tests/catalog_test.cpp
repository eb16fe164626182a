// The rewards catalog, vouchers and partial returns (protocol version 3; docs/protocol.md
// "State machine rules", docs/loyalty.md): publishing and updating a reward, redeeming it by id
// against its cost, stock, limits and validity, the vouchers a redemption yields and their
// single use, partial returns in proportion to the order, and every refusal changing nothing.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "ledger/limits.hpp"
#include "ledger/protocol.hpp"
#include "ledger/state.hpp"
#include "ledger/voucher.hpp"
#include "tests/fixtures.hpp"
#include "tests/state_support.hpp"

namespace {

using namespace pc;
using ledger::Code;
using ledger::RewardTerms;
using ledger::Transaction;
using pc::test::GenesisOptions;
using pc::test::TestChain;
using pc::test::TxFactory;
using namespace pc::test::state;

GenesisOptions catalog_options() {
  GenesisOptions options;
  options.protocol_version = 3;
  return options;
}

RewardTerms coffee(std::uint64_t cost_points = 30) {
  RewardTerms terms;
  terms.name = "Free coffee";
  terms.cost_points = cost_points;
  return terms;
}

// The codes of the vouchers a committed RedeemReward made, in unit order.
std::vector<std::string> codes_of(const Transaction& redemption) {
  const auto& body = std::get<ledger::RedeemReward>(redemption.fields().body);
  std::vector<std::string> codes;
  for (std::uint16_t unit = 0; unit < body.quantity; ++unit) codes.push_back(ledger::voucher_code(redemption.id(), unit));
  return codes;
}

}  // namespace

TEST_CASE("a published reward is redeemed by id: cost times quantity, stock, vouchers", "[ledger][catalog]") {
  // Proves the main path: partner 2 publishes a reward with stock 5, Alice redeems 2 units;
  // 2 × 30 points leave her account and count as redeemed at partner 2, the stock drops to 3,
  // the reward counts 2 redeemed, and two unused vouchers of hers exist under partner 2.
  TestChain chain(catalog_options());
  TxFactory& txs = chain.txs;
  const auto alice = TxFactory::customer(1);
  RewardTerms terms = coffee();
  terms.stock = 5;
  commit_at(chain, at_day(1), {txs.issue(1, alice.public_key(), 100, "order-1"), txs.publish_reward(2, 7, terms)});
  const Transaction redemption = txs.redeem_reward(alice, 2, 7, 2);
  commit_at(chain, at_day(2), {redemption});

  CHECK(balance_of(chain, alice.public_key()) == 40);
  CHECK(stats_of(chain, 2).redeemed_at == 60);
  CHECK(chain.state().settlement(1, 2) == 60);
  const ledger::RewardRecord* reward = chain.state().reward(2, 7);
  REQUIRE(reward != nullptr);
  CHECK(reward->terms.stock == std::optional<std::uint64_t>(3));
  CHECK(reward->redeemed == 2);
  CHECK(reward->revision == 1);
  for (const std::string& code : codes_of(redemption)) {
    const ledger::Voucher* voucher = chain.state().voucher(2, code);
    REQUIRE(voucher != nullptr);
    CHECK(voucher->customer == alice.public_key());
    CHECK(voucher->reward_id == 7);
    CHECK(voucher->redeemed_at_ms == at_day(2));
    CHECK(voucher->used_at_ms == 0);
  }
  CHECK(codes_of(redemption)[0] != codes_of(redemption)[1]);
  // The reopened store holds the same catalog, vouchers and customer index records.
  const std::vector<ledger::Record> records = chain.state().records();
  chain.reopen();
  CHECK(chain.state().records() == records);
}

TEST_CASE("an update keeps the reward id and its count, replaces the terms, and bumps the revision",
          "[ledger][catalog]") {
  // Proves that a second PublishReward of the same id is an update: the new cost applies to the
  // next redemption, the stock is the newly published one (a restock), redeemed units stay.
  TestChain chain(catalog_options());
  TxFactory& txs = chain.txs;
  const auto alice = TxFactory::customer(1);
  RewardTerms terms = coffee(30);
  terms.stock = 1;
  commit_at(chain, at_day(1), {txs.issue(1, alice.public_key(), 100, "order-1"), txs.publish_reward(1, 1, terms)});
  commit_at(chain, at_day(2), {txs.redeem_reward(alice, 1, 1)});
  terms.cost_points = 20;
  terms.stock = 10;
  commit_at(chain, at_day(3), {txs.publish_reward(1, 1, terms)});
  const ledger::RewardRecord* reward = chain.state().reward(1, 1);
  REQUIRE(reward != nullptr);
  CHECK(reward->revision == 2);
  CHECK(reward->updated_height == 3);
  CHECK(reward->redeemed == 1);
  CHECK(reward->terms.stock == std::optional<std::uint64_t>(10));
  commit_at(chain, at_day(4), {txs.redeem_reward(alice, 1, 1)});
  CHECK(balance_of(chain, alice.public_key()) == 100 - 30 - 20);
}

TEST_CASE("each refusal of a reward redemption is its own code and changes nothing", "[ledger][catalog]") {
  // Proves unknown_reward, reward_inactive, reward_not_yet_valid, reward_expired,
  // reward_out_of_stock, reward_limit_reached, reward_period_limit_reached and
  // insufficient_balance, each leaving state, stock and vouchers untouched.
  TestChain chain(catalog_options());
  TxFactory& txs = chain.txs;
  const auto alice = TxFactory::customer(1);
  RewardTerms limited = coffee(10);
  limited.stock = 2;
  RewardTerms inactive = coffee(10);
  inactive.active = false;
  RewardTerms later = coffee(10);
  later.valid_from_ms = at_day(10);
  RewardTerms ending = coffee(10);
  ending.valid_until_ms = at_day(3);
  RewardTerms once = coffee(10);
  once.limit_per_customer = 1;
  RewardTerms weekly = coffee(10);
  weekly.limit_per_period = 1;
  weekly.period_days = 7;
  RewardTerms dear = coffee(1'000);
  commit_at(chain, at_day(1),
            {txs.issue(1, alice.public_key(), 100, "order-1"), txs.publish_reward(1, 1, limited),
             txs.publish_reward(1, 2, inactive), txs.publish_reward(1, 3, later), txs.publish_reward(1, 4, ending),
             txs.publish_reward(1, 5, once), txs.publish_reward(1, 6, weekly), txs.publish_reward(1, 7, dear)});

  const auto refuse = [&](std::uint32_t reward_id, std::uint16_t quantity, Code code, std::uint64_t time_ms) {
    INFO("reward " << reward_id);
    expect_refused(chain, txs.redeem_reward(alice, 1, reward_id, quantity), code, {}, time_ms);
    give_back_sequence(txs, alice.public_key());
  };
  refuse(99, 1, Code::unknown_reward, at_day(2));
  refuse(2, 1, Code::reward_inactive, at_day(2) + 1);
  refuse(3, 1, Code::reward_not_yet_valid, at_day(2) + 2);
  refuse(1, 3, Code::reward_out_of_stock, at_day(2) + 3);
  refuse(7, 1, Code::insufficient_balance, at_day(2) + 4);
  refuse(4, 1, Code::reward_expired, at_day(3));  // valid_until is exclusive

  // Limits count what the customer redeemed before: once in all, once per 7-day window.
  commit_at(chain, at_day(4), {txs.redeem_reward(alice, 1, 5), txs.redeem_reward(alice, 1, 6)});
  refuse(5, 1, Code::reward_limit_reached, at_day(5));
  const std::uint64_t window_ms = 7 * day_ms;
  const std::uint64_t next_window_ms = at_day(4) - at_day(4) % window_ms + window_ms;
  refuse(6, 1, Code::reward_period_limit_reached, next_window_ms - 1);
  commit_at(chain, next_window_ms, {txs.redeem_reward(alice, 1, 6)});
  CHECK(chain.state().reward_usage(1, 6, alice.public_key())->total == 2);
  CHECK(chain.state().reward_usage(1, 6, alice.public_key())->in_period == 1);

  // Stock: two units left, both taken, then none.
  commit_at(chain, next_window_ms + 1'000, {txs.redeem_reward(alice, 1, 1, 2)});
  refuse(1, 1, Code::reward_out_of_stock, next_window_ms + 2'000);
}

TEST_CASE("a voucher is used once, by its own partner only", "[ledger][catalog]") {
  // Proves UseVoucher: the first use records the block time; a second use is voucher_used, a
  // code the partner never issued is unknown_voucher, and another partner's voucher is
  // unknown_voucher to this partner (vouchers are per partner).
  TestChain chain(catalog_options());
  TxFactory& txs = chain.txs;
  const auto alice = TxFactory::customer(1);
  commit_at(chain, at_day(1), {txs.issue(1, alice.public_key(), 100, "order-1"), txs.publish_reward(2, 1, coffee())});
  const Transaction redemption = txs.redeem_reward(alice, 2, 1);
  commit_at(chain, at_day(2), {redemption});
  const std::string code = codes_of(redemption)[0];

  expect_refused(chain, txs.use_voucher(3, code), Code::unknown_voucher);
  give_back_sequence(txs, issuer_key(3));
  expect_refused(chain, txs.use_voucher(2, "000000000000"), Code::unknown_voucher);
  give_back_sequence(txs, issuer_key(2));
  commit_at(chain, at_day(3), {txs.use_voucher(2, code)});
  CHECK(chain.state().voucher(2, code)->used_at_ms == at_day(3));
  expect_refused(chain, txs.use_voucher(2, code), Code::voucher_used);
  give_back_sequence(txs, issuer_key(2));
  // Two tills using it in the same block: the second is refused there too.
  const Transaction redemption_2 = txs.redeem_reward(alice, 2, 1);
  commit_at(chain, at_day(4), {redemption_2});
  const std::string code_2 = codes_of(redemption_2)[0];
  // Named in signing order: the factory hands out sequences, and argument order is unspecified.
  const Transaction first_use = txs.use_voucher(2, code_2);
  const Transaction second_use = txs.use_voucher(2, code_2);
  expect_refused(chain, second_use, Code::voucher_used, {first_use});
}

TEST_CASE("publish_reward checks its fields and the catalog's size", "[ledger][catalog]") {
  // Proves the field rules of PublishReward (a decoder's invalid_field) and catalog_full at
  // rewards_per_partner_max rewards, where an update of an existing id is still accepted.
  // (min_tier is checked against the chain's tier program when applied: tiers_test.cpp.)
  RewardTerms bad = coffee();
  bad.limit_per_period = 1;  // without period_days
  CHECK(ledger::validate_fields({test::test_chain_id, 1, 10, ledger::PublishReward{1, 1, bad}}).error().code ==
        Code::invalid_field);
  bad = coffee();
  bad.valid_from_ms = 10;
  bad.valid_until_ms = 10;
  CHECK(ledger::validate_fields({test::test_chain_id, 1, 10, ledger::PublishReward{1, 1, bad}}).error().code ==
        Code::invalid_field);
  CHECK(ledger::validate_fields({test::test_chain_id, 1, 10, ledger::PublishReward{1, 0, coffee()}}).error().code ==
        Code::invalid_field);
  CHECK(ledger::validate_fields({test::test_chain_id, 1, 10, ledger::RedeemReward{{}, 1, 1, 0}}).error().code ==
        Code::invalid_field);
  CHECK(ledger::validate_fields({test::test_chain_id, 1, 10,
                                 ledger::RedeemReward{{}, 1, 1, ledger::reward_quantity_max + 1}})
            .error()
            .code == Code::invalid_field);
  CHECK(ledger::validate_fields({test::test_chain_id, 1, 10, ledger::UseVoucher{1, "ABCDEFGHIJKL"}}).error().code ==
        Code::invalid_field);  // I is not in the alphabet

  TestChain chain(catalog_options());
  TxFactory& txs = chain.txs;
  std::vector<Transaction> publishes;
  for (std::uint32_t id = 1; id <= ledger::rewards_per_partner_max; ++id) publishes.push_back(txs.publish_reward(1, id, coffee()));
  commit_at(chain, at_day(1), publishes);
  expect_refused(chain, txs.publish_reward(1, 5'000, coffee()), Code::catalog_full);
  give_back_sequence(txs, issuer_key(1));
  commit_at(chain, at_day(2), {txs.publish_reward(1, 5, coffee(99))});
  CHECK(chain.state().reward(1, 5)->terms.cost_points == 99);
}

TEST_CASE("chains before protocol version 3 refuse the catalog's types", "[ledger][catalog][protocol]") {
  // Proves the version gate: on a version 2 chain each new type is unsupported_type, so blocks
  // of older chains mean what they always meant.
  GenesisOptions options;
  options.protocol_version = 2;
  TestChain chain(options);
  TxFactory& txs = chain.txs;
  const auto alice = TxFactory::customer(1);
  commit_at(chain, at_day(1), {txs.issue_for(1, alice.public_key(), 100, "order-1", ledger::Reason::purchase,
                                             ledger::Purchase{1'000, "EUR"})});
  expect_refused(chain, txs.publish_reward(1, 1, coffee()), Code::unsupported_type);
  give_back_sequence(txs, issuer_key(1));
  expect_refused(chain, txs.redeem_reward(alice, 1, 1), Code::unsupported_type);
  give_back_sequence(txs, alice.public_key());
  expect_refused(chain, txs.use_voucher(1, "000000000000"), Code::unsupported_type);
  give_back_sequence(txs, issuer_key(1));
  expect_refused(chain, txs.partial_return(1, "order-1", 100), Code::unsupported_type);
  CHECK(chain.state().issuance(1, "order-1")->record_version == 1);
}

TEST_CASE("partial returns take back points in proportion, pending first, never past the order",
          "[ledger][catalog][returns]") {
  // Proves the proportional rule on an order of EUR 100.00 that earned 100 points, pending 14
  // days: returning 25.00 takes 25 points from the pending lot; 33.33 more takes
  // floor(100 × 58.33 / 100) − 25 = 33; returning the rest (41.67) takes the last 42, so the
  // returns add up to exactly what was issued and the issuance is then fully reversed;
  // one cent more is return_exceeds_order, and a Reverse after it is already_reversed.
  TestChain chain(catalog_options());
  TxFactory& txs = chain.txs;
  const auto alice = TxFactory::customer(1);
  ledger::UnsignedTransaction pending_issue = txs.issue_for(1, alice.public_key(), 100, "order-1",
                                                            ledger::Reason::purchase, ledger::Purchase{10'000, "EUR"})
                                                  .fields();
  std::get<ledger::Issue>(pending_issue.body).pending_days = 14;
  commit_at(chain, at_day(1), {Transaction::sign(pending_issue, TxFactory::partner_issuer(1))});
  CHECK(issuance_of(chain, 1, "order-1").purchase_amount_minor == std::optional<std::int64_t>(10'000));
  CHECK(chain.state().account(alice.public_key())->spendable(at_day(2)) == 0);

  commit_at(chain, at_day(2), {txs.partial_return(1, "order-1", 2'500)});
  CHECK(balance_of(chain, alice.public_key()) == 75);
  CHECK(issuance_of(chain, 1, "order-1").reversed_points == 25);
  CHECK(issuance_of(chain, 1, "order-1").returned_minor == 2'500);
  CHECK_FALSE(issuance_of(chain, 1, "order-1").reversed);

  commit_at(chain, at_day(3), {txs.partial_return(1, "order-1", 3'333)});
  CHECK(balance_of(chain, alice.public_key()) == 42);

  expect_refused(chain, txs.partial_return(1, "order-1", 4'168), Code::return_exceeds_order);
  give_back_sequence(txs, issuer_key(1));
  commit_at(chain, at_day(4), {txs.partial_return(1, "order-1", 4'167)});
  CHECK(balance_of(chain, alice.public_key()) == 0);
  const ledger::IssuanceRecord& done = issuance_of(chain, 1, "order-1");
  CHECK(done.reversed);
  CHECK(done.reversed_points == 100);
  CHECK(done.shortfall_points == 0);
  CHECK(stats_of(chain, 1).reversed == 100);
  expect_refused(chain, txs.partial_return(1, "order-1", 1), Code::already_reversed);
  give_back_sequence(txs, issuer_key(1));
  expect_refused(chain, txs.reverse(1, "order-1"), Code::already_reversed);
}

TEST_CASE("a partial return of spent points records the shortfall, and a Reverse takes only the rest",
          "[ledger][catalog][returns]") {
  // Proves the shortfall rule with spending in between: 100 points from an order of 200.00,
  // Alice spends 80; returning half (100.00) is 50 due, of which the 20 left are taken and 30
  // are shortfall; a Reverse of the rest is 50 due with nothing left: all shortfall. The
  // issuance's reversed + shortfall is then exactly its 100 points, never more.
  TestChain chain(catalog_options());
  TxFactory& txs = chain.txs;
  const auto alice = TxFactory::customer(1);
  commit_at(chain, at_day(1), {txs.issue_for(1, alice.public_key(), 100, "order-1", ledger::Reason::purchase,
                                             ledger::Purchase{20'000, "EUR"})});
  commit_at(chain, at_day(2), {txs.redeem(alice, 2, 80)});
  commit_at(chain, at_day(3), {txs.partial_return(1, "order-1", 10'000)});
  CHECK(balance_of(chain, alice.public_key()) == 0);
  CHECK(issuance_of(chain, 1, "order-1").reversed_points == 20);
  CHECK(issuance_of(chain, 1, "order-1").shortfall_points == 30);
  commit_at(chain, at_day(4), {txs.reverse(1, "order-1")});
  const ledger::IssuanceRecord& done = issuance_of(chain, 1, "order-1");
  CHECK(done.reversed);
  CHECK(done.reversed_points == 20);
  CHECK(done.shortfall_points == 80);
  CHECK(done.returned_minor == 20'000);
  CHECK(stats_of(chain, 1).reversal_shortfall == 80);
}

TEST_CASE("a partial return of an issuance without a purchase is no_purchase_amount", "[ledger][catalog][returns]") {
  // Proves that a bonus (no purchase amount to take a share of) can only be reversed whole.
  TestChain chain(catalog_options());
  TxFactory& txs = chain.txs;
  const auto alice = TxFactory::customer(1);
  commit_at(chain, at_day(1), {txs.issue(1, alice.public_key(), 100, "bonus-1")});
  expect_refused(chain, txs.partial_return(1, "bonus-1", 1), Code::no_purchase_amount);
  give_back_sequence(txs, issuer_key(1));
  expect_refused(chain, txs.partial_return(1, "never", 1), Code::unknown_issuance);
}

TEST_CASE("voucher codes are derived, canonical and forgiving to type", "[ledger][catalog][voucher]") {
  // Proves the code derivation is a pure function of (redemption id, unit), that each code is
  // in the alphabet, and that parse_voucher_code accepts the printed form, lower case and
  // look-alikes, and refuses anything else.
  const crypto::Hash256 id = crypto::sha256(as_bytes(std::string_view("redemption")));
  const std::string code = ledger::voucher_code(id, 0);
  CHECK(ledger::is_voucher_code(code));
  CHECK(code == ledger::voucher_code(id, 0));
  CHECK(code != ledger::voucher_code(id, 1));
  const std::string printed = ledger::format_voucher_code(code);
  CHECK(printed.size() == 14);
  CHECK(ledger::parse_voucher_code(printed) == code);
  CHECK(ledger::parse_voucher_code("abcd-efgh-jkmn") == std::optional<std::string>("ABCDEFGHJKMN"));
  CHECK(ledger::parse_voucher_code("o1lI-0000-0000") == std::optional<std::string>("011100000000"));
  CHECK_FALSE(ledger::parse_voucher_code("ABCD-EFGH-JKM").has_value());
  CHECK_FALSE(ledger::parse_voucher_code("ABCD-EFGH-JKMU").has_value());
  CHECK_FALSE(ledger::parse_voucher_code(std::string(100, '0')).has_value());
}
