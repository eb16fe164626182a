// A partner's earning-rules file (docs/earning-rules.md) on arbitrary text: parse_rule_set
// gives an error message or a rule set, never an exception or a crash (a node reloads the
// file on SIGHUP while running). A rule set that parses is evaluated on orders built from
// its own rules (a line per selector it names, then lines priced to reach the overflow
// paths): evaluate() gives invalid_field, overflow or a breakdown whose contributions add up
// to its points within the order maximum.
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string_view>

#include "fuzz/fuzz_support.hpp"
#include "node/earning_rules.hpp"

namespace {

namespace rules = pc::node::rules;

// 2026-11-29 (a Sunday) 12:00 UTC: inside the documented example's windows.
constexpr std::uint64_t now_ms = 1'795'953'600'000;

rules::OrderLine line_for(const rules::LineSelector& selector, std::uint32_t quantity, std::int64_t price_minor) {
  rules::OrderLine line;
  line.sku = selector.sku;
  line.category = selector.category;
  if (!selector.flag.empty()) line.flags.push_back(selector.flag);
  line.quantity = quantity;
  line.unit_price_minor = price_minor;
  return line;
}

// One line per rule that selects lines, so every kind of rule meets a line it applies to.
rules::Order order_matching(const rules::RuleSet& set, const std::string& currency, std::uint32_t quantity,
                            std::int64_t price_minor) {
  rules::Order order;
  order.currency = currency;
  order.lines.push_back(line_for({}, quantity, price_minor));
  const auto add = [&](const rules::LineSelector& selector) {
    if (order.lines.size() < rules::order_lines_max) order.lines.push_back(line_for(selector, quantity, price_minor));
  };
  for (const rules::Exclusion& exclusion : set.exclusions) add(exclusion.lines);
  for (const rules::Multiplier& multiplier : set.multipliers) add(multiplier.lines);
  for (const rules::FixedPoints& fixed : set.fixed_points) add({fixed.sku, {}, {}});
  return order;
}

void check_evaluation(const rules::RuleSet& set, const rules::Order& order, const rules::CustomerFacts& facts) {
  const auto breakdown = rules::evaluate(set, order, facts, now_ms);
  if (!breakdown) {
    FUZZ_CHECK(breakdown.error().code == pc::ledger::Code::invalid_field ||
               breakdown.error().code == pc::ledger::Code::overflow);
    return;
  }
  std::int64_t sum = 0;
  for (const rules::Contribution& contribution : breakdown->contributions) {
    FUZZ_CHECK(!__builtin_add_overflow(sum, contribution.points, &sum));
  }
  FUZZ_CHECK(sum >= 0 && static_cast<std::uint64_t>(sum) == breakdown->points);
  if (set.order_points_max) FUZZ_CHECK(breakdown->points <= *set.order_points_max);
}

// A tier program for the file's tier segments to name (docs/loyalty.md's example).
const pc::ledger::TierProgram& tier_program() {
  static const pc::ledger::TierProgram program{365, 30, {{"Silver", 1'000, 12'500}, {"Gold", 5'000, 15'000}}};
  return program;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  pc::fuzz::initialize_once();
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto parsed = rules::parse_rule_set(text, tier_program());
  if (!parsed) {
    FUZZ_CHECK(!parsed.error().empty());
    return 0;
  }
  const rules::RuleSet& set = *parsed;
  FUZZ_CHECK(!set.currencies.empty());
  FUZZ_CHECK(set.tag.size() == rules::rule_tag_chars);
  // The tag is what an issuance records: the same bytes must always give the same rule set.
  const auto again = rules::parse_rule_set(text, tier_program());
  FUZZ_CHECK(again.ok() && again->hash == set.hash && again->tag == set.tag);

  rules::CustomerFacts returning;
  returning.first_purchase = false;
  returning.last_activity_ms = now_ms - 400 * pc::ledger::ms_per_day;
  rules::CustomerFacts near_caps = returning;
  near_caps.earned_in_period = {std::numeric_limits<std::uint64_t>::max() / 2, 1'999, 4'999};
  rules::CustomerFacts gold = returning;
  gold.tier = 2;
  const std::string& currency = set.currencies.front().currency;
  for (const rules::CustomerFacts& facts : {rules::CustomerFacts{}, returning, near_caps, gold}) {
    check_evaluation(set, order_matching(set, currency, 3, 250), facts);
    check_evaluation(set, order_matching(set, currency, rules::line_quantity_max, std::numeric_limits<std::int64_t>::max()),
                     facts);
  }
  check_evaluation(set, order_matching(set, "XXX", 1, 100), {});
  return 0;
}
