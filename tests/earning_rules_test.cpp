// The earning-rules engine as a pure function (node/earning_rules.hpp): the file and its
// errors, each rule alone and in combination, the stacking order, periods at their edges in
// the partner's time zone, and properties over seeded random orders. The node's use of it
// (facts from the chain, the reference tag, reload) is in earning_rules_node_test.cpp.
#include <catch2/catch.hpp>

#include <fstream>
#include <random>
#include <sstream>

#include "node/earning_rules.hpp"
#include "tests/fixtures.hpp"

namespace {

using namespace pc::node::rules;

// Times in UTC ms (computed outside the engine). The doc's example is at UTC+1, so local
// midnight is 23:00 UTC the day before.
constexpr std::uint64_t coffee_week_start_ms = 1'795'388'400'000;     // 2026-11-22T23:00Z, Mon 23 Nov local
constexpr std::uint64_t wednesday_noon_ms = 1'795'604'400'000;        // 2026-11-25T11:00Z, Wed local
constexpr std::uint64_t sunday_noon_ms = 1'795'950'000'000;           // 2026-11-29T11:00Z, Sun local
constexpr std::uint64_t next_monday_start_ms = 1'795'993'200'000;     // 2026-11-29T23:00Z, Mon 30 Nov local
constexpr std::uint64_t december_start_ms = 1'796'079'600'000;        // 2026-11-30T23:00Z, Tue 1 Dec local

std::string read_file(const std::filesystem::path& path) {
  std::ifstream file(path);
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

// The first ```json block of docs/earning-rules.md holding `marker`, as written.
std::string doc_example(const std::string& marker = "") {
  std::istringstream lines(read_file(std::filesystem::path(POINTCHAIN_SOURCE_DIR) / "docs" / "earning-rules.md"));
  std::string line;
  while (true) {
    while (std::getline(lines, line) && line != "```json") {
    }
    std::string block;
    while (std::getline(lines, line) && line != "```") block += line + "\n";
    REQUIRE_FALSE(block.empty());
    if (block.find(marker) != std::string::npos) return block;
  }
}

RuleSet parse(const std::string& text, const pc::ledger::TierProgram& tiers = {}) {
  auto rules = parse_rule_set(text, tiers);
  INFO(text);
  if (!rules) FAIL(rules.error());
  return std::move(rules).value();
}

// A minimal file with `extra` fields added at the top level.
RuleSet rules_with(const std::string& extra) {
  return parse(R"({"version": 1, "currencies": [{"currency": "EUR", "points_per_unit": 1}])" +
               (extra.empty() ? std::string() : ", " + extra) + "}");
}

std::string parse_error(const std::string& text, const pc::ledger::TierProgram& tiers = {}) {
  auto rules = parse_rule_set(text, tiers);
  REQUIRE_FALSE(rules);
  return rules.error();
}

OrderLine line(std::string sku, std::string category, std::int64_t unit_price_minor, std::uint32_t quantity = 1,
               std::vector<std::string> flags = {}) {
  return OrderLine{std::move(sku), std::move(category), quantity, unit_price_minor, std::move(flags)};
}

Order order(std::vector<OrderLine> lines) { return Order{"EUR", std::move(lines)}; }

CustomerFacts returning_customer() {
  CustomerFacts facts;
  facts.first_purchase = false;
  facts.last_activity_ms = wednesday_noon_ms - 86'400'000;
  return facts;
}

Breakdown evaluated(const RuleSet& rules, const Order& purchase, const CustomerFacts& facts, std::uint64_t now_ms) {
  auto breakdown = evaluate(rules, purchase, facts, now_ms);
  if (!breakdown) FAIL(breakdown.error().message());
  std::int64_t sum = 0;
  for (const Contribution& contribution : breakdown->contributions) sum += contribution.points;
  CHECK(sum == static_cast<std::int64_t>(breakdown->points));  // the breakdown always adds up
  return std::move(breakdown).value();
}

// "rule:points" for each contribution, in order.
std::vector<std::string> lines_of(const Breakdown& breakdown) {
  std::vector<std::string> out;
  for (const Contribution& contribution : breakdown.contributions) {
    out.push_back(contribution.rule + ":" + std::to_string(contribution.points));
  }
  return out;
}

using Lines = std::vector<std::string>;

}  // namespace

TEST_CASE("the example rule set in docs/earning-rules.md loads as written and gives the doc's breakdown",
          "[rules][docs]") {
  // Proves the doc's file is valid and that its worked example (a coffee and a gift card on a
  // Wednesday of the coffee week, for a returning customer) earns the 84 points it shows.
  const RuleSet rules = parse(doc_example());
  CHECK(rules.tag.size() == rule_tag_chars);
  const Breakdown breakdown = evaluated(
      rules, order({line("ESPRESSO-XL", "coffee", 4'200), line("GIFT-20", "gift", 2'000, 1, {"gift_card"})}),
      returning_customer(), wednesday_noon_ms);
  CHECK(lines_of(breakdown) == Lines{"base:62", "gift cards:-20", "coffee week:42"});
  CHECK(breakdown.points == 84);
  CHECK_FALSE(breakdown.capped);
}

TEST_CASE("a rule set's errors name the rule and the field", "[rules]") {
  // Proves that validation refuses each kind of mistake with a message that says where it is.
  const std::string head = R"({"version": 1, "currencies": [{"currency": "EUR", "points_per_unit": 1}], )";
  CHECK(parse_error(head + R"("multipliers": [{"name": "coffee week", "category": "coffee", "per_mille": 1000}]})") ==
        "multipliers[0] \"coffee week\": per_mille must be an integer between 1001 and 100000");
  CHECK(parse_error(head + R"("multipliers": [{"name": "a", "per_mille": 2000}, {"name": "b", "per_mille": 2000,
        "start": "2026-02-30T00:00"}]})") ==
        "multipliers[1] \"b\": start must be a local time \"YYYY-MM-DDTHH:MM\" from 1970 to 9999");
  CHECK(parse_error(head + R"("multipliers": [{"name": "w", "per_mille": 2000, "start": "2026-11-30T00:00",
        "end": "2026-11-23T00:00"}]})") == "multipliers[0] \"w\": end must be after start");
  CHECK(parse_error(head + R"("exclusions": [{"name": "x", "sku": "A", "flag": "gift_card"}]})") ==
        "exclusions[0] \"x\": name one of sku, category or flag, not several");
  CHECK(parse_error(head + R"("exclusions": [{"name": "x"}]})") == "exclusions[0] \"x\": name one of sku, category or flag");
  CHECK(parse_error(head + R"("exclusions": [{"sku": "A"}]})") == "exclusions[0]: name is required");
  CHECK(parse_error(head + R"("exclusions": [{"name": "x", "sku": "A"}], "fixed_points": [{"name": "x", "sku": "B",
        "points_per_item": 1}]})") == "fixed_points[0] \"x\": another rule has this name");
  CHECK(parse_error(head + R"("fixed_points": [{"name": "base", "sku": "B", "points_per_item": 1}]})") ==
        "fixed_points[0] \"base\": another rule has this name");
  CHECK(parse_error(head + R"("multipliers": [{"name": "m", "per_mille": 2000, "weekdays": ["caturday"]}]})") ==
        "multipliers[0] \"m\": weekdays: unknown day \"caturday\"");
  CHECK(parse_error(head + R"("multipliers": [{"name": "m", "per_mille": 2000, "colour": "red"}]})") ==
        "multipliers[0] \"m\": unknown field \"colour\"");
  CHECK(parse_error(head + R"("customer_caps": {"day": 0}})") ==
        "customer_caps.day must be an integer between 1 and 9223372036854775807");
  CHECK(parse_error(head + R"("tiers": []})") == "unknown field \"tiers\"");
  CHECK(parse_error(R"({"version": 1, "currencies": [{"currency": "XYZ", "points_per_unit": 1}]})") ==
        "currencies[0]: unknown currency \"XYZ\"");
  CHECK(parse_error(R"({"version": 2, "currencies": []})") == "version must be an integer between 1 and 1");
  CHECK(parse_error(R"({"version": 1})").starts_with("currencies must be a non-empty array"));
  CHECK(parse_error("{").starts_with("not valid JSON"));
}

