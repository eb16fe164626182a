// The node under earning rules (docs/earning-rules.md), in-process on a ManualClock: the rule
// set's tag in every issuance's reference, quote equal to earn, reload without a restart,
// idempotency and returns across a reload, and the customer facts read from the chain (the
// first purchase, caps at a period's edge by block time in the partner's time zone).
#include <catch2/catch.hpp>

#include <fstream>
#include <random>
#include <set>

#include "node/node.hpp"
#include "tests/fixtures.hpp"
#include "tests/rules_harness.hpp"

namespace {

using namespace pc;
using pc::test::TxFactory;
using namespace pc::test::rules_harness;

const std::string base_rules = R"({"version": 1, "time_zone_offset_minutes": 60,
  "currencies": [{"currency": "EUR", "points_per_unit": 1}],
  "exclusions": [{"name": "gift cards", "flag": "gift_card"}],
  "multipliers": [{"name": "coffee", "category": "coffee", "per_mille": 2000}],
  "first_purchase_bonus": {"name": "welcome", "points": 50},
  "customer_caps": {"day": 100},
  "order_points_max": 500})";

}  // namespace

TEST_CASE("under earning rules, earn issues what quote showed and records the rule set's tag in the reference",
          "[node][rules]") {
  // Proves quote = earn (same breakdown, same points, nothing issued by quote), that the
  // Issue's reference is order id ~ tag of the file, and that the plain-total earn runs
  // through the rules too.
  RulesHarness harness(base_rules);
  const auto customer = TxFactory::customer(1).public_key();
  const std::string tag = tag_of(base_rules);
  REQUIRE(harness.node().rules_info());
  CHECK(harness.node().rules_info()->tag == tag);

  auto quoted = harness.node().quote(customer, coffee_order(2'100));
  REQUIRE(quoted);
  CHECK(summary(*quoted) == std::vector<std::string>{"base:21", "coffee:21", "welcome:50"});
  CHECK(harness.node().chain_info().pending_count == 0);
  auto earned = harness.node().earn_order(customer, coffee_order(2'100), "till-1");
  REQUIRE(earned);
  REQUIRE(earned->breakdown);
  CHECK(summary(*earned->breakdown) == summary(*quoted));
  CHECK(earned->points == quoted->points);
  CHECK(earned->points == 92);  // 21 + 21 + 50, within the day's 100
  CHECK(earned->reference == "till-1~" + tag);
  const ledger::Issue issue = harness.issue(earned->tx_id);
  CHECK(issue.reference == "till-1~" + tag);
  CHECK(issue.points == 92);
  REQUIRE(issue.purchase);
  CHECK(issue.purchase->amount_minor == 2'100);

  // The pending 92 count toward today's cap, and the customer is no longer new.
  auto plain = harness.node().earn(customer, 5'000, "EUR", "till-2");
  REQUIRE(plain);
  CHECK(plain->points == 8);
  REQUIRE(plain->breakdown);
  CHECK(plain->breakdown->capped);
  CHECK(summary(*plain->breakdown) == std::vector<std::string>{"base:50", "customer cap (day):-42"});
  CHECK(plain->reference == "till-2~" + tag);

  // Order ids that cannot carry a tag are refused before anything is signed.
  for (const std::string& bad : {std::string("has~tilde"), std::string(42, 'x')}) {
    auto refused = harness.node().earn_order(customer, coffee_order(100), bad);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code == ledger::Code::invalid_field);
  }
}

TEST_CASE("quote equals earn over seeded random orders, tiers included, and no earn passes the per-order maximum",
          "[node][rules][tiers]") {
  // Proves on the real node, with facts from the chain and the mempool changing between
  // earns, that each quote is what the earn then issues; on a chain with tiers, with tier
  // multipliers in the rules while customers cross thresholds and are granted tiers, also
  // that the answer's credited points are the signed points times the chain's multiplier of
  // the tier at the tip.
  const std::string plain_rules = R"({"version": 1, "currencies": [{"currency": "EUR", "points_per_unit": 3}],
    "multipliers": [{"name": "coffee", "category": "coffee", "per_mille": 2500}],
    "fixed_points": [{"name": "bagel", "sku": "BAGEL", "points_per_item": 7}],
    "first_purchase_bonus": {"name": "welcome", "points": 40}, "order_points_max": 300})";
  const std::string tier_rules = R"({"version": 1, "currencies": [{"currency": "EUR", "points_per_unit": 3}],
    "multiplier_per_mille_max": 4000,
    "multipliers": [{"name": "coffee", "category": "coffee", "per_mille": 2500},
                    {"name": "gold double", "per_mille": 2000, "segment": {"tier": {"one_of": ["Gold"]}}},
                    {"name": "silver and up", "per_mille": 1500, "segment": {"tier": {"at_least": "Silver"}}}],
    "fixed_points": [{"name": "bagel", "sku": "BAGEL", "points_per_item": 7}],
    "first_purchase_bonus": {"name": "welcome", "points": 40}, "order_points_max": 600})";
  const bool tiers = GENERATE(false, true);
  RulesHarness harness(tiers ? tier_rules : plain_rules, local_midnight_ms - 3'600'000,
                       tiers ? pc::test::tier_chain_options() : pc::test::GenesisOptions{});
  const std::uint64_t order_max = tiers ? 600 : 300;
  const std::uint32_t seed = tiers ? 7'332 : 7'331;
  INFO("seed " << seed << (tiers ? ", tier chain" : ""));
  std::mt19937 random(seed);
  std::set<std::uint8_t> tiers_seen;
  for (int round = 0; round < (tiers ? 80 : 40); ++round) {
    const auto customer = TxFactory::customer(static_cast<int>(random() % 4)).public_key();
    if (tiers && random() % 10 == 0) {
      // A membership: Silver or Gold for a week, replacing this partner's earlier grant.
      REQUIRE(harness.node().grant_tier(customer, static_cast<std::uint8_t>(1 + random() % 2),
                                        harness.clock().now_ms() + 7 * 86'400'000ULL));
    }
    node::rules::Order order{"EUR", {}};
    const std::size_t lines = 1 + random() % 5;
    for (std::size_t i = 0; i < lines; ++i) {
      order.lines.push_back({random() % 2 ? "BAGEL" : "LATTE", random() % 2 ? "coffee" : "bakery",
                             1 + static_cast<std::uint32_t>(random() % 4), static_cast<std::int64_t>(random() % 5'000),
                             {}});
    }
    auto quoted = harness.node().quote(customer, order);
    REQUIRE(quoted);
    auto earned = harness.node().earn_order(customer, order, "order-" + std::to_string(round));
    if (quoted->points == 0) {
      CHECK_FALSE(earned);
      continue;
    }
    REQUIRE(earned);
    REQUIRE(earned->breakdown);
    CHECK(summary(*earned->breakdown) == summary(*quoted));
    CHECK(earned->points <= order_max);
    if (tiers) {
      REQUIRE(earned->tier);
      tiers_seen.insert(*earned->tier);
      CHECK(earned->tier == harness.node().account(customer).tier->tier);
      CHECK(earned->credited_points ==
            ledger::multiplied_points(earned->points, harness.genesis().policy.tiers.multiplier_bp(*earned->tier)));
    }
    if (round % 7 == 6) {
      harness.clock().advance_ms(1'000);
      REQUIRE(harness.node().produce_pending());
    }
  }
  // The run covered every tier (else the tier rules were never exercised on both sides).
  if (tiers) CHECK(tiers_seen == std::set<std::uint8_t>{0, 1, 2});
}

TEST_CASE("a tier rule reads the tier at the tip: the customer who just crossed a threshold, and a granted tier",
          "[node][rules][tiers]") {
  // Proves the tier fact is the state machine's: a customer at 999 qualifying points earns
  // without the Silver rule; the earn that reaches 1000 does not change it while pending;
  // from the block that holds it the customer is Silver for quote and earn alike. A granted
  // Gold counts as Gold. The rules' multiplier is in the signed points, and the chain then
  // credits them times its own tier multiplier (the issuance record shows both). A change of
  // the tier field is another rule set: another tag in the reference.
  const std::string rules = R"({"version": 1, "currencies": [{"currency": "EUR", "points_per_unit": 1}],
    "multipliers": [{"name": "gold double", "per_mille": 2000, "segment": {"tier": {"one_of": ["Gold"]}}},
                    {"name": "silver and up", "per_mille": 1500, "segment": {"tier": {"at_least": "Silver"}}}]})";
  RulesHarness harness(rules, local_midnight_ms - 3'600'000, pc::test::tier_chain_options());
  const ledger::TierProgram& program = harness.genesis().policy.tiers;
  const auto produce = [&] {
    harness.clock().advance_ms(1'000);
    REQUIRE(harness.node().produce_pending());
  };
  const auto alice = TxFactory::customer(1).public_key();
  REQUIRE(harness.node().earn_order(alice, coffee_order(99'900), "big"));  // 999 points
  produce();
  CHECK(harness.node().account(alice).tier->window_points == 999);
  auto before = harness.node().quote(alice, coffee_order(1'000));
  REQUIRE(before);
  CHECK(summary(*before) == std::vector<std::string>{"base:10"});
  auto crossing = harness.node().earn_order(alice, coffee_order(100), "cross");  // the 1000th point
  REQUIRE(crossing);
  CHECK(crossing->tier == 0);
  auto pending = harness.node().quote(alice, coffee_order(1'000));
  REQUIRE(pending);
  CHECK(summary(*pending) == std::vector<std::string>{"base:10"});  // the tip has not moved
  produce();
  CHECK(harness.node().account(alice).tier->tier == 1);
  auto silver_quote = harness.node().quote(alice, coffee_order(1'000));
  REQUIRE(silver_quote);
  CHECK(summary(*silver_quote) == std::vector<std::string>{"base:10", "silver and up:5"});
  auto silver = harness.node().earn_order(alice, coffee_order(1'000), "silver-1");
  REQUIRE(silver);
  REQUIRE(silver->breakdown);
  CHECK(summary(*silver->breakdown) == summary(*silver_quote));
  CHECK(silver->points == 15);
  CHECK(silver->tier == 1);
  CHECK(silver->multiplier_bp == program.multiplier_bp(1));
  CHECK(silver->credited_points == 18);  // floor(15 x 1.25)
  produce();
  auto silver_again = harness.node().earn_order(alice, coffee_order(1'000), "silver-1");
  REQUIRE(silver_again);
  CHECK(silver_again->already_known);
  CHECK(silver_again->points == 15);          // what the partner signed
  CHECK(silver_again->credited_points == 18);  // what the issuance record credited, at Silver
  CHECK(silver_again->tier == 1);

  // A granted tier: Bob never earned, and bought a week of Gold.
  const auto bob = TxFactory::customer(2).public_key();
  REQUIRE(harness.node().grant_tier(bob, 2, harness.clock().now_ms() + 7 * 86'400'000ULL));
  produce();
  auto gold_quote = harness.node().quote(bob, coffee_order(1'000));
  REQUIRE(gold_quote);
  CHECK(summary(*gold_quote) == std::vector<std::string>{"base:10", "gold double:10", "silver and up:5"});
  auto gold = harness.node().earn_order(bob, coffee_order(1'000), "gold-1");
  REQUIRE(gold);
  CHECK(summary(*gold->breakdown) == summary(*gold_quote));
  CHECK(gold->points == 25);
  CHECK(gold->tier == 2);
  CHECK(gold->credited_points == 37);  // floor(25 x 1.5)
  const std::string tag = tag_of(rules, program);
  CHECK(gold->reference == "gold-1~" + tag);

  // The same rules but for Silver only: another file, so another tag on the next issuance.
  const std::string silver_only = R"({"version": 1, "currencies": [{"currency": "EUR", "points_per_unit": 1}],
    "multipliers": [{"name": "gold double", "per_mille": 2000, "segment": {"tier": {"one_of": ["Silver"]}}},
                    {"name": "silver and up", "per_mille": 1500, "segment": {"tier": {"at_least": "Silver"}}}]})";
  harness.write_rules(silver_only);
  auto reloaded = harness.node().reload_rules();
  REQUIRE(reloaded);
  REQUIRE(*reloaded);
  CHECK((*reloaded)->tag == tag_of(silver_only, program));
  CHECK((*reloaded)->tag != tag);
  auto after = harness.node().earn_order(bob, coffee_order(1'000), "gold-2");
  REQUIRE(after);
  CHECK(summary(*after->breakdown) == std::vector<std::string>{"base:10", "silver and up:5"});
  CHECK(after->reference == "gold-2~" + (*reloaded)->tag);
}

TEST_CASE("a reload changes the rules for the next earn, repeats and returns find orders of any rule set",
          "[node][rules]") {
  // Proves reload without a restart (the RPC and SIGHUP both call reload_rules), that a bad
  // file keeps the rules in force and names the rule and field, that a retried order is not
  // issued twice under new rules, that `return` finds a tagged order by its order id, and that
  // removing the file goes back to earn_rates.
  RulesHarness harness(base_rules);
  const auto customer = TxFactory::customer(2).public_key();
  auto first = harness.node().earn_order(customer, coffee_order(1'000), "order-A");
  REQUIRE(first);
  REQUIRE(harness.node().produce_pending());

  const std::string v2 = R"({"version": 1, "currencies": [{"currency": "EUR", "points_per_unit": 5}]})";
  harness.write_rules(v2);
  auto reloaded = harness.node().reload_rules();
  REQUIRE(reloaded);
  REQUIRE(*reloaded);
  CHECK((*reloaded)->tag == tag_of(v2));

  auto retried = harness.node().earn_order(customer, coffee_order(9'000), "order-A");
  REQUIRE(retried);
  CHECK(retried->already_known);
  CHECK(retried->tx_id == first->tx_id);
  CHECK(retried->points == first->points);
  auto second = harness.node().earn_order(customer, coffee_order(1'000), "order-B");
  REQUIRE(second);
  CHECK(second->points == 50);
  CHECK(second->reference == "order-B~" + tag_of(v2));

  harness.write_rules(R"({"version": 1, "currencies": [{"currency": "EUR", "points_per_unit": 1}],
    "multipliers": [{"name": "coffee week", "per_mille": 1000}]})");
  auto bad = harness.node().reload_rules();
  REQUIRE_FALSE(bad);
  CHECK(bad.error() == harness.rules_path().string() +
                           ": multipliers[0] \"coffee week\": per_mille must be an integer between 1001 and 100000");
  CHECK(harness.node().rules_info()->tag == tag_of(v2));

  auto returned = harness.node().return_purchase("order-A");
  REQUIRE(returned);
  REQUIRE(harness.node().produce_pending());
  auto twice = harness.node().return_purchase("order-A");
  REQUIRE_FALSE(twice);
  CHECK(twice.error().code == ledger::Code::already_reversed);

  std::filesystem::remove(harness.rules_path());
  auto off = harness.node().reload_rules();
  REQUIRE(off);
  CHECK_FALSE(*off);
  auto plain = harness.node().earn(customer, 1'000, "EUR", "order-C");
  REQUIRE(plain);
  CHECK(plain->reference == "order-C");
  CHECK_FALSE(plain->breakdown);
  auto no_quote = harness.node().quote(customer, coffee_order(1'000));
  REQUIRE_FALSE(no_quote);
  CHECK(no_quote.error().code == ledger::Code::invalid_field);
  // The order earned under rules is still known by its order id without them.
  auto again = harness.node().earn(customer, 1'000, "EUR", "order-B");
  REQUIRE(again);
  CHECK(again->already_known);
  CHECK(again->tx_id == second->tx_id);
}

TEST_CASE("a node does not start with a rules file that does not validate", "[node][rules]") {
  // Proves start-up validation: the error names the file, the rule and the field.
  std::string message;
  try {
    RulesHarness harness(R"({"version": 1, "currencies": [{"currency": "EUR", "points_per_unit": 1}],
      "fixed_points": [{"name": "bagel", "sku": "BAGEL", "points_per_item": 0}]})");
  } catch (const std::runtime_error& error) {
    message = error.what();
  }
  CHECK(message.ends_with("earning-rules.json: fixed_points[0] \"bagel\": points_per_item must be an integer "
                          "between 1 and 1000000"));

  // A tier segment on a chain without a tier program (this harness's chain is version 1).
  message.clear();
  try {
    RulesHarness harness(R"({"version": 1, "currencies": [{"currency": "EUR", "points_per_unit": 1}],
      "multipliers": [{"name": "gold double", "per_mille": 2000, "segment": {"tier": {"one_of": ["Gold"]}}}]})");
  } catch (const std::runtime_error& error) {
    message = error.what();
  }
  CHECK(message.ends_with("earning-rules.json: multipliers[0] \"gold double\": segment.tier: this chain has no tier "
                          "program (tiers need protocol version 4 and policy.tiers in the genesis)"));
}

TEST_CASE("caps count this partner's purchases by block time in the partner's day, and pending ones too",
          "[node][rules]") {
  // Proves the period edge on the chain: an issuance in a block one second before local
  // midnight counts for that day and not the next, and the first-purchase bonus is paid once.
  RulesHarness harness(base_rules, local_midnight_ms - 10'000);
  const auto customer = TxFactory::customer(3).public_key();
  auto evening = harness.node().earn_order(customer, coffee_order(2'000), "evening");
  REQUIRE(evening);
  CHECK(evening->points == 90);  // 20 + 20 coffee + 50 welcome
  harness.clock().set_ms(local_midnight_ms - 1'000);
  REQUIRE(harness.node().produce_pending());  // block time 23:59:59 local

  harness.clock().set_ms(local_midnight_ms - 1);
  auto late = harness.node().quote(customer, coffee_order(2'000));
  REQUIRE(late);
  CHECK(late->points == 10);  // 40, capped to the day's 100 - 90
  CHECK(late->capped);

  harness.clock().set_ms(local_midnight_ms);
  auto next_day = harness.node().quote(customer, coffee_order(2'000));
  REQUIRE(next_day);
  CHECK(next_day->points == 40);  // a new day; no second welcome
  CHECK_FALSE(next_day->capped);
  auto earned = harness.node().earn_order(customer, coffee_order(3'000), "morning");
  REQUIRE(earned);
  CHECK(earned->points == 60);
  // Pending, it already counts: 100 - 60 left.
  auto after = harness.node().quote(customer, coffee_order(5'000));
  REQUIRE(after);
  CHECK(after->points == 40);
}

TEST_CASE("an inactive-customer offer reads the customer's last transaction on the chain, at any partner",
          "[node][rules]") {
  // Proves the inactive_days segment against the chain: a customer who earned 59 days ago is
  // active, 60 days ago inactive, and one never seen counts as inactive.
  const std::string rules = R"({"version": 1, "currencies": [{"currency": "EUR", "points_per_unit": 1}],
    "multipliers": [{"name": "we miss you", "per_mille": 3000, "segment": {"inactive_days": 60}}]})";
  const std::uint64_t day_ms = 86'400'000;
  const std::uint64_t start_ms = local_midnight_ms;
  RulesHarness harness(rules, start_ms);
  const auto regular = TxFactory::customer(4).public_key();
  const auto stranger = TxFactory::customer(5).public_key();
  REQUIRE(harness.node().earn_order(regular, coffee_order(1'000), "visit-1"));
  REQUIRE(harness.node().produce_pending());  // block time start_ms

  harness.clock().set_ms(start_ms + 60 * day_ms - 1);
  auto active = harness.node().quote(regular, coffee_order(1'000));
  REQUIRE(active);
  CHECK(active->points == 10);
  harness.clock().set_ms(start_ms + 60 * day_ms);
  auto inactive = harness.node().quote(regular, coffee_order(1'000));
  REQUIRE(inactive);
  CHECK(summary(*inactive) == std::vector<std::string>{"base:10", "we miss you:20"});
  auto never_seen = harness.node().quote(stranger, coffee_order(1'000));
  REQUIRE(never_seen);
  CHECK(never_seen->points == 30);
}

TEST_CASE("earn_event issues an event rule's points once per event id, up to the limit per period by block time",
          "[node][rules][events]") {
  // Proves the node's event rules: the Issue has the event's reason and the reference
  // event.id~tag; the same event id returns the same issuance; a pending event counts toward
  // the limit; the month's limit resets at the partner's local month edge by block time; a
  // sign-up is once for ever; other customers are counted apart; bad calls change nothing.
  const std::string rules = R"({"version": 1, "time_zone_offset_minutes": 60,
    "currencies": [{"currency": "EUR", "points_per_unit": 1}],
    "event_rules": [{"name": "reviews", "event": "review", "points": 50, "limit_count": 1, "limit_period": "month"},
                    {"name": "welcome aboard", "event": "sign_up", "points": 100}]})";
  const std::string tag = tag_of(rules);
  // Monday 30 Nov local; 1 Dec starts a day later.
  RulesHarness harness(rules, local_midnight_ms);
  const auto alice = TxFactory::customer(6).public_key();
  const auto bob = TxFactory::customer(7).public_key();

  auto review = harness.node().earn_event(alice, "review", "rev-1");
  REQUIRE(review);
  CHECK(review->points == 50);
  CHECK(review->reference == "review.rev-1~" + tag);
  REQUIRE(review->breakdown);
  CHECK(summary(*review->breakdown) == std::vector<std::string>{"reviews:50"});
  const ledger::Issue issue = harness.issue(review->tx_id);
  CHECK(issue.reason == ledger::Reason::review);
  CHECK(issue.points == 50);
  auto again = harness.node().earn_event(alice, "review", "rev-1");
  REQUIRE(again);
  CHECK(again->already_known);
  CHECK(again->tx_id == review->tx_id);
  auto second = harness.node().earn_event(alice, "review", "rev-2");  // the first is still pending
  REQUIRE_FALSE(second);
  CHECK(second.error().code == ledger::Code::cap_exceeded);
  REQUIRE(harness.node().earn_event(bob, "review", "rev-3"));
  REQUIRE(harness.node().produce_pending());

  harness.clock().set_ms(local_midnight_ms + 86'400'000 - 1);  // still November locally
  auto committed_counts = harness.node().earn_event(alice, "review", "rev-2");
  REQUIRE_FALSE(committed_counts);
  CHECK(committed_counts.error().code == ledger::Code::cap_exceeded);
  harness.clock().set_ms(local_midnight_ms + 86'400'000);  // 1 December, local midnight
  auto december = harness.node().earn_event(alice, "review", "rev-2");
  REQUIRE(december);
  CHECK(december->points == 50);

  auto signed_up = harness.node().earn_event(alice, "sign_up", "alice");
  REQUIRE(signed_up);
  CHECK(harness.issue(signed_up->tx_id).reason == ledger::Reason::bonus);
  REQUIRE(harness.node().produce_pending());
  harness.clock().set_ms(local_midnight_ms + 400 * 86'400'000ULL);
  auto twice = harness.node().earn_event(alice, "sign_up", "alice-again");
  REQUIRE_FALSE(twice);
  CHECK(twice.error().code == ledger::Code::cap_exceeded);

  const std::size_t pending = harness.node().chain_info().pending_count;
  for (const auto& [event, id] : std::vector<std::pair<std::string, std::string>>{
           {"birthday", "b-1"}, {"tier_up", "t-1"}, {"review", "has~tilde"}, {"review", ""},
           {"review", std::string(25, 'x')}, {"review", "with space"}}) {
    auto refused = harness.node().earn_event(bob, event, id);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code == ledger::Code::invalid_field);
  }
  CHECK(harness.node().chain_info().pending_count == pending);
}

TEST_CASE("partners-visited and points-earned segments read every partner's issuances on the chain by block time",
          "[node][rules][segments]") {
  // Proves the recent segments against the chain: issuances of two partners in a block count
  // for "partners visited" until exactly 30 days after its block time and not a millisecond
  // later; "points earned" counts every partner's points in 7 days, pending ones included.
  const std::string rules = R"({"version": 1, "currencies": [{"currency": "EUR", "points_per_unit": 1}],
    "multipliers": [
      {"name": "explorer", "per_mille": 2000, "segment": {"partners_visited": {"days": 30, "min": 2}}},
      {"name": "big earner", "per_mille": 1500, "segment": {"points_earned": {"days": 7, "min": 200}}}]})";
  const std::uint64_t day_ms = 86'400'000;
  const std::uint64_t start_ms = local_midnight_ms;
  RulesHarness harness(rules, start_ms);
  const auto customer = TxFactory::customer(8).public_key();
  TxFactory other_partner;
  REQUIRE(harness.node().earn_order(customer, coffee_order(1'000), "visit-1"));  // 10 points at partner 1
  REQUIRE(harness.node().submit(other_partner.issue(2, customer, 150, "elsewhere-1").bytes()));
  REQUIRE(harness.node().produce_pending());  // block time start_ms

  harness.clock().set_ms(start_ms + day_ms);
  auto both = harness.node().quote(customer, coffee_order(1'000));
  REQUIRE(both);
  CHECK(summary(*both) == std::vector<std::string>{"base:10", "explorer:10"});  // 160 points: not 200
  REQUIRE(harness.node().submit(other_partner.issue(2, customer, 40, "elsewhere-2").bytes()));  // pending: now
  auto with_pending = harness.node().quote(customer, coffee_order(1'000));
  REQUIRE(with_pending);
  CHECK(summary(*with_pending) == std::vector<std::string>{"base:10", "explorer:10", "big earner:5"});
  harness.clock().set_ms(start_ms + day_ms + 1);
  REQUIRE(harness.node().produce_pending());  // the 40 at start + 1 day + 1 ms

  harness.clock().set_ms(start_ms + 7 * day_ms);  // the first block is exactly 7 days old: 200
  auto edge = harness.node().quote(customer, coffee_order(1'000));
  REQUIRE(edge);
  CHECK(summary(*edge) == std::vector<std::string>{"base:10", "explorer:10", "big earner:5"});
  harness.clock().set_ms(start_ms + 7 * day_ms + 1);
  auto after = harness.node().quote(customer, coffee_order(1'000));
  REQUIRE(after);
  CHECK(summary(*after) == std::vector<std::string>{"base:10", "explorer:10"});

  harness.clock().set_ms(start_ms + 30 * day_ms);
  auto last_day = harness.node().quote(customer, coffee_order(1'000));
  REQUIRE(last_day);
  CHECK(summary(*last_day) == std::vector<std::string>{"base:10", "explorer:10"});
  harness.clock().set_ms(start_ms + 30 * day_ms + 1);  // partner 1's issuance left the window
  auto gone = harness.node().quote(customer, coffee_order(1'000));
  REQUIRE(gone);
  CHECK(summary(*gone) == std::vector<std::string>{"base:10"});
}
