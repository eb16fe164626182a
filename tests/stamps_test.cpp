// Stamp cards and badges (protocol version 4; docs/protocol.md "State machine rules",
// docs/loyalty.md): what counts as a stamp, a full card's voucher and the next card, at most
// one stamp a day, cards that lapse, definitions that change, returns that take a stamp back,
// badges counted, awarded and never revoked, and every refusal changing nothing.
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
using ledger::BadgeRule;
using ledger::BadgeTerms;
using ledger::Code;
using ledger::Reason;
using ledger::StampCardTerms;
using ledger::StampRule;
using ledger::Transaction;
using pc::test::GenesisOptions;
using pc::test::TestChain;
using pc::test::TxFactory;
using namespace pc::test::state;

constexpr std::uint32_t coffee_reward = 1;
constexpr std::uint32_t coffee_card = 10;

GenesisOptions stamp_options() {
  GenesisOptions options;
  options.protocol_version = 4;
  return options;
}

ledger::RewardTerms free_coffee() {
  ledger::RewardTerms terms;
  terms.name = "Free coffee";
  terms.cost_points = 300;
  terms.stock = 0;  // not redeemable for points: only a full card gives one
  return terms;
}

// "Buy 3 coffees of at least 2.50 EUR, the 4th is free."
StampCardTerms coffee_terms(std::uint16_t stamps_needed = 3, StampRule rule = StampRule::per_order) {
  StampCardTerms terms;
  terms.name = "Coffee card";
  terms.stamps_needed = stamps_needed;
  terms.min_amount_minor = 250;
  terms.currency = "EUR";
  terms.rule = rule;
  terms.reward_id = coffee_reward;
  return terms;
}

ledger::Purchase eur(std::int64_t amount_minor) { return ledger::Purchase{amount_minor, "EUR"}; }

// Partner 2's coffee card (and the catalog reward it gives), committed at day 1.
void set_up_card(TestChain& chain, StampCardTerms terms = coffee_terms()) {
  commit_at(chain, at_day(1),
            {chain.txs.publish_reward(2, coffee_reward, free_coffee()), chain.txs.define_stamp_card(2, coffee_card, terms)});
}

Transaction coffee_purchase(TestChain& chain, const crypto::PublicKey& customer, std::string reference,
                            std::int64_t amount_minor = 300) {
  return chain.txs.issue_for(2, customer, 3, std::move(reference), Reason::purchase, eur(amount_minor));
}

ledger::StampProgress progress_of(const TestChain& chain, const crypto::PublicKey& customer, std::uint32_t card = coffee_card) {
  const ledger::StampProgress* progress = chain.state().stamp_progress(2, card, customer);
  return progress == nullptr ? ledger::StampProgress{} : *progress;
}

BadgeTerms badge(std::string name, BadgeRule rule, std::uint64_t threshold, std::optional<Reason> reason = std::nullopt) {
  BadgeTerms terms;
  terms.name = std::move(name);
  terms.rule = rule;
  terms.threshold = threshold;
  terms.reason = reason;
  return terms;
}

}  // namespace