TEST_CASE("numbers out of every range are errors, not exceptions or wrapped values", "[rules][fuzz]") {
  // Proves two defects found while writing fuzz_earning_rules stay fixed: a number too large
  // for a double made the JSON parser throw out of parse_rule_set (the node reloads the file
  // while running), and 2^64 - 1 minutes, read as a signed integer, passed as an offset of -1.
  const std::string head = R"({"version": 1, "currencies": [{"currency": "EUR", "points_per_unit": 1}], )";
  CHECK(parse_error(head + R"("order_points_max": 1e999})").starts_with("not valid JSON"));
  CHECK(parse_error(R"(-1e400)").starts_with("not valid JSON"));
  CHECK(parse_error(head + R"("time_zone_offset_minutes": 18446744073709551615})") ==
        "time_zone_offset_minutes must be an integer between -840 and 840");
  CHECK(parse_error(head + R"("time_zone_offset_minutes": 841})") ==
        "time_zone_offset_minutes must be an integer between -840 and 840");
  CHECK(rules_with(R"("time_zone_offset_minutes": -840)").time_zone_offset_minutes == -840);
  CHECK(rules_with(R"("time_zone_offset_minutes": 840)").time_zone_offset_minutes == 840);
}

TEST_CASE("the rule set's hash is of the file's bytes, and its tag is the hash's first 16 bytes", "[rules]") {
  // Proves an auditor can recompute the tag from the file: SHA-256 of the exact bytes, so a
  // change of a single space is another rule set.
  const std::string text = R"({"version": 1, "currencies": [{"currency": "EUR", "points_per_unit": 1}]})";
  const RuleSet rules = parse(text);
  CHECK(rules.hash == pc::crypto::sha256(pc::as_bytes(text)));
  // base64url of the first 16 bytes, computed independently of the engine: 6 bits per char.
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string expected;
  std::uint32_t buffer = 0;
  int bits = 0;
  for (std::size_t i = 0; i < 16; ++i) {
    buffer = (buffer << 8) | rules.hash[i];
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      expected += alphabet[(buffer >> bits) & 63U];
    }
  }
  expected += alphabet[(buffer << (6 - bits)) & 63U];
  CHECK(rules.tag == expected);
  CHECK(parse(text + " ").tag != rules.tag);
}