TEST_CASE("a full stamp card makes a voucher for its reward and starts the next card", "[ledger][stamps]") {
  // Proves the main path: three qualifying purchases fill a 3-stamp card; the third Issue makes
  // one unused voucher (code: voucher_code(issue id, 0)) naming the card and its reward, the
  // customer's card number moves to 2 with no stamps, the card counts 1 filled, the reward's
  // redeemed count and stock are untouched, the voucher is used like any other, and the next
  // purchase is the first stamp of the second card. The records survive a reopen.
  TestChain chain(stamp_options());
  const auto alice = TxFactory::customer(1);
  set_up_card(chain);
  commit_at(chain, at_day(2), {coffee_purchase(chain, alice.public_key(), "o-1")});
  CHECK(progress_of(chain, alice.public_key()).stamps == 1);
  CHECK(progress_of(chain, alice.public_key()).started_at_ms == at_day(2));
  commit_at(chain, at_day(3), {coffee_purchase(chain, alice.public_key(), "o-2")});
  const Transaction third = coffee_purchase(chain, alice.public_key(), "o-3");
  commit_at(chain, at_day(4), {third});

  const ledger::StampProgress progress = progress_of(chain, alice.public_key());
  CHECK(progress.card_number == 2);
  CHECK(progress.stamps == 0);
  CHECK(progress.started_at_ms == 0);
  CHECK(progress.filled == 1);
  CHECK(chain.state().stamp_card(2, coffee_card)->filled == 1);
  const std::string code = ledger::voucher_code(third.id(), 0);
  const ledger::Voucher* voucher = chain.state().voucher(2, code);
  REQUIRE(voucher != nullptr);
  CHECK(voucher->customer == alice.public_key());
  CHECK(voucher->reward_id == coffee_reward);
  CHECK(voucher->stamp_card_id == std::optional<std::uint32_t>(coffee_card));
  CHECK(voucher->redeemed_at_ms == at_day(4));
  CHECK(voucher->used_at_ms == 0);
  CHECK(chain.state().reward(2, coffee_reward)->redeemed == 0);
  CHECK(chain.state().reward(2, coffee_reward)->terms.stock == std::optional<std::uint64_t>(0));
  // The points of the purchase were issued as for any Issue.
  CHECK(balance_of(chain, alice.public_key()) == 9);

  commit_at(chain, at_day(5), {chain.txs.use_voucher(2, code), coffee_purchase(chain, alice.public_key(), "o-4")});
  CHECK(chain.state().voucher(2, code)->used_at_ms == at_day(5));
  CHECK(progress_of(chain, alice.public_key()).card_number == 2);
  CHECK(progress_of(chain, alice.public_key()).stamps == 1);

  const std::vector<ledger::Record> records = chain.state().records();
  chain.reopen();
  CHECK(chain.state().records() == records);
}

TEST_CASE("only a purchase at the card's partner of its minimum amount in its currency earns a stamp",
          "[ledger][stamps]") {
  // Proves what counts as a stamp: a purchase of exactly the minimum does; less, another
  // currency, another reason, an Issue without a purchase, another partner's purchase, an
  // inactive card, before valid_from and at valid_until (exclusive) do not, and none of them
  // writes a progress or stamps-given record.
  TestChain chain(stamp_options());
  TxFactory& txs = chain.txs;
  const auto alice = TxFactory::customer(1);
  StampCardTerms windowed = coffee_terms(50);
  windowed.valid_from_ms = at_day(3);
  windowed.valid_until_ms = at_day(5);
  StampCardTerms off = coffee_terms(50);
  off.active = false;
  commit_at(chain, at_day(1),
            {txs.publish_reward(2, coffee_reward, free_coffee()), txs.define_stamp_card(2, coffee_card, coffee_terms(50)),
             txs.define_stamp_card(2, 11, windowed), txs.define_stamp_card(2, 12, off)});
  commit_at(chain, at_day(2),
            {coffee_purchase(chain, alice.public_key(), "exact", 250), coffee_purchase(chain, alice.public_key(), "short", 249),
             txs.issue_for(2, alice.public_key(), 3, "usd", Reason::purchase, ledger::Purchase{300, "USD"}),
             txs.issue_for(2, alice.public_key(), 3, "review", Reason::review, eur(300)),
             txs.issue_for(2, alice.public_key(), 3, "none", Reason::purchase),
             txs.issue_for(3, alice.public_key(), 3, "other-partner", Reason::purchase, eur(300))});
  CHECK(progress_of(chain, alice.public_key()).stamps == 1);
  CHECK(chain.state().stamps_given(2, "exact") != nullptr);
  for (const char* reference : {"short", "usd", "review", "none"}) {
    INFO(reference);
    CHECK(chain.state().stamps_given(2, reference) == nullptr);
  }
  CHECK(chain.state().stamp_progress(2, 11, alice.public_key()) == nullptr);  // before valid_from
  CHECK(chain.state().stamp_progress(2, 12, alice.public_key()) == nullptr);  // inactive
  commit_at(chain, at_day(3), {coffee_purchase(chain, alice.public_key(), "in-window")});
  CHECK(progress_of(chain, alice.public_key(), 11).stamps == 1);
  commit_at(chain, at_day(5), {coffee_purchase(chain, alice.public_key(), "after-window")});
  CHECK(progress_of(chain, alice.public_key(), 11).stamps == 1);
  CHECK(progress_of(chain, alice.public_key()).stamps == 3);
  CHECK(chain.state().stamp_progress(2, 12, alice.public_key()) == nullptr);
}

TEST_CASE("a per-day card gives at most one stamp a UTC day, a per-order card one an order", "[ledger][stamps]") {
  // Proves the stamp rules: two purchases in one block and a third later the same UTC day give
  // one stamp on a per-day card and three on a per-order card; the next UTC day gives another.
  // The day is the block time's UTC day, so the last millisecond of a day and the first of the
  // next are two days.
  TestChain chain(stamp_options());
  TxFactory& txs = chain.txs;
  const auto alice = TxFactory::customer(1);
  commit_at(chain, at_day(1),
            {txs.publish_reward(2, coffee_reward, free_coffee()),
             txs.define_stamp_card(2, coffee_card, coffee_terms(50, StampRule::per_day)),
             txs.define_stamp_card(2, 11, coffee_terms(50, StampRule::per_order))});
  const std::uint64_t day_start = at_day(3) - at_day(3) % day_ms;
  commit_at(chain, day_start + 10, {coffee_purchase(chain, alice.public_key(), "a"), coffee_purchase(chain, alice.public_key(), "b")});
  commit_at(chain, day_start + day_ms - 1, {coffee_purchase(chain, alice.public_key(), "c")});
  CHECK(progress_of(chain, alice.public_key()).stamps == 1);
  CHECK(progress_of(chain, alice.public_key(), 11).stamps == 3);
  CHECK(chain.state().stamps_given(2, "b")->size() == 1);  // card 11 only
  commit_at(chain, day_start + day_ms, {coffee_purchase(chain, alice.public_key(), "d")});
  CHECK(progress_of(chain, alice.public_key()).stamps == 2);
  CHECK(progress_of(chain, alice.public_key()).last_stamp_ms == day_start + day_ms);
}

TEST_CASE("a started card lapses card_days after its first stamp and the purchase starts the next", "[ledger][stamps]") {
  // Proves card expiry: with card_days 30, a card started at day 2 keeps its stamps on day 31
  // (first stamp + 29 days) and lapses at day 32: that purchase is the first stamp of card 2,
  // and the lapsed stamps make no voucher.
  TestChain chain(stamp_options());
  const auto alice = TxFactory::customer(1);
  StampCardTerms terms = coffee_terms(5);
  terms.card_days = 30;
  set_up_card(chain, terms);
  commit_at(chain, at_day(2), {coffee_purchase(chain, alice.public_key(), "o-1")});
  commit_at(chain, at_day(31), {coffee_purchase(chain, alice.public_key(), "o-2")});
  CHECK(progress_of(chain, alice.public_key()).stamps == 2);
  commit_at(chain, at_day(32), {coffee_purchase(chain, alice.public_key(), "o-3")});
  const ledger::StampProgress progress = progress_of(chain, alice.public_key());
  CHECK(progress.card_number == 2);
  CHECK(progress.stamps == 1);
  CHECK(progress.started_at_ms == at_day(32));
  CHECK(progress.filled == 0);
  CHECK(chain.state().stamp_card(2, coffee_card)->filled == 0);
}