TEST_CASE("base points are counted on the whole order and rounded down once", "[rules]") {
  // Proves that three items at 0.99 earn 2 points at 1 per euro (2.97), not 0 + 0 + 0.
  const RuleSet rules = rules_with("");
  const Breakdown breakdown = evaluated(rules, order({line("A", "", 99), line("B", "", 99), line("C", "", 99)}),
                                        returning_customer(), wednesday_noon_ms);
  CHECK(lines_of(breakdown) == Lines{"base:2"});
  // Units: JPY has no minor digits.
  const RuleSet yen = parse(R"({"version": 1, "currencies": [{"currency": "JPY", "points_per_unit": 1}]})");
  CHECK(evaluated(yen, Order{"JPY", {line("", "", 1'234)}}, returning_customer(), 0).points == 1'234);
  auto no_rate = evaluate(rules, Order{"JPY", {line("", "", 1'234)}}, returning_customer(), 0);
  REQUIRE_FALSE(no_rate);
  CHECK(no_rate.error().code == pc::ledger::Code::invalid_field);
}

TEST_CASE("exclusions by SKU, category and flag take away exactly their lines' points", "[rules]") {
  // Proves each selector kind, the first-match rule, and that the remaining base is the
  // eligible lines' base rounded once (the exclusions' shares telescope).
  const RuleSet rules = rules_with(R"("exclusions": [{"name": "no stamps", "sku": "STAMP"},
      {"name": "no tobacco", "category": "tobacco"}, {"name": "no gift cards", "flag": "gift_card"}])");
  const Breakdown breakdown = evaluated(
      rules,
      order({line("STAMP", "post", 150, 2), line("CIG", "tobacco", 890), line("GC", "gift", 2'500, 1, {"gift_card"}),
             line("BREAD", "bakery", 349)}),
      returning_customer(), wednesday_noon_ms);
  // 3.00 + 8.90 + 25.00 + 3.49 = 40.39 -> 40; left after each: 37.39, 28.49, 3.49.
  CHECK(lines_of(breakdown) == Lines{"base:40", "no stamps:-3", "no tobacco:-9", "no gift cards:-25"});
  CHECK(breakdown.points == 3);
  // A line matching two exclusions is taken by the first.
  const Breakdown both = evaluated(rules, order({line("STAMP", "tobacco", 1'000)}), returning_customer(), 0);
  CHECK(lines_of(both) == Lines{"base:10", "no stamps:-10"});
}

TEST_CASE("below the minimum order value nothing is earned, and the breakdown says why", "[rules]") {
  // Proves the minimum counts only the eligible lines (a gift card does not lift an order
  // over it) and that reaching it exactly is enough.
  const RuleSet rules = parse(R"({"version": 1, "currencies": [{"currency": "EUR", "points_per_unit": 1,
      "minimum_order_minor": 500}], "exclusions": [{"name": "gift cards", "flag": "gift_card"}]})");
  const Breakdown below = evaluated(rules, order({line("A", "", 499), line("GC", "", 5'000, 1, {"gift_card"})}),
                                    returning_customer(), 0);
  CHECK(below.points == 0);
  CHECK(lines_of(below) == Lines{"base:54", "gift cards:-50", "minimum order:-4"});
  CHECK(evaluated(rules, order({line("A", "", 500)}), returning_customer(), 0).points == 5);
}

TEST_CASE("multipliers apply by SKU, category, flag, weekday and window, in the partner's time zone", "[rules]") {
  // Proves each condition alone, with the window's start inclusive and its end exclusive at
  // local midnight (UTC+1).
  const RuleSet rules = rules_with(R"("time_zone_offset_minutes": 60, "multipliers": [
      {"name": "coffee week", "category": "coffee", "per_mille": 2000, "start": "2026-11-23T00:00", "end": "2026-11-30T00:00"},
      {"name": "sku deal", "sku": "BAGEL", "per_mille": 3000},
      {"name": "clearance", "flag": "discounted", "per_mille": 1500},
      {"name": "lazy sunday", "weekdays": ["sunday"], "per_mille": 1100}])");
  const Order coffee = order({line("LATTE", "coffee", 1'000)});
  CHECK(evaluated(rules, coffee, returning_customer(), coffee_week_start_ms - 1).points == 11);  // Sunday, local
  CHECK(lines_of(evaluated(rules, coffee, returning_customer(), coffee_week_start_ms)) ==
        Lines{"base:10", "coffee week:10"});
  CHECK(evaluated(rules, coffee, returning_customer(), next_monday_start_ms - 1).points == 21);  // Sunday: +1
  CHECK(evaluated(rules, coffee, returning_customer(), next_monday_start_ms).points == 10);
  CHECK(lines_of(evaluated(rules, order({line("BAGEL", "bakery", 1'000)}), returning_customer(), wednesday_noon_ms)) ==
        Lines{"base:10", "sku deal:20"});
  CHECK(lines_of(evaluated(rules, order({line("X", "", 1'000, 1, {"discounted"})}), returning_customer(),
                           wednesday_noon_ms)) == Lines{"base:10", "clearance:5"});
  // Sunday 23:30 UTC is Monday local: no Sunday multiplier.
  CHECK(evaluated(rules, order({line("X", "", 1'000)}), returning_customer(), sunday_noon_ms).points == 11);
  CHECK(evaluated(rules, order({line("X", "", 1'000)}), returning_customer(), next_monday_start_ms + 1'800'000).points ==
        10);
}

TEST_CASE("multipliers add, in file order, up to the combined maximum per line", "[rules]") {
  // Proves the documented stacking: x2 and x1.5 on one line make x2.5 (not x3), and with a
  // combined maximum of x3 a third x2 rule gets only the x0.5 left, and says so.
  const std::string multipliers = R"("multipliers": [{"name": "double", "per_mille": 2000},
      {"name": "half more", "per_mille": 1500}, {"name": "double again", "category": "coffee", "per_mille": 2000}])";
  const RuleSet open = rules_with(multipliers + R"(, "multiplier_per_mille_max": 10000)");
  const Order two_lines = order({line("TEA", "tea", 1'000), line("LATTE", "coffee", 1'000)});
  // tea x2.5 = 25; coffee x3.5 = 35.
  CHECK(lines_of(evaluated(open, two_lines, returning_customer(), 0)) ==
        Lines{"base:20", "double:20", "half more:10", "double again:10"});
  const RuleSet capped = rules_with(multipliers + R"(, "multiplier_per_mille_max": 3000)");
  const Breakdown breakdown = evaluated(capped, two_lines, returning_customer(), 0);
  CHECK(lines_of(breakdown) == Lines{"base:20", "double:20", "half more:10", "double again:5"});
  CHECK(breakdown.contributions.back().note == "x2 on 1 line, limited by multiplier_per_mille_max x3");
  CHECK(breakdown.points == 55);  // x2.5 + x3
}

TEST_CASE("fixed points, the first-purchase bonus and the order maximum, alone and together", "[rules]") {
  // Proves fixed points are per item and not multiplied, the bonus goes to a first purchase
  // only, and the per-order maximum cuts the sum of everything before it.
  const RuleSet rules = rules_with(R"("multipliers": [{"name": "double", "per_mille": 2000}],
      "fixed_points": [{"name": "croissant bonus", "sku": "CROISSANT", "points_per_item": 5}],
      "first_purchase_bonus": {"name": "welcome", "points": 50}, "order_points_max": 80)");
  const Order purchase = order({line("CROISSANT", "bakery", 250, 3)});
  CHECK(lines_of(evaluated(rules, purchase, returning_customer(), 0)) ==
        Lines{"base:7", "double:7", "croissant bonus:15"});
  CustomerFacts first = returning_customer();
  first.first_purchase = true;
  const Breakdown capped = evaluated(rules, purchase, first, 0);
  CHECK(lines_of(capped) == Lines{"base:7", "double:7", "croissant bonus:15", "welcome:50"});
  CHECK(capped.points == 79);
  const Breakdown big = evaluated(rules, order({line("CROISSANT", "bakery", 250, 4)}), first, 0);
  CHECK(lines_of(big) == Lines{"base:10", "double:10", "croissant bonus:20", "welcome:50", "order maximum:-10"});
  CHECK(big.points == 80);
  CHECK_FALSE(big.capped);  // the order maximum is not a customer cap
}

TEST_CASE("customer caps reduce an earn to what is left of the day, week and month", "[rules]") {
  // Proves each cap alone, the tightest winning, and that a reached cap leaves nothing.
  const RuleSet rules = rules_with(R"("customer_caps": {"day": 100, "week": 150, "month": 1000})");
  const Order purchase = order({line("A", "", 8'000)});
  CustomerFacts facts = returning_customer();
  CHECK(evaluated(rules, purchase, facts, 0).points == 80);
  facts.earned_in_period = {50, 50, 50};
  Breakdown day = evaluated(rules, purchase, facts, 0);
  CHECK(lines_of(day) == Lines{"base:80", "customer cap (day):-30"});
  CHECK(day.capped);
  CHECK(day.contributions.back().note == "capped: 50 points left this day");
  facts.earned_in_period = {0, 100, 100};
  CHECK(lines_of(evaluated(rules, purchase, facts, 0)) == Lines{"base:80", "customer cap (week):-30"});
  facts.earned_in_period = {0, 0, 990};
  CHECK(lines_of(evaluated(rules, purchase, facts, 0)) == Lines{"base:80", "customer cap (month):-70"});
  facts.earned_in_period = {100, 100, 100};
  CHECK(evaluated(rules, purchase, facts, 0).points == 0);
}

TEST_CASE("periods start at local midnight, on Monday and on the 1st, in the partner's time zone", "[rules]") {
  // Proves where the edges of the caps' periods lie: UTC+1 midnight is 23:00 UTC, one
  // millisecond before is the previous period.
  using Starts = std::array<std::uint64_t, 3>;
  const std::uint64_t day_ms = 86'400'000;
  // Sunday 29 Nov local, 23:59:59.999: day from 28 Nov 23:00Z, week from 22 Nov 23:00Z, month from 31 Oct 23:00Z.
  const std::uint64_t november_start_ms = 1'793'487'600'000;  // 2026-10-31T23:00Z
  CHECK(period_starts(60, next_monday_start_ms - 1) ==
        Starts{next_monday_start_ms - day_ms, coffee_week_start_ms, november_start_ms});
  CHECK(period_starts(60, next_monday_start_ms) == Starts{next_monday_start_ms, next_monday_start_ms, november_start_ms});
  CHECK(period_starts(60, december_start_ms) == Starts{december_start_ms, next_monday_start_ms, december_start_ms});
  CHECK(period_starts(60, december_start_ms - 1)[2] == november_start_ms);
  // The same instants at UTC: the edges move by the offset.
  CHECK(period_starts(0, next_monday_start_ms)[0] == next_monday_start_ms - 23 * 3'600'000);
  CHECK(period_starts(-300, 0)[0] == 0);  // before the epoch locally: clamped
}

TEST_CASE("segments target new, returning and inactive customers, a personalised offer has a window", "[rules]") {
  // Proves new_customer and inactive_days against the customer's facts, with the doc's
  // "we miss you" offer: x3 for customers inactive 60 days, in the coffee week only.
  const RuleSet rules = parse(doc_example());
  const Order purchase = order({line("BREAD", "bakery", 1'000)});
  CustomerFacts recent = returning_customer();
  CHECK(evaluated(rules, purchase, recent, wednesday_noon_ms).points == 10);
  CustomerFacts away = returning_customer();
  away.last_activity_ms = wednesday_noon_ms - 60 * 86'400'000ULL;
  CHECK(lines_of(evaluated(rules, purchase, away, wednesday_noon_ms)) == Lines{"base:10", "we miss you:20"});
  away.last_activity_ms = wednesday_noon_ms - 60 * 86'400'000ULL + 1;
  CHECK(evaluated(rules, purchase, away, wednesday_noon_ms).points == 10);
  away.last_activity_ms = std::nullopt;  // never seen: inactive
  CHECK(evaluated(rules, purchase, away, next_monday_start_ms).points == 10);  // after the window
  const RuleSet newcomers = rules_with(R"("multipliers": [{"name": "new here", "per_mille": 2000,
      "segment": {"new_customer": true}}, {"name": "loyal", "per_mille": 1500, "segment": {"new_customer": false}}])");
  CustomerFacts first;
  CHECK(lines_of(evaluated(newcomers, purchase, first, 0)) == Lines{"base:10", "new here:10"});
  CHECK(lines_of(evaluated(newcomers, purchase, returning_customer(), 0)) == Lines{"base:10", "loyal:5"});
}

TEST_CASE("bad orders and products past 2^63 are typed errors, never wrong points", "[rules]") {
  // Proves the integer arithmetic is checked: a huge price times a huge rate is overflow.
  const RuleSet rules = parse(R"({"version": 1, "currencies": [{"currency": "EUR", "points_per_unit": 1000000}],
      "multipliers": [{"name": "x100", "per_mille": 100000}], "multiplier_per_mille_max": 100000})");
  auto huge = evaluate(rules, order({line("A", "", INT64_MAX / 2, 100)}), returning_customer(), 0);
  REQUIRE_FALSE(huge);
  CHECK(huge.error().code == pc::ledger::Code::overflow);
  auto multiplied = evaluate(rules, order({line("A", "", 1'000'000'000'000)}), returning_customer(), 0);
  REQUIRE_FALSE(multiplied);
  CHECK(multiplied.error().code == pc::ledger::Code::overflow);
  for (const Order& bad : {order({}), order({line("A", "", -1)}), order({line("A", "", 1, 0)}), Order{"XYZ", {line("A", "", 1)}}}) {
    auto result = evaluate(rules, bad, returning_customer(), 0);
    REQUIRE_FALSE(result);
    CHECK(result.error().code == pc::ledger::Code::invalid_field);
  }
}

TEST_CASE("over seeded random orders, points never pass the order maximum and the breakdown adds up",
          "[rules][property]") {
  // Proves, for 2,000 random orders and facts against the doc's rule set with an order maximum,
  // that the points are within the maximum and the caps, that contributions add up (checked in
  // evaluated()), and that evaluating twice gives the same breakdown (what quote = earn rests on).
  const std::uint32_t seed = 20'261'123;
  INFO("seed " << seed);
  std::mt19937 random(seed);
  const RuleSet rules = parse(doc_example());
  REQUIRE(rules.order_points_max == 1'000u);
  const std::vector<std::string> categories{"coffee", "bakery", "tobacco", "gift"};
  const std::vector<std::string> skus{"CROISSANT", "LATTE", "BAGEL", "GC"};
  for (int round = 0; round < 2'000; ++round) {
    std::vector<OrderLine> lines;
    const std::size_t count = 1 + random() % 20;
    for (std::size_t i = 0; i < count; ++i) {
      std::vector<std::string> flags;
      if (random() % 5 == 0) flags.push_back("gift_card");
      lines.push_back(line(skus[random() % skus.size()], categories[random() % categories.size()],
                           static_cast<std::int64_t>(random() % 200'000), static_cast<std::uint32_t>(1 + random() % 50), flags));
    }
    CustomerFacts facts;
    facts.first_purchase = random() % 2 == 0;
    if (random() % 2 == 0) facts.last_activity_ms = coffee_week_start_ms - (random() % 100) * 86'400'000ULL;
    facts.earned_in_period = {random() % 600, random() % 2'500, random() % 6'000};
    const std::uint64_t now_ms = coffee_week_start_ms + (random() % (10 * 86'400)) * 1'000ULL;
    const Breakdown first = evaluated(rules, order(lines), facts, now_ms);
    CHECK(first.points <= 1'000);
    CHECK(first.points <= (facts.earned_in_period[0] >= 500 ? 0 : 500 - facts.earned_in_period[0]));
    const Breakdown second = evaluated(rules, order(lines), facts, now_ms);
    CHECK(lines_of(first) == lines_of(second));
  }
}

TEST_CASE("a window's local times become UTC across leap years and the time zone", "[rules]") {
  // Proves the file's dates: 1 March after a common February, a leap February and 2100 (not a
  // leap year), at UTC and at UTC-5. A February of 29 days in a common year was a real bug.
  const auto start_of = [](const std::string& when, int offset_minutes) {
    const RuleSet rules = rules_with("\"time_zone_offset_minutes\": " + std::to_string(offset_minutes) +
                                     R"(, "multipliers": [{"name": "m", "per_mille": 2000, "start": ")" + when + "\"}]");
    REQUIRE(rules.multipliers.at(0).window.start_ms);
    return *rules.multipliers.at(0).window.start_ms;
  };
  CHECK(start_of("2027-03-01T00:00", 0) == 1'803'859'200'000);
  CHECK(start_of("2028-03-01T00:00", 0) == 1'835'481'600'000);
  CHECK(start_of("2100-03-01T00:00", 0) == 4'107'542'400'000);
  CHECK(start_of("2028-03-01T00:00", -300) == 1'835'481'600'000 + 5 * 3'600'000);
  CHECK(parse_error(R"({"version": 1, "currencies": [{"currency": "EUR", "points_per_unit": 1}],
      "multipliers": [{"name": "m", "per_mille": 2000, "start": "2027-02-29T00:00"}]})") ==
        "multipliers[0] \"m\": start must be a local time \"YYYY-MM-DDTHH:MM\" from 1970 to 9999");
}

TEST_CASE("event rules: parsed strictly, one per event, evaluated against the customer's count in the period",
          "[rules][events]") {
  // Proves that an event rule gives its points while the customer's count in the period is
  // under the limit and is refused with cap_exceeded (naming the limit) at it; that an event
  // without a rule is invalid_field; that the year period starts on local 1 January; and that
  // a malformed event rule is refused naming the rule and field.
  const RuleSet rules = rules_with(R"("time_zone_offset_minutes": 60, "event_rules": [
    {"name": "reviews", "event": "review", "points": 50, "limit_count": 2, "limit_period": "month"},
    {"name": "welcome aboard", "event": "sign_up", "points": 100}])");
  REQUIRE(rules.event_rules.size() == 2);
  CHECK(rules.event_rules[1].limit_count == 1);
  CHECK(rules.event_rules[1].limit_period == EventPeriod::ever);
  auto first = evaluate_event(rules, EventKind::review, 1);
  REQUIRE(first);
  CHECK(first->points == 50);
  REQUIRE(first->contributions.size() == 1);
  CHECK(first->contributions[0].rule == "reviews");
  CHECK(first->contributions[0].note == "2 of 2 this month");
  auto over = evaluate_event(rules, EventKind::review, 2);
  REQUIRE_FALSE(over);
  CHECK(over.error().code == pc::ledger::Code::cap_exceeded);
  CHECK(over.error().message().find("\"reviews\" gives at most 2 review per month") != std::string::npos);
  CHECK_FALSE(evaluate_event(rules, EventKind::sign_up, 1));
  auto no_rule = evaluate_event(rules, EventKind::birthday, 0);
  REQUIRE_FALSE(no_rule);
  CHECK(no_rule.error().code == pc::ledger::Code::invalid_field);

  // 2027-01-01T00:00 at UTC+1 is 2026-12-31T23:00Z.
  const std::uint64_t year_2027_ms = 1'798'758'000'000;
  CHECK(event_period_start(60, year_2027_ms, EventPeriod::year) == year_2027_ms);
  CHECK(event_period_start(60, year_2027_ms - 1, EventPeriod::year) == year_2027_ms - 365ULL * 86'400'000);
  CHECK(event_period_start(60, year_2027_ms + 5, EventPeriod::ever) == 0);
  CHECK(event_period_start(60, december_start_ms + 5, EventPeriod::month) == december_start_ms);

  const std::string head = R"({"version": 1, "currencies": [{"currency": "EUR", "points_per_unit": 1}], )";
  CHECK(parse_error(head + R"("event_rules": [{"name": "x", "event": "tier_up", "points": 5}]})") ==
        "event_rules[0] \"x\": unknown event \"tier_up\" (review, social_share, sign_up, birthday)");
  CHECK(parse_error(head + R"("event_rules": [{"name": "a", "event": "review", "points": 5},
        {"name": "b", "event": "review", "points": 6}]})") ==
        "event_rules[1] \"b\": another rule is for the event review");
  CHECK(parse_error(head + R"("event_rules": [{"name": "a", "event": "birthday", "points": 5, "limit_period": "decade"}]})") ==
        "event_rules[0] \"a\": limit_period must be day, week, month, year or ever");
  CHECK(parse_error(head + R"("event_rules": [{"name": "a", "event": "birthday", "points": 0}]})") ==
        "event_rules[0] \"a\": points must be an integer between 1 and 1000000");
  CHECK(parse_error(head + R"("event_rules": [{"name": "a", "event": "birthday", "points": 5, "limit": 1}]})") ==
        "event_rules[0] \"a\": unknown field \"limit\"");
}

TEST_CASE("partners-visited and points-earned segments count the issuances of the last N days, edges included",
          "[rules][segments]") {
  // Proves the recent segments on the customer's facts: an issuance exactly N days old counts,
  // one a millisecond older does not; partners are counted once however many issuances; min
  // and max bound the count both ways.
  const RuleSet rules = rules_with(R"("multipliers": [
      {"name": "explorer", "per_mille": 2000, "segment": {"partners_visited": {"days": 30, "min": 2}}},
      {"name": "quiet", "per_mille": 1500, "segment": {"points_earned": {"days": 7, "max": 99}}}])");
  CHECK(rules.recent_days_max() == 30);
  const Order purchase = order({line("BREAD", "bakery", 1'000)});
  const std::uint64_t now_ms = wednesday_noon_ms;
  const std::uint64_t day_ms = 86'400'000;
  CustomerFacts facts = returning_customer();
  CHECK(lines_of(evaluated(rules, purchase, facts, now_ms)) == Lines{"base:10", "quiet:5"});  // 0 points earned
  facts.recent_issues = {{now_ms - 30 * day_ms, 2, 60}, {now_ms - 2 * day_ms, 1, 30}, {now_ms - day_ms, 1, 9}};
  CHECK(lines_of(evaluated(rules, purchase, facts, now_ms)) == Lines{"base:10", "explorer:10", "quiet:5"});
  facts.recent_issues[0].time_ms = now_ms - 30 * day_ms - 1;  // partner 2 is out of the window
  CHECK(lines_of(evaluated(rules, purchase, facts, now_ms)) == Lines{"base:10", "quiet:5"});
  facts.recent_issues.push_back({now_ms - 7 * day_ms, 3, 60});  // 99 points in 7 days: quiet still
  CHECK(lines_of(evaluated(rules, purchase, facts, now_ms)) == Lines{"base:10", "explorer:10", "quiet:5"});
  facts.recent_issues.push_back({now_ms, 3, 1});  // 100: no longer quiet
  CHECK(lines_of(evaluated(rules, purchase, facts, now_ms)) == Lines{"base:10", "explorer:10"});

  CHECK(parse_error(R"({"version": 1, "currencies": [{"currency": "EUR", "points_per_unit": 1}],
      "multipliers": [{"name": "m", "per_mille": 2000, "segment": {"partners_visited": {"days": 30}}}]})") ==
        "multipliers[0] \"m\": segment.partners_visited needs min, max or both");
  CHECK(parse_error(R"({"version": 1, "currencies": [{"currency": "EUR", "points_per_unit": 1}],
      "multipliers": [{"name": "m", "per_mille": 2000, "segment": {"points_earned": {"days": 400, "min": 1}}}]})") ==
        "multipliers[0] \"m\": segment.points_earned.days must be an integer between 1 and 366");
  CHECK(parse_error(R"({"version": 1, "currencies": [{"currency": "EUR", "points_per_unit": 1}],
      "multipliers": [{"name": "m", "per_mille": 2000, "segment": {"points_earned": {"days": 7, "min": 5, "max": 4}}}]})") ==
        "multipliers[0] \"m\": segment.points_earned: min is above max");
}

TEST_CASE("the referrals rule is parsed strictly and its abuse cases are checked in the documented order",
          "[rules][referrals]") {
  // Proves the rule's fields and errors, and evaluate_referral's order: self, already
  // referred, not the first purchase, the referrer's limit; otherwise the award and its note.
  const RuleSet rules = rules_with(R"("referrals": {"name": "friends", "referrer_points": 100,
      "referred_points": 50, "referrer_limit_count": 3, "referrer_limit_period": "week"})");
  REQUIRE(rules.referral);
  CHECK(rules.referral->referrer_limit_period == EventPeriod::week);
  CHECK(parse_error(R"({"version": 1, "currencies": [{"currency": "EUR", "points_per_unit": 1}],
      "referrals": {"name": "friends", "referrer_points": 100}})") ==
        "referrals \"friends\": referred_points is required");
  CHECK(parse_error(R"({"version": 1, "currencies": [{"currency": "EUR", "points_per_unit": 1}],
      "referrals": {"name": "friends", "referrer_points": 1, "referred_points": 1, "referrer_limit_period": "hour"}})") ==
        "referrals \"friends\": referrer_limit_period must be day, week, month, year or ever");
  CHECK(parse_error(R"({"version": 1, "currencies": [{"currency": "EUR", "points_per_unit": 1}],
      "first_purchase_bonus": {"name": "friends", "points": 5},
      "referrals": {"name": "friends", "referrer_points": 1, "referred_points": 1}})") ==
        "referrals \"friends\": another rule has this name");

  ReferralFacts referral;
  referral.referred_code = "ABCDEFGHJKMN";
  CustomerFacts first;
  const auto code_of = [&](const ReferralFacts& facts, const CustomerFacts& customer) {
    auto award = evaluate_referral(rules, facts, customer);
    return award ? pc::ledger::Code::ok : award.error().code;
  };
  ReferralFacts everything = referral;
  everything.self = true;
  everything.already_referred = true;
  everything.referrer_count_in_period = 3;
  CHECK(code_of(everything, returning_customer()) == pc::ledger::Code::self_referral);
  everything.self = false;
  CHECK(code_of(everything, returning_customer()) == pc::ledger::Code::already_referred);
  everything.already_referred = false;
  CHECK(code_of(everything, returning_customer()) == pc::ledger::Code::referral_not_first_purchase);
  CHECK(code_of(everything, first) == pc::ledger::Code::referral_limit_reached);
  everything.referrer_count_in_period = 2;
  auto award = evaluate_referral(rules, everything, first);
  REQUIRE(award);
  CHECK(award->referrer_points == 100);
  CHECK(award->referred_points == 50);
  CHECK(award->note == "3 of 3 this week for the referrer");
  CHECK(evaluate_referral(rules_with(""), referral, first).error().code == pc::ledger::Code::invalid_field);
}

TEST_CASE("a tier segment names the chain's tiers, and its mistakes are errors naming the rule and the field",
          "[rules][tiers]") {
  // Proves load-time validation of tier segments against the genesis tier program (Silver,
  // Gold): a chain without a program, an unknown name, a bad shape, a repeat, a name two tiers
  // share; and that names become the tier indexes the state machine uses.
  const pc::ledger::TierProgram program = pc::test::test_tier_program();
  const std::string head = R"({"version": 1, "currencies": [{"currency": "EUR", "points_per_unit": 1}], "multipliers": [)";
  const auto with_segment = [&](const std::string& tier) {
    return head + R"({"name": "m", "per_mille": 2000}, {"name": "gold double", "per_mille": 2000, "segment": {"tier": )" +
           tier + "}}]}";
  };
  CHECK(parse_error(with_segment(R"({"one_of": ["Gold"]})")) ==
        "multipliers[1] \"gold double\": segment.tier: this chain has no tier program (tiers need protocol version 4 "
        "and policy.tiers in the genesis)");
  CHECK(parse_error(with_segment(R"({"one_of": ["Gold", "Platinum"]})"), program) ==
        "multipliers[1] \"gold double\": segment.tier.one_of[1]: unknown tier \"Platinum\" (the chain's tiers: Silver, Gold)");
  CHECK(parse_error(with_segment(R"({"at_least": "gold"})"), program) ==
        "multipliers[1] \"gold double\": segment.tier.at_least: unknown tier \"gold\" (the chain's tiers: Silver, Gold)");
  CHECK(parse_error(with_segment(R"({"at_least": 2})"), program) ==
        "multipliers[1] \"gold double\": segment.tier.at_least must be a tier name (a string)");
  const std::string shape =
      "multipliers[1] \"gold double\": segment.tier must be {\"one_of\": [tier names]} or {\"at_least\": tier name}";
  CHECK(parse_error(with_segment(R"({"one_of": ["Gold"], "at_least": "Silver"})"), program) == shape);
  CHECK(parse_error(with_segment(R"("Gold")"), program) == shape);
  CHECK(parse_error(with_segment(R"({"above": "Silver"})"), program) ==
        "multipliers[1] \"gold double\": segment.tier: unknown field \"above\"");
  CHECK(parse_error(with_segment(R"({"one_of": []})"), program) ==
        "multipliers[1] \"gold double\": segment.tier.one_of must be a non-empty array of tier names");
  CHECK(parse_error(with_segment(R"({"one_of": ["Gold", "Gold"]})"), program) ==
        "multipliers[1] \"gold double\": segment.tier.one_of: \"Gold\" is listed twice");
  pc::ledger::TierProgram twins = program;
  twins.tiers[1].name = "Silver";
  CHECK(parse_error(with_segment(R"({"at_least": "Silver"})"), twins) ==
        "multipliers[1] \"gold double\": segment.tier.at_least: the chain has 2 tiers named \"Silver\"");

  // Tier index i is bit i: at_least Silver holds Silver (1) and Gold (2), never tier 0.
  CHECK(parse(with_segment(R"({"at_least": "Silver"})"), program).multipliers[1].segment.tiers == std::uint16_t{0b110});
  CHECK(parse(with_segment(R"({"at_least": "Gold"})"), program).multipliers[1].segment.tiers == std::uint16_t{0b100});
  CHECK(parse(with_segment(R"({"one_of": ["Silver"]})"), program).multipliers[1].segment.tiers == std::uint16_t{0b010});
  CHECK(parse(with_segment(R"({"one_of": ["Silver"]})"), program).has_tier_segments());
  CHECK_FALSE(parse(head + R"({"name": "m", "per_mille": 2000}]})", program).has_tier_segments());
}

TEST_CASE("tier multipliers apply to their tiers' customers, alone, in a window and with the others, adding up to the cap",
          "[rules][tiers]") {
  // Proves a tier multiplier is a multiplier like the others: it applies by the customer's
  // tier (one_of, at_least), in its window only, and stacks by adding (x2 for Gold and x1.5
  // from Silver up make x2.5 for Gold), clipped by multiplier_per_mille_max in file order.
  const pc::ledger::TierProgram program = pc::test::test_tier_program();
  const std::string multipliers = R"("multipliers": [
      {"name": "gold double", "per_mille": 2000, "segment": {"tier": {"one_of": ["Gold"]}}},
      {"name": "silver and up", "per_mille": 1500, "segment": {"tier": {"at_least": "Silver"}}},
      {"name": "coffee", "category": "coffee", "per_mille": 2000},
      {"name": "gold week", "per_mille": 3000, "segment": {"tier": {"one_of": ["Gold"]}},
       "start": "2026-11-23T00:00", "end": "2026-11-30T00:00"}])";
  const auto rules_for = [&](std::uint32_t cap) {
    return parse(R"({"version": 1, "time_zone_offset_minutes": 60, "currencies": [{"currency": "EUR", "points_per_unit": 1}],
      "multiplier_per_mille_max": )" + std::to_string(cap) + ", " + multipliers + "}", program);
  };
  const RuleSet rules = rules_for(10'000);
  const Order bread = order({line("BREAD", "bakery", 1'000)});
  const Order both = order({line("BREAD", "bakery", 1'000), line("LATTE", "coffee", 1'000)});
  CustomerFacts none = returning_customer();
  CustomerFacts silver = returning_customer();
  silver.tier = 1;
  CustomerFacts gold = returning_customer();
  gold.tier = 2;

  // Alone, outside the gold week.
  CHECK(lines_of(evaluated(rules, bread, none, next_monday_start_ms)) == Lines{"base:10"});
  CHECK(lines_of(evaluated(rules, bread, silver, next_monday_start_ms)) == Lines{"base:10", "silver and up:5"});
  CHECK(lines_of(evaluated(rules, bread, gold, next_monday_start_ms)) ==
        Lines{"base:10", "gold double:10", "silver and up:5"});
  // With the coffee multiplier: they add, per line (Gold coffee x1 + 1 + 0.5 + 1 = x3.5).
  CHECK(lines_of(evaluated(rules, both, gold, next_monday_start_ms)) ==
        Lines{"base:20", "gold double:20", "silver and up:10", "coffee:10"});
  // The gold week is a window: Gold customers get x3 more in it, so the cap decides.
  CHECK(lines_of(evaluated(rules, bread, gold, wednesday_noon_ms)) ==
        Lines{"base:10", "gold double:10", "silver and up:5", "gold week:20"});
  CHECK(lines_of(evaluated(rules, bread, silver, wednesday_noon_ms)) == Lines{"base:10", "silver and up:5"});
  // A cap of x3: the Gold coffee line's x3.5 stops at x3; the later rule gets what is left.
  const Breakdown capped = evaluated(rules_for(3'000), both, gold, next_monday_start_ms);
  CHECK(lines_of(capped) == Lines{"base:20", "gold double:20", "silver and up:10", "coffee:5"});
  CHECK(capped.contributions.back().note == "x2 on 1 line, limited by multiplier_per_mille_max x3");
  // A tier the program does not have (facts from another chain) is in no segment.
  CustomerFacts unknown = returning_customer();
  unknown.tier = 9;
  CHECK(lines_of(evaluated(rules, bread, unknown, next_monday_start_ms)) == Lines{"base:10"});
}

TEST_CASE("the tier example of docs/earning-rules.md stacks as the doc says", "[rules][tiers]") {
  // Proves the doc's "Stacking" paragraph: its three tier rules, as written, with a maximum
  // of x3: a Gold member's line in the gold week is x2.5 before gold week, which gets x0.5
  // and says it was limited; a Silver member's is x1.5.
  const RuleSet rules = parse(R"({"version": 1, "time_zone_offset_minutes": 60, "multiplier_per_mille_max": 3000,
      "currencies": [{"currency": "EUR", "points_per_unit": 1}], )" + doc_example("\"gold double\"") + "}",
                              pc::test::test_tier_program());
  const Order bread = order({line("BREAD", "bakery", 1'000)});
  CustomerFacts gold = returning_customer();
  gold.tier = 2;
  const Breakdown breakdown = evaluated(rules, bread, gold, wednesday_noon_ms);
  CHECK(lines_of(breakdown) == Lines{"base:10", "gold double:10", "silver and up:5", "gold week:5"});
  CHECK(breakdown.contributions.back().note == "x3 on 1 line, limited by multiplier_per_mille_max x3");
  CustomerFacts silver = returning_customer();
  silver.tier = 1;
  CHECK(lines_of(evaluated(rules, bread, silver, wednesday_noon_ms)) == Lines{"base:10", "silver and up:5"});
}

TEST_CASE("a tier segment combines with the other segment conditions, which must all hold", "[rules][tiers]") {
  // Proves "Gold members who are new here" needs both facts.
  const pc::ledger::TierProgram program = pc::test::test_tier_program();
  const RuleSet rules = parse(R"({"version": 1, "currencies": [{"currency": "EUR", "points_per_unit": 1}],
      "multipliers": [{"name": "gold welcome", "per_mille": 3000,
                       "segment": {"tier": {"one_of": ["Gold"]}, "new_customer": true}}]})", program);
  const Order bread = order({line("BREAD", "bakery", 1'000)});
  CustomerFacts gold_new;
  gold_new.tier = 2;
  CHECK(lines_of(evaluated(rules, bread, gold_new, 0)) == Lines{"base:10", "gold welcome:20"});
  CustomerFacts gold_returning = returning_customer();
  gold_returning.tier = 2;
  CHECK(lines_of(evaluated(rules, bread, gold_returning, 0)) == Lines{"base:10"});
  CustomerFacts silver_new;
  silver_new.tier = 1;
  CHECK(lines_of(evaluated(rules, bread, silver_new, 0)) == Lines{"base:10"});
}