TEST_CASE("a changed card keeps every customer's stamps and the threshold in force decides", "[ledger][stamps]") {
  // Proves the rule for definition changes: an update keeps the id, the count filled and the
  // stamps; after the threshold drops from 5 to 3 a card holding 3 stamps fills at its next
  // stamp (one voucher, the next card empty); a card switched off or past its validity keeps
  // its stamps frozen and they count again once the card is on again.
  TestChain chain(stamp_options());
  TxFactory& txs = chain.txs;
  const auto alice = TxFactory::customer(1);
  set_up_card(chain, coffee_terms(5));
  commit_at(chain, at_day(2),
            {coffee_purchase(chain, alice.public_key(), "o-1"), coffee_purchase(chain, alice.public_key(), "o-2"),
             coffee_purchase(chain, alice.public_key(), "o-3")});
  StampCardTerms off = coffee_terms(5);
  off.active = false;
  commit_at(chain, at_day(3), {txs.define_stamp_card(2, coffee_card, off)});
  commit_at(chain, at_day(4), {coffee_purchase(chain, alice.public_key(), "o-4")});
  CHECK(progress_of(chain, alice.public_key()).stamps == 3);
  CHECK(chain.state().stamp_card(2, coffee_card)->revision == 2);
  commit_at(chain, at_day(5), {txs.define_stamp_card(2, coffee_card, coffee_terms(3))});
  const Transaction fills = coffee_purchase(chain, alice.public_key(), "o-5");
  commit_at(chain, at_day(6), {fills});
  CHECK(progress_of(chain, alice.public_key()).stamps == 0);
  CHECK(progress_of(chain, alice.public_key()).filled == 1);
  CHECK(chain.state().voucher(2, ledger::voucher_code(fills.id(), 0)) != nullptr);
  CHECK(chain.state().stamp_card(2, coffee_card)->revision == 3);
  CHECK(chain.state().stamp_card(2, coffee_card)->updated_height == 5);
}

TEST_CASE("a return takes back the stamp of an order while its card is open, never a filled card's",
          "[ledger][stamps]") {
  // Proves the return rules: a Reverse takes the order's stamp off the current card; a partial
  // return leaving at least the card's minimum keeps it, one leaving less takes it, and a later
  // return of the rest takes nothing more; once the card has filled, a return of one of its
  // orders leaves the voucher and the next card alone.
  TestChain chain(stamp_options());
  TxFactory& txs = chain.txs;
  const auto alice = TxFactory::customer(1);
  set_up_card(chain, coffee_terms(3));
  commit_at(chain, at_day(2),
            {coffee_purchase(chain, alice.public_key(), "o-1"), coffee_purchase(chain, alice.public_key(), "o-2", 1'000)});
  REQUIRE(progress_of(chain, alice.public_key()).stamps == 2);

  commit_at(chain, at_day(3), {txs.reverse(2, "o-1")});
  CHECK(progress_of(chain, alice.public_key()).stamps == 1);
  CHECK(chain.state().stamps_given(2, "o-1")->at(0).taken_back);

  commit_at(chain, at_day(4), {txs.partial_return(2, "o-2", 750)});  // 250 kept: the minimum
  CHECK(progress_of(chain, alice.public_key()).stamps == 1);
  CHECK_FALSE(chain.state().stamps_given(2, "o-2")->at(0).taken_back);
  commit_at(chain, at_day(5), {txs.partial_return(2, "o-2", 1)});  // 249 kept
  CHECK(progress_of(chain, alice.public_key()).stamps == 0);
  CHECK(progress_of(chain, alice.public_key()).started_at_ms == 0);
  CHECK(chain.state().stamps_given(2, "o-2")->at(0).taken_back);
  commit_at(chain, at_day(6), {txs.partial_return(2, "o-2", 249)});  // the rest: nothing more to take
  CHECK(progress_of(chain, alice.public_key()).stamps == 0);

  // Built in signing order: the factory hands out sequences.
  const Transaction third = coffee_purchase(chain, alice.public_key(), "o-3");
  const Transaction fourth = coffee_purchase(chain, alice.public_key(), "o-4");
  const Transaction fills = coffee_purchase(chain, alice.public_key(), "o-5");
  commit_at(chain, at_day(7), {third, fourth, fills});
  commit_at(chain, at_day(8), {coffee_purchase(chain, alice.public_key(), "o-6")});
  REQUIRE(progress_of(chain, alice.public_key()).card_number == 2);
  commit_at(chain, at_day(9), {txs.reverse(2, "o-3")});
  CHECK(progress_of(chain, alice.public_key()).stamps == 1);
  CHECK(progress_of(chain, alice.public_key()).filled == 1);
  CHECK(chain.state().voucher(2, ledger::voucher_code(fills.id(), 0)) != nullptr);
  CHECK(chain.state().stamps_given(2, "o-3")->at(0).taken_back);
}

TEST_CASE("stamp card definitions check their fields, their reward and the partner's limit", "[ledger][stamps]") {
  // Proves DefineStampCard's refusals: the field rules (invalid_field), a reward the partner
  // does not have (unknown_reward), stamp_cards_full at stamp_cards_per_partner_max cards while
  // an update of an existing card still applies, and unsupported_type on a version 3 chain.
  const auto invalid = [](StampCardTerms terms, std::uint32_t card_id = 1) {
    return ledger::validate_fields({test::test_chain_id, 1, 10, ledger::DefineStampCard{1, card_id, std::move(terms)}})
               .error()
               .code == Code::invalid_field;
  };
  CHECK(invalid(coffee_terms(), 0));
  CHECK(invalid(coffee_terms(0)));
  CHECK(invalid(coffee_terms(ledger::stamp_card_stamps_max + 1)));
  StampCardTerms bad = coffee_terms();
  bad.currency = "eur";
  CHECK(invalid(bad));
  bad = coffee_terms();
  bad.rule = static_cast<StampRule>(3);
  CHECK(invalid(bad));
  bad = coffee_terms();
  bad.reward_id = 0;
  CHECK(invalid(bad));
  bad = coffee_terms();
  bad.card_days = ledger::stamp_card_days_max + 1;
  CHECK(invalid(bad));
  bad = coffee_terms();
  bad.valid_from_ms = 10;
  bad.valid_until_ms = 10;
  CHECK(invalid(bad));
  bad = coffee_terms();
  bad.min_amount_minor = static_cast<std::uint64_t>(INT64_MAX) + 1;
  CHECK(invalid(bad));
  bad = coffee_terms();
  bad.name = "";
  CHECK(invalid(bad));

  TestChain chain(stamp_options());
  TxFactory& txs = chain.txs;
  expect_refused(chain, txs.define_stamp_card(2, 1, coffee_terms()), Code::unknown_reward);
  give_back_sequence(txs, issuer_key(2));
  std::vector<Transaction> defines{txs.publish_reward(2, coffee_reward, free_coffee())};
  for (std::uint32_t id = 1; id <= ledger::stamp_cards_per_partner_max; ++id) defines.push_back(txs.define_stamp_card(2, id, coffee_terms()));
  commit_at(chain, at_day(1), defines);
  expect_refused(chain, txs.define_stamp_card(2, 999, coffee_terms()), Code::stamp_cards_full);
  give_back_sequence(txs, issuer_key(2));
  commit_at(chain, at_day(2), {txs.define_stamp_card(2, 5, coffee_terms(7))});
  CHECK(chain.state().stamp_card(2, 5)->terms.stamps_needed == 7);

  GenesisOptions version_3;
  version_3.protocol_version = 3;
  TestChain old_chain(version_3);
  CHECK(old_chain.try_apply(old_chain.txs.define_stamp_card(2, 1, coffee_terms())).error().code == Code::unsupported_type);
  CHECK(old_chain.try_apply(old_chain.txs.define_badge(2, 1, badge("b", BadgeRule::awarded, 0))).error().code ==
        Code::unsupported_type);
  CHECK(old_chain.try_apply(old_chain.txs.award_badge(2, 1, TxFactory::customer(1).public_key())).error().code ==
        Code::unsupported_type);
}

TEST_CASE("badges are earned by counted actions, points or an award, once, and never revoked", "[ledger][badges]") {
  // Proves the badge rules: a count of review Issues earns at its threshold (purchases do not
  // count toward it); points earned at the partner earn when their sum crosses the threshold,
  // in the block and position of the Issue that crossed it; an awarded badge is given by
  // AwardBadge; the badges' earned counters add up; a later Reverse of the issuance that
  // earned a badge leaves it, its time and its counter as they were.
  TestChain chain(stamp_options());
  TxFactory& txs = chain.txs;
  const auto alice = TxFactory::customer(1);
  commit_at(chain, at_day(1),
            {txs.define_badge(2, 1, badge("Critic", BadgeRule::action_count, 2, Reason::review)),
             txs.define_badge(2, 2, badge("Big spender", BadgeRule::points_earned, 100)),
             txs.define_badge(2, 3, badge("Founding member", BadgeRule::awarded, 0))});
  commit_at(chain, at_day(2),
            {txs.issue_for(2, alice.public_key(), 60, "r-1", Reason::review),
             txs.issue_for(2, alice.public_key(), 30, "p-1", Reason::purchase, eur(300))});
  const ledger::BadgeProgress* critic = chain.state().badge_progress(2, 1, alice.public_key());
  REQUIRE(critic != nullptr);
  CHECK(critic->progress == 1);
  CHECK_FALSE(critic->earned());
  CHECK(chain.state().badge_progress(2, 2, alice.public_key())->progress == 90);
  CHECK(chain.state().badge_progress(2, 3, alice.public_key()) == nullptr);  // awarded only

  commit_at(chain, at_day(3),
            {txs.issue_for(2, alice.public_key(), 5, "r-2", Reason::review), txs.award_badge(2, 3, alice.public_key()),
             txs.issue_for(2, alice.public_key(), 10, "p-2", Reason::purchase, eur(300))});
  for (std::uint32_t id : {1u, 2u, 3u}) {
    INFO("badge " << id);
    const ledger::BadgeProgress* progress = chain.state().badge_progress(2, id, alice.public_key());
    REQUIRE(progress != nullptr);
    CHECK(progress->earned());
    CHECK(progress->earned_at_ms == at_day(3));
    CHECK(progress->earned_height == 3);
    CHECK(chain.state().badge(2, id)->earned == 1);
  }
  CHECK(chain.state().badge_progress(2, 1, alice.public_key())->earned_index == 0);
  CHECK(chain.state().badge_progress(2, 3, alice.public_key())->earned_index == 1);
  CHECK(chain.state().badge_progress(2, 2, alice.public_key())->earned_index == 2);
  CHECK(chain.state().badge_progress(2, 2, alice.public_key())->progress == 105);

  const ledger::BadgeProgress before = *chain.state().badge_progress(2, 2, alice.public_key());
  commit_at(chain, at_day(4), {txs.reverse(2, "p-2"), txs.reverse(2, "r-2"), txs.partial_return(2, "p-1", 300)});
  CHECK(*chain.state().badge_progress(2, 2, alice.public_key()) == before);
  CHECK(chain.state().badge_progress(2, 1, alice.public_key())->earned());
  CHECK(chain.state().badge(2, 1)->earned == 1);
  CHECK(chain.state().badge(2, 2)->earned == 1);
  // An earned badge no longer counts: its record does not change with later Issues.
  commit_at(chain, at_day(5), {txs.issue_for(2, alice.public_key(), 50, "p-3", Reason::purchase, eur(300))});
  CHECK(*chain.state().badge_progress(2, 2, alice.public_key()) == before);
}

TEST_CASE("each refusal of a badge is its own code and changes nothing", "[ledger][badges]") {
  // Proves AwardBadge's unknown_badge, badge_inactive, unknown_customer (no account) and
  // badge_already_earned, DefineBadge's field rules and badges_full (an update still applies),
  // and that an inactive badge counts nothing.
  const auto invalid = [](BadgeTerms terms, std::uint32_t badge_id = 1) {
    return ledger::validate_fields({test::test_chain_id, 1, 10, ledger::DefineBadge{1, badge_id, std::move(terms)}})
               .error()
               .code == Code::invalid_field;
  };
  CHECK(invalid(badge("b", BadgeRule::awarded, 0), 0));
  CHECK(invalid(badge("b", BadgeRule::awarded, 1)));
  CHECK(invalid(badge("b", BadgeRule::action_count, 1)));  // no reason
  CHECK(invalid(badge("b", BadgeRule::action_count, 0, Reason::review)));
  CHECK(invalid(badge("b", BadgeRule::points_earned, 10, Reason::review)));
  CHECK(invalid(badge("b", BadgeRule::points_earned, 0)));
  CHECK(invalid(badge("b", static_cast<BadgeRule>(4), 1)));
  CHECK(invalid(badge("", BadgeRule::awarded, 0)));
  CHECK(invalid(badge("b", BadgeRule::action_count, 1, static_cast<Reason>(7))));
  CHECK(ledger::validate_fields({test::test_chain_id, 1, 10, ledger::AwardBadge{1, 0, {}}}).error().code ==
        Code::invalid_field);

  TestChain chain(stamp_options());
  TxFactory& txs = chain.txs;
  const auto alice = TxFactory::customer(1);
  const auto stranger = TxFactory::customer(9);
  BadgeTerms off = badge("Retired", BadgeRule::points_earned, 1);
  off.active = false;
  commit_at(chain, at_day(1),
            {txs.issue(1, alice.public_key(), 10, "welcome"), txs.define_badge(2, 1, badge("Founder", BadgeRule::awarded, 0)),
             txs.define_badge(2, 2, off)});
  const auto refuse = [&](const Transaction& tx, Code code) {
    expect_refused(chain, tx, code);
    give_back_sequence(txs, issuer_key(2));
  };
  refuse(txs.award_badge(2, 99, alice.public_key()), Code::unknown_badge);
  refuse(txs.award_badge(2, 2, alice.public_key()), Code::badge_inactive);
  refuse(txs.award_badge(2, 1, stranger.public_key()), Code::unknown_customer);
  commit_at(chain, at_day(2), {txs.award_badge(2, 1, alice.public_key()), txs.issue(2, alice.public_key(), 10, "o-1")});
  CHECK(chain.state().badge_progress(2, 2, alice.public_key()) == nullptr);
  refuse(txs.award_badge(2, 1, alice.public_key()), Code::badge_already_earned);
  // Two awards of one badge in one block: the second is refused there too.
  const Transaction first = txs.define_badge(2, 3, badge("Twice", BadgeRule::awarded, 0));
  const Transaction second = txs.award_badge(2, 3, alice.public_key());
  const Transaction third = txs.award_badge(2, 3, alice.public_key());
  expect_refused(chain, third, Code::badge_already_earned, {first, second});

  TestChain full(stamp_options());
  std::vector<Transaction> defines;
  for (std::uint32_t id = 1; id <= ledger::badges_per_partner_max; ++id) {
    defines.push_back(full.txs.define_badge(2, id, badge("b" + std::to_string(id), BadgeRule::awarded, 0)));
  }
  commit_at(full, at_day(1), defines);
  expect_refused(full, full.txs.define_badge(2, 999, badge("one more", BadgeRule::awarded, 0)), Code::badges_full);
  give_back_sequence(full.txs, issuer_key(2));
  commit_at(full, at_day(2), {full.txs.define_badge(2, 3, badge("renamed", BadgeRule::awarded, 0))});
  CHECK(full.state().badge(2, 3)->terms.name == "renamed");
  CHECK(full.state().badge(2, 3)->revision == 2);
}

TEST_CASE("chains before version 4 give no stamps and their records stay as they were", "[ledger][stamps]") {
  // Proves the gate: on a version 3 chain, a purchase Issue writes no stamp card or badge
  // record, and a voucher record keeps version 1 (the stamp card id is absent).
  GenesisOptions version_3;
  version_3.protocol_version = 3;
  TestChain chain(version_3);
  const auto alice = TxFactory::customer(1);
  ledger::RewardTerms tea;
  tea.name = "Tea";
  tea.cost_points = 10;
  commit_at(chain, at_day(1), {chain.txs.issue_for(2, alice.public_key(), 100, "o-1", Reason::purchase, eur(300)),
                               chain.txs.publish_reward(2, 1, tea)});
  commit_at(chain, at_day(2), {chain.txs.redeem_reward(alice, 2, 1)});
  for (const ledger::Record& record : chain.state().records()) {
    INFO(to_hex(record.key));
    CHECK(std::string("ckdbl").find(static_cast<char>(record.key[0])) == std::string::npos);
    if (record.key[0] == ledger::record::voucher_tag) CHECK(record.value[0] == 1);
  }
}
